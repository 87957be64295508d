"""Procurement projects: list, create, detail with lifecycle moves, timeline, RuleSet, lots, institutions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth import roles as R
from app.auth.models import User
from app.auth.security import roles_required
from app.catalog.models import FORM_CLASSES
from app.core.db import utcnow
from app.core.errors import DomainError
from app.extensions import db
from app.orgs.models import Organisation
from app.projects import lifecycle, services
from app.projects.forms import (
    LotForm,
    ProjectForm,
    RemoveLotForm,
    RuleSetForm,
    SelectionForm,
    TimelineForm,
    TransitionForm,
    beijing_to_utc,
    utc_to_beijing,
)
from app.projects.models import DRUG_CLASSES, PROJECT_KINDS, PROJECT_STATES, Lot, ProcurementProject
from app.projects.access import editable_project_or_403, visible_project_or_404
from solver.rulesets import preset_descriptions

bp = Blueprint("projects", __name__, url_prefix="/projects", template_folder="templates")

_READERS = services.READER_ROLES
_OFFICER = R.PROCUREMENT_OFFICER


# --- labels -------------------------------------------------------------------------------------------

def state_label(state: str) -> str:
    msgid = lifecycle.STATE_LABELS.get(state)
    return _(msgid) if msgid else state


def kind_label(kind: str) -> str:
    return {"national": _("National"), "alliance": _("Inter-provincial alliance"), "provincial": _("Provincial"),
            "municipal": _("Municipal")}.get(kind, kind)


def form_class_label(value: str) -> str:
    return {"oral_solid": _("Oral solid"), "small_volume_injection": _("Small-volume injection"),
            "large_volume_injection": _("Large-volume injection"), "other": _("Other")}.get(value, value)


def drug_class_label(value: str) -> str:
    return {"chemical": _("Chemical drug"), "special_anti_infective": _("Special anti-infective")}.get(value, value)


_FIELD_LABELS = {
    "demand_due_at": _l("Demand reporting deadline"),
    "bidding_opens_at": _l("Bidding opens at"),
    "bid_deadline": _l("Bid deadline"),
    "opening_at": _l("Opening at"),
    "cycle_start": _l("Procurement cycle start"),
    "cycle_end": _l("Procurement cycle end"),
    "ceiling_ucp": _l("Price ceiling per smallest unit"),
    "pre_procurement_ucp": _l("Price before procurement per smallest unit"),
    "generic_name": _l("Generic name"),
    "form_group": _l("Dosage-form group"),
    "name": _l("Lot name"),
}


def field_label(name: str) -> str:
    label = _FIELD_LABELS.get(name)
    return str(label) if label is not None else name


def error_text(err: DomainError) -> str:
    """A domain error in the user's language, with state and field codes shown by their labels."""
    params = dict(err.params)
    for key, value in params.items():
        if key in ("from_state", "to_state", "state"):
            params[key] = state_label(value)
        elif key in ("field", "earlier", "later"):
            params[key] = field_label(value)
    text = _(err.msgid)
    return text % params if params else text


@bp.app_context_processor
def _labels():
    return {"project_state_label": state_label, "project_kind_label": kind_label, "form_class_label": form_class_label,
            "drug_class_label": drug_class_label}


# --- loading ------------------------------------------------------------------------------------------

_project_or_404 = visible_project_or_404
_editable_project = editable_project_or_403


def _editable_lot(lot_id: int) -> Lot:
    lot = db.session.get(Lot, lot_id) or abort(404)
    _editable_project(lot.project_id)
    return lot


def _refused(err: DomainError, project: ProcurementProject):
    """Undo whatever the refused request did, say why, and go back to the project."""
    db.session.rollback()
    flash(error_text(err), "danger")
    return redirect(url_for("projects.show_project", project_id=project.id))


def _set_choices(form) -> None:
    if hasattr(form, "kind"):
        form.kind.choices = [(k, kind_label(k)) for k in PROJECT_KINDS]
    if hasattr(form, "form_class"):
        form.form_class.choices = [(k, form_class_label(k)) for k in FORM_CLASSES]
    if hasattr(form, "drug_class"):
        form.drug_class.choices = [(k, drug_class_label(k)) for k in DRUG_CLASSES]
    if hasattr(form, "preset"):
        form.preset.choices = [(name, name) for name in services.preset_names()]


