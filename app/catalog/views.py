"""The product catalog: browse and search, product detail, officers' changes, import/export, supplier proposals."""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from io import BytesIO

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import roles as R
from app.auth.security import roles_required
from app.catalog import services
from app.catalog.codes import normalise_code
from app.catalog.dosage_forms import default_dictionary
from app.catalog.forms import DisableCodeForm, ImportForm, ProductForm, ProposalForm, ReviewForm
from app.catalog.models import PRODUCT_STATUSES, QUALITY_TIERS, DosageForm, Product, ProductProposal
from app.core.errors import DomainError
from app.extensions import db
from app.i18n import translate_error
from app.orgs.models import Organisation
from app.spreadsheets import CellError, Limits, Notice, SpreadsheetError, error_report_workbook

bp = Blueprint("catalog", __name__, url_prefix="/catalog", template_folder="templates")

_READERS = services.READER_ROLES
_OFFICER = R.PROCUREMENT_OFFICER
_PROPOSAL_READERS = (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.SUPPLIER_USER)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_REPORT_KEY = "catalog_import_report"
_REPORT_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_REPORT_MAX_AGE = 24 * 3600


# --- labels -------------------------------------------------------------------------------------------

def quality_tier_label(tier: str) -> str:
    return {"originator": _("Originator"), "reference": _("Reference listed drug"),
            "consistency_evaluated": _("Consistency-evaluated generic"), "other": _("Other")}.get(tier, tier)


def status_label(status: str) -> str:
    return {"active": _("Active"), "retired": _("Retired"), "disabled": _("Code disabled")}.get(status, status)


def code_kind_label(kind: str) -> str:
    return {"drug": _("Drug"), "consumable": _("Medical consumable")}.get(kind, kind)


def proposal_status_label(status: str) -> str:
    return {"pending": _("Pending review"), "approved": _("Approved"), "rejected": _("Rejected")}.get(status, status)


def code_change_label(kind: str) -> str:
    return {"disabled": _("Disabled"), "transcoded": _("Transcoded")}.get(kind, kind)


@bp.app_context_processor
def _labels():
    return {"quality_tier_label": quality_tier_label, "product_status_label": status_label,
            "code_kind_label": code_kind_label, "proposal_status_label": proposal_status_label,
            "code_change_label": code_change_label, "code_segments": services.code_segments}


# --- helpers ------------------------------------------------------------------------------------------

def _product_or_404(product_id: int) -> Product:
    return db.session.get(Product, product_id) or abort(404)


def _form_names() -> list[str]:
    names = [entry.name for entry in default_dictionary()]
    names += [n for n in db.session.scalars(select(DosageForm.name).order_by(DosageForm.name)) if n not in names]
    return names


def _set_choices(form) -> None:
    form.quality_tier.choices = [(t, quality_tier_label(t)) for t in QUALITY_TIERS]
    if hasattr(form, "manufacturer_id"):
        form.manufacturer_id.choices = [(o.id, f"{o.name} ({o.uscc or o.foreign_id})") for o in services.manufacturers()]


def _show_issues(form, err: DomainError) -> None:
    """Put a refused product's problems under their fields (others as a message at the top)."""
    if isinstance(err, services.ProductInvalid):
        for key, texts in services.issue_texts(err).items():
            field = getattr(form, key, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + texts
            else:
                for text in texts:
                    flash(text, "danger")
        flash(_("The product was not saved: correct the marked fields."), "danger")
    else:
        flash(translate_error(err), "danger")


def _render_form(form, *, product=None, title: str, action: str, status: int = 200):
    return render_template("catalog/form.html", form=form, product=product, title=title, action=action,
                           form_names=_form_names()), status


# --- list, detail, export -------------------------------------------------------------------------------

@bp.get("/")
@roles_required(*_READERS)
def list_products():
    status = request.args.get("status") or None
    if status not in (None, *PRODUCT_STATUSES):
        status = None
    page = services.search_products(request.args.get("q"), page=request.args.get("page", 1, type=int),
                                    per_page=50, status=status)
    makers = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_({p.manufacturer_id for p in page.items})))} if page.items else {}
    return render_template("catalog/list.html", page=page, makers=makers, statuses=PRODUCT_STATUSES, status=status,
                           q=request.args.get("q", ""))


@bp.get("/export")
@roles_required(*_READERS)
def export_products():
    fmt = request.args.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        abort(404)
    data = services.export_catalog(fmt)
    mimetype = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    return send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=f"catalog.{fmt}")


@bp.get("/<int:product_id>")
@roles_required(*_READERS)
def show_product(product_id: int):
    product = _product_or_404(product_id)
    replacement = db.session.get(Product, product.replaced_by_id) if product.replaced_by_id else None
    return render_template("catalog/show.html", product=product, replacement=replacement,
                           history=services.code_history(product), replaces=services.replaced_products(product),
                           may_edit=current_user.role == _OFFICER)


