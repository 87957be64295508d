"""Institutions' master data and demand collection pages (blueprint ``demand``).

Officers list, edit and import institutions and create their users (``/institutions``); hospitals
report demand by form or spreadsheet; officers and supervisors follow completeness, officers remind,
freeze and decide amendments (``/projects/<id>/demand``). Views are thin: the services check roles,
ownership and states.
"""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import roles as R
from app.auth.security import roles_required
from app.core.db import utcnow
from app.core.errors import DomainError
from app.demand import forms as F
from app.demand import services
from app.extensions import db
from app.orgs import institutions as inst
from app.orgs.models import INSTITUTION_LEVELS
from app.projects import lifecycle
from app.projects import services as projects
from app.projects.models import DemandAmendment, DemandLine, DemandReport, Lot, ProcurementProject
from app.projects.views import error_text
from app.regions.names import REGIONS
from app.spreadsheets import SpreadsheetError, error_report_workbook, export_table
from app.projects.access import visible_project_or_404

bp = Blueprint("demand", __name__, template_folder="templates")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_INSTITUTION_READERS = (R.PLATFORM_ADMIN, R.PROCUREMENT_OFFICER, R.SUPERVISOR)
_OFFICER = R.PROCUREMENT_OFFICER
_FOLLOWERS = (R.PROCUREMENT_OFFICER, R.SUPERVISOR)
_DEMAND_ROLES = (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.INSTITUTION_USER)


def level_label(level: str | None) -> str:
    return {"tertiary": _("Tertiary (三级)"), "secondary": _("Secondary (二级)"), "primary": _("Primary (一级)"),
            "unrated": _("Unrated (未定级)")}.get(level or "", level or "—")


def region_label(code: str | None) -> str:
    for region in REGIONS:
        if region.code == code:
            return region.name
    return code or "—"


def report_status_label(status: str) -> str:
    return {"draft": _("Draft"), "submitted": _("Submitted"), "superseded": _("Superseded"),
            "frozen": _("Frozen")}.get(status, status)


def amendment_status_label(status: str) -> str:
    return {"pending": _("Awaiting decision"), "approved": _("Approved"), "rejected": _("Refused")}.get(status, status)


@bp.app_context_processor
def _labels():
    return {"institution_level_label": level_label, "region_label": region_label,
            "demand_status_label": report_status_label, "amendment_status_label": amendment_status_label,
            "demand_warning_text": services.warning_text,
            "demand_field_label": lambda key: _(services.FIELD_LABELS[key]) if key in services.FIELD_LABELS else key}


def _xlsx(data: bytes, name: str):
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


def _spreadsheet_error(err: SpreadsheetError) -> str:
    text = str(err.message)
    return f"{text} {err.hint}" if err.hint is not None else text


def _region_choices() -> list[tuple[str, str]]:
    return [(r.code, f"{r.code} {r.name}") for r in REGIONS]


# --- institutions: master data -----------------------------------------------------------------------------

def _institution_or_404(institution_id: int):
    return inst.get_institution(institution_id) or abort(404)


@bp.get("/institutions/")
@roles_required(*_INSTITUTION_READERS)
def list_institutions():
    region = request.args.get("region") or None
    level = request.args.get("level") or None
    if level not in (None, *INSTITUTION_LEVELS):
        level = None
    rows = inst.list_institutions(region_code=region, level=level, q=request.args.get("q"),
                                  medical_community=request.args.get("community") or None)
    return render_template("demand/institutions.html", institutions=rows, regions=REGIONS, levels=INSTITUTION_LEVELS,
                           region=region, level=level, may_edit=current_user.role == _OFFICER)


