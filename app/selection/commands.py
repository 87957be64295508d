"""``flask --app app selection run|import-batch2``: the same services as the pages."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.tx import transaction
from app.extensions import db

selection_cli = AppGroup("selection", help="Winner selection (rule engine) on opened projects.")


def _user(username: str | None):
    from app.auth.models import User

    if username is None:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _tie_keys(specs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    keys: dict[str, dict[str, str]] = {}
    for spec in specs:
        bid, sep, rest = spec.partition(":")
        name, eq, value = rest.partition("=")
        if not sep or not eq or not bid.strip() or not name.strip() or not value.strip():
            raise click.BadParameter(f"{spec!r} is not BID_ID:KEY=VALUE", param_hint="--tie-key")
        keys.setdefault(bid.strip(), {})[name.strip()] = value.strip()
    return keys


@selection_cli.command("run")
@click.argument("project_code")
@click.option("--draw-seed", default=None, help="seed of the officer's draw (W6), for bids still tied after every key")
@click.option("--tie-key", "tie_key_specs", multiple=True, metavar="BID_ID:KEY=VALUE",
              help="a tie-break value decided by the officer, e.g. 123:reported_demand=1 (repeatable)")
@click.option("--demand-basis", type=click.Choice(["reported", "committed"]), default="reported", show_default=True,
              help="committed: the demand lines already hold committed volumes (the imported batch 2)")
@click.option("--as", "username", default=None, help="the procurement officer running it (default: the command line)")
def run_command(project_code: str, draw_seed: str | None, tie_key_specs: tuple[str, ...], demand_basis: str,
                username: str | None) -> None:
    """Run the rule engine on PROJECT_CODE and store the run (problem, SHA-256, result, solver version)."""
    from app.projects.models import ProcurementProject
    from app.selection.services import run_selection

    tie_keys = _tie_keys(tie_key_specs)
    try:
        with transaction():
            project = db.session.scalar(select(ProcurementProject).where(ProcurementProject.code == project_code.strip().upper()))
            if project is None:
                raise click.ClickException(f"no project {project_code!r}")
            run = run_selection(project, actor=_user(username), tie_keys=tie_keys, draw_seed=draw_seed,
                                demand_basis=demand_basis)
            lots = run.result["lots"]
            summary = (run.id, run.problem_sha256, run.solver_version, len(lots),
                       sum(1 for lot in lots if lot["status"] == "failed"), sum(len(lot["winners"]) for lot in lots))
    except DomainError as err:
        raise click.ClickException(err.message) from err
    run_id, sha, version, n_lots, failed, winners = summary
    click.echo(f"selection run #{run_id} of {project_code}: {n_lots} lots ({failed} failed), {winners} winners")
    click.echo(f"problem sha256 {sha}, solver {version}")


@selection_cli.command("import-batch2")
@click.option("--as", "username", required=True, help="a procurement officer of the demo project's authority")
def import_batch2_command(username: str) -> None:
    """Record the published 2nd-batch bids as the historical opening of the demo project NVBP-2020-02."""
    from app.selection.historical import import_published_batch2

    try:
        with transaction():
            project = import_published_batch2(actor=_user(username))
            code, state = project.code, project.state
    except DomainError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"{code}: published bids imported as a historical opening; the project is {state}")
