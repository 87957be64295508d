"""Dedicated databases for the foundation tests that need a schema of their own.

Migration, concurrency and raw-storage tests must not run inside the suite's shared database (its
outer transaction would hide commits, and a downgrade would drop its tables): each gets a database
that it empties and migrates itself.
"""
from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fresh_pg_database(pg_url: str, name: str) -> str:
    """URL of PostgreSQL database ``name`` (UTF-8, C.UTF-8) on ``pg_url``'s server, with an empty ``public``."""
    server = make_url(pg_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            # Same settings as .ci/system-deps.sh: trigram search needs a UTF-8 ctype for Chinese text.
            conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' "
                              "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
    admin.dispose()
    url = server.set(database=name)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


def run_flask(database_url: str, instance_dir: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``flask --app app ARGS`` in a child process against ``database_url``."""
    child_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SMTP_HOST", "REDIS_URL")}
    child_env.update(DATABASE_URL=database_url, JICAI_INSTANCE_PATH=instance_dir,
                     SECRET_KEY="test-secret-not-for-production", **env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=REPO_ROOT, env=child_env,
                          capture_output=True, text=True, timeout=120)
