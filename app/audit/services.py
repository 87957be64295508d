"""Writing and verifying the audit trail (审计日志)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import has_request_context
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from app.audit.models import AuditChainHead, AuditEvent
from app.core.db import utcnow
from app.core.tx import remember_after_rollback
from app.extensions import db

GENESIS_HASH = "0" * 64
PG_ADVISORY_KEY = 0x6A6963616955  # "jicaiU": the audit chain's lock on PostgreSQL

# Keys that would reveal a sealed price (DOMAIN.md L2): refused in summaries of sealed objects.
_SEALED_WORDS = ("price", "ucp", "amount", "cost", "tier", "discount")


class SealedLeak(ValueError):
    """An audit summary of a sealed object tried to carry a price."""


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable in an audit summary: {type(value).__name__}")


def _normalise(summary: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(summary, default=_json_default, ensure_ascii=False))


_DECIMAL_TEXT = re.compile(r"[-+]?\d*[.,]\d+")


def _check_sealed(summary: Any, path: str = "summary") -> None:
    """Refuse anything that could be a sealed price: price-like keys, and decimal numbers anywhere.

    A sealed object's events may carry counts (integers), hashes, names and times, never a decimal.
    """
    if isinstance(summary, float) or (isinstance(summary, str) and _DECIMAL_TEXT.search(summary)
                                      and not _looks_like_time(summary)):
        raise SealedLeak(f"{path}: a sealed object's audit summary may not carry decimal numbers")
    if isinstance(summary, dict):
        for key, value in summary.items():
            if any(word in str(key).lower() for word in _SEALED_WORDS):
                raise SealedLeak(f"{path}.{key}: a sealed object's audit summary may not carry prices")
            _check_sealed(value, f"{path}.{key}")
    elif isinstance(summary, list):
        for i, value in enumerate(summary):
            _check_sealed(value, f"{path}[{i}]")


def _looks_like_time(text: str) -> bool:
    # ISO times ("2020-01-17T04:00:00.123456+00:00") contain fractions of seconds, not prices.
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][\d:.+\-Z]+", text))


def event_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 of the previous hash and the canonical JSON of the event's content."""
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def event_content(event: AuditEvent) -> dict[str, Any]:
    """What the hash covers: everything but the hashes themselves."""
    at = event.at.astimezone(dt.timezone.utc).replace(microsecond=event.at.microsecond)
    return {
        "seq": event.seq,
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "user_id": event.user_id,
        "username": event.username,
        "org_id": event.org_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "summary": event.summary,
        "remote_addr": event.remote_addr,
    }


def _lock_chain(session: Session) -> AuditChainHead:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_ADVISORY_KEY})
    # Touching the head row takes its lock (the database write lock on SQLite) before we read it.
    result = session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=AuditChainHead.seq))
    if result.rowcount == 0:
        session.add(AuditChainHead(id=1, seq=0, hash=GENESIS_HASH))
        session.flush()
    head = session.execute(select(AuditChainHead).where(AuditChainHead.id == 1)).scalar_one()
    session.refresh(head)
    return head


def _actor() -> tuple[int | None, str | None, int | None, str | None]:
    if not has_request_context():
        return None, None, None, None
    from flask_login import current_user

    from app.auth.security import client_address

    if current_user and current_user.is_authenticated:
        return current_user.id, current_user.username, current_user.org_id, client_address()
    return None, None, None, client_address()


def append_event(
    session: Session,
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    summary: dict[str, Any] | None = None,
    sealed: bool = False,
    user_id: int | None = None,
    username: str | None = None,
    org_id: int | None = None,
    remote_addr: str | None = None,
) -> AuditEvent:
    """Append one event to the chain in ``session``'s transaction (serialised by the chain lock)."""
    summary = _normalise(summary or {})
    if sealed:
        _check_sealed(summary)
    actor = _actor()
    head = _lock_chain(session)
    event = AuditEvent(
        seq=head.seq + 1,
        at=utcnow(),
        user_id=user_id if user_id is not None else actor[0],
        username=username if username is not None else actor[1],
        org_id=org_id if org_id is not None else actor[2],
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        summary=summary,
        remote_addr=remote_addr if remote_addr is not None else actor[3],
        prev_hash=head.hash,
        hash="",
    )
    # Stored times are microsecond precision on both databases: hash what will be read back.
    event.hash = event_hash(head.hash, event_content(event))
    session.add(event)
    head.seq = event.seq
    head.hash = event.hash
    session.flush()
    return event


def record(action: str, obj: Any = None, *, summary: dict[str, Any] | None = None, sealed: bool = False,
           object_type: str | None = None, object_id: Any = None) -> AuditEvent:
    """Record a change made by a service, in the current transaction (it commits or rolls back with it)."""
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    return append_event(db.session(), action, object_type=object_type, object_id=object_id,
                        summary=summary, sealed=sealed)


def record_refusal(action: str, *, summary: dict[str, Any] | None = None, sealed: bool = False,
                   object_type: str | None = None, object_id: Any = None, **actor: Any) -> None:
    """Remember a refusal (late quote, failed login) in its own transaction, after the request's ends."""
    summary = _normalise(summary or {})
    if sealed:
        _check_sealed(summary)
    who = dict(zip(("user_id", "username", "org_id", "remote_addr"), _actor()))
    who.update({k: v for k, v in actor.items() if v is not None})

    def write(session: Session) -> None:
        append_event(session, action, object_type=object_type, object_id=object_id, summary=summary, **who)

    remember_after_rollback(write)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    problem: str | None = None


def verify_chain(session: Session) -> VerifyResult:
    """Recompute every hash in order; name the first event that is altered, missing or out of place."""
    prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().yield_per(1000):
        if event.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"event {expected_seq} is missing (next stored is {event.seq})")
        if event.prev_hash != prev:
            return VerifyResult(False, checked, event.seq, f"event {event.seq} does not chain to event {event.seq - 1}")
        if event_hash(prev, event_content(event)) != event.hash:
            return VerifyResult(False, checked, event.seq, f"event {event.seq} was altered (hash mismatch)")
        prev = event.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return VerifyResult(False, checked, expected_seq, f"events after {expected_seq - 1} are missing (chain head is at {head.seq})")
    return VerifyResult(True, checked)