# --- officers' changes -----------------------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@roles_required(_OFFICER)
def create_product():
    form = ProductForm()
    _set_choices(form)
    title = _("New catalog product")
    if form.validate_on_submit():
        maker = db.session.get(Organisation, form.manufacturer_id.data)
        try:
            product = services.create_product(form.values(), manufacturer=maker, actor=current_user)
        except DomainError as err:
            _show_issues(form, err)
            return _render_form(form, title=title, action=url_for("catalog.create_product"), status=422)
        flash(_("Product %(name)s %(spec)s added to the catalog.", name=product.generic_name, spec=product.spec), "success")
        return redirect(url_for("catalog.show_product", product_id=product.id))
    return _render_form(form, title=title, action=url_for("catalog.create_product"),
                        status=422 if form.is_submitted() else 200)


@bp.route("/<int:product_id>/edit", methods=["GET", "POST"])
@roles_required(_OFFICER)
def edit_product(product_id: int):
    product = _product_or_404(product_id)
    form = ProductForm(obj=product if request.method == "GET" else None)
    _set_choices(form)
    if request.method == "GET":
        form.mah.data = product.mah_name
        form.fill_volume_ml.data = services.clean_decimal(product.fill_volume_ml)
    title = _("Edit %(name)s %(spec)s", name=product.generic_name, spec=product.spec)
    action = url_for("catalog.edit_product", product_id=product.id)
    if form.validate_on_submit():
        maker = db.session.get(Organisation, form.manufacturer_id.data)
        try:
            services.update_product(product, form.values(), manufacturer=maker, actor=current_user)
        except DomainError as err:
            _show_issues(form, err)
            return _render_form(form, product=product, title=title, action=action, status=422)
        flash(_("Product saved."), "success")
        return redirect(url_for("catalog.show_product", product_id=product.id))
    return _render_form(form, product=product, title=title, action=action, status=422 if form.is_submitted() else 200)