# --- list, create, detail -----------------------------------------------------------------------------

@bp.get("/")
@roles_required(*_READERS)
def list_projects():
    state = request.args.get("state") or None
    if state not in (None, *PROJECT_STATES):
        state = None
    projects = services.list_projects(current_user, state=state, q=request.args.get("q"))
    now = utcnow()
    return render_template("projects/list.html", projects=projects, states=PROJECT_STATES, state=state,
                           effective={p.id: lifecycle.effective_state(p, now) for p in projects},
                           lot_counts=services.lot_counts([p.id for p in projects]))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(_OFFICER)
def create_project():
    form = ProjectForm()
    _set_choices(form)
    if request.method == "GET":
        form.preset.data = "nvbp-4"
    if form.validate_on_submit():
        try:
            project = services.create_project(
                actor=current_user, code=form.code.data, name=form.name.data, kind=form.kind.data, preset=form.preset.data,
                **{name: beijing_to_utc(getattr(form, name).data)
                   for name in ("demand_due_at", "bidding_opens_at", "bid_deadline", "opening_at")})
        except DomainError as err:
            flash(error_text(err), "danger")
            return render_template("projects/form.html", form=form, project=None, title=_("New procurement project")), 422
        flash(_("Project %(code)s created.", code=project.code), "success")
        return redirect(url_for("projects.show_project", project_id=project.id))
    return render_template("projects/form.html", form=form, project=None, title=_("New procurement project"))


