"""Domain errors with stable machine codes and translatable messages.

Every error carries a ``code`` (stable, upper snake case, e.g. ``USCC_CHECKSUM``: importers report
it per row and column, DOMAIN.md §12), an English ``msgid`` marked with :func:`N_` for extraction,
the ``params`` interpolated into it, and the interpolated English ``message``. The web layer shows
``gettext(err.msgid) % err.params`` so a translation never has to be parsed back out of ``message``.

This module imports nothing from ``app`` so pure helpers can depend on it alone.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction without translating it (Babel's default ``N_`` keyword)."""
    return msgid


def format_message(msgid: str, params: Mapping[str, Any] | None = None) -> str:
    """Interpolate ``params`` into ``msgid`` (``%(name)s`` placeholders) or return it as is."""
    return msgid % dict(params) if params else msgid


class DomainError(ValueError):
    """Base of the domain errors: a stable ``code``, a ``msgid`` and its ``params``."""

    default_code = "DOMAIN_ERROR"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.msgid = message if message is not None else self.code
        self.params = dict(params or {})
        self.message = format_message(self.msgid, self.params)
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidCode(DomainError):
    """A code (USCC 统一社会信用代码, NHSA code, 本位码, 批准文号) fails its format or checksum."""

    default_code = "INVALID_CODE"


class IncompatibleUnits(DomainError):
    """Two quantities cannot be compared or converted (mg vs IU): never guessed (DOMAIN.md U2)."""

    default_code = "INCOMPATIBLE_UNITS"


class InvalidSpec(DomainError):
    """A 规格 text or unit that cannot be parsed (``SPEC_UNPARSEABLE``, ``UNKNOWN_UNIT`` …)."""

    default_code = "SPEC_UNPARSEABLE"


class InvalidDiffPriceConfig(DomainError):
    """The RuleSet's ``diff_price`` block lacks a value the chosen method needs."""

    default_code = "DIFF_PRICE_CONFIG"


class UnknownRegion(DomainError):
    """A region text that is no code, name or alias of DOMAIN.md §11; ``text`` keeps the input."""

    default_code = "UNKNOWN_REGION"

    def __init__(self, text: object, message: str | None = None) -> None:
        self.text = text
        super().__init__(
            self.default_code,
            message or N_("Unknown region: %(text)s"),
            params={"text": text},
        )


class UnknownDosageForm(DomainError):
    """A 剂型 that is not in the dosage-form dictionary; ``name`` keeps the input."""

    default_code = "UNKNOWN_DOSAGE_FORM"

    def __init__(self, name: object, message: str | None = None) -> None:
        self.name = name
        super().__init__(
            self.default_code,
            message or N_("Dosage form not in the dictionary: %(name)s"),
            params={"name": name},
        )
