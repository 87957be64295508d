"""Per-request hooks: the transaction boundary, idle session timeout, password change, security headers."""
from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.core.db import utcnow
from app.core.tx import finish

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a user holding a one-time password may reach before choosing its own.
_PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.profile", "auth.logout", "static"})


def register(app: Flask) -> None:
    app.before_request(_enforce_idle_timeout)
    app.before_request(_enforce_password_change)
    app.after_request(_finish_transaction)
    app.after_request(_security_headers)


def _enforce_idle_timeout():
    """End a browser session idle for longer than ``SESSION_IDLE_TIMEOUT_MINUTES``."""
    if request.endpoint == "static":
        return None
    if "_user_id" not in session:
        # The clock starts at login: a time left by an earlier, logged-out visit must not end the next one.
        if "last_seen" in session:
            del session["last_seen"]
        return None
    now = int(utcnow().timestamp())
    last = session.get("last_seen")
    limit = current_app.config["SESSION_IDLE_TIMEOUT_MINUTES"] * 60
    if last is not None and now - int(last) > limit:
        logout_user()
        session.clear()
        flash(_("Your session expired after a period of inactivity. Please log in again."), "warning")
        if request.method in _SAFE_METHODS and not request.path.startswith("/api/"):
            return redirect(url_for("auth.login", next=request.full_path))
        return None
    session["last_seen"] = now
    session.permanent = False
    return None


def _enforce_password_change():
    """A user given a one-time password (new account, reset) chooses its own before doing anything else."""
    if request.endpoint in _PASSWORD_CHANGE_ENDPOINTS or "_user_id" not in session:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        flash(_("Please choose a new password before you continue."), "warning")
        return redirect(url_for("auth.profile"))
    return None


def _finish_transaction(response):
    # One commit per request: a successful response commits, an error response rolls back.
    finish(response.status_code < 400)
    return response


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    )
    if current_user.is_authenticated and request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def local_now() -> dt.datetime:
    """Now in the display timezone (Asia/Shanghai)."""
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))
