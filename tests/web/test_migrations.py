"""Migrations: empty → head → base → head on SQLite and PostgreSQL, no drift from the models,
the seeded regions (DOMAIN.md §11), and constraint names that follow the naming convention.

The drift test is the guard for "a model changed without a migration": it must fail then.
"""
from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from app.core.migrate import alembic_config, downgrade, drift, upgrade
from tests.web.dedicated_db import fresh_pg_database, run_flask

# DOMAIN.md §11: the 31 GB/T 2260 provincial regions and 660000 (NHSA only).
REGION_CODES = {
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000", "320000", "330000",
    "340000", "350000", "360000", "370000", "410000", "420000", "430000", "440000", "450000", "460000", "500000",
    "510000", "520000", "530000", "540000", "610000", "620000", "630000", "640000", "650000", "660000",
}


def head_revision() -> str:
    (head,) = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return head


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def empty_url(request, tmp_path_factory):
    """An empty database of this module's own, per backend."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("migrations") / "migrations.sqlite3")
    return fresh_pg_database(request.getfixturevalue("pg_url"), "jicai_test_migrations")


@pytest.fixture(scope="module")
def migrated(empty_url):
    """The database taken empty → head → base → head; yields an engine on it."""
    engine = create_engine(empty_url, poolclass=NullPool)
    upgrade(empty_url)
    with engine.connect() as conn:
        assert drift(conn) == []
    downgrade(empty_url, "base")
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["alembic_version"]
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 0
    upgrade(empty_url)
    yield engine
    engine.dispose()


def test_upgrade_downgrade_upgrade_reaches_head(migrated):
    with migrated.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        tables = set(inspect(conn).get_table_names())
    assert {"audit_events", "audit_chain_head", "regions", "notifications", "price_references"} <= tables


def test_models_and_migrations_do_not_drift(migrated):
    with migrated.connect() as conn:
        differences = drift(conn)
    assert differences == [], "models and migrations differ; write a migration:\n" + "\n".join(map(repr, differences))


def test_drift_check_notices_a_schema_that_differs(tmp_path):
    # The guard above is only worth something if drift() sees a difference when there is one.
    url = "sqlite:///" + str(tmp_path / "drifted.sqlite3")
    upgrade(url)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_login_attempts_username"))
        conn.execute(text("ALTER TABLE price_references ADD COLUMN stray INTEGER"))
    with engine.connect() as conn:
        differences = drift(conn)
    engine.dispose()
    kinds = {(d[0] if isinstance(d, tuple) else d[0][0]) for d in differences}
    assert {"add_index", "remove_column"} <= kinds, differences


def test_the_32_regions_are_seeded_with_the_corps_merged_into_xinjiang(migrated):
    with migrated.connect() as conn:
        rows = conn.execute(text("SELECT code, name, is_nhsa_only, merged_into FROM regions")).all()
    by_code = {code: (name, bool(nhsa_only), merged) for code, name, nhsa_only, merged in rows}
    assert set(by_code) == REGION_CODES
    assert by_code["660000"] == ("新疆生产建设兵团", True, "650000")
    assert by_code["650000"] == ("新疆", False, None)
    assert [code for code, (_, nhsa_only, merged) in by_code.items() if nhsa_only or merged] == ["660000"]


def conventional(name: str | None, expected: str, max_length: int) -> bool:
    """``name`` is ``expected``, or its shortened form (55 characters, ``_``, 4 hash characters) when too long."""
    if name == expected:
        return True
    return len(expected) > max_length and name is not None and len(name) <= max_length and name.startswith(expected[:max_length - 8])


def test_every_constraint_and_index_follows_the_naming_convention(migrated):
    problems = []
    max_length = migrated.dialect.max_identifier_length
    with migrated.connect() as conn:
        insp = inspect(conn)
        for table in insp.get_table_names():
            if table == "alembic_version":
                continue
            pk = insp.get_pk_constraint(table)
            if pk["constrained_columns"] and pk["name"] != f"pk_{table}":
                problems.append(f"{table}: primary key {pk['name']!r}")
            for fk in insp.get_foreign_keys(table):
                expected = f"fk_{table}_{fk['constrained_columns'][0]}_{fk['referred_table']}"
                if not conventional(fk["name"], expected, max_length):
                    problems.append(f"{table}: foreign key {fk['name']!r}, expected {expected!r}")
            for uq in insp.get_unique_constraints(table):
                expected = f"uq_{table}_{'_'.join(uq['column_names'])}"
                if not conventional(uq["name"], expected, max_length):
                    problems.append(f"{table}: unique {uq['name']!r}, expected {expected!r}")
            for ck in insp.get_check_constraints(table):
                if not (ck["name"] or "").startswith(f"ck_{table}_"):
                    problems.append(f"{table}: check {ck['name']!r} ({ck['sqltext']})")
            for ix in insp.get_indexes(table):
                if ix.get("duplicates_constraint"):  # PostgreSQL lists a unique constraint's index too
                    continue
                columns = [c for c in ix["column_names"] if c]
                if not (ix["name"] or "").startswith(f"ix_{table}_{columns[0] if columns else ''}"):
                    problems.append(f"{table}: index {ix['name']!r} on {ix['column_names']}")
    assert problems == []


def test_flask_db_upgrade_then_db_check_exits_0_and_1_once_drifted(tmp_path):
    url = "sqlite:///" + str(tmp_path / "check.sqlite3")
    instance = str(tmp_path / "instance")
    migrated = run_flask(url, instance, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    result = run_flask(url, instance, "db", "check")
    assert result.returncode == 0, result.stderr
    # … and 1, naming the difference, once the schema has drifted.
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_login_attempts_username"))
    engine.dispose()
    result = run_flask(url, instance, "db", "check")
    assert result.returncode == 1
    assert "ix_login_attempts_username" in result.stderr
