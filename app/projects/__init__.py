"""projects domain."""
