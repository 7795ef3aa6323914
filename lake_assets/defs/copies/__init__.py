"""Table copies: MySQL tables copied into the lake as they are, declared in a YAML file."""
