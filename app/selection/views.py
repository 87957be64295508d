"""Winner selection pages: projects with results, running the rule engine, results per lot, run history."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import roles as R
from app.auth.models import User
from app.auth.security import roles_required
from app.core.errors import DomainError
from app.extensions import db
from app.projects import lifecycle
from app.projects import services as project_services
from app.projects.models import ProcurementProject
from app.projects.views import error_text, state_label
from app.selection import presentation, services
from app.selection.forms import RunForm
from solver.canonical import canonical_json

bp = Blueprint("selection", __name__, url_prefix="/selection", template_folder="templates")

_READERS = (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.SUPPLIER_USER)
_FULL = services.FULL_READERS


@bp.app_context_processor
def _helpers():
    return {"selection_reason_label": presentation.reason_label, "selection_status_label": presentation.status_label,
            "selection_region_name": presentation.region_name, "selection_number": presentation.number,
            "selection_flag_label": presentation.flag_label,
            "selection_demand_basis_label": presentation.demand_basis_label}


def _project_or_404(project_id: int) -> ProcurementProject:
    """The project if the current user may read its selection results (else 404: its existence is not revealed)."""
    project = db.session.get(ProcurementProject, project_id)
    if project is None or not services.may_view_selection(current_user, project):
        abort(404)
    return project


def _run_or_404(project: ProcurementProject):
    run_id = request.args.get("run", type=int)
    if run_id is None:
        return services.latest_run(project)
    return services.get_run(project, run_id) or abort(404)


@bp.get("/")
@roles_required(*_READERS)
def index():
    projects = [p for p in project_services.list_projects(current_user)
                if lifecycle.at_or_after(lifecycle.effective_state(p), "opened")]
    latest = {p.id: services.latest_run(p) for p in projects}
    return render_template("selection/index.html", projects=projects, latest=latest)


@bp.get("/projects/<int:project_id>")
@roles_required(*_READERS)
def results(project_id: int):
    project = _project_or_404(project_id)
    run = _run_or_404(project)
    full = current_user.role in _FULL
    reports = services.run_report(run, supplier_org_id=None if full else current_user.org_id) if run else []
    explanations = {id(line): presentation.explain(line, report, detailed=full) for report in reports for line in report.bids}
    author = db.session.get(User, run.created_by_id) if run is not None and run.created_by_id else None
    state = lifecycle.effective_state(project)
    may_run = services.may_run_selection(current_user, project) and state in services.RUN_STATES
    return render_template("selection/results.html", project=project, run=run, reports=reports,
                           explain_line=lambda line: explanations[id(line)],
                           full=full, author=author, may_run=may_run,
                           merged_xinjiang="660000" not in (run.problem["regions"] if run else []),
                           demand_basis=(run.problem["lots"][0]["demand_basis"] if run and run.problem["lots"] else None))


def _posted_tie_keys(key_names: list[str], groups) -> dict[int, dict[str, str]]:
    """Tie-break values the officer changed on the form (fields ``tie-<bid id>-<key>``)."""
    typed: dict[int, dict[str, str]] = {}
    for group in groups:
        for bid, _org, computed in group.bids:
            for name in key_names:
                value = (request.form.get(f"tie-{bid.id}-{name}") or "").strip()
                if value and value != str(computed.get(name)):
                    typed.setdefault(bid.id, {})[name] = value
    return typed


@bp.route("/projects/<int:project_id>/run", methods=["GET", "POST"])
@roles_required(R.PROCUREMENT_OFFICER)
def run(project_id: int):
    project = _project_or_404(project_id)
    if not services.may_run_selection(current_user, project):
        abort(403)
    state = lifecycle.effective_state(project)
    if state not in services.RUN_STATES:
        flash(_("Winners are selected while the project is opened, in negotiation or evaluated (it is %(state)s).",
                state=state_label(state)), "warning")
        return redirect(url_for("selection.results", project_id=project.id))
    form = RunForm()
    form.demand_basis.choices = [(b, presentation.demand_basis_label(b)) for b in services.DEMAND_BASES]
    key_names, groups = services.tie_groups(project)
    if request.method == "GET":
        form.draw_seed.data = project.draw_seed or ""
    if form.validate_on_submit():
        try:
            selection_run = services.run_selection(project, actor=current_user,
                                                   tie_keys=_posted_tie_keys(key_names, groups),
                                                   draw_seed=form.draw_seed.data, demand_basis=form.demand_basis.data)
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            key_names, groups = services.tie_groups(project)
            return render_template("selection/run.html", project=project, form=form, key_names=key_names,
                                   groups=groups), 422
        flash(_("Selection run #%(id)s stored, problem SHA-256 %(sha)s.", id=selection_run.id,
                sha=selection_run.problem_sha256), "success")
        return redirect(url_for("selection.results", project_id=project.id, run=selection_run.id))
    return render_template("selection/run.html", project=project, form=form, key_names=key_names, groups=groups)


@bp.get("/projects/<int:project_id>/runs")
@roles_required(*_FULL)
def history(project_id: int):
    project = _project_or_404(project_id)
    runs = services.list_runs(project)
    user_ids = {r.created_by_id for r in runs if r.created_by_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    counts = {}
    for r in runs:
        statuses = [lot["status"] for lot in r.result["lots"]]
        counts[r.id] = {"lots": len(statuses), "failed": statuses.count("failed"), "bids": len(r.result["bids"]),
                        "winners": sum(len(lot["winners"]) for lot in r.result["lots"])}
    return render_template("selection/history.html", project=project, runs=runs, users=users, counts=counts)


@bp.get("/projects/<int:project_id>/download")
@roles_required(*_FULL)
def download(project_id: int):
    """The run's problem or result as canonical JSON: ``sha256sum`` of the problem file is its ``problem_sha256``."""
    project = _project_or_404(project_id)
    selection_run = _run_or_404(project)
    part = request.args.get("part", "problem")
    if selection_run is None or part not in ("problem", "result"):
        abort(404)
    document = selection_run.problem if part == "problem" else selection_run.result
    filename = f"{project.code}-selection-{selection_run.id}-{part}.json"
    return Response(canonical_json(document).encode("utf-8"), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