@bp.route("/institutions/<int:institution_id>", methods=["GET", "POST"])
@roles_required(*_INSTITUTION_READERS)
def edit_institution(institution_id: int):
    institution = _institution_or_404(institution_id)
    may_edit = current_user.role == _OFFICER
    if request.method == "POST" and not may_edit:
        abort(403)
    form = F.InstitutionForm(obj=institution)
    form.institution_level.choices = [(k, level_label(k)) for k in INSTITUTION_LEVELS]
    form.region_code.choices = _region_choices()
    status = 200
    if may_edit and form.validate_on_submit():
        try:
            changed = inst.update_institution(
                institution, actor=current_user, institution_code=form.institution_code.data, name=form.name.data,
                institution_level=form.institution_level.data, region_code=form.region_code.data,
                medical_community=form.medical_community.data, is_primary_care=form.is_primary_care.data,
                uscc=form.uscc.data, active=form.active.data)
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            status = 422
        else:
            flash(_("Institution %(name)s saved.", name=institution.name) if changed else _("Nothing changed."), "success")
            return redirect(url_for("demand.edit_institution", institution_id=institution.id))
    elif request.method == "POST":
        status = 422
    return render_template("demand/institution.html", institution=institution, form=form, may_edit=may_edit,
                           users=inst.institution_users(institution)), status


@bp.route("/institutions/import", methods=["GET", "POST"])
@roles_required(_OFFICER)
def import_institutions():
    form = F.ImportForm()
    if not form.validate_on_submit():
        return render_template("demand/institutions_import.html", form=form, result=None), \
            (422 if request.method == "POST" else 200)
    upload = form.file.data
    data, filename = upload.read(), upload.filename or "upload.xlsx"
    try:
        result = inst.import_institutions(data, filename, current_user, dry_run=form.dry_run.data)
    except SpreadsheetError as err:
        db.session.rollback()
        flash(_spreadsheet_error(err), "danger")
        return render_template("demand/institutions_import.html", form=form, result=None), err.http_status
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "danger")
        return render_template("demand/institutions_import.html", form=form, result=None), 403
    if not result.ok:
        db.session.rollback()
        if form.error_report.data:
            report = error_report_workbook(data, filename, result.errors, notices=result.notices)
            return _xlsx(report, "institutions-errors.xlsx")
        flash(_("The file has %(n)s problem(s): nothing was stored. Correct them and upload the file again.",
                n=len(result.errors)), "danger")
        return render_template("demand/institutions_import.html", form=form, result=result), 422
    if result.dry_run:
        flash(_("Check passed: %(created)s institution(s) would be created, %(updated)s updated, %(unchanged)s unchanged. Nothing was stored.",
                created=len(result.created), updated=len(result.updated), unchanged=len(result.unchanged)), "success")
    else:
        flash(_("Imported: %(created)s institution(s) created, %(updated)s updated, %(unchanged)s unchanged.",
                created=len(result.created), updated=len(result.updated), unchanged=len(result.unchanged)), "success")
    return render_template("demand/institutions_import.html", form=F.ImportForm(formdata=None), result=result)


@bp.get("/institutions/template")
@roles_required(_OFFICER)
def institutions_template():
    rows = None
    if request.args.get("prefill"):
        rows = inst.list_institutions(region_code=request.args.get("region") or None, limit=100_000)
    data = inst.institutions_template(issued_at=utcnow(), institutions=rows)
    return _xlsx(data, "institutions-template.xlsx")


@bp.route("/institutions/<int:institution_id>/users/new", methods=["GET", "POST"])
@roles_required(_OFFICER)
def create_institution_user(institution_id: int):
    institution = _institution_or_404(institution_id)
    form = F.InstitutionUserForm()
    if form.validate_on_submit():
        try:
            user = inst.create_institution_user(
                actor=current_user, institution=institution, username=form.username.data,
                display_name=form.display_name.data, password=form.password.data, email=form.email.data or None,
                is_org_admin=form.is_org_admin.data)
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            return render_template("demand/institution_user.html", institution=institution, form=form), 422
        flash(_("User %(name)s created; it chooses its own password at the first login.", name=user.username), "success")
        return redirect(url_for("demand.edit_institution", institution_id=institution.id))
    status = 422 if request.method == "POST" else 200
    return render_template("demand/institution_user.html", institution=institution, form=form), status


