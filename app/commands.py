"""Command line: ``flask --app app db|users|audit|demo …``. Commands call the same services as the views."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.catalog.commands import catalog_cli
from app.core.tx import transaction
from app.extensions import db

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
users_cli = AppGroup("users", help="User accounts.")
audit_cli = AppGroup("audit", help="The audit trail.")
demo_cli = AppGroup("demo", help="Demo data.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from app.core.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (default: one step)."""
    from app.core.migrate import downgrade

    downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("check")
def db_check() -> None:
    """Exit 1 when the models and the migrated schema differ."""
    from app.core.migrate import drift

    with db.engine.connect() as conn:
        diff = drift(conn)
    for item in diff:
        click.echo(repr(item), err=True)
    sys.exit(1 if diff else 0)


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", default=None)
@click.option("--role", required=True)
@click.option("--org", "org_ref", required=True, help="organisation id, credit code or exact name")
@click.option("--email", default=None)
@click.option("--org-admin", is_flag=True, default=False)
@click.password_option(prompt=True, confirmation_prompt=True)
def users_create(username, display_name, role, org_ref, email, org_admin, password) -> None:
    """Create a user account."""
    from app.auth.services import create_user
    from app.core.errors import DomainError
    from app.orgs.models import Organisation

    with transaction():
        query = select(Organisation).where(
            (Organisation.uscc == org_ref) | (Organisation.name == org_ref)
            | (Organisation.id == (int(org_ref) if org_ref.isdigit() else -1))
        )
        org = db.session.scalars(query).first()
        if org is None:
            raise click.ClickException(f"no organisation {org_ref!r}")
        try:
            user = create_user(actor=None, username=username, display_name=display_name or username, password=password,
                               role=role, org=org, email=email, is_org_admin=org_admin)
        except DomainError as err:
            raise click.ClickException(err.message) from err
    click.echo(f"created user {user.username} ({user.role}) in {org.name}")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 naming the first broken event."""
    from app.audit.services import verify_chain

    result = verify_chain(db.session())
    if result.ok:
        click.echo(f"audit chain intact: {result.checked} events")
        return
    click.echo(f"audit chain BROKEN at event {result.first_broken_seq}: {result.problem}", err=True)
    sys.exit(1)


@demo_cli.command("seed")
@click.option("--if-needed", is_flag=True, help="when the demo is already loaded, only print its logins")
def demo_seed(if_needed: bool) -> None:
    """Load the demo (2nd national batch, accounts for every role) and print the logins."""
    from app.demo.seed import DEMO_PASSWORD, DEMO_USERS, DemoAlreadySeeded, seed_demo

    try:
        with transaction():
            accounts = seed_demo()
    except DemoAlreadySeeded as err:
        if not if_needed:
            raise click.ClickException(err.message) from err
        click.echo("The demo data is already loaded.")
        accounts = [{"role": role, "username": username, "password": DEMO_PASSWORD} for username, role, *_ in DEMO_USERS]
    click.echo("\nDemo accounts, one per role:")
    for account in accounts:
        click.echo(f"  {account['role']:<22} {account['username']:<14} {account.get('org', '')}")
    click.echo(f"  password (all): {DEMO_PASSWORD}")


def register(app: Flask) -> None:
    for group in (db_cli, users_cli, audit_cli, demo_cli, catalog_cli):
        app.cli.add_command(group)
    from app.selection.commands import selection_cli

    app.cli.add_command(selection_cli)
    from app.bidding.commands import bidding_cli

    app.cli.add_command(bidding_cli)
