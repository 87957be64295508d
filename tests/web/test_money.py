"""Exact column types on SQLite and PostgreSQL: money (DOMAIN.md P-2) and UTC times (P-4).

Each test runs once per database against a schema migrated for this module alone (a temp SQLite
file; the dedicated PostgreSQL database ``jicai_test_money``), through real model columns:
``PriceReference.value_ucp`` (``Money``, NUMERIC(18,6)), ``GovernanceThreshold.red_multiplier``
(``ExactDecimal(8, 4)``) and ``LoginAttempt.at`` (``UTCDateTime``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, StatementError
from sqlalchemy.orm import Session

from app.auth.models import LoginAttempt
from app.core.db import Money, Quantity
from app.core.migrate import upgrade
from app.extensions import _sqlite_transactions
from app.prices.models import GovernanceThreshold, PriceReference
from tests.web.dedicated_db import fresh_pg_database

UTC = dt.timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_MONEY = Decimal("999999999999.999999")  # 18 digits, 6 after the point


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory):
    """A migrated database of its own, per backend (PostgreSQL skips, or fails in CI, when absent)."""
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("money") / "money.sqlite3")
    else:
        url = fresh_pg_database(request.getfixturevalue("pg_url"), "jicai_test_money")
    upgrade(url)
    eng = create_engine(url)
    if eng.dialect.name == "sqlite":
        _sqlite_transactions(eng)  # as the app does: real BEGIN, so savepoints roll back
    yield eng
    eng.dispose()


@pytest.fixture()
def session(engine):
    """A session whose work is rolled back at the end of the test (its own rollbacks are savepoints)."""
    with engine.connect() as conn:
        outer = conn.begin()
        sess = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield sess
        finally:
            sess.close()
            outer.rollback()


def price(value, key: str = "k") -> PriceReference:
    return PriceReference(kind="monitored", key_sha256=key, value_ucp=value, published_on=dt.date(2020, 1, 1),
                          source="test")


def store_and_read(session: Session, value, key: str = "k") -> Decimal:
    row = price(value, key)
    session.add(row)
    session.flush()
    session.expunge_all()  # read what the database holds, not the object we wrote
    return session.scalar(select(PriceReference.value_ucp).where(PriceReference.id == row.id))


def refused(session: Session, row, error: type[Exception]) -> Exception:
    session.add(row)
    with pytest.raises(StatementError) as info:
        session.flush()
    session.rollback()
    assert isinstance(info.value.orig, error), info.value
    return info.value.orig


# --- money round-trips --------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "123456789012.345678", "-123456789012.345678", str(MAX_MONEY), str(-MAX_MONEY),
    "0.000001", "-0.000001", "0.150714", "0",
])
def test_money_round_trips_18_significant_digits_exactly(session, value):
    got = store_and_read(session, Decimal(value))
    assert type(got) is Decimal
    assert got == Decimal(value)
    assert got.as_tuple().exponent == -6  # always six places, as stored
    row = session.scalars(select(PriceReference)).one()
    assert type(row.value_ucp) is Decimal and row.value_ucp == Decimal(value)


def test_money_is_stored_as_scaled_integer_on_sqlite_and_numeric_18_6_on_postgresql(session, engine):
    store_and_read(session, Decimal("123456789012.345678"))
    if engine.dialect.name == "sqlite":
        raw, kind = session.execute(text("SELECT value_ucp, typeof(value_ucp) FROM price_references")).one()
        assert (raw, kind) == (123456789012345678, "integer")
    else:
        raw = session.scalar(text("SELECT value_ucp::text FROM price_references"))
        assert raw == "123456789012.345678"
        precision, scale = session.execute(text(
            "SELECT numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = 'price_references' AND column_name = 'value_ucp'")).one()
        assert (precision, scale) == (18, 6)


def test_other_scales_round_trip_exactly(session):
    # ExactDecimal(8, 4): the governance multipliers.
    row = GovernanceThreshold(category="*", red_multiplier=Decimal("9999.9999"), yellow_multiplier=Decimal("-1.00005"))
    session.add(row)
    session.flush()
    session.expunge_all()
    got = session.get(GovernanceThreshold, row.id)
    assert (got.red_multiplier, got.yellow_multiplier) == (Decimal("9999.9999"), Decimal("-1.0001"))
    assert type(got.red_multiplier) is Decimal
    assert got.low_price_warning is None  # NULL stays NULL


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_quantity_keeps_18_digits_at_4_places(dialect):
    qty = Quantity()
    bound = qty.process_bind_param(Decimal("12345678901234.56785"), dialect)
    assert bound == (123456789012345679 if dialect.name == "sqlite" else Decimal("12345678901234.5679"))
    assert qty.process_result_value(bound, dialect) == Decimal("12345678901234.5679")
    with pytest.raises(ValueError):
        qty.process_bind_param(Decimal("100000000000000"), dialect)  # 10**14 needs 19 digits


# --- what is refused, and how values are rounded ----------------------------------------------

def test_float_is_refused_on_write(session):
    error = refused(session, price(0.1), TypeError)
    assert "float" in str(error)
    assert session.scalar(select(func.count()).select_from(PriceReference)) == 0


def test_float_is_refused_in_a_comparison(session):
    with pytest.raises(StatementError) as info:
        session.execute(select(PriceReference).where(PriceReference.value_ucp < 0.3))
    assert isinstance(info.value.orig, TypeError)


@pytest.mark.parametrize("given, stored", [
    ("1.0000005", "1.000001"),
    ("1.00000049999", "1.000000"),
    ("-1.0000005", "-1.000001"),  # half away from zero, as Decimal's ROUND_HALF_UP
    ("0.1234565", "0.123457"),
    ("0.0000025", "0.000003"),  # half-even would give 0.000002
    ("999999999999.9999994", str(MAX_MONEY)),
    ("7", "7.000000"),
    (7, "7.000000"),
    ("1E-7", "0.000000"),
])
def test_values_are_quantized_to_6_places_half_up(session, given, stored):
    value = given if isinstance(given, int) else Decimal(given)
    got = store_and_read(session, value)
    assert str(got) == stored


def test_a_decimal_string_is_accepted(session):
    assert store_and_read(session, "0.1234565") == Decimal("0.123457")


@pytest.mark.parametrize("value", [
    "1000000000000", "-1000000000000", "999999999999.9999995", "1E+20", "-123456789012345.6",
])
def test_a_value_too_big_is_refused_not_truncated(session, value):
    error = refused(session, price(Decimal(value)), ValueError)
    assert "does not fit" in str(error)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "twelve"])
def test_a_value_that_is_not_a_number_is_refused(session, value):
    refused(session, price(Decimal(value) if value != "twelve" else value), ValueError)


# --- SQL over money columns --------------------------------------------------------------------

VALUES = [Decimal("123456789012.345678"), Decimal("123456789012.345677"), Decimal("-23456789012.345679"),
          Decimal("0.000001")]


@pytest.fixture()
def priced(session):
    for i, value in enumerate(VALUES):
        session.add(price(value, key="a" if i < 2 else "b"))
    session.flush()
    session.expunge_all()
    return session


def test_sql_sum_is_exact(priced):
    expected = sum(VALUES)
    assert expected == Decimal("223456789012.345677")
    # The same sum in floating point is wrong: this test can tell exact from approximate.
    assert Decimal(repr(sum(float(v) for v in VALUES))) != expected
    got = priced.scalar(select(func.sum(PriceReference.value_ucp)))
    assert type(got) is Decimal and got == expected


def test_sql_min_max_and_group_by_are_exact(priced):
    assert priced.scalar(select(func.min(PriceReference.value_ucp))) == Decimal("-23456789012.345679")
    assert priced.scalar(select(func.max(PriceReference.value_ucp))) == Decimal("123456789012.345678")
    rows = priced.execute(select(PriceReference.key_sha256, func.sum(PriceReference.value_ucp), func.min(PriceReference.value_ucp))
                          .group_by(PriceReference.key_sha256).order_by(PriceReference.key_sha256)).all()
    assert rows == [("a", Decimal("246913578024.691355"), Decimal("123456789012.345677")),
                    ("b", Decimal("-23456789012.345678"), Decimal("-23456789012.345679"))]


def test_sql_order_by_and_comparisons_tell_the_sixth_decimal_apart(priced):
    ascending = priced.scalars(select(PriceReference.value_ucp).order_by(PriceReference.value_ucp)).all()
    assert ascending == sorted(VALUES)
    assert float(VALUES[0]) == float(VALUES[1])  # a float column could not order these two
    descending = priced.scalars(select(PriceReference.value_ucp).order_by(PriceReference.value_ucp.desc())).all()
    assert descending == sorted(VALUES, reverse=True)
    above = priced.scalars(select(PriceReference.value_ucp).where(PriceReference.value_ucp > Decimal("123456789012.345677"))).all()
    assert above == [Decimal("123456789012.345678")]
    equal = priced.scalars(select(PriceReference.value_ucp).where(PriceReference.value_ucp == Decimal("123456789012.345677"))).all()
    assert equal == [Decimal("123456789012.345677")]
    assert priced.scalar(select(func.count()).where(PriceReference.value_ucp.between(Decimal(0), Decimal(1)))) == 1


def test_sql_sum_of_nothing_with_coalesce_is_decimal_zero(session):
    got = session.scalar(select(func.coalesce(func.sum(PriceReference.value_ucp), 0)))
    assert type(got) is Decimal and got == 0


def test_sql_addition_and_negation_are_exact(priced):
    got = priced.scalars(select(PriceReference.value_ucp + Decimal("0.000001")).order_by(PriceReference.value_ucp)).all()
    assert got == [v + Decimal("0.000001") for v in sorted(VALUES)]
    assert priced.scalar(select(func.min(-PriceReference.value_ucp))) == -max(VALUES)


def test_sql_multiplication_and_division_of_money_are_refused():
    # On SQLite a scaled integer times a scaled factor is off by 10**6, silently; compute in Decimal.
    column = PriceReference.value_ucp
    for build in (lambda: column * 2, lambda: 2 * column, lambda: column / 2, lambda: column // 2,
                  lambda: column % 2, lambda: column * column):
        with pytest.raises(TypeError, match="not exact on SQLite"):
            build()


def test_sql_avg_with_the_money_type_rounds_half_up_on_both_databases(session):
    for value in ("0.000002", "0.000003"):
        session.add(price(Decimal(value)))
    session.flush()
    got = session.scalar(select(func.avg(PriceReference.value_ucp, type_=Money())))
    assert type(got) is Decimal and got == Decimal("0.000003")


def test_a_sum_beyond_the_range_fails_loudly_on_sqlite_and_is_exact_on_postgresql(session, engine):
    for _ in range(10):
        session.add(price(MAX_MONEY))
    session.flush()
    query = select(func.sum(PriceReference.value_ucp))
    if engine.dialect.name == "sqlite":
        # 10 × 10**18 scaled units overflow SQLite's 64-bit integers: an error, never a rounded float.
        with pytest.raises(OperationalError, match="integer overflow"):
            session.scalar(query)
    else:
        assert session.scalar(query) == MAX_MONEY * 10


# --- UTC times ----------------------------------------------------------------------------------

def attempt(at) -> LoginAttempt:
    return LoginAttempt(username="u", remote_addr="127.0.0.1", success=False, at=at)


def test_a_naive_datetime_is_refused(session):
    error = refused(session, attempt(dt.datetime(2020, 1, 17, 12, 0)), ValueError)
    assert "naive" in str(error)


def test_times_are_stored_utc_and_read_back_aware_utc(session, engine):
    deadline = dt.datetime(2020, 1, 17, 12, 0, 0, 123456, tzinfo=SHANGHAI)
    row = attempt(deadline)
    session.add(row)
    session.flush()
    session.expunge_all()
    got = session.scalar(select(LoginAttempt.at).where(LoginAttempt.id == row.id))
    assert got == deadline
    assert got.tzinfo is not None and got.utcoffset() == dt.timedelta(0)
    assert (got.hour, got.microsecond) == (4, 123456)
    if engine.dialect.name == "sqlite":
        assert session.scalar(text("SELECT at FROM login_attempts")) == "2020-01-17 04:00:00.123456"
    else:
        assert session.scalar(text("SELECT at AT TIME ZONE 'UTC' FROM login_attempts")) == dt.datetime(2020, 1, 17, 4, 0, 0, 123456)
        # Whatever the connection's time zone, reads come back in UTC.
        session.execute(text("SET LOCAL TIME ZONE 'Asia/Shanghai'"))
        session.expunge_all()
        again = session.scalar(select(LoginAttempt.at))
        assert again == deadline and again.utcoffset() == dt.timedelta(0) and again.hour == 4


def test_time_comparisons_use_the_instant_not_the_wall_clock(session):
    # DOMAIN.md L2: deadline 2020-01-17T12:00+08:00; 12:00:01 server time is after it.
    session.add(attempt(dt.datetime(2020, 1, 17, 4, 0, tzinfo=UTC)))
    session.flush()
    at = LoginAttempt.at
    assert session.scalar(select(func.count()).where(at >= dt.datetime(2020, 1, 17, 12, 0, tzinfo=SHANGHAI))) == 1
    assert session.scalar(select(func.count()).where(at >= dt.datetime(2020, 1, 17, 12, 0, 1, tzinfo=SHANGHAI))) == 0
    assert session.scalar(select(func.count()).where(at < dt.datetime(2020, 1, 17, 4, 0, 1, tzinfo=UTC))) == 1


@pytest.mark.parametrize("value, fmt, shown", [
    (dt.datetime(2020, 1, 17, 4, 0, tzinfo=UTC), None, "2020-01-17 12:00"),
    (dt.datetime(2020, 1, 16, 20, 30, 15, tzinfo=UTC), "%Y-%m-%d %H:%M:%S", "2020-01-17 04:30:15"),
    (dt.datetime(2020, 1, 17, 12, 0, tzinfo=SHANGHAI), None, "2020-01-17 12:00"),
    (None, None, "—"),
])
def test_localtime_filter_shows_asia_shanghai(app, value, fmt, shown):
    from flask import render_template_string

    template = "{{ t|localtime }}" if fmt is None else "{{ t|localtime(fmt) }}"
    with app.test_request_context("/"):
        assert render_template_string(template, t=value, fmt=fmt) == shown