# --- demand: shared loading ------------------------------------------------------------------------------

_project_or_404 = visible_project_or_404


def _lots(project: ProcurementProject) -> list[Lot]:
    return projects.project_lots(project)


@bp.get("/demand/")
@roles_required(*_DEMAND_ROLES)
def index():
    rows = projects.list_projects(current_user)
    now = utcnow()
    mine = {}
    if current_user.role == R.INSTITUTION_USER:
        mine = {p.id: services.current_report(p, current_user.org_id) for p in rows}
    return render_template("demand/index.html", projects=rows, mine=mine,
                           states={p.id: lifecycle.effective_state(p, now) for p in rows})


# --- demand: the institution's side ----------------------------------------------------------------------

def _institution_project(project_id: int) -> ProcurementProject:
    project = _project_or_404(project_id)
    if not services.takes_part(project, current_user.org_id):
        abort(404)
    return project


@bp.get("/projects/<int:project_id>/demand/mine")
@roles_required(R.INSTITUTION_USER)
def my_report(project_id: int):
    project = _institution_project(project_id)
    report = services.current_report(project, current_user.org_id)
    lines = services.report_lines(report) if report else []
    effective = services.effective_values([line.id for line in lines])
    pending = set()
    if lines:
        pending = set(db.session.scalars(select(DemandAmendment.demand_line_id).where(
            DemandAmendment.demand_line_id.in_([line.id for line in lines]), DemandAmendment.status == "pending")))
    state = lifecycle.effective_state(project)
    amendable = report is not None and report.status == "frozen" and state == "demand_frozen"
    problem = services.reporting_problem(project)
    return render_template(
        "demand/my_report.html", project=project, report=report, lines=lines, effective=effective, pending=pending,
        lots={lot.id: lot for lot in _lots(project)}, versions=services.report_versions(project, current_user.org_id),
        warnings=services.report_warnings(report) if report else [], problem=error_text(problem) if problem else None,
        amendable=amendable, floor=services.floor_rule(project),
        institution=current_user.org)


def _reporting_closed(project: ProcurementProject):
    problem = services.reporting_problem(project)
    if problem is None:
        return None
    flash(error_text(problem), "warning")
    return redirect(url_for("demand.my_report", project_id=project.id))


def _initial_rows(project: ProcurementProject, lots: list[Lot]) -> list[F.FormLine]:
    report = services.current_report(project, current_user.org_id)
    by_lot: dict[int, list[DemandLine]] = {}
    if report is not None:
        for line in services.report_lines(report):
            by_lot.setdefault(line.lot_id, []).append(line)
    codes = {}
    product_ids = [line.product_id for lines in by_lot.values() for line in lines if line.product_id]
    if product_ids:
        from app.catalog.models import Product

        codes = dict(db.session.execute(select(Product.id, Product.nhsa_code).where(Product.id.in_(product_ids))).all())
    rows = []
    for lot in lots:
        lines = by_lot.get(lot.id, [])
        for n, line in enumerate(lines):
            rows.append(F.FormLine(lot.id, n, {
                "nhsa_code": codes.get(line.product_id) or "" if line.product_id else "", "spec": line.spec or "",
                "preferred_brand": line.preferred_brand or "", "historical_usage": f"{line.historical_usage.normalize():f}",
                "reported_demand": f"{line.reported_demand.normalize():f}"}))
        rows.append(F.FormLine(lot.id, len(lines), {}))
    return rows


def _with_blank_rows(rows: list[F.FormLine], lots: list[Lot]) -> list[F.FormLine]:
    """One empty line after each lot's lines, to add a strength (or a brand)."""
    out = []
    for lot in lots:
        mine = [r for r in rows if r.lot_id == lot.id and not r.blank]
        out.extend(F.FormLine(lot.id, n, r.values, r.errors) for n, r in enumerate(mine))
        if len(mine) < F.MAX_LINES_PER_LOT:
            out.append(F.FormLine(lot.id, len(mine), {}))
    return out


