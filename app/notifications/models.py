"""In-app notifications (站内信)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class Notification(Base):
    """A message in a user's inbox, or in every inbox of an organisation (then ``read_at`` is per user)."""

    __tablename__ = "notifications"
    __table_args__ = (CheckConstraint("user_id IS NOT NULL OR org_id IS NOT NULL", name="addressed"),)

    id: Mapped[int] = id_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # deadline, reminder, task, alert, info
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class NotificationRead(Base):
    """That a user has read a notification (org-wide notices are read per user)."""

    __tablename__ = "notification_reads"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
