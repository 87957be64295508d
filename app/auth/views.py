"""Login, logout, profile, user administration and API tokens."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from app.auth import roles as R
from app.auth import services
from app.auth.forms import ChangePasswordForm, ConfirmForm, EditUserForm, LoginForm, PreferencesForm, TokenForm, UserForm
from app.auth.security import client_address, login_required, org_admin_required
from app.core.errors import DomainError
from app.extensions import db
from app.i18n import translate_error
from app.orgs.models import Organisation

bp = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never redirect a user to another host after login.
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data, client_address())
        except services.LoginRefused as err:
            flash(translate_error(err), "danger")
            status = 429 if err.code == "LOGIN_RATE_LIMITED" else 200
            return render_template("auth/login.html", form=form), status
        login_user(user)
        if user.must_change_password:
            flash(_("Please choose a new password before you continue."), "warning")
            return redirect(url_for("auth.profile"))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("You have logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    password_form = ChangePasswordForm(prefix="pw")
    prefs_form = PreferencesForm(prefix="pref", locale=current_user.locale)
    if password_form.submit.data and password_form.validate_on_submit():
        try:
            services.change_password(user=current_user, current=password_form.current.data, new=password_form.new.data)
        except DomainError as err:
            flash(translate_error(err), "danger")
            return render_template("auth/profile.html", password_form=password_form, prefs_form=prefs_form), 200
        login_user(current_user._get_current_object())  # the session version changed: keep this session, end the others
        flash(_("Your password was changed."), "success")
        return redirect(url_for("auth.profile"))
    if prefs_form.submit.data and prefs_form.validate_on_submit():
        services.set_locale(user=current_user, locale=prefs_form.locale.data)
        from flask import session

        session.pop("lang", None)
        flash(_("Preferences saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", password_form=password_form, prefs_form=prefs_form)


@bp.get("/users")
@org_admin_required
def list_users():
    return render_template("auth/users.html", users=services.users_visible_to(current_user), confirm=ConfirmForm())


def _org_choices() -> list[tuple[int, str]]:
    query = select(Organisation).order_by(Organisation.name)
    if current_user.role != R.PLATFORM_ADMIN:
        query = query.where(Organisation.id == current_user.org_id)
    return [(o.id, o.name) for o in db.session.scalars(query)]


def _role_choices() -> list[tuple[str, str]]:
    roles = R.ROLES if current_user.role == R.PLATFORM_ADMIN else tuple(
        r for r in R.ROLES if current_user.org.kind in R.ROLE_ORG_KINDS[r]
    )
    return [(r, R.role_label(r)) for r in roles]


@bp.route("/users/new", methods=["GET", "POST"])
@org_admin_required
def create_user():
    form = UserForm()
    form.org_id.choices = _org_choices()
    form.role.choices = _role_choices()
    if form.validate_on_submit():
        org = db.session.get(Organisation, form.org_id.data)
        try:
            user = services.create_user(actor=current_user, username=form.username.data, display_name=form.display_name.data,
                                        password=form.password.data, role=form.role.data, org=org, email=form.email.data,
                                        is_org_admin=form.is_org_admin.data, must_change_password=True)
        except DomainError as err:
            flash(translate_error(err), "danger")
            return render_template("auth/user_form.html", form=form, user=None), 422
        flash(_("User %(name)s created. They must change the password at first login.", name=user.username), "success")
        return redirect(url_for("auth.list_users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@org_admin_required
def edit_user(user_id: int):
    user = services.get_managed_user(current_user, user_id) or abort(404)
    form = EditUserForm(obj=user)
    form.role.choices = _role_choices()
    if form.validate_on_submit():
        try:
            services.update_user(actor=current_user, user=user, display_name=form.display_name.data, email=form.email.data,
                                 role=form.role.data, active=form.active.data, is_org_admin=form.is_org_admin.data)
        except DomainError as err:
            flash(translate_error(err), "danger")
            return render_template("auth/user_form.html", form=form, user=user), 422
        flash(_("Saved."), "success")
        return redirect(url_for("auth.list_users"))
    return render_template("auth/user_form.html", form=form, user=user)


@bp.post("/users/<int:user_id>/reset-password")
@org_admin_required
def reset_password(user_id: int):
    user = services.get_managed_user(current_user, user_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    temporary = services.reset_password(actor=current_user, user=user)
    return render_template("auth/password_reset.html", user=user, temporary=temporary)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        created = services.create_api_token(user=current_user, name=form.name.data)[1]  # not `_, …`: `_` is gettext
        flash(_("Copy the token now: it will not be shown again."), "warning")
    return render_template("auth/tokens.html", form=form, tokens=services.list_api_tokens(current_user), created=created,
                           confirm=ConfirmForm())


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.revoke_api_token(user=current_user, token_id=token_id)
    except DomainError:
        abort(404)
    flash(_("Token revoked."), "success")
    return redirect(url_for("auth.tokens"))