@bp.route("/projects/<int:project_id>/demand/form", methods=["GET", "POST"])
@roles_required(R.INSTITUTION_USER)
def report_form(project_id: int):
    project = _institution_project(project_id)
    closed = _reporting_closed(project)
    if closed is not None:
        return closed
    lots = _lots(project)
    form = F.DemandForm()
    brand = services.brand_demand_allowed(project)
    messages: list[str] = []
    if request.method == "GET":
        report = services.current_report(project, current_user.org_id)
        years = {line.year for line in services.report_lines(report)} if report else set()
        form.year.data = min(years) if years else utcnow().astimezone(lifecycle.BEIJING).year
        rows = _initial_rows(project, lots)
        return render_template("demand/report_form.html", project=project, form=form, lots=lots, rows=rows,
                               brand=brand, messages=messages, floor=services.floor_rule(project))
    rows = F.read_demand_rows(request.form, lots)
    status = 422
    if form.validate_on_submit():
        inputs, pairs = F.lines_to_inputs(rows, lots, form.year.data)
        if not any(r.errors for r in rows):
            try:
                submission = services.submit_demand_lines(project, inputs, actor=current_user)
            except services.DemandLinesInvalid as err:
                db.session.rollback()
                messages = F.attach_problems(pairs, err.problems)
            except DomainError as err:
                db.session.rollback()
                flash(error_text(err), "danger")
                return redirect(url_for("demand.my_report", project_id=project.id))
            else:
                flash(_("Demand report version %(n)s submitted.", n=submission.report.version), "success")
                for warning in submission.warnings:
                    flash(services.warning_text(warning), "warning")
                return redirect(url_for("demand.my_report", project_id=project.id))
        else:
            messages = [m for r in rows for errs in r.errors.values() for m in errs]
    if messages:
        flash(_("The demand report has %(count)s problem(s); nothing was saved.", count=len(messages)), "danger")
    return render_template("demand/report_form.html", project=project, form=form, lots=lots,
                           rows=_with_blank_rows(rows, lots), brand=brand, messages=messages,
                           floor=services.floor_rule(project)), status


@bp.route("/projects/<int:project_id>/demand/upload", methods=["GET", "POST"])
@roles_required(R.INSTITUTION_USER)
def upload_report(project_id: int):
    project = _institution_project(project_id)
    closed = _reporting_closed(project)
    if closed is not None:
        return closed
    form = F.DemandUploadForm()
    if not form.validate_on_submit():
        return render_template("demand/upload.html", project=project, form=form, result=None), \
            (422 if request.method == "POST" else 200)
    upload = form.file.data
    data, filename = upload.read(), upload.filename or "demand.xlsx"
    try:
        result = services.upload_demand_report(project, data, filename, actor=current_user)
    except SpreadsheetError as err:
        db.session.rollback()
        flash(_spreadsheet_error(err), "danger")
        return render_template("demand/upload.html", project=project, form=form, result=None), err.http_status
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "danger")
        return redirect(url_for("demand.my_report", project_id=project.id))
    if not result.ok:
        db.session.rollback()
        if form.error_report.data:
            return _xlsx(error_report_workbook(data, filename, result.errors, notices=result.notices),
                         f"demand-{project.code}-errors.xlsx")
        flash(_("The file has %(n)s problem(s): nothing was stored. Correct them and upload the file again.",
                n=len(result.errors)), "danger")
        return render_template("demand/upload.html", project=project, form=form, result=result), 422
    flash(_("Demand report version %(n)s submitted from %(file)s.", n=result.report.version, file=filename), "success")
    for warning in result.warnings:
        flash(services.warning_text(warning), "warning")
    for notice in result.notices:
        flash(str(notice.message), "info")
    return redirect(url_for("demand.my_report", project_id=project.id))


