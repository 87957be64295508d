"""The main door: a procurement officer logs in through a real browser and sees the dashboard in Chinese."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_officer_logs_in_and_sees_chinese_dashboard(live_server, live_user, page):
    officer = live_user("procurement_officer", "procurement_authority", display_name="王经办", org_name="国家组织药品联合采购办公室")
    page.goto(f"{live_server}/")
    # Anonymous visitors are sent to the login page, which speaks Chinese.
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "登录集采平台"
    page.get_by_label("用户名").fill(officer["username"])
    page.get_by_label("密码").fill(officer["password"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/")
    assert page.locator("h1").inner_text() == "工作台"
    body = page.locator("body").inner_text()
    assert "王经办" in body and "国家组织药品联合采购办公室" in body
    assert "联采办经办人" in body  # the role, in Chinese
    # The session cookie is HttpOnly and SameSite=Lax.
    cookie = next(c for c in page.context.cookies() if c["name"] == "session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"


def test_wrong_password_is_refused_in_chinese(live_server, live_user, page):
    officer = live_user("procurement_officer", "procurement_authority")
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(officer["username"])
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    assert page.locator(".flash").inner_text() == "用户名或密码错误。"
    assert "/login" in page.url


def test_english_on_request(live_server, page):
    page.goto(f"{live_server}/login?lang=en")
    assert page.locator("h1").inner_text() == "Log in to jicai"
