"""The Dagster definitions of the lake, made from the settings they are given."""