@bp.get("/projects/<int:project_id>/demand/template")
@roles_required(R.INSTITUTION_USER)
def report_template(project_id: int):
    project = _institution_project(project_id)
    closed = _reporting_closed(project)
    if closed is not None:
        return closed
    try:
        data = services.demand_template(project, actor=current_user)
    except DomainError as err:
        flash(error_text(err), "danger")
        return redirect(url_for("demand.my_report", project_id=project.id))
    code = current_user.org.institution_code or current_user.org_id
    return _xlsx(data, f"demand-{project.code}-{code}.xlsx")


@bp.get("/demand/reports/<int:report_id>")
@roles_required(*_DEMAND_ROLES)
def show_report(report_id: int):
    report = db.session.get(DemandReport, report_id)
    if report is None or not services.may_read_report(current_user, report):
        abort(404)
    project = _project_or_404(report.project_id)
    lines = services.report_lines(report)
    from app.orgs.models import Organisation

    return render_template("demand/report.html", project=project, report=report, lines=lines,
                           institution=db.session.get(Organisation, report.institution_id),
                           effective=services.effective_values([line.id for line in lines]),
                           lots={lot.id: lot for lot in _lots(project)}, warnings=services.report_warnings(report))


# --- demand: the officers' side ---------------------------------------------------------------------------

@bp.get("/projects/<int:project_id>/demand/completeness")
@roles_required(*_FOLLOWERS)
def completeness(project_id: int):
    project = _project_or_404(project_id)
    state = lifecycle.effective_state(project)
    may_edit = projects.may_edit_project(current_user, project)
    floor_form = F.FloorForm(formdata=None, confirm="1")
    if project.min_report_vs_history is not None:
        floor_form.min_report_vs_history.data = f"{project.min_report_vs_history.normalize():f}"
    return render_template("demand/completeness.html", project=project, data=services.demand_completeness(project),
                           state=state, may_edit=may_edit, floor_form=floor_form, floor=services.floor_rule(project))


def _confirmed() -> bool:
    return F.ConfirmForm().validate_on_submit() and request.form.get("confirm") == "1"


@bp.post("/projects/<int:project_id>/demand/remind")
@roles_required(_OFFICER)
def remind(project_id: int):
    project = _project_or_404(project_id)
    if not _confirmed():
        flash(_("Nothing was sent."), "warning")
        return redirect(url_for("demand.completeness", project_id=project.id))
    try:
        sent = services.send_demand_reminders(project, actor=current_user,
                                              link=url_for("demand.my_report", project_id=project.id))
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "danger")
        return redirect(url_for("demand.completeness", project_id=project.id))
    flash(_("Reminder sent to %(n)s institution(s).", n=len(sent)) if sent
          else _("Every institution has submitted its report: no reminder sent."), "success")
    return redirect(url_for("demand.completeness", project_id=project.id))


@bp.post("/projects/<int:project_id>/demand/freeze")
@roles_required(_OFFICER)
def freeze(project_id: int):
    project = _project_or_404(project_id)
    if not _confirmed():
        flash(_("Nothing was changed."), "warning")
        return redirect(url_for("demand.completeness", project_id=project.id))
    try:
        services.freeze_demand(project, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "danger")
        return redirect(url_for("demand.completeness", project_id=project.id))
    flash(_("Demand is frozen: changes are now made only as amendment rows."), "success")
    return redirect(url_for("demand.completeness", project_id=project.id))


