"""Unified social credit code (统一社会信用代码, USCC) per GB 32100-2015 (DOMAIN.md C5).

18 characters: 1 registration authority, 2 organisation type, 3–8 division code, 9–17 organisation
code, 18 check character. Only the charset, the length and the check character are enforced, as
DOMAIN.md C5 states; the meaning of the segments is not validated.
"""
from __future__ import annotations

import unicodedata

from app.core.errors import N_, InvalidCode

__all__ = [
    "USCC_CHARSET",
    "USCC_LENGTH",
    "USCC_WEIGHTS",
    "InvalidCode",
    "is_valid_uscc",
    "make_uscc",
    "normalise_uscc",
    "uscc_check_char",
    "validate_uscc",
]

#: The 31 characters of GB 32100-2015 (no I, O, S, V, Z); a character's value is its index.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_LENGTH = 18
#: Weights of characters 1–17 (3^i mod 31).
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_VALUES = {ch: i for i, ch in enumerate(USCC_CHARSET)}

MSG_EMPTY = N_("The unified social credit code is empty.")
MSG_LENGTH = N_("The unified social credit code must have %(expected)s characters, not %(actual)s.")
MSG_CHARSET = N_(
    "The unified social credit code contains %(char)s, which is not allowed "
    "(digits and capital letters except I, O, S, V, Z)."
)
MSG_CHECKSUM = N_(
    "The check character of the unified social credit code is %(actual)s, expected %(expected)s."
)


def normalise_uscc(text: str) -> str:
    """Return ``text`` trimmed, full-width characters folded to ASCII (NFKC) and upper-cased."""
    # NFKC before strip: it turns the ideographic space U+3000 into a plain space.
    return unicodedata.normalize("NFKC", text or "").strip().upper()


def _check_format(code: str, length: int) -> None:
    if not code:
        raise InvalidCode("USCC_FORMAT", MSG_EMPTY)
    if len(code) != length:
        raise InvalidCode(
            "USCC_FORMAT", MSG_LENGTH, params={"expected": length, "actual": len(code)}
        )
    for ch in code:
        if ch not in _VALUES:
            raise InvalidCode("USCC_FORMAT", MSG_CHARSET, params={"char": ch})


def _check_char(first17: str) -> str:
    total = sum(_VALUES[ch] * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    value = 31 - total % 31
    # A remainder of 0 gives 31, which GB 32100 writes as "0".
    return USCC_CHARSET[0 if value == 31 else value]


def uscc_check_char(first17: str) -> str:
    """Return the check character (18th) for the first 17 characters of a USCC.

    The input is normalised first; raises :class:`InvalidCode` ``USCC_FORMAT`` if it is not
    17 characters of the charset.
    """
    code = normalise_uscc(first17)
    _check_format(code, USCC_LENGTH - 1)
    return _check_char(code)


def validate_uscc(text: str) -> None:
    """Raise :class:`InvalidCode` unless ``text`` (normalised) is a valid USCC.

    Codes: ``USCC_FORMAT`` (empty, wrong length, character outside the charset) or
    ``USCC_CHECKSUM`` (wrong 18th character).
    """
    code = normalise_uscc(text)
    _check_format(code, USCC_LENGTH)
    expected = _check_char(code[:17])
    if code[17] != expected:
        raise InvalidCode(
            "USCC_CHECKSUM", MSG_CHECKSUM, params={"actual": code[17], "expected": expected}
        )


def is_valid_uscc(text: str | None) -> bool:
    """Return whether ``text`` (normalised) is a valid USCC; never raises."""
    if not isinstance(text, str):
        return False
    try:
        validate_uscc(text)
    except InvalidCode:
        return False
    return True


def make_uscc(prefix17: str) -> str:
    """Return ``prefix17`` (normalised) completed with its check character: a valid USCC.

    Meant for test factories and demo data, e.g. ``make_uscc("91350100M000100Y4")``.
    """
    code = normalise_uscc(prefix17)
    return code + uscc_check_char(code)
