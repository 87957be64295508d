"""Transaction boundary shared by requests, CLI commands and jobs.

Services flush and never commit. The boundary commits once, or rolls back on error; events that
must survive a rollback (a refused late quote, a failed login) are queued with
:func:`remember_after_rollback` and written in their own transaction afterwards.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from app.extensions import db

_PENDING_KEY = "jicai.pending_own_transaction"
_ON_COMMIT_KEY = "jicai.on_commit"


def remember_after_rollback(write: Callable[[Session], Any]) -> None:
    """Queue ``write(session)`` to run in its own transaction after the current one ends.

    It runs whether the current transaction commits or rolls back, so a refusal is remembered
    even though the refused change is not stored.
    """
    db.session.info.setdefault(_PENDING_KEY, []).append(write)


def on_commit(action: Callable[[], Any]) -> None:
    """Run ``action()`` once the current transaction has committed (never if it rolls back).

    For side effects outside the database, such as email: nothing is sent for a change that is
    then rolled back, and no lock is held while the mail server answers.
    """
    db.session.info.setdefault(_ON_COMMIT_KEY, []).append(action)


def finish(success: bool) -> None:
    """Commit (``success``) or roll back the current transaction, then write queued events."""
    session = db.session()
    pending = session.info.pop(_PENDING_KEY, [])
    after_commit = session.info.pop(_ON_COMMIT_KEY, [])
    try:
        if success:
            session.commit()
        else:
            session.rollback()
    except Exception:
        session.rollback()
        _write_pending(session, pending)
        raise
    _write_pending(session, pending)
    if success:
        for action in after_commit:
            action()


def _write_pending(session: Session, pending: list[Callable[[Session], Any]]) -> None:
    for write in pending:
        try:
            write(session)
            session.commit()
        except Exception:
            session.rollback()
            raise


@contextmanager
def transaction() -> Iterator[Session]:
    """``with transaction():`` — commit once at the end, roll back on any exception (CLI, jobs)."""
    try:
        yield db.session()
    except BaseException:
        finish(False)
        raise
    else:
        finish(True)
