"""prices domain."""