@bp.get("/<int:project_id>")
@roles_required(*_READERS)
def show_project(project_id: int):
    project = _project_or_404(project_id)
    now = utcnow()
    summary = services.project_summary(project, now)
    moves = []
    for transition in lifecycle.available_moves(project, current_user, now):
        moves.append({"to": transition.to_state, "needs_reason": transition.needs_reason,
                      "problems": [error_text(e) for e in lifecycle.guard_problems(project, transition.to_state, now)]})
    history = services.state_history(project)
    user_ids = {c.user_id for c in history if c.user_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    authority = db.session.get(Organisation, project.authority_org_id)
    may_edit = services.may_edit_project(current_user, project)
    setup_editable = may_edit and not lifecycle.at_or_after(summary["effective_state"], "bidding_open") \
        and summary["effective_state"] not in lifecycle.TERMINAL
    institutions_editable = may_edit and summary["effective_state"] in ("draft", "demand_collection")
    show_institutions = current_user.role in (R.PROCUREMENT_OFFICER, R.SUPERVISOR)
    return render_template(
        "projects/show.html", project=project, summary=summary, moves=moves, history=history, users=users,
        authority=authority, may_edit=may_edit, setup_editable=setup_editable,
        institutions_editable=institutions_editable,
        institutions=services.project_institutions(project) if show_institutions else None,
        format_value=services.format_override_value,
    )


@bp.post("/<int:project_id>/transition")
@roles_required(_OFFICER)
def transition(project_id: int):
    project = _editable_project(project_id)
    form = TransitionForm()
    if not form.validate_on_submit():
        flash(_("Choose a move for the project."), "danger")
        return redirect(url_for("projects.show_project", project_id=project.id))
    to_state = form.to_state.data
    move = lifecycle.TRANSITIONS.get((lifecycle.effective_state(project), to_state))
    if move is not None and to_state == "opened":
        flash(_("Bids are opened at the opening ceremony, with the officer's and the supervisor's secrets."), "warning")
        return redirect(url_for("projects.show_project", project_id=project.id))
    try:
        lifecycle.transition_project(project, to_state, actor=current_user, reason=form.reason.data)
    except DomainError as err:
        return _refused(err, project)
    flash(_("The project is now: %(state)s.", state=state_label(project.state)), "success")
    return redirect(url_for("projects.show_project", project_id=project.id))


# --- timeline -----------------------------------------------------------------------------------------

_MOMENTS = ("demand_due_at", "bidding_opens_at", "bid_deadline", "opening_at")


@bp.route("/<int:project_id>/timeline", methods=["GET", "POST"])
@roles_required(_OFFICER)
def edit_timeline(project_id: int):
    project = _editable_project(project_id)
    form = TimelineForm()
    if request.method == "GET":
        for name in _MOMENTS:
            getattr(form, name).data = utc_to_beijing(getattr(project, name))
        form.cycle_start.data, form.cycle_end.data = project.cycle_start, project.cycle_end
    if form.validate_on_submit():
        changes = {}
        for name in _MOMENTS:
            typed, stored = getattr(form, name).data, getattr(project, name)
            # The form shows minutes: a stored time with seconds typed back unchanged stays as stored.
            if stored is not None and typed == utc_to_beijing(stored).replace(second=0, microsecond=0):
                typed_utc = stored
            else:
                typed_utc = beijing_to_utc(typed)
            changes[name] = typed_utc
        changes.update(cycle_start=form.cycle_start.data, cycle_end=form.cycle_end.data)
        try:
            changed = services.update_project_timeline(project, actor=current_user, **changes)
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            return render_template("projects/form.html", form=form, project=project, title=_("Timeline")), 422
        flash(_("Timeline saved.") if changed else _("Nothing changed."), "success")
        return redirect(url_for("projects.show_project", project_id=project.id))
    return render_template("projects/form.html", form=form, project=project, title=_("Timeline"))


# --- RuleSet ------------------------------------------------------------------------------------------

@bp.route("/<int:project_id>/ruleset", methods=["GET", "POST"])
@roles_required(*_READERS)
def ruleset(project_id: int):
    project = _project_or_404(project_id)
    may_edit = services.may_edit_project(current_user, project)
    if request.method == "POST" and not may_edit:
        abort(403)
    state = lifecycle.effective_state(project)
    editable = may_edit and not lifecycle.at_or_after(state, "bidding_open") and state not in lifecycle.TERMINAL
    current = lifecycle.latest_ruleset(project)
    form = RuleSetForm()
    _set_choices(form)
    errors: list[str] = []
    if request.method == "GET":
        form.preset.data = current.preset if current else "nvbp-4"
        form.overrides.data = services.format_overrides(current.overrides if current else {})
    if request.method == "POST" and form.validate_on_submit():
        overrides, line_errors = services.parse_override_lines(form.overrides.data)
        errors = [_("Line %(n)s is not “name = value”: %(text)s", n=e.line, text=e.text) for e in line_errors]
        if not errors:
            try:
                version = services.set_ruleset(project, form.preset.data, overrides, actor=current_user)
            except services.RuleSetInvalid as err:
                db.session.rollback()
                errors = [str(e) for e in err.errors]
                flash(error_text(err), "danger")
            except DomainError as err:
                return _refused(err, project)
            else:
                flash(_("RuleSet version %(n)s saved.", n=version.version), "success")
                return redirect(url_for("projects.ruleset", project_id=project.id))
    status = 422 if request.method == "POST" else 200
    return render_template("projects/ruleset.html", project=project, form=form, current=current, editable=editable,
                           errors=errors, rows=services.ruleset_rows(current), versions=services.ruleset_versions(project),
                           descriptions=preset_descriptions(), format_value=services.format_override_value), status


# --- institutions -------------------------------------------------------------------------------------

@bp.route("/<int:project_id>/institutions", methods=["GET", "POST"])
@roles_required(_OFFICER)
def institutions(project_id: int):
    project = _editable_project(project_id)
    try:
        lifecycle.ensure_institutions_editable(project)
    except DomainError as err:
        return _refused(err, project)
    form = SelectionForm()
    if form.validate_on_submit():
        try:
            ids = [int(v) for v in request.form.getlist("institution_id")]
        except ValueError:
            abort(400)
        try:
            added = services.add_institutions(project, ids, actor=current_user)
        except DomainError as err:
            return _refused(err, project)
        flash(_("%(n)s institution(s) added.", n=len(added)), "success")
        return redirect(url_for("projects.institutions", project_id=project.id))
    q = request.args.get("q")
    return render_template("projects/institutions.html", project=project, form=form,
                           members=services.project_institutions(project),
                           candidates=services.candidate_institutions(project, q))


# --- lots ---------------------------------------------------------------------------------------------

def _lot_kwargs(form: LotForm) -> dict:
    return dict(lot_no=form.lot_no.data, name=form.name.data, generic_name=form.generic_name.data,
                form_group=form.form_group.data, form_class=form.form_class.data, drug_class=form.drug_class.data,
                representative_spec=form.representative_spec.data, ceiling_ucp=form.ceiling_ucp.data,
                pre_procurement_ucp=form.pre_procurement_ucp.data)


@bp.route("/<int:project_id>/lots/new", methods=["GET", "POST"])
@roles_required(_OFFICER)
def create_lot(project_id: int):
    project = _editable_project(project_id)
    try:
        lifecycle.ensure_setup_editable(project, "lots")
    except DomainError as err:
        return _refused(err, project)
    form = LotForm()
    _set_choices(form)
    if request.method == "GET":
        form.lot_no.data = max((lot.lot_no for lot in services.project_lots(project)), default=0) + 1
    if form.validate_on_submit():
        try:
            lot = services.add_lot(project, actor=current_user, **_lot_kwargs(form))
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            return render_template("projects/lot_form.html", form=form, project=project, lot=None), 422
        flash(_("Lot %(n)s added.", n=lot.lot_no), "success")
        return redirect(url_for("projects.show_project", project_id=project.id))
    return render_template("projects/lot_form.html", form=form, project=project, lot=None)


@bp.route("/lots/<int:lot_id>", methods=["GET", "POST"])
@roles_required(_OFFICER)
def edit_lot(lot_id: int):
    lot = _editable_lot(lot_id)
    project = lot.project
    try:
        lifecycle.ensure_setup_editable(project, "lots")
    except DomainError as err:
        return _refused(err, project)
    form = LotForm(obj=lot)
    _set_choices(form)
    if request.method == "GET":
        form.ceiling_ucp.data = "" if lot.ceiling_ucp is None else str(lot.ceiling_ucp.normalize())
        form.pre_procurement_ucp.data = "" if lot.pre_procurement_ucp is None else str(lot.pre_procurement_ucp.normalize())
    if form.validate_on_submit():
        try:
            changed = services.update_lot(lot, actor=current_user, **_lot_kwargs(form))
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            return render_template("projects/lot_form.html", form=form, project=project, lot=lot,
                                   remove_form=RemoveLotForm()), 422
        flash(_("Lot %(n)s saved.", n=lot.lot_no) if changed else _("Nothing changed."), "success")
        return redirect(url_for("projects.show_project", project_id=project.id))
    return render_template("projects/lot_form.html", form=form, project=project, lot=lot, remove_form=RemoveLotForm())


@bp.route("/lots/<int:lot_id>/products", methods=["GET", "POST"])
@roles_required(_OFFICER)
def lot_products(lot_id: int):
    lot = _editable_lot(lot_id)
    project = lot.project
    try:
        lifecycle.ensure_setup_editable(project, "products")
    except DomainError as err:
        return _refused(err, project)
    form = SelectionForm()
    if form.validate_on_submit():
        try:
            ids = [int(v) for v in request.form.getlist("product_id")]
        except ValueError:
            abort(400)
        try:
            services.set_eligible_products(lot, ids, actor=current_user)
        except DomainError as err:
            return _refused(err, project)
        flash(_("Eligible products of lot %(n)s saved.", n=lot.lot_no), "success")
        return redirect(url_for("projects.show_project", project_id=project.id))
    return render_template("projects/lot_products.html", project=project, lot=lot, form=form,
                           products=services.candidate_products(lot), selected=set(services.eligible_product_ids(lot)))


@bp.post("/lots/<int:lot_id>/remove")
@roles_required(_OFFICER)
def remove_lot(lot_id: int):
    lot = _editable_lot(lot_id)
    project = lot.project
    form = RemoveLotForm()
    if not form.validate_on_submit():
        flash(_("Tick the confirmation to remove the lot."), "warning")
        return redirect(url_for("projects.show_project", project_id=project.id))
    lot_no = lot.lot_no
    try:
        services.remove_lot(lot, actor=current_user)
    except DomainError as err:
        return _refused(err, project)
    flash(_("Lot %(n)s removed.", n=lot_no), "success")
    return redirect(url_for("projects.show_project", project_id=project.id))
