"""Organisation forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from app.orgs.models import ORG_KINDS


def _kind_choices() -> list[tuple[str, str]]:
    # A callable: WTForms 3.3 deprecates (value, label) tuples passed when the field is built.
    return [(k, k) for k in ORG_KINDS if k != "platform"]


class OrganisationForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_kind_choices)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[Optional(), Length(max=64)])
    uscc = StringField(_l("Unified social credit code"), validators=[Optional(), Length(max=24)])
    foreign_id = StringField(_l("Foreign maker id"), validators=[Optional(), Length(max=64)])
    agent_uscc = StringField(_l("Agent's credit code"), validators=[Optional(), Length(max=24)])
    region_code = SelectField(_l("Region"), validators=[Optional()])
    submit = SubmitField(_l("Register organisation"))
