"""Bidding screens: qualifications, the key ceremony, quote template and upload, receipts, the opening.

Thin views over :mod:`app.bidding.services`. No page shows a price before the opening: officers and
supervisors see counts and file hashes, a supplier its own receipts; the one exception is the
response to a supplier's own upload, which warns about its over-ceiling lines from the file it
has just sent (never read back from the database).
"""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import roles as R
from app.auth.models import User
from app.auth.security import roles_required
from app.bidding import services
from app.bidding.forms import KeyCeremonyForm, OpeningForm, QualificationForm, QuoteUploadForm, ReviewForm, WithdrawForm
from app.bidding.sealing import WeakSecret, public_key_fingerprint
from app.core.db import utcnow
from app.core.errors import DomainError
from app.extensions import db
from app.orgs.models import Organisation
from app.projects import lifecycle
from app.projects.models import Lot, ProcurementProject
from app.projects.services import list_projects, may_edit_project
from app.projects.views import error_text
from app.spreadsheets import export_csv
from app.projects.access import editable_project_or_403, visible_project_or_404

bp = Blueprint("bidding", __name__, url_prefix="/bidding", template_folder="templates")

_OFFICER = R.PROCUREMENT_OFFICER
_SUPPLIER = R.SUPPLIER_USER
_READERS = (R.PROCUREMENT_OFFICER, R.SUPERVISOR)
_BIDDING_ROLES = (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.SUPPLIER_USER)


# --- labels -------------------------------------------------------------------------------------------

def qualification_kind_label(kind: str) -> str:
    return {"licence": _("Licence (许可证)"), "registration": _("Registration (注册证/批准文号)"),
            "authorisation": _("Authorisation (授权书)"), "pledge": _("Pledge (承诺书)"),
            "other": _("Other")}.get(kind, kind)


def status_label(status: str) -> str:
    return {"pending": _("Pending review"), "approved": _("Approved"), "rejected": _("Rejected"),
            "submitted": _("Submitted (counts)"), "superseded": _("Replaced by a later version"),
            "withdrawn": _("Withdrawn (not a bid)")}.get(status, status)


@bp.app_context_processor
def _labels():
    return {"qualification_kind_label": qualification_kind_label, "bidding_status_label": status_label}


# --- loading ------------------------------------------------------------------------------------------

_project_or_404 = visible_project_or_404
_officer_project = editable_project_or_403


def _back(project: ProcurementProject):
    return redirect(url_for("bidding.project_bidding", project_id=project.id))


def _refused(err: DomainError, project: ProcurementProject):
    db.session.rollback()
    flash(error_text(err), "danger")
    return _back(project)


def _is_supplier() -> bool:
    return current_user.role == _SUPPLIER


# --- overview -----------------------------------------------------------------------------------------

@bp.get("/")
@roles_required(*_BIDDING_ROLES)
def index():
    now = utcnow()
    projects = [p for p in list_projects(current_user)
                if lifecycle.at_or_after(lifecycle.effective_state(p, now), "demand_frozen")
                or (p.state == "cancelled" and _is_supplier())]
    qualified = None
    if _is_supplier():
        qualified = services.has_valid_qualifications(current_user.org_id, services.beijing_date(now))
    return render_template("bidding/index.html", projects=projects, qualified=qualified,
                           effective={p.id: lifecycle.effective_state(p, now) for p in projects})


@bp.get("/projects/<int:project_id>")
@roles_required(*_BIDDING_ROLES)
def project_bidding(project_id: int):
    project = _project_or_404(project_id)
    now = utcnow()
    state = lifecycle.effective_state(project, now)
    key = services.opening_key(project)
    context = {"project": project, "state": state, "key": key, "now": now,
               "fingerprint": public_key_fingerprint(key.public_key_pem) if key else None,
               "record": services.opening_record(project)}
    if services.may_read_sealed_counts(current_user):
        people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
            [key.officer_id, key.witness_id]))).all()} if key else {}
        context.update(status=services.sealed_status(project), people=people,
                       may_edit=may_edit_project(current_user, project),
                       opening_problems=[error_text(e) for e in services.opening_problems(project, now)]
                       if state == "bidding_closed" else [],
                       key_problems=[error_text(e) for e in lifecycle.guard_problems(project, "bidding_open", now)
                                     if e.code != "OPENING_KEY_MISSING"] if state == "demand_frozen" else [])
    else:
        context.update(submissions=services.supplier_submissions(project, current_user),
                       qualified=services.has_valid_qualifications(current_user.org_id, services.beijing_date(now)),
                       products=services.supplier_lot_products(project, current_user.org_id),
                       current=services.current_submission(project, current_user.org_id),
                       withdraw_form=WithdrawForm())
    return render_template("bidding/project.html", **context)


# --- the key ceremony ---------------------------------------------------------------------------------

def _secret_error(form, err: WeakSecret) -> None:
    target = form.witness_secret if err.role == "witness" else form.officer_secret
    target.errors = [*target.errors, error_text(err)]


