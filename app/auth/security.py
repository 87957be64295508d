"""Password hashing, session and API-token loading, and access decorators."""
from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import abort, request
from flask_login import current_user
from sqlalchemy import select

from app.core.db import utcnow
from app.extensions import db, login_manager

# Argon2id with the library's RFC 9106 "low memory" profile defaults.
_hasher = PasswordHasher()
# Hash of a random password: verifying against it when the user does not exist keeps timing even.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check ``password`` against ``stored_hash`` in constant-ish time (a missing user costs the same)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@login_manager.user_loader
def load_user(session_id: str):
    from app.auth.models import User

    try:
        user_id, version = (int(part) for part in session_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


@login_manager.request_loader
def load_user_from_token(req):
    """``Authorization: Bearer <token>`` authenticates machine clients on the JSON API only."""
    from app.auth.models import ApiToken

    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not req.path.startswith("/api/"):
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_sha256 == token_sha256(header[7:].strip()), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user


def roles_required(*roles: str) -> Callable:
    """Allow the view to users holding one of ``roles``: anonymous → login, others → 403."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorator


def login_required(view: Callable) -> Callable:
    """Any signed-in user."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped


def org_admin_required(view: Callable) -> Callable:
    """A platform administrator, or an organisation administrator (``is_org_admin``)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not (current_user.role == "platform_admin" or current_user.is_org_admin):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]
