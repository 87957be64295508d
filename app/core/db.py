"""Declarative base, exact column types and the database handle shared by every domain.

Money is exact on both databases (DOMAIN.md P-2): PostgreSQL stores ``NUMERIC(18,6)``; SQLite,
whose ``NUMERIC`` is a floating-point affinity, stores the value scaled to an integer so 18
significant digits survive and ``SUM``/``MIN``/``ORDER BY`` still work in SQL.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, MetaData, Numeric, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; its metadata names constraints by :data:`NAMING_CONVENTION`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """The server clock in UTC (DOMAIN.md P-4: the server clock decides every deadline)."""
    return dt.datetime.now(dt.timezone.utc)


# Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias, autoincrementing) on SQLite.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def id_column() -> Mapped[int]:
    return mapped_column(IdType, primary_key=True, autoincrement=True)


# Scaled integers add, subtract, compare, SUM, MIN and sort correctly, but a product or quotient
# would be scaled twice (or a literal factor scaled as if it were money): on SQLite the result is
# off by 10**scale with no error. Refused on every database so code that passes on PostgreSQL
# cannot go wrong on SQLite; multiply and divide in Decimal (DOMAIN.md P-2).
_SCALED_UNSAFE_OPS = frozenset({operators.mul, operators.truediv, operators.floordiv, operators.mod})


class _ExactDecimalComparator(TypeDecorator.Comparator, Numeric.comparator_factory):
    """SQL operators of :class:`ExactDecimal` columns, without the ones scaled integers get wrong."""

    def operate(self, op, *other, **kwargs):
        _refuse_scaled_arithmetic(op)
        return super().operate(op, *other, **kwargs)

    def reverse_operate(self, op, other, **kwargs):
        _refuse_scaled_arithmetic(op)
        return super().reverse_operate(op, other, **kwargs)


def _refuse_scaled_arithmetic(op) -> None:
    if op in _SCALED_UNSAFE_OPS:
        raise TypeError(f"SQL {op.__name__} on an ExactDecimal column is not exact on SQLite; compute it in Decimal")


class ExactDecimal(TypeDecorator):
    """A fixed-point decimal read and written as :class:`~decimal.Decimal`.

    ``NUMERIC(precision, scale)`` where the database is exact; a scaled ``BIGINT`` on SQLite.
    Values are quantized to ``scale`` places with ROUND_HALF_UP (DOMAIN.md ``rounding``); a value
    that does not fit ``precision`` digits is refused rather than silently truncated.
    """

    impl = Numeric
    cache_ok = True
    comparator_factory = _ExactDecimalComparator

    def __init__(self, precision: int = 18, scale: int = 6):
        super().__init__()
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)
        self._factor = Decimal(10) ** scale
        self._limit = Decimal(10) ** (precision - scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def _coerce(self, value: Any) -> Decimal:
        if isinstance(value, float):
            raise TypeError("ExactDecimal refuses float values; pass Decimal or str")
        try:
            dec = value if isinstance(value, Decimal) else Decimal(str(value))
            if dec.is_nan():  # quantize() passes a quiet NaN through, and PostgreSQL's NUMERIC stores it
                raise InvalidOperation
            q = dec.quantize(self._quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal: {value!r}") from exc
        if abs(q) >= self._limit:
            raise ValueError(f"{value} does not fit NUMERIC({self.precision},{self.scale})")
        return q

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        q = self._coerce(value)
        if dialect.name == "sqlite":
            return int(q * self._factor)
        return q

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):  # e.g. AVG(): sqlite computes it in floating point
                return Decimal(repr(value)).scaleb(-self.scale).quantize(self._quantum, rounding=ROUND_HALF_UP)
            return (Decimal(int(value)) / self._factor).quantize(self._quantum)
        # More places than ``scale`` only come from AVG(): round as everywhere else, not half-even.
        return Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_UP)

    @property
    def python_type(self):
        return Decimal

    def __repr__(self) -> str:
        # Alembic renders user types with repr(): keep precision and scale in migrations.
        return f"ExactDecimal({self.precision}, {self.scale})"


def Money() -> ExactDecimal:  # noqa: N802 - reads like a type in model declarations
    """Money and prices: ``NUMERIC(18,6)`` (DOMAIN.md P-2, ``price_decimals = 6``)."""
    return ExactDecimal(18, 6)


def Quantity() -> ExactDecimal:  # noqa: N802
    """Quantities in smallest units (片/粒/支): exact, 4 decimals for split awards and demand."""
    return ExactDecimal(18, 4)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetime stored in UTC (naive UTC on SQLite, ``timestamptz`` on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times as aware UTC (DOMAIN.md P-4)")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def Code(length: int = 32) -> String:  # noqa: N802
    """Codes are text, never numbers (leading zeros matter)."""
    return String(length)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - exercised by every sqlite test
    # Foreign keys are off by default in SQLite; WAL lets readers work during an import.
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def enum_check(column: str, values: tuple[str, ...] | list[str]) -> "CheckConstraint":
    """A named CHECK that keeps ``column`` within ``values`` (portable across SQLite and PostgreSQL)."""
    from sqlalchemy import CheckConstraint

    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_enum")


def trigram_index(name: str, column: str) -> Index:
    """A GIN trigram index (``pg_trgm``) on ``column``, created on PostgreSQL only (SQLite skips it).

    It serves ``LIKE '%…%'`` and similarity search on names; the database needs a UTF-8 ctype, or
    Chinese text yields no trigrams. Created by migration 0002.
    """
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}).ddl_if(
        dialect="postgresql")
