"""Web-test fixtures: a fresh ``flask.g`` per request, and signing a user in on any test client."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import g, request_started

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_g_per_request(app):
    """Give every test-client request an empty ``flask.g``, as a real request has.

    The ``db`` fixture keeps one application context pushed for the whole test and a test-client
    request reuses it, so without this ``g`` would carry Flask-Login's current user, Flask-WTF's
    ``csrf_valid`` and Flask-Babel's locale from one request (or one client) to the next.
    """

    def clear(sender, **extra):
        vars(g._get_current_object()).clear()

    request_started.connect(clear, app)
    yield
    request_started.disconnect(clear, app)


def page_csrf_token(client, path: str) -> str:
    """The CSRF token of the first form on ``path``."""
    page = client.get(path)
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data)
    assert match, f"no CSRF token on {path} (status {page.status_code})"
    return match.group(1).decode()


@pytest.fixture()
def sign_in():
    """Log ``user`` in on ``client`` through the real login form; returns the login response."""

    def do(client, user, password: str = PASSWORD, *, expect: int | None = 302):
        token = page_csrf_token(client, "/login")
        response = client.post("/login", data={"username": user.username, "password": password, "csrf_token": token})
        if expect is not None:
            assert response.status_code == expect, response.get_data(as_text=True)[:500]
        return response

    return do


@pytest.fixture()
def browser(app, db):
    """Open a test client signed in as ``user`` (the session a successful login leaves).

    What the test built so far is committed into its outer transaction first: a refused request
    rolls back the session it shares with the test.
    """

    def open_as(user):
        db.session.commit()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return client

    return open_as


@pytest.fixture()
def zh_catalog(app, tmp_path):
    """Serve the zh catalog compiled from ``messages.po`` as it stands, whatever .mo is on disk."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(ROOT / "app/translations/zh/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    target = tmp_path / "zh" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as fh:
        write_mo(fh, catalog)
    config = app.extensions["babel"]
    with app.app_context():
        cache = config.instance.domain_instance.cache  # translations are cached per locale on the domain
    saved = config.translation_directories
    config.translation_directories = [str(tmp_path)]
    cache.clear()
    yield
    config.translation_directories = saved
    cache.clear()


@pytest.fixture()
def fast_passwords(monkeypatch):
    """Skip the Argon2 hashes where nobody types a password (sessions are opened directly)."""
    monkeypatch.setattr("app.auth.services.hash_password", lambda password: "$argon2id$not-a-hash")


def assert_po_fragment_complete(package: str, *extra_msgids: str) -> None:
    """Every msgid of ``app/<package>`` (and ``extra_msgids``) has a translation in the package's PO
    fragment, with the same placeholders."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "N_": None}
    wanted = {m[2] for m in extract_from_dir(str(ROOT / "app" / package), method_map, keywords=keywords)}
    wanted = {m if isinstance(m, str) else m[0] for m in wanted} | set(extra_msgids)
    with open(ROOT / "app" / package / "messages_zh_CN.po", "rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated = {m.id: m.string for m in catalog if m.id and not m.fuzzy}
    assert wanted <= set(translated), sorted(wanted - set(translated))
    for msgid, msgstr in translated.items():
        assert msgstr, msgid
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", msgstr)), msgid
