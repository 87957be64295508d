"""The audit trail: a SHA-256 chain that shows tampering, refusals that survive a rollback, no
prices in events about sealed quotes (DOMAIN.md L2), and no fork under concurrent writers.

Tampering is checked the way an operator would: ``flask --app app audit verify`` in a child process
against a SQLite file whose rows were altered with raw SQL.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from app.audit.models import AuditChainHead, AuditEvent
from app.audit.services import (GENESIS_HASH, SealedLeak, event_content, event_hash, record, record_refusal,
                                verify_chain)
from app.core.migrate import upgrade
from app.core.tx import finish, transaction
from tests.web.dedicated_db import fresh_pg_database, run_flask


def standalone_app(url: str, instance_dir: str):
    """An application of its own on ``url`` (not the suite's rolled-back test database)."""
    from app import create_app

    os.environ["JICAI_INSTANCE_PATH"] = instance_dir  # as the suite's ``app`` fixture does
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret-not-for-production"})


def dispose(application) -> None:
    application.extensions["jicai.db"]["engine"].dispose()


def actions(db) -> list[str]:
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()


# --- the chain ----------------------------------------------------------------------------------

def test_each_event_chains_to_the_previous_one_and_verifies(db):
    events = [record("test.chain", summary={"n": i}) for i in range(4)]
    first = events[0]
    if first.seq == 1:
        assert first.prev_hash == GENESIS_HASH
    for previous, event in zip(events, events[1:]):
        assert event.seq == previous.seq + 1
        assert event.prev_hash == previous.hash
    assert len({e.hash for e in events}) == 4
    head = db.session.get(AuditChainHead, 1)
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)
    result = verify_chain(db.session())
    assert result.ok and result.checked == events[-1].seq


def test_the_hash_covers_what_is_stored_and_read_back(db):
    # Decimal, datetime, integer keys and Chinese text are normalised before hashing, so the
    # stored event hashes the same after a round trip through the database.
    event = record("test.content", object_type="Lot", object_id=7, summary={
        "generic_name": "阿托伐他汀钙片", "ratio": Decimal("1.700000"), 3: "integer key",
        "frozen_at": dt.datetime(2020, 1, 17, 4, 0, tzinfo=dt.timezone.utc), "lines": [1, 2.5, None, True],
    })
    seq = event.seq
    db.session.expunge_all()
    stored = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
    assert stored.object_id == "7"
    assert stored.summary["3"] == "integer key" and stored.summary["ratio"] == "1.700000"
    assert stored.at.tzinfo is not None
    assert event_hash(stored.prev_hash, event_content(stored)) == stored.hash
    assert verify_chain(db.session()).ok


def test_an_unserialisable_summary_is_refused(db):
    with pytest.raises(TypeError, match="not JSON serialisable"):
        record("test.bad", summary={"blob": object()})


# --- refusals survive the rollback ---------------------------------------------------------------

def test_a_refusal_survives_when_the_transaction_rolls_back(db):
    record("test.refused_change")  # the change itself: rolled back
    record_refusal("bid.refused_after_deadline", object_type="Lot", object_id=1, sealed=True,
                   summary={"file_sha256": "ab" * 32, "line_count": 3}, username="supplier1")
    finish(False)
    stored = actions(db)
    assert "test.refused_change" not in stored
    assert stored[-1] == "bid.refused_after_deadline"
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert (event.username, event.object_type, event.object_id) == ("supplier1", "Lot", "1")
    assert event.summary == {"file_sha256": "ab" * 32, "line_count": 3}
    assert verify_chain(db.session()).ok


def test_a_refusal_survives_an_exception_in_transaction(db):
    with pytest.raises(RuntimeError):
        with transaction():
            record("test.failed_change")
            record_refusal("auth.login_refused", username="mallory", remote_addr="10.0.0.9")
            raise RuntimeError("refused")
    stored = actions(db)
    assert "test.failed_change" not in stored
    assert stored[-1] == "auth.login_refused"
    assert verify_chain(db.session()).ok


def test_a_refusal_is_also_written_when_the_transaction_commits(db):
    record("test.kept")
    record_refusal("test.refusal")
    finish(True)
    assert actions(db)[-2:] == ["test.kept", "test.refusal"]


