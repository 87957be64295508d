"""Organisations: list, detail, registration."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth import roles as R
from app.auth.security import roles_required
from app.core.errors import DomainError
from app.extensions import db
from app.i18n import translate_error
from app.orgs import services
from app.orgs.forms import OrganisationForm
from app.orgs.models import ORG_KINDS, Organisation
from app.regions.models import Region

bp = Blueprint("orgs", __name__, url_prefix="/orgs", template_folder="templates")

_READERS = (R.PLATFORM_ADMIN, R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.PRICE_OFFICER)


def org_kind_label(kind: str) -> str:
    return {
        "procurement_authority": _("Procurement authority"),
        "price_authority": _("Price authority"),
        "supplier": _("Supplier / MAH"),
        "distributor": _("Distributor"),
        "medical_institution": _("Medical institution"),
        "platform": _("Platform operator"),
    }.get(kind, kind)


@bp.app_context_processor
def _labels():
    return {"org_kind_label": org_kind_label}


@bp.get("/")
@roles_required(*_READERS)
def list_orgs():
    kind = request.args.get("kind") or None
    if kind not in (None, *ORG_KINDS):
        kind = None
    orgs = services.list_organisations(kind=kind, q=request.args.get("q"))
    return render_template("orgs/list.html", orgs=orgs, kinds=ORG_KINDS, kind=kind)


@bp.get("/<int:org_id>")
@roles_required(*_READERS)
def show_org(org_id: int):
    org = db.session.get(Organisation, org_id) or abort(404)
    return render_template("orgs/show.html", org=org)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(R.PLATFORM_ADMIN)
def create_org():
    form = OrganisationForm()
    form.kind.choices = [(k, org_kind_label(k)) for k in ORG_KINDS if k != "platform"]
    form.region_code.choices = [("", "—")] + [(r.code, r.name) for r in db.session.scalars(select(Region).order_by(Region.code))]
    if form.validate_on_submit():
        try:
            org = services.create_organisation(kind=form.kind.data, name=form.name.data, uscc=form.uscc.data or None,
                                               short_name=form.short_name.data or None, foreign_id=form.foreign_id.data or None,
                                               agent_uscc=form.agent_uscc.data or None, region_code=form.region_code.data or None)
        except DomainError as err:
            flash(translate_error(err), "danger")
            return render_template("orgs/form.html", form=form), 422
        flash(_("Organisation %(name)s registered.", name=org.name), "success")
        return redirect(url_for("orgs.show_org", org_id=org.id))
    return render_template("orgs/form.html", form=form)
