"""Posting to and reading the in-app inbox; email when SMTP is configured."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app, has_app_context
from sqlalchemy import and_, exists, func, or_, select

from app.core.db import utcnow
from app.core.tx import on_commit, transaction
from app.extensions import db
from app.notifications.models import Notification, NotificationRead


def post_notification(*, title: str, body: str = "", kind: str = "info", user_id: int | None = None,
                      org_id: int | None = None, link: str | None = None) -> Notification:
    """Post a message to a user's inbox or to every user of an organisation; flushes, never commits."""
    if user_id is None and org_id is None:
        raise ValueError("a notification needs a user or an organisation")
    note = Notification(user_id=user_id, org_id=org_id, kind=kind, title=title, body=body, link=link)
    db.session.add(note)
    db.session.flush()
    _maybe_email(note)
    return note


def _recipients(note: Notification) -> list[str]:
    from app.auth.models import User

    query = select(User.email).where(User.active.is_(True), User.email.is_not(None))
    if note.user_id is not None:
        query = query.where(User.id == note.user_id)
    else:
        query = query.where(User.org_id == note.org_id)
    return [e for e in db.session.scalars(query) if e]


def _maybe_email(note: Notification) -> None:
    if not has_app_context() or not current_app.config.get("SMTP_HOST"):
        return
    recipients = _recipients(note)
    if not recipients:
        return
    app = current_app._get_current_object()
    subject, body = note.title, note.body + (f"\n\n{note.link}" if note.link else "")
    note_id = note.id
    # Sent after the commit: never for a change that rolls back, and no lock held meanwhile.
    on_commit(lambda: _send_email(app, note_id, subject, body, recipients))


def _send_email(app, note_id: int, subject: str, body: str, recipients: list[str]) -> None:
    """One message per recipient, so members of an organisation do not see each other's address."""
    try:
        with smtplib.SMTP(app.config["SMTP_HOST"], int(app.config["SMTP_PORT"]), timeout=10) as smtp:
            for address in recipients:
                msg = EmailMessage()
                msg["Subject"] = subject
                msg["From"] = app.config["SMTP_FROM"]
                msg["To"] = address
                msg.set_content(body)
                smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        # The inbox copy is the record; a mail outage must not undo the change that posted it.
        app.logger.warning("notification %s not emailed: %s", note_id, exc)
        return
    with transaction() as session:
        note = session.get(Notification, note_id)
        if note is not None:
            note.emailed_at = utcnow()


def _visible_to(user):
    return or_(Notification.user_id == user.id, and_(Notification.user_id.is_(None), Notification.org_id == user.org_id))


def _is_read(user):
    return exists().where(NotificationRead.notification_id == Notification.id, NotificationRead.user_id == user.id)


def list_inbox(user, *, limit: int = 100) -> list[tuple[Notification, bool]]:
    """The user's notifications, newest first, each with whether the user has read it."""
    rows = db.session.execute(
        select(Notification, _is_read(user)).where(_visible_to(user)).order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ).all()
    return [(n, bool(r)) for n, r in rows]


def count_unread(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(_visible_to(user), ~_is_read(user))) or 0


def mark_read(user, notification_id: int) -> bool:
    """Mark one notification read for ``user``; False when it is not in the user's inbox."""
    note = db.session.scalar(select(Notification).where(Notification.id == notification_id, _visible_to(user)))
    if note is None:
        return False
    if db.session.get(NotificationRead, (note.id, user.id)) is None:
        db.session.add(NotificationRead(notification_id=note.id, user_id=user.id))
        db.session.flush()
    return True