# --- sealed quotes carry no price (DOMAIN.md L2) --------------------------------------------------

LEAKS = [
    {"unit_price": "1.50"},
    {"UCP": "0.150714"},
    {"lines": [{"spec": "10mg", "pack_price": "3.20"}]},
    {"detail": {"total_amount": 100}},
    {"discount_rate": "0.3"},
    {"cost": 1},
    {"price_tier": 2},
]


@pytest.mark.parametrize("summary", LEAKS)
def test_a_sealed_summary_with_a_price_is_refused(db, summary):
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(SealedLeak):
        record("bid.submitted", object_type="Bid", object_id=1, summary=summary, sealed=True)
    with pytest.raises(SealedLeak):
        record_refusal("bid.refused_after_deadline", summary=summary, sealed=True)
    finish(True)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_a_sealed_summary_may_carry_the_file_hash_line_count_and_time(db):
    event = record("bid.submitted", object_type="Bid", object_id=1, sealed=True, summary={
        "file_sha256": "cd" * 32, "line_count": 12, "submitted_at": dt.datetime(2020, 1, 17, 3, 59, tzinfo=dt.timezone.utc),
    })
    assert event.summary["line_count"] == 12


def test_after_opening_a_summary_may_carry_prices(db):
    assert record("bid.opened", summary={"unit_price": "1.50"}).summary == {"unit_price": "1.50"}


# --- tampering, through `flask audit verify` ---------------------------------------------------------

EVENTS = 5


@pytest.fixture(scope="module")
def audited_template(tmp_path_factory, instance_dir):
    """A migrated SQLite file with EVENTS events written through the services, one transaction each."""
    path = tmp_path_factory.mktemp("audit") / "template.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    application = standalone_app(url, instance_dir)
    with application.app_context():
        for i in range(1, EVENTS + 1):
            with transaction():
                record("test.tamper", summary={"n": i, "药品": "阿托伐他汀"})
    dispose(application)
    return path


@pytest.fixture()
def audited(audited_template, tmp_path):
    """A copy of the audited database for one test to tamper with; yields (url, run raw SQL, instance)."""
    path = tmp_path / "audit.sqlite3"
    shutil.copy(audited_template, path)
    url = f"sqlite:///{path}"

    def tamper(sql: str) -> None:
        engine = create_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            assert conn.execute(text(sql)).rowcount == 1
        engine.dispose()

    return url, tamper, str(tmp_path / "instance")


def verify(url: str, instance: str):
    return run_flask(url, instance, "audit", "verify")


def test_verify_passes_on_an_intact_chain(audited):
    url, _, instance = audited
    result = verify(url, instance)
    assert result.returncode == 0, result.stderr
    assert f"intact: {EVENTS} events" in result.stdout


def test_verify_names_an_altered_event(audited):
    url, tamper, instance = audited
    tamper("""UPDATE audit_events SET summary = '{"n": 99, "药品": "阿托伐他汀"}' WHERE seq = 3""")
    result = verify(url, instance)
    assert result.returncode != 0
    assert "BROKEN at event 3:" in result.stderr and "altered" in result.stderr


def test_verify_names_an_event_whose_actor_was_changed(audited):
    url, tamper, instance = audited
    tamper("UPDATE audit_events SET username = 'someone_else' WHERE seq = 2")
    result = verify(url, instance)
    assert result.returncode != 0 and "BROKEN at event 2:" in result.stderr


def test_verify_names_a_deleted_middle_event(audited):
    url, tamper, instance = audited
    tamper("DELETE FROM audit_events WHERE seq = 3")
    result = verify(url, instance)
    assert result.returncode != 0
    assert "BROKEN at event 3:" in result.stderr and "missing" in result.stderr


def test_verify_notices_a_deleted_last_event_through_the_chain_head(audited):
    url, tamper, instance = audited
    tamper(f"DELETE FROM audit_events WHERE seq = {EVENTS}")
    result = verify(url, instance)
    assert result.returncode != 0
    assert f"BROKEN at event {EVENTS}:" in result.stderr and "head" in result.stderr


