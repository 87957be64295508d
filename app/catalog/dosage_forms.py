"""The 剂型 (dosage form) dictionary: VBP dosage-form group and form class of each form.

Data lives in ``dosage_forms.json`` next to this module (DOMAIN.md §12) so the procurement officer
can extend it; :func:`load_dictionary` reads another file with the same layout. A group maps to a
``form_class`` (``oral_solid``, ``small_volume_injection``, ``large_volume_injection``, ``other``)
used by the RuleSet's ``low_price_exemption`` (DOMAIN.md W5). Names starting with a listed prefix
(``注射用…``) belong to that prefix's group.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.core.errors import UnknownDosageForm

__all__ = [
    "DEFAULT_PATH",
    "FORM_CLASSES",
    "DosageFormDictionary",
    "DosageFormEntry",
    "FormGroup",
    "UnknownDosageForm",
    "default_dictionary",
    "form_class",
    "form_group",
    "load_dictionary",
    "lookup",
    "normalise_form_name",
    "require",
]

DEFAULT_PATH = Path(__file__).with_name("dosage_forms.json")
FORM_CLASSES = ("oral_solid", "small_volume_injection", "large_volume_injection", "other")


def normalise_form_name(name: str | None) -> str:
    """Return ``name`` with full-width characters folded (NFKC) and all whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))


@dataclass(frozen=True)
class FormGroup:
    """A VBP dosage-form group (e.g. 口服常释剂型) and its form class."""

    name: str
    form_class: str
    name_en: str = ""
    volume_dependent: bool = False
    evidence: str = ""
    note: str = ""


@dataclass(frozen=True)
class DosageFormEntry:
    """One 剂型 of the dictionary (``name`` as given) with its group and form class."""

    name: str
    form_group: str
    form_class: str
    evidence: str = ""
    note: str = ""
    via_prefix: bool = False


class DosageFormDictionary:
    """A loaded dosage-form dictionary; lookups normalise the name first."""

    def __init__(
        self,
        groups: Mapping[str, FormGroup],
        forms: Mapping[str, DosageFormEntry],
        prefixes: tuple[tuple[str, str, str], ...],
        large_volume_min_ml: Decimal,
    ) -> None:
        self.groups = dict(groups)
        self.forms = dict(forms)
        self.prefixes = prefixes  # (prefix, group, evidence)
        self.large_volume_min_ml = large_volume_min_ml

    def __iter__(self) -> Iterator[DosageFormEntry]:
        """The listed forms in file order (to seed the ``dosage_forms`` table)."""
        return iter(self.forms.values())

    def __len__(self) -> int:
        return len(self.forms)

    def lookup(self, name: str | None) -> DosageFormEntry | None:
        """The entry of ``name``: a listed form, a group name or a prefix match; else ``None``."""
        key = normalise_form_name(name)
        if not key:
            return None
        if key in self.forms:
            return self.forms[key]
        group = self.groups.get(key)
        if group is not None:
            # A group name typed where a 剂型 is expected (口服常释剂型) is its own group.
            return DosageFormEntry(key, group.name, group.form_class, group.evidence)
        # Longest prefix first so a more specific prefix added later wins.
        for prefix, group_name, evidence in sorted(self.prefixes, key=lambda p: -len(p[0])):
            if key.startswith(prefix):
                g = self.groups[group_name]
                return DosageFormEntry(key, g.name, g.form_class, evidence, via_prefix=True)
        return None

    def require(self, name: str | None) -> DosageFormEntry:
        """Like :meth:`lookup` but raise :class:`UnknownDosageForm` (``UNKNOWN_DOSAGE_FORM``)."""
        entry = self.lookup(name)
        if entry is None:
            raise UnknownDosageForm(name)
        return entry

    def form_group(self, name: str | None) -> str | None:
        """The VBP dosage-form group of ``name`` (片剂 → 口服常释剂型), or ``None``."""
        entry = self.lookup(name)
        return entry.form_group if entry else None

    def form_class(
        self, name: str | None, fill_volume_ml: Decimal | int | str | None = None
    ) -> str | None:
        """The form class of ``name``; an injection with ``fill_volume_ml`` at or above the
        large-volume threshold (100 ml) is ``large_volume_injection``. ``None`` if unknown."""
        entry = self.lookup(name)
        if entry is None:
            return None
        group = self.groups[entry.form_group]
        if group.volume_dependent and fill_volume_ml is not None:
            if isinstance(fill_volume_ml, float | bool):
                raise TypeError("fill_volume_ml must be a Decimal, int or str")
            if Decimal(str(fill_volume_ml)) >= self.large_volume_min_ml:
                return "large_volume_injection"
        return entry.form_class


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not normalise_form_name(value):
        raise ValueError(f"{where}: {key!r} must be a non-empty string")
    return normalise_form_name(value)


