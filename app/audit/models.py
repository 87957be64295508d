"""Audit trail (审计日志): append-only events chained by SHA-256."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class AuditEvent(Base):
    """One audit event: who, organisation, action, object, before/after summary, UTC time.

    ``hash`` = SHA-256 over the previous event's hash and this event's canonical content, so
    altering or deleting any stored event breaks the chain (``flask audit verify``).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = id_column()
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    username: Mapped[str | None] = mapped_column(String(64), default=None)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64), default=None)
    object_id: Mapped[str | None] = mapped_column(String(64), default=None)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    remote_addr: Mapped[str | None] = mapped_column(String(64), default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """The single row naming the last event of the chain.

    Every append updates it first: that row lock serialises concurrent writers (on SQLite the
    update takes the database write lock), so two writers can never chain onto the same event.
    It also lets ``audit verify`` notice events deleted from the end of the chain.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
