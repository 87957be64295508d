"""Canonical JSON and its SHA-256, as the contracts define them."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(document: Any) -> str:
    """UTF-8 text of ``document``: keys sorted, no insignificant whitespace, non-ASCII kept."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def problem_sha256(document: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``document`` (``problem_sha256`` of both contracts)."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
