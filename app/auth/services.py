"""Accounts: authentication with lockout and rate limiting, users, passwords, API tokens.

Services flush and never commit; every change writes an audit event.
"""
from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app
from sqlalchemy import func, select

from app.audit.services import record, record_refusal
from app.auth import roles as R
from app.auth.models import ApiToken, LoginAttempt, User
from app.auth.security import hash_password, token_sha256, verify_password
from app.core.db import utcnow
from app.core.errors import N_, DomainError
from app.core.tx import remember_after_rollback
from app.extensions import db
from app.orgs.models import Organisation


class AccessDenied(DomainError):
    default_code = "ACCESS_DENIED"


class LoginRefused(DomainError):
    default_code = "LOGIN_REFUSED"


def _recent_failures_from(remote_addr: str) -> int:
    # Failures only: the staff of a hospital log in from one (NAT) address.
    window = dt.timedelta(seconds=current_app.config["LOGIN_RATE_WINDOW_SECONDS"])
    return db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.remote_addr == remote_addr, LoginAttempt.success.is_(False), LoginAttempt.at >= utcnow() - window
        )
    ) or 0


def _remember_attempt(username: str, remote_addr: str, success: bool, user: User | None) -> None:
    """Keep the attempt (and, on failure, the account's failure count) even though a refusal rolls back."""
    user_id = user.id if user else None

    def write(session) -> None:
        session.add(LoginAttempt(username=username[:64], remote_addr=remote_addr, success=success))
        if not success and user_id is not None:
            account = session.get(User, user_id)
            if account.locked_until is not None and account.locked_until <= utcnow():
                account.failed_logins, account.locked_until = 0, None  # an expired lock starts a fresh count
            account.failed_logins += 1
            if account.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
                account.locked_until = utcnow() + dt.timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        session.flush()

    remember_after_rollback(write)


def authenticate(username: str, password: str, remote_addr: str) -> User:
    """Return the user for valid credentials, or raise :class:`LoginRefused` saying why.

    Refusals are remembered in their own transaction: the attempt, the failure count that leads
    to a lockout, and an audit event.
    """
    username = (username or "").strip()
    if _recent_failures_from(remote_addr) >= current_app.config["LOGIN_RATE_LIMIT"]:
        record_refusal("auth.login_rate_limited", summary={"username": username[:64]}, remote_addr=remote_addr)
        raise LoginRefused("LOGIN_RATE_LIMITED", N_("Too many login attempts from your address. Wait a few minutes and try again."))
    user = db.session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        _remember_attempt(username, remote_addr, False, None)
        record_refusal("auth.login_locked", object_type="User", object_id=user.id, summary={"username": username},
                       remote_addr=remote_addr)
        raise LoginRefused("ACCOUNT_LOCKED", N_("This account is locked after repeated failed logins. Try again later or ask your administrator to reset the password."))
    if user is None or not verify_password(user.password_hash, password) or not user.is_active:
        _remember_attempt(username, remote_addr, False, user if user is not None and user.is_active else None)
        record_refusal("auth.login_failed", object_type="User", object_id=user.id if user else None,
                       summary={"username": username[:64]}, remote_addr=remote_addr)
        raise LoginRefused("BAD_CREDENTIALS", N_("Wrong user name or password."))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.add(LoginAttempt(username=username, remote_addr=remote_addr, success=True))
    record("auth.login", user, summary={"username": username})
    return user