def test_verify_notices_a_rehashed_event(audited):
    # Rewriting an event and recomputing its own hash still breaks the link to the next one.
    url, tamper, instance = audited
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        prev_hash, at, summary = conn.execute(text("SELECT prev_hash, at, summary FROM audit_events WHERE seq = 2")).one()
    engine.dispose()
    forged = AuditEvent(seq=2, at=dt.datetime.fromisoformat(at).replace(tzinfo=dt.timezone.utc), action="test.tamper",
                        summary={"n": 42, "药品": "阿托伐他汀"}, user_id=None, username=None, org_id=None,
                        object_type=None, object_id=None, remote_addr=None)
    new_hash = event_hash(prev_hash, event_content(forged))
    tamper(f"""UPDATE audit_events SET summary = '{{"n": 42, "药品": "阿托伐他汀"}}', hash = '{new_hash}' WHERE seq = 2""")
    result = verify(url, instance)
    assert result.returncode != 0 and "BROKEN at event 3:" in result.stderr


# --- concurrent writers never fork the chain --------------------------------------------------------

def hammer(application, threads: int, per_thread: int, read_first: bool = False) -> list[BaseException]:
    """Append from ``threads`` threads at once, each in its own app context (own session and
    connection) and one transaction per event (that first reads, as a request does, when
    ``read_first``); returns the errors raised."""
    from app.extensions import db
    from app.regions.models import Region

    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            with application.app_context():
                for i in range(per_thread):
                    with transaction():
                        if read_first:
                            db.session.scalar(select(func.count()).select_from(Region))
                        record("test.concurrent", summary={"thread": n, "i": i})
        except BaseException as exc:  # reported to the test, not lost in the thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert not any(w.is_alive() for w in workers), "a writer hung"
    return errors


def assert_one_unbroken_chain(application) -> int:
    from app.extensions import db

    with application.app_context():
        seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        prev_hashes = db.session.scalars(select(AuditEvent.prev_hash)).all()
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(set(prev_hashes)) == len(prev_hashes), "two events chain onto the same event: a fork"
        result = verify_chain(db.session())
        assert result.ok, result.problem
        assert db.session.get(AuditChainHead, 1).seq == len(seqs)
        db.session.remove()
    return len(seqs)


def test_concurrent_appends_on_postgresql_never_fork(pg_url, instance_dir):
    url = fresh_pg_database(pg_url, "jicai_test_audit")
    upgrade(url)
    application = standalone_app(url, instance_dir)
    threads, per_thread = 8, 25
    try:
        errors = hammer(application, threads, per_thread)
        assert errors == []
        assert assert_one_unbroken_chain(application) == threads * per_thread
    finally:
        dispose(application)


@pytest.mark.parametrize("read_first", [False, True], ids=["append_only", "read_then_append"])
def test_concurrent_appends_on_sqlite_succeed_or_fail_loudly_but_never_fork(tmp_path, instance_dir, read_first):
    # A transaction that read before appending holds a shared lock: SQLite refuses one of two such
    # writers at once ("database is locked") rather than wait, so errors are expected there.
    url = f"sqlite:///{tmp_path / 'concurrent.sqlite3'}"
    upgrade(url)
    application = standalone_app(url, instance_dir)
    threads, per_thread = 4, 10
    try:
        errors = hammer(application, threads, per_thread, read_first)
        # A writer may be told "database is locked" (its thread then stops); it may never fork the chain.
        assert all(isinstance(e, OperationalError) and "locked" in str(e) for e in errors), errors
        stored = assert_one_unbroken_chain(application)
        assert stored > 0
        if not read_first:
            assert errors == [] and stored == threads * per_thread
    finally:
        dispose(application)


@pytest.mark.parametrize("summary", [{"note": "报价 1.50 元"}, {"values": [Decimal("23.333333")]}, {"lines": [{"x": 0.5}]}])
def test_sealed_summaries_refuse_decimal_numbers_under_any_key(db, summary):
    with pytest.raises(SealedLeak):
        record("quote.upload", object_type="QuoteSubmission", object_id=1, summary=summary, sealed=True)


def test_sealed_summaries_keep_hashes_counts_and_times(db):
    event = record("quote.upload", object_type="QuoteSubmission", object_id=1, sealed=True,
                   summary={"file_sha256": "ab" * 32, "line_count": 12, "submitted_at": "2020-01-17T03:59:59.250000+00:00"})
    assert event.summary["line_count"] == 12
