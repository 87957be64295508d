"""Configuration: defaults, then ``instance/config.py``, then the environment, then the test dict."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV_KEYS = ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "SMTP_HOST", "SMTP_PORT", "SMTP_FROM")


class Defaults:
    """Defaults for the embedded setup: SQLite in ``instance/`` and jobs in-process."""

    DATABASE_URL: str | None = None  # filled with instance/jicai.sqlite3 when unset
    REDIS_URL: str | None = None  # set → background jobs go to a Redis queue (rq)
    SECRET_KEY: str | None = None  # generated into instance/secret_key on first run
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    DISPLAY_TIMEZONE = "Asia/Shanghai"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set True behind HTTPS
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_IDLE_TIMEOUT_MINUTES = 30
    LOGIN_MAX_FAILURES = 5  # consecutive failures before the account is locked
    LOGIN_LOCKOUT_MINUTES = 15
    LOGIN_RATE_LIMIT = 20  # attempts per address per window
    LOGIN_RATE_WINDOW_SECONDS = 300
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session (which has an idle timeout)
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    UPLOAD_MAX_BYTES = 50 * 1024 * 1024
    UPLOAD_MAX_ROWS = 500_000
    UPLOAD_MAX_UNCOMPRESSED_BYTES = 500 * 1024 * 1024
    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_FROM = "jicai@localhost"
    PASSWORD_MIN_LENGTH = 10


def instance_secret_key(instance_path: str) -> str:
    """Read ``instance/secret_key``, creating it with a fresh random key on first run."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created with 0600 so only the service account can read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy would pick psycopg2 otherwise)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
