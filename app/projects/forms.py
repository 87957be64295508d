"""Project forms. Times are typed in Beijing time and stored in UTC (DOMAIN.md P-4)."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.catalog.models import FORM_CLASSES
from app.projects.lifecycle import BEIJING
from app.projects.models import DRUG_CLASSES, PROJECT_KINDS

# What a datetime-local input sends (seconds optional), first one used to render.
_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


def beijing_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive Beijing wall-clock time from a form as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=BEIJING).astimezone(dt.timezone.utc)


def utc_to_beijing(value: dt.datetime | None) -> dt.datetime | None:
    """A stored UTC time as the naive Beijing wall-clock time a form shows."""
    if value is None:
        return None
    return value.astimezone(BEIJING).replace(tzinfo=None)


def _beijing_field(label) -> DateTimeLocalField:
    return DateTimeLocalField(label, format=_LOCAL_FORMATS, validators=[Optional()],
                              description=_l("Beijing time (UTC+8)"))


# Choices are callables (WTForms 3.3 deprecates tuples given when the field is built); views relabel them.
def _kind_choices():
    return [(k, k) for k in PROJECT_KINDS]


def _form_class_choices():
    return [(k, k) for k in FORM_CLASSES]


def _drug_class_choices():
    return [(k, k) for k in DRUG_CLASSES]


class ProjectForm(FlaskForm):
    code = StringField(_l("Project code"), validators=[DataRequired(), Length(max=32)],
                       description=_l("Letters, digits, dots, dashes or underscores, e.g. GY-YD2019-2"))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_kind_choices)
    preset = SelectField(_l("RuleSet preset"))
    demand_due_at = _beijing_field(_l("Demand reporting deadline"))
    bidding_opens_at = _beijing_field(_l("Bidding opens at"))
    bid_deadline = _beijing_field(_l("Bid deadline"))
    opening_at = _beijing_field(_l("Opening at"))
    submit = SubmitField(_l("Create project"))


class TimelineForm(FlaskForm):
    demand_due_at = _beijing_field(_l("Demand reporting deadline"))
    bidding_opens_at = _beijing_field(_l("Bidding opens at"))
    bid_deadline = _beijing_field(_l("Bid deadline"))
    opening_at = _beijing_field(_l("Opening at"))
    cycle_start = DateField(_l("Procurement cycle start"), validators=[Optional()])
    cycle_end = DateField(_l("Procurement cycle end"), validators=[Optional()])
    submit = SubmitField(_l("Save timeline"))


class RuleSetForm(FlaskForm):
    preset = SelectField(_l("Preset"))
    overrides = TextAreaField(_l("Overrides"), validators=[Length(max=20000)], render_kw={"rows": 10},
                              description=_l("One field per line: name = value, e.g. spread_multiplier = 1.8 or publicity_days = 5. "
                                             "Tables and lists are JSON."))
    submit = SubmitField(_l("Save as a new RuleSet version"))


class LotForm(FlaskForm):
    lot_no = IntegerField(_l("Lot number"), validators=[InputRequired(), NumberRange(min=1)])
    generic_name = StringField(_l("Generic name"), validators=[DataRequired(), Length(max=120)])
    form_group = StringField(_l("Dosage-form group"), validators=[DataRequired(), Length(max=64)],
                             description=_l("e.g. 口服常释剂型"))
    name = StringField(_l("Lot name"), validators=[Optional(), Length(max=200)],
                       description=_l("Empty: generic name + dosage-form group"))
    form_class = SelectField(_l("Dosage-form class"), choices=_form_class_choices)
    drug_class = SelectField(_l("Drug class"), choices=_drug_class_choices)
    representative_spec = StringField(_l("Representative specification"), validators=[DataRequired(), Length(max=120)],
                                      description=_l("e.g. 20mg or 5ml:0.1g"))
    ceiling_ucp = StringField(_l("Price ceiling per smallest unit"), validators=[Optional(), Length(max=32)],
                              description=_l("Yuan per tablet, capsule, vial … of the representative specification; up to 6 decimals"))
    pre_procurement_ucp = StringField(_l("Price before procurement per smallest unit"), validators=[Optional(), Length(max=32)])
    submit = SubmitField(_l("Save lot"))


class TransitionForm(FlaskForm):
    to_state = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class SelectionForm(FlaskForm):
    """A CSRF-protected list of checked ids (``request.form.getlist``)."""

    submit = SubmitField(_l("Save"))


class RemoveLotForm(FlaskForm):
    confirm = BooleanField(_l("Yes, remove this lot"), validators=[DataRequired()])
    submit = SubmitField(_l("Remove lot"))
