"""catalog search: pg_trgm and trigram indexes on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Substring (``LIKE '%阿托伐%'``) and similarity search on generic names and organisation names. On
PostgreSQL: the ``pg_trgm`` extension and a GIN trigram index on ``products.generic_name`` and
``organisations.name`` (the models declare them with ``.ddl_if(dialect="postgresql")``). The database
needs a UTF-8 ctype (``C.UTF-8``): in a ``C``-ctype database Chinese text yields no trigrams. On SQLite
this revision only drops the B-tree index on ``products.generic_name_initials`` (both databases): initials
are matched anywhere in the text (``LIKE '%ejsg%'``), which such an index cannot serve, and it made bulk
catalog imports a quarter slower. Search on SQLite is ``LIKE`` on the same columns.
"""
from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# (index, table, column)
TRIGRAM_INDEXES = (
    ("ix_products_generic_name_trgm", "products", "generic_name"),
    ("ix_organisations_name_trgm", "organisations", "name"),
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_generic_name_initials"))
    if not _postgresql():
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        op.create_index(name, table, [column], unique=False, postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    if _postgresql():
        for name, table, _column in reversed(TRIGRAM_INDEXES):
            op.drop_index(name, table_name=table)
        # Dropped unless another object of the database still uses it (then it stays, as it was before).
        op.execute("DO $$ BEGIN DROP EXTENSION IF EXISTS pg_trgm; "
                   "EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $$")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_generic_name_initials"), ["generic_name_initials"], unique=False)
