"""Users, API tokens and login attempts."""
from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.roles import ROLES
from app.core.db import Base, UTCDateTime, enum_check, id_column, utcnow
from app.orgs.models import Organisation


class User(UserMixin, Base):
    """A person's account (用户). One role per account; ``is_org_admin`` lets it manage its organisation's users."""

    __tablename__ = "users"
    __table_args__ = (enum_check("role", ROLES), enum_check("locale", ("zh_CN", "en")))

    id: Mapped[int] = id_column()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    is_org_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(Integer, default=1)  # bumped to end every session
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Organisation] = relationship(lazy="joined")

    def get_id(self) -> str:
        # The session carries the version so a password reset or deactivation ends old sessions.
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active and self.org.active)

    @property
    def is_locked(self) -> bool:
        """Locked out by repeated failed logins right now (an expired lock no longer counts)."""
        from app.core.db import utcnow

        return self.locked_until is not None and self.locked_until > utcnow()

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class ApiToken(Base):
    """A per-user API token for machine clients (CSRF-exempt, revocable). Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """One login attempt, kept for rate limiting per address and lockout per account."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = id_column()
    username: Mapped[str] = mapped_column(String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
