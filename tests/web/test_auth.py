"""Accounts and access: login, lockout, rate limit, sessions, CSRF, passwords, API tokens, scoping."""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import os
import re
import stat

import pytest
from flask import g
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import ApiToken, LoginAttempt, User
from app.core.db import utcnow
from tests.conftest import PASSWORD
from tests.web.conftest import page_csrf_token

WRONG = "wrong-password-1"
BAD_CREDENTIALS = "Wrong user name or password."
LOCKED = ("This account is locked after repeated failed logins. Try again later or ask your administrator to "
          "reset the password.")
RATE_LIMITED = "Too many login attempts from your address. Wait a few minutes and try again."
MUST_CHANGE = "Please choose a new password before you continue."
EXPIRED = "Your session expired after a period of inactivity. Please log in again."


def flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<div class="flash[^"]*" role="status">(.*?)</div>',
                                                   response.get_data(as_text=True), re.S)]


def zh_cn(app, msgid: str) -> str:
    """``msgid`` as the zh_CN catalog translates it."""
    with app.test_request_context(), force_locale("zh_CN"):
        return gettext(msgid)


def events(db, action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()


def post_form(client, path: str, data: dict | None = None, token_from: str | None = None, **kwargs):
    token = page_csrf_token(client, token_from or path)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def is_signed_in(client) -> bool:
    response = client.get("/profile")
    assert response.status_code in (200, 302)
    return response.status_code == 200


# --- logging in -------------------------------------------------------------------------------------

def test_login_goes_to_the_dashboard_or_a_safe_next_page(client, make_user, sign_in):
    user = make_user("supplier_user")
    response = sign_in(client, user)
    assert response.location == "/"
    assert user.display_name in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": page_csrf_token(client, "/")})

    token = page_csrf_token(client, "/login")
    response = client.post("/login?next=/inbox/", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert response.location == "/inbox/"
    # Off-site targets are never followed, also as a browser reads the Location ("\\" as "/", tabs dropped).
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example/x", "/\t/evil.example/x"):
        client.post("/logout", data={"csrf_token": page_csrf_token(client, "/")})
        token = page_csrf_token(client, "/login")
        response = client.post("/login", query_string={"next": target},
                               data={"username": user.username, "password": PASSWORD, "csrf_token": token})
        as_read = re.sub(r"[\t\r\n]", "", response.location).replace("\\", "/")
        assert as_read.startswith("/") and not as_read.startswith("//"), (target, response.location)


def test_login_failure_message_is_chinese_by_default_and_english_on_request(app, client, make_user, sign_in):
    user = make_user("supplier_user")
    default = sign_in(client, user, WRONG, expect=None)
    assert default.status_code == 200 and not is_signed_in(client)
    assert 'lang="zh-CN"' in default.get_data(as_text=True)
    chinese = zh_cn(app, BAD_CREDENTIALS)
    assert re.search(r"[\u4e00-\u9fff]", chinese), "the zh_CN catalog translates the message"
    assert flashes(default) == [chinese]

    english_client = app.test_client()
    token = page_csrf_token(english_client, "/login?lang=en")
    response = english_client.post("/login?lang=en", data={"username": user.username, "password": WRONG, "csrf_token": token})
    assert 'lang="en"' in response.get_data(as_text=True)
    assert flashes(response) == [BAD_CREDENTIALS]
    assert 'lang="en"' in english_client.get("/login").get_data(as_text=True), "?lang=en is remembered"
    # An unknown user gets the same message as a wrong password (no account enumeration).
    token = page_csrf_token(english_client, "/login")
    response = english_client.post("/login", data={"username": "nobody-here", "password": WRONG, "csrf_token": token})
    assert flashes(response) == [BAD_CREDENTIALS]


def test_logout_is_post_only_and_ends_the_session(client, make_user, sign_in):
    user = make_user("institution_user")
    sign_in(client, user)
    assert client.get("/logout").status_code == 405
    assert is_signed_in(client)
    response = client.post("/logout?lang=en", data={"csrf_token": page_csrf_token(client, "/")})
    assert response.status_code == 302 and response.location.startswith("/login")
    assert flashes(client.get(response.location)) == ["You have logged out."]
    assert not is_signed_in(client)


# --- lockout and rate limit -------------------------------------------------------------------------

def test_account_locks_after_max_failures_until_locked_until(app, db, client, make_user, sign_in, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    monkeypatch.setitem(app.config, "LOGIN_LOCKOUT_MINUTES", 15)
    user = make_user("supplier_user")
    for attempt in range(1, 4):
        response = sign_in(client, user, WRONG, expect=200)
        assert flashes(response) == [zh_cn(app, BAD_CREDENTIALS)]
        db.session.refresh(user)
        assert user.failed_logins == attempt
    assert user.locked_until is not None
    assert dt.timedelta(minutes=14) < user.locked_until - utcnow() <= dt.timedelta(minutes=15)

    response = sign_in(client, user, PASSWORD, expect=200)
    assert flashes(response) == [zh_cn(app, LOCKED)], "locked even with the right password"
    assert not is_signed_in(client)
    assert events(db, "auth.login_locked")

    # The lock ends at locked_until: the right password works again and clears the count.
    user.locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    sign_in(client, user, PASSWORD)
    db.session.refresh(user)
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_an_expired_lock_gives_a_fresh_count_of_attempts(app, db, client, make_user, sign_in, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user("supplier_user")
    for _ in range(3):
        sign_in(client, user, WRONG, expect=200)
    db.session.refresh(user)
    user.locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    sign_in(client, user, WRONG, expect=200)  # one typo after the lock ended ...
    db.session.refresh(user)
    assert user.locked_until is None and user.failed_logins == 1
    sign_in(client, user, PASSWORD)  # ... does not lock the account again


def test_login_attempts_are_rate_limited_per_address(app, db, client, make_user, sign_in, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", 3)
    user = make_user("distributor_user")
    other = make_user("distributor_user")
    for _ in range(3):
        sign_in(client, other, WRONG, expect=200)
    response = sign_in(client, user, PASSWORD, expect=429)
    assert flashes(response) == [zh_cn(app, RATE_LIMITED)]
    assert not is_signed_in(client)
    # The refusal is audited although the 429 rolled its request back.
    refused = events(db, "auth.login_rate_limited")
    assert refused and refused[-1].summary == {"username": user.username}
    # Another address is not affected.
    token = page_csrf_token(client, "/login")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert response.status_code == 302


def test_successful_logins_do_not_use_up_the_rate_limit(app, client, make_user, sign_in, monkeypatch):
    # The staff of a hospital share one address (NAT): only failed attempts count against it.
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", 2)
    for user in [make_user("institution_user") for _ in range(3)]:
        sign_in(client, user)
        client.post("/logout", data={"csrf_token": page_csrf_token(client, "/")})


def test_refused_login_is_remembered_after_the_rollback(app, db, make_user):
    from app.auth.services import LoginRefused, authenticate
    from app.core.tx import finish

    user = make_user("supplier_user")
    db.session.commit()
    with app.test_request_context("/login", method="POST"):
        user.display_name = "changed by the refused request"
        with pytest.raises(LoginRefused) as refused:
            authenticate(user.username, WRONG, "10.9.8.7")
        assert refused.value.code == "BAD_CREDENTIALS"
        finish(False)
    db.session.expire_all()
    assert user.display_name != "changed by the refused request", "the request's own change is rolled back"
    assert user.failed_logins == 1
    attempt = db.session.scalars(select(LoginAttempt).where(LoginAttempt.username == user.username)).one()
    assert (attempt.remote_addr, attempt.success) == ("10.9.8.7", False)
    event = events(db, "auth.login_failed")[-1]
    assert (event.object_type, event.object_id, event.remote_addr) == ("User", str(user.id), "10.9.8.7")
    assert event.summary == {"username": user.username}


# --- the browser session ----------------------------------------------------------------------------

def test_session_cookie_is_httponly_and_samesite_lax(client, make_user, sign_in):
    response = sign_in(client, make_user("supervisor"))
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    flags = [part.strip().lower() for part in cookies[-1].split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert not any(f.startswith("expires=") for f in flags), "a browser session, not a persistent cookie"


def test_idle_session_times_out(app, client, make_user, sign_in):
    sign_in(client, make_user("price_officer"))
    limit = app.config["SESSION_IDLE_TIMEOUT_MINUTES"] * 60
    now = int(utcnow().timestamp())
    with client.session_transaction() as sess:
        sess["last_seen"] = now - limit + 60
    assert client.get("/").status_code == 200, "still within the idle limit"

    with client.session_transaction() as sess:
        sess["last_seen"] = now - limit - 60
    response = client.get("/inbox/?lang=en")
    assert response.status_code == 302 and response.location.startswith("/login?next=")
    assert "inbox" in response.location
    assert flashes(client.get(response.location)) == [EXPIRED]
    assert not is_signed_in(client)


def test_a_stale_idle_clock_from_an_earlier_visit_does_not_end_a_new_login(app, client, make_user, sign_in):
    user = make_user("price_officer")
    sign_in(client, user)
    client.post("/logout", data={"csrf_token": page_csrf_token(client, "/")})
    # Hours later, in the same browser:
    with client.session_transaction() as sess:
        sess["last_seen"] = int(utcnow().timestamp()) - 5 * 3600
    sign_in(client, user)
    assert client.get("/").status_code == 200


def test_every_post_route_refuses_a_request_without_csrf_token(app, db, client, make_user, sign_in):
    post_rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert post_rules
    admin = make_user("platform_admin")
    db.session.commit()  # the refused requests roll back the session they share with the test
    for signed_in in (False, True):
        if signed_in:
            sign_in(client, admin)
        for rule in post_rules:
            url = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
            for data in ({}, {"csrf_token": "forged"}):
                response = client.post(url, data=data)
                assert response.status_code == 400, (url, signed_in, data, response.status_code)
        assert is_signed_in(client) is signed_in, "a refused POST /logout changes nothing"


# --- passwords --------------------------------------------------------------------------------------

def test_passwords_are_stored_as_argon2id_hashes(db, make_user):
    from app.auth.security import verify_password

    one, two = make_user("supplier_user"), make_user("supplier_user")
    stored = db.session.scalar(select(User.password_hash).where(User.id == one.id))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert stored != two.password_hash, "salted: the same password hashes differently"
    assert verify_password(stored, PASSWORD) and not verify_password(stored, WRONG)


def test_platform_admin_resets_a_password(app, db, client, make_user, sign_in):
    admin, target = make_user("platform_admin"), make_user("supplier_user")
    target_client = app.test_client()
    sign_in(target_client, target)
    sign_in(client, admin)
    response = post_form(client, f"/users/{target.id}/reset-password", token_from="/users")
    assert response.status_code == 200
    temporary = html.unescape(re.search(r'<code class="token">([^<]+)</code>', response.get_data(as_text=True)).group(1))
    db.session.refresh(target)
    assert target.must_change_password
    assert target.password_hash.startswith("$argon2id$") and temporary not in target.password_hash
    assert events(db, "user.password_reset")[-1].object_id == str(target.id)

    assert not is_signed_in(target_client), "a reset ends the user's open sessions"
    sign_in(target_client, target, PASSWORD, expect=200)
    response = sign_in(target_client, target, temporary)
    assert response.location == "/profile"


def test_org_admin_resets_passwords_of_its_own_organisation_only(db, client, make_user, make_org, sign_in):
    org_a = make_org("supplier", name="Supplier A")
    admin = make_user("supplier_user", org=org_a, is_org_admin=True)
    colleague = make_user("supplier_user", org=org_a)
    outsider = make_user("supplier_user")
    hash_before = outsider.password_hash
    sign_in(client, admin)

    assert post_form(client, f"/users/{colleague.id}/reset-password", token_from="/users").status_code == 200
    assert post_form(client, f"/users/{outsider.id}/reset-password", token_from="/users").status_code == 404
    assert client.get(f"/users/{outsider.id}").status_code == 404
    db.session.refresh(outsider)
    assert outsider.password_hash == hash_before and not outsider.must_change_password
    assert [e.object_id for e in events(db, "user.password_reset")] == [str(colleague.id)]


def test_a_plain_user_cannot_reset_passwords(client, make_user, make_org, sign_in):
    org = make_org("supplier")
    user, colleague = make_user("supplier_user", org=org), make_user("supplier_user", org=org)
    sign_in(client, user)
    assert post_form(client, f"/users/{colleague.id}/reset-password", token_from="/").status_code == 403


def test_a_new_user_must_change_the_password_before_anything_else(app, db, client, make_user, make_org, sign_in):
    admin = make_user("platform_admin")
    org = make_org("medical_institution")
    sign_in(client, admin)
    response = post_form(client, "/users/new", {
        "username": "nurse.li", "display_name": "李护士", "email": "", "role": "institution_user", "org_id": org.id,
        "password": "Initial-pass-1",
    })
    assert response.status_code == 302, flashes(response)
    new = db.session.scalars(select(User).where(User.username == "nurse.li")).one()
    assert new.must_change_password and new.org_id == org.id

    user_client = app.test_client()
    response = sign_in(user_client, new, "Initial-pass-1")
    assert response.location == "/profile"
    assert flashes(user_client.get("/profile")) == [zh_cn(app, MUST_CHANGE)]
    for path in ("/", "/inbox/", "/tokens"):
        response = user_client.get(path)
        assert response.status_code == 302 and response.location == "/profile", path
    user_client.get("/profile")  # read the flashed reminders

    token = page_csrf_token(user_client, "/profile")
    response = user_client.post("/profile", data={"pw-csrf_token": token, "pw-current": "Initial-pass-1",
                                                  "pw-new": "Chosen-pass-22", "pw-confirm": "Chosen-pass-22",
                                                  "pw-submit": "y"})
    assert response.status_code == 302 and response.location == "/profile"
    assert user_client.get("/").status_code == 200, "this session goes on after the change"
    db.session.refresh(new)
    assert not new.must_change_password and new.password_hash.startswith("$argon2id$")
    other_client = app.test_client()
    sign_in(other_client, new, "Initial-pass-1", expect=200)
    sign_in(other_client, new, "Chosen-pass-22")


def test_changing_the_password_ends_the_other_sessions(app, client, make_user, sign_in):
    user = make_user("procurement_officer")
    other_browser = app.test_client()
    sign_in(client, user)
    sign_in(other_browser, user)
    token = page_csrf_token(client, "/profile")
    response = client.post("/profile", data={"pw-csrf_token": token, "pw-current": PASSWORD, "pw-new": "another-pass-3",
                                             "pw-confirm": "another-pass-3", "pw-submit": "y"})
    assert response.status_code == 302
    assert is_signed_in(client)
    assert not is_signed_in(other_browser)


def _edit(client, user, **fields):
    data = {"display_name": user.display_name, "email": "", "role": user.role, **fields}
    return post_form(client, f"/users/{user.id}", {k: v for k, v in data.items() if v is not False})


def test_deactivating_a_user_ends_its_sessions(app, db, client, make_user, sign_in):
    admin, user = make_user("platform_admin"), make_user("institution_user")
    user_client = app.test_client()
    sign_in(user_client, user)
    version = user.session_version
    sign_in(client, admin)

    assert _edit(client, user, active=False).status_code == 302
    db.session.refresh(user)
    assert not user.active and user.session_version == version + 1
    assert not is_signed_in(user_client)
    sign_in(app.test_client(), user, expect=200)

    assert _edit(client, user, active="y").status_code == 302
    assert not is_signed_in(user_client), "reactivation does not revive the old session"
    sign_in(app.test_client(), user)


# --- API tokens -------------------------------------------------------------------------------------

def _user_for(app, path: str, authorization: str):
    """The user Flask-Login loads for a request to ``path`` carrying ``authorization`` (no session)."""
    with app.test_request_context(path, headers={"Authorization": authorization}):
        app.login_manager._load_user()
        return g._login_user


def test_api_tokens(app, db, client, make_user, sign_in):
    user = make_user("supplier_user")
    sign_in(client, user)
    response = post_form(client, "/tokens", {"name": "ERP link"})
    assert response.status_code == 200
    raw = re.search(r'<code class="token">(jc_[^<]+)</code>', response.get_data(as_text=True)).group(1)

    stored = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert stored.token_sha256 == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (stored.name, stored.prefix, stored.token_sha256) and len(stored.prefix) < len(raw) // 2
    assert raw not in client.get("/tokens").get_data(as_text=True), "the token is shown once"
    assert events(db, "api_token.create")[-1].summary == {"name": "ERP link", "prefix": stored.prefix}

    loaded = _user_for(app, "/api/v1/x", f"Bearer {raw}")
    assert loaded.is_authenticated and loaded.id == user.id
    assert stored.last_used_at is not None
    assert not _user_for(app, "/api/v1/x", f"Bearer {raw}x").is_authenticated
    assert not _user_for(app, "/api/v1/x", f"Basic {raw}").is_authenticated
    # Outside /api/ the header is ignored: browsers use the session (and CSRF) only.
    assert not _user_for(app, "/tokens", f"Bearer {raw}").is_authenticated
    response = app.test_client().get("/", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 302 and response.location.startswith("/login")

    response = post_form(client, f"/tokens/{stored.id}/revoke", token_from="/tokens")
    assert response.status_code == 302
    db.session.refresh(stored)
    assert stored.revoked_at is not None
    assert not _user_for(app, "/api/v1/x", f"Bearer {raw}").is_authenticated


def test_api_token_of_a_deactivated_user_is_refused(app, db, make_user):
    from app.auth.services import create_api_token

    user = make_user("distributor_user")
    _, raw = create_api_token(user=user, name="edi")
    assert _user_for(app, "/api/v1/x", f"Bearer {raw}").is_authenticated
    user.active = False
    db.session.flush()
    assert not _user_for(app, "/api/v1/x", f"Bearer {raw}").is_authenticated


def test_a_token_cannot_be_revoked_by_another_user(app, db, client, make_user, sign_in):
    from app.auth.services import create_api_token

    owner, other = make_user("supplier_user"), make_user("supplier_user")
    token, raw = create_api_token(user=owner, name="mine")
    sign_in(client, other)
    assert post_form(client, f"/tokens/{token.id}/revoke", token_from="/tokens").status_code == 404
    db.session.refresh(token)
    assert token.revoked_at is None
    assert _user_for(app, "/api/v1/x", f"Bearer {raw}").is_authenticated


# --- data scoping -----------------------------------------------------------------------------------

def test_org_admin_sees_and_manages_only_its_own_organisation(db, client, make_user, make_org, sign_in):
    org_a, org_b = make_org("supplier", name="Supplier A"), make_org("supplier", name="Supplier B")
    admin = make_user("supplier_user", org=org_a, username="a_admin", is_org_admin=True)
    make_user("supplier_user", org=org_a, username="a_colleague")
    make_user("supplier_user", org=org_b, username="b_someone")
    sign_in(client, admin)

    page = client.get("/users").get_data(as_text=True)
    assert "a_admin" in page and "a_colleague" in page
    assert "b_someone" not in page and "Supplier B" not in page

    form = client.get("/users/new").get_data(as_text=True)
    assert f'value="{org_b.id}"' not in form and 'value="platform_admin"' not in form
    for org, role in ((org_b, "supplier_user"), (org_a, "platform_admin")):
        response = post_form(client, "/users/new", {"username": f"sneaky_{role}", "display_name": "x", "role": role,
                                                    "org_id": org.id, "password": "Initial-pass-1"})
        assert response.status_code == 200
        assert db.session.scalar(select(User.id).where(User.username == f"sneaky_{role}")) is None


def test_platform_admin_sees_every_organisations_users(client, make_user, make_org, sign_in):
    make_user("supplier_user", org=make_org("supplier", name="Supplier A"), username="a_someone")
    make_user("supplier_user", org=make_org("supplier", name="Supplier B"), username="b_someone")
    sign_in(client, make_user("platform_admin"))
    page = client.get("/users").get_data(as_text=True)
    assert "a_someone" in page and "b_someone" in page


# --- the generated secret key -----------------------------------------------------------------------

def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    from app import create_app
    from app.config import ENV_KEYS

    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    instance = tmp_path / "instance"
    monkeypatch.setenv("JICAI_INSTANCE_PATH", str(instance))
    url = "sqlite:///" + str(tmp_path / "throwaway.sqlite3")

    first = create_app({"DATABASE_URL": url})
    second = create_app({"DATABASE_URL": url})
    try:
        key_file = instance / "secret_key"
        assert key_file.is_file()
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        key = first.config["SECRET_KEY"]
        assert len(key) >= 32 and key_file.read_text(encoding="utf-8").strip() == key
        assert second.config["SECRET_KEY"] == key, "reused on the next start"
    finally:
        for application in (first, second):
            application.extensions["jicai.db"]["engine"].dispose()


def test_a_password_reset_revokes_the_users_api_tokens(db, make_user):
    from app.auth.models import ApiToken
    from app.auth.services import create_api_token, reset_password

    admin = make_user("platform_admin")
    user = make_user("supplier_user")
    token, _raw = create_api_token(user=user, name="erp")
    reset_password(actor=admin, user=user)
    assert db.session.get(ApiToken, token.id).revoked_at is not None
