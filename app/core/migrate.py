"""Running Alembic from the app: upgrade, downgrade, and the models-vs-migrations drift check."""
from __future__ import annotations

import os

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from app.core.db import Base

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "migrations")


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS_DIR)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head", connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(url, connection), revision)


def downgrade(url: str, revision: str = "base", connection: Connection | None = None) -> None:
    command.downgrade(alembic_config(url, connection), revision)


def drift(connection: Connection) -> list:
    """Differences between the models and the migrated schema (empty when they agree)."""
    import app.models  # noqa: F401

    ctx = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _for_dialect(connection)})
    return compare_metadata(ctx, Base.metadata)


def _for_dialect(connection: Connection):
    """Leave out of the comparison what the models create on other databases only (``.ddl_if(dialect=…)``).

    Alembic does not read ``ddl_if``: without this, SQLite would report PostgreSQL's trigram indexes missing.
    """

    def include(obj, name, type_, reflected, compare_to) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        if reflected or condition is None:
            return True
        return condition._should_execute(None, obj, connection)

    return include