@bp.route("/projects/<int:project_id>/key", methods=["GET", "POST"])
@roles_required(_OFFICER)
def key_ceremony(project_id: int):
    project = _officer_project(project_id)
    state = lifecycle.effective_state(project)
    if state != "demand_frozen" or services.opening_key(project) is not None:
        flash(_("The key ceremony opens bidding: it takes place once, while demand is frozen."), "warning")
        return _back(project)
    form = KeyCeremonyForm()
    requires_supervisor = services.witness_must_be_supervisor(project)
    status = 200
    if form.validate_on_submit():
        try:
            services.open_bidding(
                project, actor=current_user, actor_password=form.officer_password.data,
                officer_secret=form.officer_secret.data, witness_username=form.witness_username.data,
                witness_password=form.witness_password.data, witness_secret=form.witness_secret.data)
        except WeakSecret as err:
            db.session.rollback()
            _secret_error(form, err)
            status = 422
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            status = 429 if err.code == "CEREMONY_RATE_LIMITED" else 422
        else:
            flash(_("The opening key was created and bidding is open. Each of you keeps your own secret: both are "
                    "needed at the opening."), "success")
            return _back(project)
    elif request.method == "POST":
        status = 422
    return render_template("bidding/key_ceremony.html", project=project, form=form,
                           requires_supervisor=requires_supervisor), status


# --- template, upload, withdrawal, receipts -----------------------------------------------------------

@bp.get("/projects/<int:project_id>/template")
@roles_required(_SUPPLIER)
def quote_template(project_id: int):
    project = _project_or_404(project_id)
    try:
        filename, data = services.quote_template(project, actor=current_user)
    except DomainError as err:
        return _refused(err, project)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=filename,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/projects/<int:project_id>/quote", methods=["GET", "POST"])
@roles_required(_SUPPLIER)
def upload_quote(project_id: int):
    project = _project_or_404(project_id)
    form = QuoteUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            receipt = services.submit_quote(project, actor=current_user, file_bytes=upload.read(),
                                            filename=upload.filename)
            services.check_commit_deadline()
        except services.QuoteFileRejected as err:
            db.session.rollback()
            return render_template("bidding/upload.html", project=project, form=form, rejected=err), 422
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            return render_template("bidding/upload.html", project=project, form=form, rejected=None), 422
        lots = {lot.lot_no: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
        return render_template("bidding/receipt.html", project=project, submission=receipt.submission,
                               fresh=receipt, lots=lots)
    status = 422 if request.method == "POST" else 200
    return render_template("bidding/upload.html", project=project, form=form, rejected=None), status


@bp.post("/projects/<int:project_id>/withdraw")
@roles_required(_SUPPLIER)
def withdraw_quote(project_id: int):
    project = _project_or_404(project_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("Tick the confirmation to withdraw your quote."), "warning")
        return _back(project)
    try:
        submission = services.withdraw_quote(project, actor=current_user)
        services.check_commit_deadline()
    except DomainError as err:
        return _refused(err, project)
    flash(_("Version %(n)s of your quote is withdrawn: it is kept but is not a bid.", n=submission.version), "success")
    return _back(project)


@bp.get("/receipts/<int:submission_id>")
@roles_required(*_BIDDING_ROLES)
def receipt(submission_id: int):
    submission = services.get_receipt(current_user, submission_id)
    if submission is None:
        abort(404)
    project = db.session.get(ProcurementProject, submission.project_id)
    return render_template("bidding/receipt.html", project=project, submission=submission, fresh=None, lots={})


# --- the opening --------------------------------------------------------------------------------------

@bp.route("/projects/<int:project_id>/opening", methods=["GET", "POST"])
@roles_required(_OFFICER)
def opening(project_id: int):
    project = _officer_project(project_id)
    if services.opening_record(project) is not None:
        return redirect(url_for("bidding.opening_record", project_id=project.id))
    problems = services.opening_problems(project, utcnow())
    if problems:
        flash(error_text(problems[0]), "warning")
        return _back(project)
    form = OpeningForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.open_bids(
                project, actor=current_user, actor_password=form.officer_password.data,
                officer_secret=form.officer_secret.data, witness_username=form.witness_username.data,
                witness_password=form.witness_password.data, witness_secret=form.witness_secret.data)
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            status = 429 if err.code == "CEREMONY_RATE_LIMITED" else 422
        else:
            flash(_("The bids are open. The opening record lists every quote with its hash."), "success")
            return redirect(url_for("bidding.opening_record", project_id=project.id))
    elif request.method == "POST":
        status = 422
    return render_template("bidding/opening.html", project=project, form=form,
                           requires_supervisor=services.witness_must_be_supervisor(project),
                           status=services.sealed_status(project)), status


@bp.get("/projects/<int:project_id>/opening-record")
@roles_required(*_BIDDING_ROLES)
def opening_record(project_id: int):
    project = _project_or_404(project_id)
    record = services.opening_record(project)
    if record is None and not services.may_read_sealed_counts(current_user):
        abort(404)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
        [record.officer_id, record.witness_id]))).all()} if record else {}
    return render_template("bidding/opening_record.html", project=project, record=record, people=people,
                           verified=services.verify_opening_record(record) if record else None)


