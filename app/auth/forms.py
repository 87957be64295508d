"""Account forms (CSRF-protected through Flask-WTF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.auth.roles import ROLES


# Choices are given as callables: WTForms 3.3 deprecates (value, label) tuples passed when a field is
# built, while a callable's result (and choices a view sets later) is accepted by 3.1 to 3.3 alike.
def _locale_choices() -> list[tuple[str, str]]:
    return [("zh_CN", "中文"), ("en", "English")]


def _role_choices() -> list[tuple[str, str]]:
    return [(r, r) for r in ROLES]


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Log in"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))])
    submit = SubmitField(_l("Change password"))


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=_locale_choices)
    submit = SubmitField(_l("Save"))


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    role = SelectField(_l("Role"), choices=_role_choices)
    org_id = SelectField(_l("Organisation"), coerce=int)
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=256)])
    is_org_admin = BooleanField(_l("Organisation administrator"))
    submit = SubmitField(_l("Create user"))


class EditUserForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    role = SelectField(_l("Role"), choices=_role_choices)
    active = BooleanField(_l("Active"))
    is_org_admin = BooleanField(_l("Organisation administrator"))
    submit = SubmitField(_l("Save"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=120)])
    submit = SubmitField(_l("Create token"))


class ConfirmForm(FlaskForm):
    """An empty form: a CSRF-protected POST button."""

    submit = SubmitField(_l("Confirm"))
