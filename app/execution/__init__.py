"""execution domain."""
