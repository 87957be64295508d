"""Bidding forms. Secrets and passwords are PasswordFields: never echoed back into a page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.bidding.models import QUALIFICATION_KINDS

_NO_AUTOFILL = {"autocomplete": "off"}
_NEW_SECRET = {"autocomplete": "new-password"}


def _kind_choices():
    return [(k, k) for k in QUALIFICATION_KINDS]


class QualificationForm(FlaskForm):
    kind = SelectField(_l("Kind of document"), choices=_kind_choices)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)],
                        description=_l("e.g. 药品生产许可证 鲁20160001"))
    document = FileField(_l("Document file"), validators=[FileRequired()],
                         description=_l("A scan or PDF, at most 20 MB."))
    issued_on = DateField(_l("Issued on"), validators=[Optional()])
    expires_on = DateField(_l("Expires on"), validators=[Optional()],
                           description=_l("Leave empty if the document does not expire."))
    submit = SubmitField(_l("Upload for review"))


class ReviewForm(FlaskForm):
    note = TextAreaField(_l("Note to the supplier"), validators=[Optional(), Length(max=2000)],
                         description=_l("Required when you reject the document."))
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


class QuoteUploadForm(FlaskForm):
    file = FileField(_l("Quote file"), validators=[FileRequired()],
                     description=_l("The filled quote template (.xlsx), or a file in the canonical quote format."))
    submit = SubmitField(_l("Seal and submit"))


class WithdrawForm(FlaskForm):
    confirm = BooleanField(_l("I withdraw my organisation's current quote"), validators=[DataRequired()])
    submit = SubmitField(_l("Withdraw quote"))


class _Ceremony(FlaskForm):
    officer_password = PasswordField(_l("Your password (officer)"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    witness_username = StringField(_l("Witness's user name"), validators=[DataRequired(), Length(max=64)],
                                   render_kw=_NO_AUTOFILL)
    witness_password = PasswordField(_l("Witness's password"), validators=[DataRequired()], render_kw=_NO_AUTOFILL)


class KeyCeremonyForm(_Ceremony):
    """Both persons at one screen: each types a new secret twice (a lost secret loses the quotes)."""

    officer_secret = PasswordField(_l("Officer's opening secret"), validators=[DataRequired(), Length(max=1024)],
                                   render_kw=_NEW_SECRET,
                                   description=_l("At least 12 characters; a passphrase of several unrelated words "
                                                  "works well. It is never stored: without it the quotes cannot be "
                                                  "opened."))
    officer_secret_confirm = PasswordField(_l("Officer's opening secret again"), render_kw=_NEW_SECRET, validators=[
        DataRequired(), EqualTo("officer_secret", message=_l("The two entries of the officer's secret differ."))])
    witness_secret = PasswordField(_l("Witness's opening secret"), validators=[DataRequired(), Length(max=1024)],
                                   render_kw=_NEW_SECRET,
                                   description=_l("Chosen and typed by the witness; different from the officer's."))
    witness_secret_confirm = PasswordField(_l("Witness's opening secret again"), render_kw=_NEW_SECRET, validators=[
        DataRequired(), EqualTo("witness_secret", message=_l("The two entries of the witness's secret differ."))])
    submit = SubmitField(_l("Create the opening key and open bidding"))


class OpeningForm(_Ceremony):
    officer_secret = PasswordField(_l("Officer's opening secret"), validators=[DataRequired(), Length(max=1024)],
                                   render_kw=_NO_AUTOFILL)
    witness_secret = PasswordField(_l("Witness's opening secret"), validators=[DataRequired(), Length(max=1024)],
                                   render_kw=_NO_AUTOFILL)
    submit = SubmitField(_l("Open the bids"))