def load_dictionary(path: str | Path | None = None) -> DosageFormDictionary:
    """Read and check a dictionary file (default: the shipped ``dosage_forms.json``).

    Raises :class:`ValueError` on a malformed file: unknown group or form class, duplicate name.
    """
    source = Path(path) if path is not None else DEFAULT_PATH
    data = json.loads(source.read_text(encoding="utf-8"))
    try:
        threshold = Decimal(str(data.get("large_volume_injection_min_ml", "100")))
    except InvalidOperation:
        raise ValueError(f"{source}: large_volume_injection_min_ml is not a number") from None

    groups: dict[str, FormGroup] = {}
    for i, item in enumerate(data.get("groups", [])):
        where = f"{source}: groups[{i}]"
        name = _text(item, "name", where)
        if name in groups:
            raise ValueError(f"{where}: duplicate group {name}")
        cls = item.get("form_class", "other")
        if cls not in FORM_CLASSES:
            raise ValueError(f"{where}: unknown form_class {cls!r}")
        groups[name] = FormGroup(
            name,
            cls,
            item.get("name_en", ""),
            bool(item.get("volume_dependent", False)),
            item.get("evidence", ""),
            item.get("note", ""),
        )

    forms: dict[str, DosageFormEntry] = {}
    for i, item in enumerate(data.get("forms", [])):
        where = f"{source}: forms[{i}]"
        name = _text(item, "name", where)
        group_name = _text(item, "group", where)
        if name in forms:
            raise ValueError(f"{where}: duplicate form {name}")
        if group_name not in groups:
            raise ValueError(f"{where}: unknown group {group_name}")
        cls = item.get("form_class", groups[group_name].form_class)
        if cls not in FORM_CLASSES:
            raise ValueError(f"{where}: unknown form_class {cls!r}")
        forms[name] = DosageFormEntry(
            name, group_name, cls, item.get("evidence", ""), item.get("note", "")
        )

    prefixes: list[tuple[str, str, str]] = []
    for i, item in enumerate(data.get("prefixes", [])):
        where = f"{source}: prefixes[{i}]"
        group_name = _text(item, "group", where)
        if group_name not in groups:
            raise ValueError(f"{where}: unknown group {group_name}")
        prefixes.append((_text(item, "prefix", where), group_name, item.get("evidence", "")))

    return DosageFormDictionary(groups, forms, tuple(prefixes), threshold)


@lru_cache(maxsize=1)
def default_dictionary() -> DosageFormDictionary:
    """The shipped dictionary, loaded once."""
    return load_dictionary()


def lookup(name: str | None) -> DosageFormEntry | None:
    """:meth:`DosageFormDictionary.lookup` on the shipped dictionary."""
    return default_dictionary().lookup(name)


def require(name: str | None) -> DosageFormEntry:
    """:meth:`DosageFormDictionary.require` on the shipped dictionary."""
    return default_dictionary().require(name)


def form_group(name: str | None) -> str | None:
    """The VBP dosage-form group of a 剂型 in the shipped dictionary (注射用… → 注射剂)."""
    return default_dictionary().form_group(name)


def form_class(name: str | None, fill_volume_ml: Decimal | int | str | None = None) -> str | None:
    """The form class of a 剂型 in the shipped dictionary (volume rule as in the class method)."""
    return default_dictionary().form_class(name, fill_volume_ml)
