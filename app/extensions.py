"""Extension objects, created unbound and initialised by the app factory."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask.globals import app_ctx
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session


class Database:
    """One engine per app and one session per application context.

    Services use ``db.session``; they flush, never commit. The request (or CLI command) commits
    once at the end and rolls back on error. Tests rebind ``bind`` to a connection inside an
    outer transaction so every test is rolled back.
    """

    def __init__(self) -> None:
        self.session: scoped_session[Session] = scoped_session(self._make_session, scopefunc=self._scope)

    @staticmethod
    def _scope() -> int:
        return id(app_ctx._get_current_object())

    @staticmethod
    def _state() -> dict[str, Any]:
        return current_app.extensions["jicai.db"]

    def _make_session(self) -> Session:
        state = self._state()
        return Session(bind=state["bind"], expire_on_commit=False, **state.get("session_options", {}))

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        options: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            options["connect_args"] = {"timeout": 30}
        else:
            options.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        engine = create_engine(url, **options)
        if engine.dialect.name == "sqlite":
            _sqlite_transactions(engine)
        app.extensions["jicai.db"] = {"engine": engine, "bind": engine}

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            self.session.remove()

    @property
    def engine(self) -> Engine:
        return self._state()["engine"]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN, and make it ``BEGIN IMMEDIATE``.

    SQLAlchemy then handles savepoints and rollbacks properly. IMMEDIATE takes the write lock at
    the start, so a transaction that reads and then writes waits its turn (busy timeout) instead
    of failing with "database is locked" when another writer got there between its read and its
    write. The embedded SQLite setup is for one site; PostgreSQL is the scale-out.
    """

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        if engine.url.database not in (None, "", ":memory:"):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