def check_password_policy(password: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise DomainError("PASSWORD_TOO_SHORT", N_("The password must have at least %(n)s characters."), params={"n": minimum})
    if password.isdigit() or password.isalpha():
        raise DomainError("PASSWORD_TOO_SIMPLE", N_("The password must mix letters with digits or symbols."))


def _check_manage(actor: User, org: Organisation, role: str | None = None) -> None:
    """May ``actor`` manage users of ``org`` (and give them ``role``)?"""
    if actor.role == R.PLATFORM_ADMIN:
        pass
    elif actor.is_org_admin and actor.org_id == org.id:
        if role == R.PLATFORM_ADMIN:
            raise AccessDenied(message=N_("Only a platform administrator can create platform administrators."))
    else:
        raise AccessDenied(message=N_("You can only manage the users of your own organisation."))
    if role is not None and org.kind not in R.ROLE_ORG_KINDS[role]:
        raise DomainError("ROLE_ORG_MISMATCH", N_("The role %(role)s cannot belong to an organisation of this kind."),
                          params={"role": role})


def create_user(*, actor: User | None, username: str, display_name: str, password: str, role: str,
                org: Organisation, email: str | None = None, is_org_admin: bool = False,
                locale: str = "zh_CN", must_change_password: bool = False) -> User:
    """Create an account; ``actor`` None means the command line (trusted)."""
    if role not in R.ROLES:
        raise DomainError("UNKNOWN_ROLE", N_("Unknown role %(role)s."), params={"role": role})
    if actor is not None:
        _check_manage(actor, org, role)
    elif org.kind not in R.ROLE_ORG_KINDS[role]:
        raise DomainError("ROLE_ORG_MISMATCH", N_("The role %(role)s cannot belong to an organisation of this kind."),
                          params={"role": role})
    username = username.strip()
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise DomainError("USER_EXISTS", N_("A user named %(name)s already exists."), params={"name": username})
    check_password_policy(password)
    user = User(username=username, display_name=display_name.strip(), email=(email or None), role=role, org_id=org.id,
                is_org_admin=is_org_admin, locale=locale, password_hash=hash_password(password),
                must_change_password=must_change_password)
    db.session.add(user)
    db.session.flush()
    record("user.create", user, summary={"username": username, "role": role, "org_id": org.id, "org_admin": is_org_admin})
    return user


def update_user(*, actor: User, user: User, display_name: str, email: str | None, role: str, active: bool,
                is_org_admin: bool) -> User:
    _check_manage(actor, user.org, role)
    if actor.id == user.id and (not active or role != user.role):
        raise DomainError("SELF_LOCKOUT", N_("You cannot deactivate yourself or change your own role."))
    before = {"role": user.role, "active": user.active, "org_admin": user.is_org_admin}
    user.display_name, user.email, user.role, user.is_org_admin = display_name.strip(), email or None, role, is_org_admin
    if user.active and not active:
        user.session_version += 1  # end the user's open sessions at once
    user.active = active
    db.session.flush()
    record("user.update", user, summary={"before": before, "after": {"role": role, "active": active, "org_admin": is_org_admin}})
    return user


def reset_password(*, actor: User, user: User) -> str:
    """Set a one-time password the user must change at next login; returns it to show once."""
    _check_manage(actor, user.org)
    temporary = secrets.token_urlsafe(9) + "7!"
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    user.session_version += 1
    # A reset answers a lost or compromised password: the user's machine tokens go with it.
    revoked = 0
    for token in user_tokens_active(user):
        token.revoked_at = utcnow()
        revoked += 1
    db.session.flush()
    record("user.password_reset", user, summary={"username": user.username, "tokens_revoked": revoked})
    return temporary


def change_password(*, user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise DomainError("BAD_CURRENT_PASSWORD", N_("The current password is wrong."))
    if current == new:
        raise DomainError("SAME_PASSWORD", N_("Choose a password different from the current one."))
    check_password_policy(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_version += 1
    db.session.flush()
    record("user.password_change", user, summary={"username": user.username})


def set_locale(*, user: User, locale: str) -> None:
    if locale not in current_app.config["LANGUAGES"]:
        raise DomainError("UNKNOWN_LOCALE", N_("Unknown language."))
    user.locale = locale
    db.session.flush()


def users_visible_to(actor: User):
    """Users ``actor`` may manage: all for a platform administrator, its organisation's otherwise."""
    query = select(User).join(User.org).order_by(Organisation.name, User.username)
    if actor.role != R.PLATFORM_ADMIN:
        query = query.where(User.org_id == actor.org_id)
    return db.session.scalars(query).all()


def get_managed_user(actor: User, user_id: int) -> User | None:
    """The user if ``actor`` may manage it, else None (shown as 404: no existence leak)."""
    user = db.session.get(User, user_id)
    if user is None:
        return None
    if actor.role == R.PLATFORM_ADMIN or (actor.is_org_admin and user.org_id == actor.org_id):
        return user
    return None


def create_api_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for machine clients; the raw token is returned once and only its hash is stored."""
    raw = "jc_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip() or "token", token_sha256=token_sha256(raw), prefix=raw[:10])
    db.session.add(token)
    db.session.flush()
    record("api_token.create", token, summary={"name": token.name, "prefix": token.prefix})
    return token, raw


def revoke_api_token(*, user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise DomainError("NOT_FOUND", N_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        record("api_token.revoke", token, summary={"prefix": token.prefix})
    return token


def user_tokens_active(user: User) -> list[ApiToken]:
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()


def list_api_tokens(user: User) -> list[ApiToken]:
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())).all()
