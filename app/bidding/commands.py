"""``flask --app app bidding status CODE``: a project's sealed bidding as counts and file hashes.

Like every other surface, the command line shows no price before the opening (DOMAIN.md L2): it
cannot, since the server holds no key that opens a quote.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db

bidding_cli = AppGroup("bidding", help="Sealed bidding: counts and file hashes (never a price before the opening).")


@bidding_cli.command("status")
@click.argument("project_code")
def bidding_status(project_code: str) -> None:
    """Per-lot counts of submitted quotes and every uploaded version's SHA-256 for PROJECT_CODE."""
    from app.bidding.services import opening_record, sealed_status
    from app.projects.lifecycle import effective_state
    from app.projects.models import ProcurementProject

    project = db.session.scalar(select(ProcurementProject).where(ProcurementProject.code == project_code.strip().upper()))
    if project is None:
        raise click.ClickException(f"no project with the code {project_code}")
    status = sealed_status(project)
    record = opening_record(project)
    click.echo(f"{project.code}: {effective_state(project)}; {status['submitted']} submitted quote(s), "
               f"{status['superseded']} replaced, {status['withdrawn']} withdrawn")
    for lot in status["lots"]:
        click.echo(f"  lot {lot['lot_no']:>3}  {lot['quotes']:>4} quote(s)  {lot['name']}")
    for version in status["versions"]:
        click.echo(f"  {version['submitted_at'].isoformat()}  {version['file_sha256']}  "
                   f"{version['lines']} line(s)  {version['status']}")
    if record is not None:
        click.echo(f"opened {record.opened_at.isoformat()}; opening record SHA-256 {record.record_sha256}")
