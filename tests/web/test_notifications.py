"""In-app notifications (站内信): a user's inbox and an organisation's, read per user, and email
through SMTP when it is configured (a local sink here) without a mail outage undoing anything.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import re
import socket
import socketserver
import threading

import pytest

from app.core.tx import finish
from sqlalchemy import func, select

from app.notifications.models import Notification, NotificationRead
from app.notifications.services import count_unread, list_inbox, mark_read, post_notification
from tests.conftest import csrf_token


# --- a minimal SMTP sink --------------------------------------------------------------------------

class _SmtpSession(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib.send_message: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        sender, recipients = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("ascii", "replace").strip()
            verb = command.upper()
            if verb.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif verb.startswith("MAIL FROM:"):
                sender, recipients = command[10:].strip(), []
                self.reply("250 OK")
            elif verb.startswith("RCPT TO:"):
                recipients.append(command[8:].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = []
                for raw in iter(self.rfile.readline, b""):
                    if raw == b".\r\n":
                        break
                    data.append(raw[1:] if raw.startswith(b"..") else raw)  # undo dot-stuffing
                self.server.messages.append((sender, recipients, email.message_from_bytes(b"".join(data), policy=email.policy.default)))
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:  # RSET, NOOP
                self.reply("250 OK")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []


@pytest.fixture()
def smtp_sink(app, monkeypatch):
    """SMTP_HOST/SMTP_PORT pointing at a sink on 127.0.0.1; yields the sink (``.messages``)."""
    sink = SmtpSink()
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", sink.server_address[1])
    yield sink
    sink.shutdown()
    sink.server_close()
    thread.join(timeout=5)


@pytest.fixture()
def smtp_down(app, monkeypatch):
    """SMTP configured at a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    return port


@pytest.fixture()
def office(make_user, make_org):
    """Two officers of one authority and a supplier user elsewhere."""
    authority = make_org("procurement_authority")
    officer = make_user("procurement_officer", org=authority, email="officer@example.cn")
    colleague = make_user("procurement_officer", org=authority, email="colleague@example.cn")
    outsider = make_user("supplier_user", email="supplier@example.cn")
    return officer, colleague, outsider


def titles(user) -> list[str]:
    return [n.title for n, _ in list_inbox(user)]


# --- the inbox --------------------------------------------------------------------------------------

def test_posts_to_a_user_and_to_an_organisation_newest_first(db, office):
    officer, colleague, outsider = office
    post_notification(title="to officer", user_id=officer.id, kind="task")
    post_notification(title="to the authority", org_id=officer.org_id, kind="deadline")
    post_notification(title="to colleague", user_id=colleague.id)
    assert titles(officer) == ["to the authority", "to officer"]
    assert titles(colleague) == ["to colleague", "to the authority"]
    assert titles(outsider) == []


def test_inbox_orders_by_time_not_by_id(db, office):
    officer, _, _ = office
    post_notification(title="new", user_id=officer.id)
    old = post_notification(title="old, stored later", user_id=officer.id)
    old.created_at = dt.datetime(2020, 1, 17, 4, 0, tzinfo=dt.timezone.utc)
    db.session.flush()
    assert titles(officer) == ["new", "old, stored later"]


def test_a_notification_needs_an_addressee(db):
    with pytest.raises(ValueError):
        post_notification(title="to nobody")


def test_an_organisation_notice_is_read_per_user(db, office):
    officer, colleague, _ = office
    notice = post_notification(title="bidding opens", org_id=officer.org_id)
    personal = post_notification(title="yours", user_id=officer.id)
    assert (count_unread(officer), count_unread(colleague)) == (2, 1)
    assert mark_read(officer, notice.id) is True
    assert mark_read(officer, notice.id) is True  # again: still read, no second row
    assert db.session.scalar(select(func.count()).select_from(NotificationRead)
                             .where(NotificationRead.notification_id == notice.id)) == 1
    assert dict((n.title, read) for n, read in list_inbox(officer)) == {"bidding opens": True, "yours": False}
    assert dict((n.title, read) for n, read in list_inbox(colleague)) == {"bidding opens": False}
    assert (count_unread(officer), count_unread(colleague)) == (1, 1)
    assert mark_read(officer, personal.id) is True
    assert count_unread(officer) == 0