def _bid_rows(project: ProcurementProject):
    bids = services.revealed_bids(project, current_user)
    lots = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
    org_ids = {b.supplier_org_id for b in bids}
    orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))} if org_ids else {}
    return bids, lots, orgs


@bp.get("/projects/<int:project_id>/bids")
@roles_required(*_READERS)
def bids(project_id: int):
    project = _project_or_404(project_id)
    rows, lots, orgs = _bid_rows(project)
    return render_template("bidding/bids.html", project=project, bids=rows, lots=lots, orgs=orgs,
                           opened=services.opening_record(project) is not None)


@bp.get("/projects/<int:project_id>/bids.csv")
@roles_required(*_READERS)
def export_bids(project_id: int):
    project = _project_or_404(project_id)
    if services.opening_record(project) is None:
        flash(_("The bids are sealed until the opening: there is nothing to export yet."), "warning")
        return redirect(url_for("bidding.bids", project_id=project.id))
    rows, lots, orgs = _bid_rows(project)
    headers = [("品种序号", "lot_no"), ("企业", "supplier"), ("包装报价(元)", "pack_price"), ("包装数量", "pack_qty"),
               ("单价", "unit_price"), ("单位可比价", "ucp"), ("申报产能", "declared_capacity"),
               ("超最高有效申报价", "over_ceiling"), ("排除原因", "excluded_reason"), ("组合包", "bundle_code"),
               ("组合包折扣", "bundle_discount")]
    data = export_csv(headers, [[lots[b.lot_id].lot_no, orgs[b.supplier_org_id].name, b.pack_price, b.pack_qty,
                                 b.unit_price, b.ucp, b.declared_capacity, "是" if b.over_ceiling else "否",
                                 b.excluded_reason or "", b.bundle_code or "", b.bundle_discount]
                                for b in rows])
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"bids-{project.code}.csv",
                     mimetype="text/csv")


# --- qualifications -----------------------------------------------------------------------------------

@bp.get("/qualifications")
@roles_required(*_BIDDING_ROLES)
def qualifications():
    status = request.args.get("status") or None
    if status not in (None, "pending", "approved", "rejected"):
        status = None
    docs = services.list_qualifications(current_user, status=status)
    org_ids = {d.supplier_org_id for d in docs}
    orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))} if org_ids else {}
    today = services.beijing_date(utcnow())
    return render_template("bidding/qualifications.html", docs=docs, orgs=orgs, status=status, today=today)


@bp.route("/qualifications/new", methods=["GET", "POST"])
@roles_required(_SUPPLIER)
def upload_qualification():
    form = QualificationForm()
    form.kind.choices = [(k, qualification_kind_label(k)) for k, _label in form.kind.choices]
    if form.validate_on_submit():
        upload = form.document.data
        try:
            doc = services.upload_qualification(
                actor=current_user, kind=form.kind.data, title=form.title.data, file_bytes=upload.read(),
                filename=upload.filename, content_type=upload.mimetype, issued_on=form.issued_on.data,
                expires_on=form.expires_on.data)
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            return render_template("bidding/qualification_form.html", form=form), 422
        flash(_("The document was uploaded and waits for an officer's review."), "success")
        return redirect(url_for("bidding.show_qualification", qualification_id=doc.id))
    status = 422 if request.method == "POST" else 200
    return render_template("bidding/qualification_form.html", form=form), status


def _qualification_or_404(qualification_id: int):
    doc = services.get_qualification(current_user, qualification_id)
    if doc is None:
        abort(404)
    return doc


@bp.get("/qualifications/<int:qualification_id>")
@roles_required(*_BIDDING_ROLES)
def show_qualification(qualification_id: int):
    doc = _qualification_or_404(qualification_id)
    document = services.qualification_file(doc)
    supplier = db.session.get(Organisation, doc.supplier_org_id)
    reviewer = db.session.get(User, doc.reviewed_by_id) if doc.reviewed_by_id else None
    return render_template("bidding/qualification.html", doc=doc, document=document, supplier=supplier,
                           reviewer=reviewer, form=ReviewForm() if current_user.role == _OFFICER else None)


@bp.post("/qualifications/<int:qualification_id>/review")
@roles_required(_OFFICER)
def review_qualification(qualification_id: int):
    doc = _qualification_or_404(qualification_id)
    form = ReviewForm()
    back = redirect(url_for("bidding.show_qualification", qualification_id=doc.id))
    if not form.validate_on_submit() or not (form.approve.data or form.reject.data):
        flash(_("Choose to approve or to reject the document."), "warning")
        return back
    try:
        services.review_qualification(doc, actor=current_user, approve=bool(form.approve.data), note=form.note.data)
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "danger")
        return back
    flash(_("Review saved: %(status)s.", status=status_label(doc.status)), "success")
    return back


@bp.get("/qualifications/<int:qualification_id>/file")
@roles_required(*_BIDDING_ROLES)
def qualification_file(qualification_id: int):
    doc = _qualification_or_404(qualification_id)
    document = services.qualification_file(doc)
    # Always a download, never rendered inline: the file is the supplier's, not ours.
    return send_file(io.BytesIO(document.content or b""), as_attachment=True, download_name=document.filename,
                     mimetype="application/octet-stream")
