"""What the production deployment needs from the project's code (deploy/ecs/dagster.yaml)."""
