"""bidding domain."""