@bp.post("/<int:product_id>/retire")
@roles_required(_OFFICER)
def retire_product(product_id: int):
    product = _product_or_404(product_id)
    if request.form.get("confirm") != "yes":
        flash(_("Confirm that the product leaves the catalog."), "warning")
        return redirect(url_for("catalog.show_product", product_id=product.id))
    try:
        services.retire_product(product, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(translate_error(err), "danger")
        return redirect(url_for("catalog.show_product", product_id=product.id))
    flash(_("Product retired from the catalog."), "success")
    return redirect(url_for("catalog.show_product", product_id=product.id))


@bp.route("/<int:product_id>/disable-code", methods=["GET", "POST"])
@roles_required(_OFFICER)
def disable_code(product_id: int):
    product = _product_or_404(product_id)
    form = DisableCodeForm()
    if form.validate_on_submit():
        replacement = None
        if form.replacement_code.data and form.replacement_code.data.strip():
            code = normalise_code(form.replacement_code.data)
            replacement = db.session.scalar(select(Product).where(Product.nhsa_code == code))
            if replacement is None:
                form.replacement_code.errors = [_("No catalog product has the code %(code)s.", code=code)]
                return render_template("catalog/disable.html", form=form, product=product), 422
        try:
            services.disable_code(product, replacement, form.effective_date.data, form.note.data, actor=current_user)
        except DomainError as err:
            flash(translate_error(err), "danger")
            return render_template("catalog/disable.html", form=form, product=product), 422
        flash(_("The code %(code)s is disabled.", code=product.nhsa_code), "success")
        return redirect(url_for("catalog.show_product", product_id=product.id))
    status = 422 if form.is_submitted() else 200
    return render_template("catalog/disable.html", form=form, product=product), status


# --- import, template ------------------------------------------------------------------------------------

def _reports_dir() -> str:
    path = os.path.join(current_app.instance_path, "import-reports")
    os.makedirs(path, exist_ok=True)
    return path


def _save_report(data: bytes, filename: str, result) -> None:
    """Keep the upload and its problems (rendered in the user's language) for the error-report download."""
    folder = _reports_dir()
    cutoff = time.time() - _REPORT_MAX_AGE
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.getmtime(path) < cutoff:
            os.unlink(path)
    token = secrets.token_urlsafe(24)
    with open(os.path.join(folder, token + ".upload"), "wb") as fh:
        fh.write(data)
    meta = {"filename": filename, "user_id": current_user.id,
            "errors": [e.to_dict() for e in result.errors],
            "notices": [{"code": n.code, "message": str(n.message)} for n in result.notices]}
    with open(os.path.join(folder, token + ".json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False)
    session[_REPORT_KEY] = token


@bp.route("/import", methods=["GET", "POST"])
@roles_required(_OFFICER)
def import_catalog():
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("catalog/import.html", form=form, result=None), 422 if form.is_submitted() else 200
    upload = form.file.data
    data = upload.read()
    filename = os.path.basename(upload.filename or "upload")
    limits = Limits(max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
    try:
        result = services.import_catalog(data, filename, actor=current_user, dry_run=form.dry_run.data, limits=limits)
    except SpreadsheetError as err:
        return render_template("catalog/import.html", form=form, result=None, rejection=err), err.http_status
    if result.errors:
        _save_report(data, filename, result)
        return render_template("catalog/import.html", form=form, result=result), 422
    if result.stored:
        flash(_("Catalog imported: %(created)s products added, %(updated)s updated.", created=result.created,
                updated=result.updated), "success")
    return render_template("catalog/import.html", form=form, result=result)


@bp.get("/import/report")
@roles_required(_OFFICER)
def import_report():
    """The last refused upload of this session as the user's own workbook, bad cells filled red."""
    token = session.get(_REPORT_KEY)
    if not token or not _REPORT_TOKEN.fullmatch(token):
        abort(404)
    folder = _reports_dir()
    try:
        with open(os.path.join(folder, token + ".json"), encoding="utf-8") as fh:
            meta = json.load(fh)
        with open(os.path.join(folder, token + ".upload"), "rb") as fh:
            original = fh.read()
    except FileNotFoundError:
        abort(404)
    if meta["user_id"] != current_user.id:
        abort(404)
    errors = [CellError(sheet=e["sheet"], row=e["row"], column=e["column"], header=e["header"], value=e["value"],
                        code=e["code"], message=e["message"], hint=e["hint"]) for e in meta["errors"]]
    notices = [Notice(n["code"], n["message"]) for n in meta["notices"]]
    limits = Limits(max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
    report = error_report_workbook(original, meta["filename"], errors, notices=notices, limits=limits)
    stem = os.path.splitext(meta["filename"])[0] or "catalog"
    return send_file(BytesIO(report), mimetype=XLSX, as_attachment=True, download_name=f"{stem}-errors.xlsx")


@bp.get("/template")
@roles_required(_OFFICER)
def template():
    return send_file(BytesIO(services.catalog_template()), mimetype=XLSX, as_attachment=True,
                     download_name="catalog-template.xlsx")


# --- supplier proposals ----------------------------------------------------------------------------------

def _proposal_or_404(proposal_id: int) -> ProductProposal:
    proposal = db.session.get(ProductProposal, proposal_id)
    if proposal is None or not services.may_read_proposal(current_user, proposal):
        abort(404)
    return proposal


@bp.get("/proposals")
@roles_required(*_PROPOSAL_READERS)
def list_proposals():
    status = request.args.get("status") or None
    if status not in (None, "pending", "approved", "rejected"):
        status = None
    proposals = services.list_proposals(current_user, status=status)
    suppliers = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_({p.supplier_org_id for p in proposals})))} if proposals else {}
    return render_template("catalog/proposals.html", proposals=proposals, suppliers=suppliers, status=status)


@bp.route("/proposals/new", methods=["GET", "POST"])
@roles_required(R.SUPPLIER_USER)
def propose_product():
    form = ProposalForm()
    _set_choices(form)
    title = _("Propose a product")
    action = url_for("catalog.propose_product")
    if form.validate_on_submit():
        try:
            proposal = services.propose_product(current_user.org, form.values(), current_user)
        except DomainError as err:
            _show_issues(form, err)
            return _render_form(form, title=title, action=action, status=422)
        flash(_("Your proposal was sent to the procurement officers."), "success")
        return redirect(url_for("catalog.show_proposal", proposal_id=proposal.id))
    return _render_form(form, title=title, action=action, status=422 if form.is_submitted() else 200)


@bp.get("/proposals/<int:proposal_id>")
@roles_required(*_PROPOSAL_READERS)
def show_proposal(proposal_id: int):
    proposal = _proposal_or_404(proposal_id)
    supplier = db.session.get(Organisation, proposal.supplier_org_id)
    form = ReviewForm() if current_user.role == _OFFICER and proposal.status == "pending" else None
    return render_template("catalog/proposal.html", proposal=proposal, supplier=supplier, form=form,
                           keys=ProposalForm.PRODUCT_KEYS, labels={k: getattr(ProposalForm(), k).label.text
                                                                  for k in ProposalForm.PRODUCT_KEYS})


@bp.post("/proposals/<int:proposal_id>/review")
@roles_required(_OFFICER)
def review_proposal(proposal_id: int):
    proposal = _proposal_or_404(proposal_id)
    form = ReviewForm()
    back = redirect(url_for("catalog.show_proposal", proposal_id=proposal.id))
    if not form.validate_on_submit() or not (form.approve.data or form.reject.data):
        flash(_("Choose to approve or to reject the proposal."), "warning")
        return back
    try:
        services.review_proposal(proposal, bool(form.approve.data), current_user, form.note.data)
    except services.ProductInvalid as err:
        db.session.rollback()
        for texts in services.issue_texts(err).values():
            for text in texts:
                flash(text, "danger")
        return back
    except DomainError as err:
        db.session.rollback()
        flash(translate_error(err), "danger")
        return back
    if proposal.status == "approved":
        flash(_("Proposal approved: the product is in the catalog."), "success")
        return redirect(url_for("catalog.show_product", product_id=proposal.product_id))
    flash(_("Proposal rejected."), "success")
    return back
