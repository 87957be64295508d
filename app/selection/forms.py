"""The officer's run form: the draw seed and the demand basis; tie-break values are extra fields per tied bid."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from app.selection.services import DEMAND_BASES


def _basis_choices():
    return [(b, b) for b in DEMAND_BASES]


class RunForm(FlaskForm):
    draw_seed = StringField(_l("Seed of the officer's draw"), validators=[Optional(), Length(max=200)],
                            description=_l("Orders bids still tied after every tie-break key (SHA-256 of seed:bid id, ascending); empty: the project's seed, if any."))
    demand_basis = SelectField(_l("Demand basis"), choices=_basis_choices)
    submit = SubmitField(_l("Run the selection"))
