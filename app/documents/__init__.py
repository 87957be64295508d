"""Stored documents (uploaded files with their SHA-256)."""
