"""Fixtures: ``app -> db -> client``, factory builders, and the optional PostgreSQL/browser parts.

The suite runs on SQLite by default; set ``JICAI_TEST_DATABASE_URL`` to a PostgreSQL URL to run it
all on PostgreSQL (``.ci/run`` does). Every test runs inside an outer transaction that is rolled
back, with each request's session nested in a savepoint, so tests never share state.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.core.migrate import upgrade
from app.extensions import db as _db

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/jicai_test"
CHROMIUM = os.environ.get("JICAI_CHROMIUM", "/usr/bin/chromium")
_SKIPPED_PARTS: dict[str, str] = {}


def _required(part: str) -> bool:
    """CI (and JICAI_REQUIRE=pg,browser) must never skip the optional parts."""
    if os.environ.get("CI", "").lower() == "true":
        return True
    return part in os.environ.get("JICAI_REQUIRE", "").split(",")


def _pg_url() -> str:
    return os.environ.get("JICAI_TEST_PG_URL", PG_DEFAULT)


def pg_available() -> str | None:
    """The PostgreSQL test URL when the server answers, else None."""
    try:
        engine = create_engine(_pg_url())
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return _pg_url()
    except Exception as exc:  # any connection failure means "not here"
        _SKIPPED_PARTS.setdefault("postgres", f"PostgreSQL not reachable at {_pg_url()} ({type(exc).__name__})")
        return None


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A migrated-or-empty PostgreSQL test database URL; skip (or fail in CI) when unavailable."""
    url = pg_available()
    if url is None:
        if _required("pg"):
            pytest.fail("PostgreSQL is required here but not reachable: " + _SKIPPED_PARTS["postgres"])
        pytest.skip(_SKIPPED_PARTS["postgres"])
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        reason = f"chromium not installed at {CHROMIUM}"
        _SKIPPED_PARTS.setdefault("browser", reason)
        if _required("browser"):
            pytest.fail("the browser tests are required here: " + reason)
        pytest.skip(reason)
    return CHROMIUM


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _SKIPPED_PARTS:
        terminalreporter.write_line("")
        for part, reason in sorted(_SKIPPED_PARTS.items()):
            terminalreporter.write_line(f"NOT RUN: the {part} tests ({reason}); CI runs them.", yellow=True)


# --- the database under test -------------------------------------------------------------------

@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """SQLite in a temp dir by default; ``JICAI_TEST_DATABASE_URL`` selects another (PostgreSQL)."""
    url = os.environ.get("JICAI_TEST_DATABASE_URL")
    if url:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url)
        with engine.begin() as conn:
            # Start from nothing: a previous run may have left tables behind.
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def _migrated(database_url) -> str:
    from app.config import normalise_database_url

    url = normalise_database_url(database_url)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def app(_migrated, instance_dir):
    os.environ["JICAI_INSTANCE_PATH"] = instance_dir
    application = create_app({
        "TESTING": True,
        "DATABASE_URL": _migrated,
        "SECRET_KEY": "test-secret-not-for-production",
        "LOGIN_RATE_LIMIT": 1000,
    })
    yield application
    application.extensions["jicai.db"]["engine"].dispose()


@pytest.fixture()
def db(app):
    """The database inside a rolled-back outer transaction; yields the handle (``db.session``)."""
    engine = app.extensions["jicai.db"]["engine"]
    connection = engine.connect()
    outer = connection.begin()
    state = app.extensions["jicai.db"]
    state["bind"] = connection
    state["session_options"] = {"join_transaction_mode": "create_savepoint"}
    ctx = app.app_context()
    ctx.push()
    try:
        yield _db
    finally:
        _db.session.remove()
        ctx.pop()
        state["bind"] = engine
        state.pop("session_options", None)
        outer.rollback()
        connection.close()


@pytest.fixture()
def client(app, db):
    return app.test_client()


# --- builders -----------------------------------------------------------------------------------

@pytest.fixture()
def make_org(db):
    """Build an organisation of a kind with a valid, unique unified social credit code."""
    from app.orgs.services import create_organisation
    from app.orgs.uscc import make_uscc

    counter = {"n": 0}

    def build(kind: str = "supplier", name: str | None = None, **fields):
        counter["n"] += 1
        n = counter["n"]
        if kind != "platform" and "uscc" not in fields and "foreign_id" not in fields:
            fields["uscc"] = make_uscc(f"91110000{n:08d}X"[:17])
        return create_organisation(kind=kind, name=name or f"{kind} {n}", **fields)

    return build


PASSWORD = "correct-horse-9"

ROLE_ORG_KIND = {
    "platform_admin": "platform",
    "procurement_officer": "procurement_authority",
    "supervisor": "procurement_authority",
    "institution_user": "medical_institution",
    "supplier_user": "supplier",
    "distributor_user": "distributor",
    "price_officer": "price_authority",
}


@pytest.fixture()
def make_user(db, make_org):
    """Build a user of a role (its organisation created unless given)."""
    from app.auth.services import create_user

    counter = {"n": 0}

    def build(role: str = "procurement_officer", org=None, username: str | None = None, password: str = PASSWORD, **fields):
        counter["n"] += 1
        org = org or make_org(ROLE_ORG_KIND[role])
        return create_user(actor=None, username=username or f"{role}{counter['n']}", display_name=f"{role} {counter['n']}",
                           password=password, role=role, org=org, **fields)

    return build


@pytest.fixture()
def login(client):
    """Log ``user`` in through the real login form (CSRF disabled only by reading the token)."""
    import re

    def do(user, password: str = PASSWORD):
        page = client.get("/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data).group(1).decode()
        response = client.post("/login", data={"username": user.username, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.data[:500]
        return response

    return do


def csrf_token(client, path: str = "/") -> str:
    import re

    page = client.get(path)
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data)
    assert match, f"no CSRF token on {path}"
    return match.group(1).decode()
