"""Shared building blocks: database base and types, errors, time, security helpers."""
