"""Forms of the institutions' master data and of demand collection (CSRF through Flask-WTF).

The demand form has a variable number of lines per lot, so its lines are plain inputs named
``l-<lot id>-<n>-<field>`` read by :func:`read_demand_rows`; the FlaskForm carries the CSRF token
and the year.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.demand.services import FIELD_LABELS, Issue, LineInput
from app.orgs.models import INSTITUTION_LEVELS

LINE_FIELDS = ("nhsa_code", "spec", "preferred_brand", "historical_usage", "reported_demand")
MAX_LINES_PER_LOT = 30
_NAME_RE = re.compile(r"^l-(\d+)-(\d+)-(nhsa_code|spec|preferred_brand|historical_usage|reported_demand)$")


def _level_choices():
    return [(k, k) for k in INSTITUTION_LEVELS]


class InstitutionForm(FlaskForm):
    institution_code = StringField(_l("Institution code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    institution_level = SelectField(_l("Level"), choices=_level_choices)
    region_code = SelectField(_l("Province"), validators=[DataRequired()])
    medical_community = StringField(_l("County medical community (医共体)"), validators=[Optional(), Length(max=200)],
                                    description=_l("Empty: not a member of a 医共体"))
    is_primary_care = BooleanField(_l("Primary care institution (基层)"))
    uscc = StringField(_l("Unified social credit code"), validators=[DataRequired(), Length(max=24)])
    active = BooleanField(_l("Active"))
    submit = SubmitField(_l("Save institution"))


class ImportForm(FlaskForm):
    file = FileField(_l("Spreadsheet (.xlsx, .xls, .ods or .csv)"), validators=[FileRequired()])
    dry_run = BooleanField(_l("Check only (store nothing)"))
    error_report = BooleanField(_l("If the file has errors, send it back with the bad cells marked"))
    submit = SubmitField(_l("Upload"))


class InstitutionUserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=256)],
                             description=_l("The user chooses a new password at the first login."))
    is_org_admin = BooleanField(_l("Administrator of the institution's users"))
    submit = SubmitField(_l("Create user"))


class DemandUploadForm(FlaskForm):
    file = FileField(_l("Demand report (.xlsx, .xls, .ods or .csv)"), validators=[FileRequired()])
    error_report = BooleanField(_l("If the file has errors, send it back with the bad cells marked"))
    submit = SubmitField(_l("Upload and submit"))


class DemandForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)],
                        description=_l("The year the historical usage and the demand refer to"))
    submit = SubmitField(_l("Submit demand report"))


class AmendmentForm(FlaskForm):
    line_id = HiddenField(validators=[DataRequired()])
    new_reported_demand = StringField(_l("New reported demand"), validators=[DataRequired(), Length(max=32)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Request amendment"))


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class FloorForm(FlaskForm):
    confirm = HiddenField()
    min_report_vs_history = StringField(_l("Required share of the historical usage"), validators=[Optional(), Length(max=16)],
                                        description=_l("For example 0.8 or 80%. Empty: below the usual share is only a warning."))
    submit = SubmitField(_l("Save"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))


# --- the demand form's lines ---------------------------------------------------------------------------

@dataclass
class FormLine:
    """One line of the demand form as typed, with the problems found in its fields."""

    lot_id: int
    n: int
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    def name(self, key: str) -> str:
        return f"l-{self.lot_id}-{self.n}-{key}"

    @property
    def blank(self) -> bool:
        return not any(self.values.get(k, "").strip() for k in LINE_FIELDS)


def parse_quantity(text: str) -> Decimal | None:
    """A typed quantity as Decimal: full-width digits folded, thousands separators dropped; None if empty.

    Raises ``ValueError`` for anything that is not a plain decimal number.
    """
    text = unicodedata.normalize("NFKC", text or "").strip().replace(",", "").replace(" ", "")
    if not text:
        return None
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", text):
        raise ValueError(text)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern rules it out
        raise ValueError(text) from None


def read_demand_rows(form_data, lots) -> list[FormLine]:
    """Every line typed in the demand form, per lot in lot order (blank lines included)."""
    found: dict[tuple[int, int], dict[str, str]] = {}
    lot_ids = {lot.id for lot in lots}
    for name in form_data:
        m = _NAME_RE.match(name)
        if not m:
            continue
        lot_id, n, key = int(m.group(1)), int(m.group(2)), m.group(3)
        if lot_id not in lot_ids or n >= MAX_LINES_PER_LOT:
            continue
        found.setdefault((lot_id, n), {})[key] = (form_data.get(name) or "")[:200]
    order = {lot.id: i for i, lot in enumerate(lots)}
    return [FormLine(lot_id, n, values) for (lot_id, n), values in sorted(found.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]


def lines_to_inputs(rows: list[FormLine], lots, year: int | None) -> tuple[list[LineInput], list[tuple[FormLine, LineInput]]]:
    """The non-blank form lines as service inputs; numbers that do not parse are marked on the line."""
    lot_no = {lot.id: lot.lot_no for lot in lots}
    inputs: list[LineInput] = []
    pairs: list[tuple[FormLine, LineInput]] = []
    for row in rows:
        if row.blank:
            continue
        quantities: dict[str, Decimal | None] = {}
        for key in ("historical_usage", "reported_demand"):
            try:
                quantities[key] = parse_quantity(row.values.get(key, ""))
            except ValueError:
                quantities[key] = None
                row.errors.setdefault(key, []).append(
                    _("%(field)s must be a number, got %(value)s.", field=_(FIELD_LABELS[key]), value=row.values.get(key)))
        line = LineInput(lot_no=lot_no[row.lot_id], historical_usage=quantities["historical_usage"],
                         reported_demand=quantities["reported_demand"], year=year,
                         nhsa_code=row.values.get("nhsa_code") or None, spec=row.values.get("spec") or None,
                         preferred_brand=row.values.get("preferred_brand") or None)
        inputs.append(line)
        pairs.append((row, line))
    return inputs, pairs


def attach_problems(pairs: list[tuple[FormLine, LineInput]], problems: list[tuple[Any, Issue]]) -> list[str]:
    """Put each service problem on its form line and field; returns the located messages for the page top.

    Problem references are ``(lot_no, k)``: the k-th non-blank line of the lot.
    """
    by_ref: dict[tuple[int, int], FormLine] = {}
    counters: dict[int, int] = {}
    for row, line in pairs:
        counters[line.lot_no] = counters.get(line.lot_no, 0) + 1
        by_ref[(line.lot_no, counters[line.lot_no])] = row
    messages: list[str] = []
    for ref, issue in problems:
        text = issue.message()
        row = by_ref.get(ref) if isinstance(ref, tuple) else None
        if row is not None:
            if issue.key != "year":
                row.errors.setdefault(issue.key, []).append(text)
            messages.append(_("Lot %(lot_no)s, line %(n)s, %(field)s: %(message)s", lot_no=ref[0], n=ref[1],
                              field=_(FIELD_LABELS.get(issue.key, issue.key)), message=text))
        else:
            messages.append(text)
    return messages


__all__ = ["AmendmentForm", "ConfirmForm", "DecisionForm", "DemandForm", "DemandUploadForm", "FloorForm", "FormLine", "ImportForm",
           "InstitutionForm", "InstitutionUserForm", "LINE_FIELDS", "attach_problems", "lines_to_inputs",
           "parse_quantity", "read_demand_rows"]