@bp.post("/projects/<int:project_id>/demand/floor")
@roles_required(_OFFICER)
def set_floor(project_id: int):
    project = _project_or_404(project_id)
    form = F.FloorForm()
    if not form.validate_on_submit() or form.confirm.data != "1":
        flash(_("Nothing was changed."), "warning")
        return redirect(url_for("demand.completeness", project_id=project.id))
    try:
        ratio = services.set_demand_floor(project, form.min_report_vs_history.data, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "danger")
        return redirect(url_for("demand.completeness", project_id=project.id))
    flash(_("The project requires at least %(percent)s of the historical usage.", percent=services.floor_rule(project).percent)
          if ratio is not None else _("Below the usual share of the historical usage is now only a warning."), "success")
    return redirect(url_for("demand.completeness", project_id=project.id))


@bp.get("/projects/<int:project_id>/demand/export")
@roles_required(*_FOLLOWERS)
def export_demand(project_id: int):
    project = _project_or_404(project_id)
    data = services.demand_completeness(project)
    headers = [("医疗机构代码", "Institution code"), ("医疗机构名称", "Institution"), ("省份", "Province"),
               ("报送版本", "Version"), ("状态", "Status"), ("报送时间", "Submitted at")]
    headers += [(f"品种{lot.lot_no} {lot.name}", f"Lot {lot.lot_no}") for lot in data.lots]
    rows = []
    for item in data.institutions:
        org, report = item.institution, item.report
        rows.append([org.institution_code, org.name, org.region_code, report.version if report else None,
                     report_status_label(report.status) if report else _("Not submitted"),
                     report.submitted_at if report else None] + [item.totals.get(lot.id) for lot in data.lots])
    body = export_table(headers, rows, sheet_title="需求报量")
    return _xlsx(body, f"demand-{project.code}.xlsx")


# --- amendments ---------------------------------------------------------------------------------------------

@bp.route("/projects/<int:project_id>/demand/amendments", methods=["GET", "POST"])
@roles_required(*_DEMAND_ROLES)
def amendments(project_id: int):
    project = _project_or_404(project_id)
    if request.method == "POST":
        if current_user.role != R.INSTITUTION_USER:
            abort(403)
        form = F.AmendmentForm()
        if not form.validate_on_submit():
            flash(_("Give the new reported demand and a reason."), "danger")
            return redirect(url_for("demand.my_report", project_id=project.id))
        try:
            line = db.session.get(DemandLine, int(form.line_id.data))
        except ValueError:
            line = None
        report = db.session.get(DemandReport, line.report_id) if line else None
        if line is None or report.project_id != project.id or report.institution_id != current_user.org_id:
            abort(404)
        try:
            services.request_amendment(line, actor=current_user, new_reported_demand=form.new_reported_demand.data,
                                       reason=form.reason.data)
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
        else:
            flash(_("Amendment requested: a procurement officer will decide on it."), "success")
        return redirect(url_for("demand.my_report", project_id=project.id))
    if current_user.role == R.INSTITUTION_USER and not services.takes_part(project, current_user.org_id):
        abort(404)
    state = lifecycle.effective_state(project)
    may_decide = projects.may_edit_project(current_user, project) and state == "demand_frozen"
    return render_template("demand/amendments.html", project=project, rows=services.list_amendments(project, current_user),
                           may_decide=may_decide, state=state)


@bp.post("/demand/amendments/<int:amendment_id>/decide")
@roles_required(_OFFICER)
def decide_amendment(amendment_id: int):
    amendment = db.session.get(DemandAmendment, amendment_id) or abort(404)
    line = db.session.get(DemandLine, amendment.demand_line_id)
    report = db.session.get(DemandReport, line.report_id)
    project = _project_or_404(report.project_id)
    form = F.DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in ("approve", "reject"):
        flash(_("Choose to approve or to refuse the amendment."), "warning")
        return redirect(url_for("demand.amendments", project_id=project.id))
    try:
        services.decide_amendment(amendment, actor=current_user, approve=form.decision.data == "approve",
                                  note=form.note.data)
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "danger")
    else:
        flash(_("Amendment approved.") if amendment.status == "approved" else _("Amendment refused."), "success")
    return redirect(url_for("demand.amendments", project_id=project.id))
