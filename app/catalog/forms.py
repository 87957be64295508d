"""Catalog forms: a product (officers; suppliers propose their own), disabling a code, an import, a review."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.catalog.models import QUALITY_TIERS


def _tier_choices():
    # A callable: WTForms 3.3 deprecates (value, label) tuples given when the field is built; the view relabels.
    return [(t, t) for t in QUALITY_TIERS]


def _no_choices():
    return []


class ProposalForm(FlaskForm):
    """The fields of a product a supplier proposes (it is the manufacturer)."""

    nhsa_code = StringField(_l("NHSA code"), validators=[Optional(), Length(max=27)],
                            description=_l("Drug: 23 characters; consumable: 27, 20 or 15."))
    benweima = StringField(_l("Drug standard code (本位码)"), validators=[Optional(), Length(max=14)])
    generic_name = StringField(_l("Generic name"), validators=[DataRequired(), Length(max=120)])
    dosage_form = StringField(_l("Dosage form"), validators=[DataRequired(), Length(max=64)],
                              render_kw={"list": "dosage-forms"})
    spec = StringField(_l("Specification"), validators=[DataRequired(), Length(max=120)],
                       description=_l("e.g. 20mg, 0.25g, 5ml:0.1g"))
    fill_volume_ml = DecimalField(_l("Fill volume (ml)"), places=None, validators=[Optional(), NumberRange(min=0)])
    pack_qty = IntegerField(_l("Pack quantity (smallest units)"), validators=[InputRequired(), NumberRange(min=1)])
    min_unit = StringField(_l("Smallest unit"), validators=[DataRequired(), Length(max=16)],
                           description=_l("片, 粒, 支, 袋, 瓶 …"))
    approval_no = StringField(_l("Approval or registration number"), validators=[DataRequired(), Length(max=64)])
    mah = StringField(_l("Marketing authorisation holder"), validators=[Optional(), Length(max=200)])
    quality_tier = SelectField(_l("Quality tier"), choices=_tier_choices)
    submit = SubmitField(_l("Save"))

    PRODUCT_KEYS = ("nhsa_code", "benweima", "generic_name", "dosage_form", "spec", "fill_volume_ml", "pack_qty",
                    "min_unit", "approval_no", "mah", "quality_tier")

    def values(self) -> dict:
        """The product values as the catalog services read them (CATALOG keys)."""
        out = {key: getattr(self, key).data for key in self.PRODUCT_KEYS}
        for key, value in out.items():
            if isinstance(value, str):
                out[key] = value.strip() or None
        return out


class ProductForm(ProposalForm):
    """An officer's product: the proposal's fields and the manufacturer."""

    manufacturer_id = SelectField(_l("Manufacturer"), coerce=int, choices=_no_choices, validate_choice=True)


class DisableCodeForm(FlaskForm):
    replacement_code = StringField(_l("NHSA code of the replacement"), validators=[Optional(), Length(max=27)],
                                   description=_l("Leave empty when the code has no replacement."))
    effective_date = DateField(_l("Effective date"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)],
                         description=_l("The NHSA notice that disables or transcodes the code."))
    submit = SubmitField(_l("Disable the code"))


class ImportForm(FlaskForm):
    file = FileField(_l("Catalog file"), validators=[FileRequired()],
                     description=_l(".xlsx, .xls, .ods or .csv (UTF-8 or GB18030), one product per row."))
    dry_run = BooleanField(_l("Check only (store nothing)"))
    submit = SubmitField(_l("Import"))


class ReviewForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)],
                         description=_l("Required to reject: tell the supplier why."))
    approve = SubmitField(_l("Approve into the catalog"))
    reject = SubmitField(_l("Reject"))
