"""Hands-off operation: the daily job and its schedule (sensors and alerts to follow)."""