def test_marking_someone_elses_notification_read_is_refused(db, office):
    officer, colleague, outsider = office
    personal = post_notification(title="officer only", user_id=officer.id)
    notice = post_notification(title="authority only", org_id=officer.org_id)
    assert mark_read(colleague, personal.id) is False  # same organisation, someone else's message
    assert mark_read(outsider, notice.id) is False  # another organisation's notice
    assert mark_read(officer, 10**9) is False
    assert db.session.scalar(select(func.count()).select_from(NotificationRead)) == 0


# --- through the views -------------------------------------------------------------------------------

def unread_on_dashboard(client) -> int:
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'<div class="panel-value">(\d+)</div>\s*<div class="panel-title"><a href="/inbox/">', page)
    assert match, "no unread-notifications panel on the dashboard"
    return int(match.group(1))


def test_views_mark_read_show_unread_count_and_refuse_others_notifications(client, login, office):
    officer, colleague, _ = office
    mine = post_notification(title="审核目录", user_id=officer.id)
    notice = post_notification(title="报量截止", org_id=officer.org_id)
    theirs = post_notification(title="not yours", user_id=colleague.id)
    login(officer)
    assert unread_on_dashboard(client) == 2
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert "审核目录" in inbox and "报量截止" in inbox and "not yours" not in inbox
    token = csrf_token(client, "/inbox/")

    assert client.post(f"/inbox/{theirs.id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/inbox/{mine.id}/read").status_code == 400  # no CSRF token
    response = client.post(f"/inbox/{mine.id}/read", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox/")
    assert unread_on_dashboard(client) == 1
    assert client.post(f"/inbox/{notice.id}/read", data={"csrf_token": token}).status_code == 302
    assert unread_on_dashboard(client) == 0
    assert count_unread(colleague) == 2  # their own, and the notice they have not read


def test_inbox_shows_times_in_asia_shanghai(client, login, office, db):
    officer, _, _ = office
    note = post_notification(title="deadline", user_id=officer.id)
    note.created_at = dt.datetime(2020, 1, 17, 4, 0, tzinfo=dt.timezone.utc)
    db.session.flush()
    login(officer)
    assert "2020-01-17 12:00" in client.get("/inbox/").get_data(as_text=True)


# --- email -----------------------------------------------------------------------------------------

def test_with_smtp_configured_a_notification_is_emailed(db, office, smtp_sink):
    officer, _, _ = office
    note = post_notification(title="报价截止提醒", body="第二批集采报价将于 12:00 截止。", user_id=officer.id, link="/projects/1")
    assert smtp_sink.messages == []  # nothing leaves before the change is committed
    finish(True)
    assert len(smtp_sink.messages) == 1
    sender, recipients, message = smtp_sink.messages[0]
    assert recipients == ["<officer@example.cn>"]
    assert message["Subject"] == "报价截止提醒"
    assert message["To"] == "officer@example.cn"
    assert "12:00 截止" in message.get_content() and "/projects/1" in message.get_content()
    assert db.session.get(Notification, note.id).emailed_at is not None


def test_no_email_for_a_change_that_rolls_back(db, office, smtp_sink):
    officer, _, _ = office
    post_notification(title="never sent", user_id=officer.id)
    finish(False)
    assert smtp_sink.messages == []


def test_an_organisation_notice_is_emailed_to_its_active_users_with_an_address(db, office, make_user, smtp_sink):
    officer, colleague, outsider = office
    make_user("procurement_officer", org=officer.org)  # no address: not emailed
    gone = make_user("procurement_officer", org=officer.org, email="gone@example.cn")
    gone.active = False
    db.session.flush()
    post_notification(title="notice", org_id=officer.org_id)
    finish(True)
    # One message per member: nobody sees the others' addresses.
    assert sorted(r for _, recipients, _ in smtp_sink.messages for r in recipients) == [
        "<colleague@example.cn>", "<officer@example.cn>"]
    assert sorted(m["To"] for _, _, m in smtp_sink.messages) == ["colleague@example.cn", "officer@example.cn"]


def test_with_smtp_down_the_notification_is_still_stored(db, office, smtp_down, caplog):
    officer, _, _ = office
    with caplog.at_level(logging.WARNING):
        note = post_notification(title="still here", user_id=officer.id)
        finish(True)
    assert "not emailed" in caplog.text
    db.session.expunge_all()
    stored = db.session.get(Notification, note.id)
    assert stored.title == "still here" and stored.emailed_at is None
    assert titles(officer) == ["still here"]


def test_without_smtp_nothing_is_sent(db, office, app):
    assert not app.config.get("SMTP_HOST")
    officer, _, _ = office
    assert post_notification(title="in-app only", user_id=officer.id).emailed_at is None
