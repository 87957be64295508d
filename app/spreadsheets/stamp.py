"""The version stamp a downloaded template carries in a very hidden sheet, and its check on upload."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from .errors import TemplateStampError
from .messages import msg

__all__ = ["STAMP_SHEET", "INSTRUCTIONS_SHEET", "LISTS_SHEET", "TemplateStamp", "check_stamp", "AUX_SHEETS"]

STAMP_SHEET = "_jicai_template"
INSTRUCTIONS_SHEET = "说明 Instructions"
LISTS_SHEET = "_lists"
ERRORS_SHEET = "错误 Errors"  # the error report's sheet: never taken for data when a report is uploaded again
AUX_SHEETS = frozenset({STAMP_SHEET, INSTRUCTIONS_SHEET, LISTS_SHEET, ERRORS_SHEET})
STAMP_MAGIC = "jicai-template"


@dataclass(frozen=True)
class TemplateStamp:
    kind: str
    version: int
    project_code: str | None
    issued_at: str  # UTC ISO 8601, e.g. 2025-01-02T03:04:05Z

    def rows(self) -> list[tuple[str, str]]:
        return [("magic", STAMP_MAGIC), ("kind", self.kind), ("version", str(self.version)),
                ("project_code", self.project_code or ""), ("issued_at", self.issued_at)]

    @classmethod
    def from_rows(cls, rows: list[list[Any]]) -> "TemplateStamp":
        values: dict[str, str] = {}
        for r in rows:
            if len(r) >= 2 and isinstance(r[0], str):
                v = r[1]
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                values[r[0].strip()] = "" if v is None else str(v).strip()
        if values.get("magic") != STAMP_MAGIC or not values.get("kind"):
            raise TemplateStampError(msg("stamp_corrupt"), code="stamp_corrupt")
        try:
            version = int(values.get("version", ""))
        except ValueError:
            raise TemplateStampError(msg("stamp_corrupt"), code="stamp_corrupt") from None
        return cls(kind=values["kind"], version=version, project_code=values.get("project_code") or None,
                   issued_at=values.get("issued_at", ""))


def utc_iso(when: _dt.datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    return when.astimezone(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def check_stamp(stamp: TemplateStamp | None, expect: tuple[str, int, str | None] | None, *, require: bool) -> None:
    """Reject a stale or foreign template.  ``expect = (kind, min_version, project_code or None)``.

    A file without stamp passes unless ``require`` is true (plain files in the canonical formats are accepted).
    """
    if stamp is None:
        if require:
            raise TemplateStampError(msg("stamp_required"), code="stamp_required")
        return
    if expect is None:
        return
    kind, min_version, project_code = expect
    if stamp.kind != kind:
        raise TemplateStampError(msg("stamp_kind", found=stamp.kind, expected=kind), code="stamp_kind",
                                 found=stamp.kind, expected=kind)
    if project_code is not None and (stamp.project_code or "") != project_code:
        raise TemplateStampError(msg("stamp_project", found=stamp.project_code or "-", expected=project_code),
                                 code="stamp_project", found=stamp.project_code, expected=project_code)
    if stamp.version < min_version:
        raise TemplateStampError(msg("stamp_stale", found=stamp.version, expected=min_version), code="stamp_stale",
                                 found=stamp.version, expected=min_version)
