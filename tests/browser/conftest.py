"""A live jicai server on loopback with its own migrated SQLite database, and a Playwright browser.

Playwright (the PyPI package) drives Debian's chromium by its executable path; it never
downloads a browser. Chromium runs headless as root with ``--no-sandbox`` and the flags that keep
it off the network (this machine's network is closed).
"""
from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.core.migrate import upgrade
from app.core.tx import transaction

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{path / 'live.sqlite3'}"
    upgrade(url)
    application = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test-secret", "TESTING": False,
                               "SERVER_NAME": None})
    return application


@pytest.fixture(scope="module")
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    live_app.extensions["jicai.db"]["engine"].dispose()


@pytest.fixture(scope="module")
def live_user(live_app):
    """Build users in the live server's database (committed, as a real deployment would hold them)."""
    from app.auth.services import create_user
    from app.orgs.services import create_organisation
    from app.orgs.uscc import make_uscc

    made = {"n": 0}

    def build(role: str, org_kind: str, password: str = "browser-pass-42", org_name: str | None = None, **fields):
        made["n"] += 1
        with live_app.app_context(), transaction():
            org = create_organisation(kind=org_kind, name=org_name or f"{org_kind} {made['n']}",
                                      uscc=make_uscc(f"9132000{made['n']:09d}Y"[:17]) if org_kind != "platform" else None)
            user = create_user(actor=None, username=f"{role}_{made['n']}", display_name=fields.pop("display_name", f"用户{made['n']}"),
                               password=password, role=role, org=org, **fields)
            return {"username": user.username, "password": password, "display_name": user.display_name, "org": org.name}

    return build


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    if os.environ.get("JICAI_SCREENSHOTS"):
        pg.screenshot(path=os.path.join(os.environ["JICAI_SCREENSHOTS"], "last.png"), full_page=True)
    context.close()
