"""Checking a product's fields (DOMAIN.md C1–C4, U2, §12 (a)): pure, no database, memoised for imports.

:class:`ProductChecker` turns the values of one product — a catalog row, a form or a supplier's
proposal, keyed like :data:`app.spreadsheets.specs.CATALOG` — into the column values of
:class:`~app.catalog.models.Product`, and lists every problem as a :class:`FieldIssue` naming the field
it belongs to. Errors refuse the product; warnings (a non-strict X code, an enterprise segment that
differs from the 本位码, a legacy B approval number …) are reported and the product is kept.

Imports check 100,000 rows in one request: the common case takes one compiled regex per code, and
everything that repeats across rows (dosage forms, 规格 texts, pinyin initials) is computed once.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import localcontext
from typing import Any

from app.catalog.codes import (
    APPROVAL_NO_DOMESTIC_RE,
    BENWEIMA_RE,
    NHSA_CONSUMABLE_RES,
    NHSA_DRUG_LENIENT_RE,
    NHSA_DRUG_STRICT_X_RE,
    CodeIssue,
    check_approval_no,
    check_benweima,
    check_nhsa_code,
    normalise_code,
)
from app.catalog.dosage_forms import DosageFormEntry, default_dictionary, normalise_form_name
from app.catalog.pinyin import initials
from app.catalog.units import Spec, parse_spec
from app.core.errors import N_, InvalidSpec
from app.orgs.uscc import validate_uscc

__all__ = ["FieldIssue", "ProductChecker", "QUALITY_TIER_FLAGS", "quality_tier_of", "MAX_LENGTHS", "key_part"]

# Column widths of the products table (app/catalog/models.py): longer text is refused, never cut.
MAX_LENGTHS = {"generic_name": 120, "dosage_form": 64, "spec": 120, "min_unit": 16, "approval_no": 64,
               "mah": 200, "manufacturer": 200, "manufacturer_foreign_id": 64}

# The 是/否 columns of the catalog format and the quality tier each gives, strongest first.
QUALITY_TIER_FLAGS = (("originator", "originator"), ("reference_listed", "reference"),
                      ("consistency_evaluated", "consistency_evaluated"))

MSG = {
    "TOO_LONG": N_("The text is longer than %(limit)s characters."),
    "REQUIRED": N_("This value is required."),
    "UNKNOWN_DOSAGE_FORM": N_("Dosage form not in the dictionary: %(name)s"),
    "UNKNOWN_DOSAGE_FORM_HINT": N_("Use a dosage form of the 剂型 dictionary (片剂, 胶囊剂, 注射液 …) or ask a procurement officer to add it."),
    "SPEC_HINT": N_("Write the strength with its unit, e.g. 20mg, 0.25g, 40万IU, 5ml:0.1g or 100mg/ml."),
    "PACK_QTY_MISMATCH": N_("The pack quantity %(pack_qty)s differs from the %(spec_qty)s smallest units in the specification %(spec)s."),
    "FILL_VOLUME_MISMATCH": N_("The fill volume %(fill_volume)s ml differs from the %(spec_volume)s ml in the specification %(spec)s."),
    "MUST_BE_POSITIVE": N_("The value must be greater than %(limit)s."),
    "CODE_HINT": N_("Codes are text: check the number of characters and format the column as Text."),
    "USCC_HINT": N_("Copy the 18-character unified social credit code from the business licence."),
    "PACK_HINT": N_("Make the pack quantity and the specification agree."),
    "FILL_HINT": N_("Make the fill volume and the specification agree, or leave the fill volume empty."),
    "REQUIRED_HINT": N_("Fill in the cell."),
    "RANGE_HINT": N_("Correct the value."),
    "TOO_LONG_HINT": N_("Shorten the text."),
    "APPROVAL_HINT": N_("A domestic drug has 国药准字 + H/Z/S/J/B/T/F + 8 digits; for an imported drug leave the credit code empty and give the foreign maker's id and its agent's credit code."),
}


@dataclass(frozen=True)
class FieldIssue:
    """A problem with one field: ``key`` (a CATALOG column key), stable ``code``, ``msgid`` and ``params``."""

    key: str
    code: str
    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    hint: str | None = None

    @property
    def message(self) -> str:
        """The English message with its parameters filled in."""
        return self.msgid % dict(self.params) if self.params else self.msgid


def _from_code_issue(key: str, issue: CodeIssue, hint: str | None = None) -> FieldIssue:
    return FieldIssue(key, issue.code, issue.msgid, dict(issue.params), hint)


def quality_tier_of(values: Mapping[str, Any]) -> str:
    """The quality tier of the 是/否 flags (originator > reference > consistency-evaluated > other)."""
    for flag, tier in QUALITY_TIER_FLAGS:
        if values.get(flag):
            return tier
    return "other"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class ProductChecker:
    """Checks products one at a time, remembering what repeats (forms, 规格, initials, credit codes).

    ``forms`` resolves a 剂型 to its dictionary entry (default: the shipped dictionary); pass the
    officer-extended lookup of :func:`app.catalog.services.dosage_form_lookup`.
    """

    def __init__(self, forms: Callable[[str], DosageFormEntry | None] | None = None) -> None:
        self._lookup_form = forms or default_dictionary().lookup
        self._forms: dict[str, DosageFormEntry | None] = {}
        self._specs: dict[str, Spec | InvalidSpec] = {}
        self._initials: dict[str, str] = {}
        self._uscc: dict[str, FieldIssue | None] = {}
        self._form_spec: dict[tuple, tuple] = {}

    # -- pieces ----------------------------------------------------------------------------------------

    def form(self, name: str) -> DosageFormEntry | None:
        try:
            return self._forms[name]
        except KeyError:
            entry = self._forms[name] = self._lookup_form(name)
            return entry

    def spec(self, text: str) -> Spec | InvalidSpec:
        try:
            return self._specs[text]
        except KeyError:
            try:
                parsed: Spec | InvalidSpec = parse_spec(text)
            except InvalidSpec as err:
                parsed = err
            self._specs[text] = parsed
            return parsed

    def initials(self, name: str) -> str:
        try:
            return self._initials[name]
        except KeyError:
            value = self._initials[name] = initials(name)[:120]
            return value

    def uscc_issue(self, key: str, code: str) -> FieldIssue | None:
        """The problem with credit code ``code`` (already normalised), or ``None``."""
        try:
            issue = self._uscc[code]
        except KeyError:
            try:
                validate_uscc(code)
                issue = None
            except Exception as err:  # InvalidCode: format or check character
                issue = FieldIssue("", err.code, err.msgid, dict(err.params), MSG["USCC_HINT"])
            self._uscc[code] = issue
        return None if issue is None else FieldIssue(key, issue.code, issue.msgid, issue.params, issue.hint)

    def _check_form_spec(self, dosage_form: str | None, spec_text: str | None, fill: Any, pack_qty: Any,
                         code_kind: str) -> tuple[str | None, Any, str | None, Any, tuple[FieldIssue, ...]]:
        """(form group, strength value, strength unit, fill volume, errors) of a 剂型, 规格, fill volume and pack."""
        errors: list[FieldIssue] = []
        form_group = None
        if dosage_form is None:
            errors.append(FieldIssue("dosage_form", "REQUIRED", MSG["REQUIRED"], {}, MSG["REQUIRED_HINT"]))
        else:
            entry = self.form(dosage_form)
            if entry is None:
                if code_kind == "drug":
                    errors.append(FieldIssue("dosage_form", "UNKNOWN_DOSAGE_FORM", MSG["UNKNOWN_DOSAGE_FORM"],
                                             {"name": dosage_form}, MSG["UNKNOWN_DOSAGE_FORM_HINT"]))
            else:
                form_group = entry.form_group
        strength_value = strength_unit = None
        if fill is not None and fill <= 0:
            errors.append(FieldIssue("fill_volume_ml", "MUST_BE_POSITIVE", MSG["MUST_BE_POSITIVE"], {"limit": 0},
                                     MSG["RANGE_HINT"]))
        if pack_qty is None:
            errors.append(FieldIssue("pack_qty", "REQUIRED", MSG["REQUIRED"], {}, MSG["REQUIRED_HINT"]))
        elif pack_qty <= 0:
            errors.append(FieldIssue("pack_qty", "MUST_BE_POSITIVE", MSG["MUST_BE_POSITIVE"], {"limit": 0},
                                     MSG["RANGE_HINT"]))
        if spec_text is None:
            errors.append(FieldIssue("spec", "REQUIRED", MSG["REQUIRED"], {}, MSG["REQUIRED_HINT"]))
        else:
            parsed = self.spec(spec_text)
            if isinstance(parsed, InvalidSpec):
                # A consumable's 规格/型号 (3.0mm×18mm) is no drug strength: kept as text.
                if code_kind == "drug":
                    errors.append(FieldIssue("spec", parsed.code, parsed.msgid, dict(parsed.params), MSG["SPEC_HINT"]))
            else:
                strength_value, strength_unit = parsed.strength_value, parsed.strength_unit
                if parsed.fill_volume_ml is not None:
                    if fill is not None and fill != parsed.fill_volume_ml:
                        errors.append(FieldIssue("fill_volume_ml", "FILL_VOLUME_MISMATCH", MSG["FILL_VOLUME_MISMATCH"],
                                                 {"fill_volume": fill, "spec_volume": parsed.fill_volume_ml,
                                                  "spec": spec_text}, MSG["FILL_HINT"]))
                    fill = parsed.fill_volume_ml
                elif strength_value is None and parsed.concentration is not None and fill is not None and fill > 0:
                    # 100mg/ml with a 5 ml fill volume: content per unit (U2)
                    with localcontext() as ctx:
                        ctx.prec = 50
                        strength_value = (parsed.concentration * fill).normalize()
                    strength_unit = parsed.concentration_unit.split("/")[0]
                if parsed.pack_qty is not None and pack_qty is not None and pack_qty != parsed.pack_qty:
                    errors.append(FieldIssue("pack_qty", "PACK_QTY_MISMATCH", MSG["PACK_QTY_MISMATCH"],
                                             {"pack_qty": pack_qty, "spec_qty": parsed.pack_qty, "spec": spec_text},
                                             MSG["PACK_HINT"]))
        return form_group, strength_value, strength_unit, fill, tuple(errors)

    # -- one product -----------------------------------------------------------------------------------

    def check(self, values: Mapping[str, Any], *, foreign_maker: bool, normalised: bool = False
              ) -> tuple[dict[str, Any], list[FieldIssue], list[FieldIssue]]:
        """Check one product; return (Product column values, errors, warnings).

        ``values`` carries the CATALOG keys: ``nhsa_code``, ``benweima``, ``generic_name``, ``dosage_form``,
        ``spec``, ``fill_volume_ml`` (Decimal), ``pack_qty`` (int), ``min_unit``, ``approval_no``, ``mah``,
        and either ``quality_tier`` or the 是/否 flags. ``foreign_maker``: the manufacturer has no credit
        code (its approval number is an import registration, not checked as C4). ``normalised``: the codes
        are already trimmed, folded and upper-cased (the spreadsheet engine's code columns are).
        """
        errors: list[FieldIssue] = []
        warnings: list[FieldIssue] = []
        get = values.get

        for key, limit in MAX_LENGTHS.items():
            v = get(key)
            if v is not None and len(v) > limit:
                errors.append(FieldIssue(key, "TOO_LONG", MSG["TOO_LONG"], {"limit": limit}, MSG["TOO_LONG_HINT"]))

        # ---- codes (C1–C3) -------------------------------------------------------------------------
        code = get("nhsa_code") or None
        bwm = get("benweima") or None
        approval_no = get("approval_no") or None
        if not normalised:
            code = normalise_code(code) or None if code else None
            bwm = normalise_code(bwm) or None if bwm else None
            approval_no = "".join(normalise_code(approval_no).split()) or None if approval_no else None
        bwm_ok = False
        if bwm is not None:
            if len(bwm) == 14 and BENWEIMA_RE.match(bwm) and bwm[2] == "9":
                bwm_ok = True
            else:
                check = check_benweima(bwm)
                errors.extend(_from_code_issue("benweima", e, MSG["CODE_HINT"]) for e in check.errors)
                warnings.extend(_from_code_issue("benweima", w) for w in check.warnings)
                bwm_ok = check.ok
        code_kind = "drug"
        if code is not None:
            first = code[0]
            if len(code) == 23 and (NHSA_DRUG_STRICT_X_RE.match(code) if first == "X"
                                    else first == "Z" and NHSA_DRUG_LENIENT_RE.match(code)):
                if bwm_ok and code[18:23] != bwm[3:8]:
                    warnings.extend(_from_code_issue("nhsa_code", w)
                                    for w in check_nhsa_code(code, benweima=bwm).warnings)
            elif first == "C" and len(code) in NHSA_CONSUMABLE_RES and NHSA_CONSUMABLE_RES[len(code)].match(code):
                code_kind = "consumable"
            else:
                check = check_nhsa_code(code, benweima=bwm if bwm_ok else None)
                errors.extend(_from_code_issue("nhsa_code", e, MSG["CODE_HINT"]) for e in check.errors)
                warnings.extend(_from_code_issue("nhsa_code", w) for w in check.warnings)
                if first == "C":
                    code_kind = "consumable"
        if code_kind == "consumable" and bwm is not None:
            bwm_ok = False  # 本位码 is a drug code: kept as given, but a consumable has none to compare

        # ---- names, dosage form (§12 dictionary), 规格 (U2), fill volume, pack ------------------------------
        generic_name = _text(get("generic_name"))
        if generic_name is None:
            errors.append(FieldIssue("generic_name", "REQUIRED", MSG["REQUIRED"], {}, MSG["REQUIRED_HINT"]))
        dosage_form = _text(get("dosage_form"))
        spec_text = _text(get("spec"))
        fill = get("fill_volume_ml")
        pack_qty = get("pack_qty")
        # The same 剂型, 规格, fill volume and pack quantity recur on thousands of rows: checked once. (The key
        # holds each value's type and text too, so that 2 and 2.0, or 1 and True, are not taken for one another.)
        key = (dosage_form, spec_text, code_kind, type(pack_qty), pack_qty,
               None if fill is None else (type(fill), str(fill)))
        try:
            form_group, strength_value, strength_unit, fill, issues = self._form_spec[key]
        except KeyError:
            found = self._form_spec[key] = self._check_form_spec(dosage_form, spec_text, fill, pack_qty, code_kind)
            form_group, strength_value, strength_unit, fill, issues = found
        if issues:
            errors.extend(issues)
        min_unit = _text(get("min_unit"))
        if min_unit is None:
            errors.append(FieldIssue("min_unit", "REQUIRED", MSG["REQUIRED"], {}, MSG["REQUIRED_HINT"]))

        # ---- 批准文号 (C4: domestic drugs) -------------------------------------------------------------
        approval_type = "import" if foreign_maker else "domestic"
        if approval_no is None:
            errors.append(FieldIssue("approval_no", "REQUIRED", MSG["REQUIRED"], {}, MSG["REQUIRED_HINT"]))
        elif APPROVAL_NO_DOMESTIC_RE.match(approval_no):
            approval_type = "domestic"  # 国药准字J… (imported, packed in China) is a domestic number
            if approval_no[4] == "B":
                warnings.extend(_from_code_issue("approval_no", w)
                                for w in check_approval_no(approval_no, "domestic").warnings)
        elif code_kind == "drug" and not foreign_maker:
            check = check_approval_no(approval_no, "domestic")
            errors.extend(_from_code_issue("approval_no", e, MSG["APPROVAL_HINT"]) for e in check.errors)

        tier = get("quality_tier") or quality_tier_of(values)
        clean = {
            "nhsa_code": code,
            "code_kind": code_kind,
            "benweima": bwm,
            "approval_no": approval_no,
            "approval_no_type": approval_type,
            "generic_name": generic_name,
            "generic_name_initials": self.initials(generic_name) if generic_name else "",
            "dosage_form": dosage_form,
            "form_group": form_group,
            "spec": spec_text,
            "strength_value": strength_value,
            "strength_unit": strength_unit,
            "fill_volume_ml": fill,
            "pack_qty": pack_qty,
            "min_unit": min_unit,
            "mah_name": _text(get("mah")),
            "quality_tier": tier,
        }
        return clean, errors, warnings



def key_part(text: str | None) -> str:
    """A 剂型 or 规格 as compared in the (generic name, dosage form, spec, manufacturer) key: folded, no spaces."""
    return normalise_form_name(text)
