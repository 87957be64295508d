"""Negotiation round screens (议价, DOMAIN.md §7): overview, opening a round, revised prices, the round's opening.

Thin views over :mod:`app.bidding.negotiation`. Officers and supervisors see rounds, lots, targets,
invitations and responses (never a revised price before the round's opening, never a supplier's
price to beat); an invited supplier sees its own invitations with the target and its own price to
beat, and submits a revised pack price per lot.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.auth import roles as R
from app.auth.security import roles_required
from app.bidding import negotiation as services
from app.bidding.models import Bid
from app.bidding.sealing import WeakSecret
from app.core.db import utcnow
from app.core.errors import DomainError
from app.extensions import db
from app.orgs.models import Organisation
from app.projects import lifecycle
from app.projects.lifecycle import BEIJING
from app.projects.models import Lot, ProcurementProject
from app.projects.services import may_edit_project
from app.projects.views import error_text
from app.projects.access import editable_project_or_403, visible_project_or_404

bp = Blueprint("negotiation", __name__, url_prefix="/negotiation", template_folder="templates")

_OFFICER = R.PROCUREMENT_OFFICER
_SUPPLIER = R.SUPPLIER_USER
_ROLES = (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.SUPPLIER_USER)
_NO_AUTOFILL = {"autocomplete": "off"}
_NEW_SECRET = {"autocomplete": "new-password"}


class _Ceremony(FlaskForm):
    officer_password = PasswordField(_l("Your password (officer)"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    witness_username = StringField(_l("Witness's user name"), validators=[DataRequired(), Length(max=64)],
                                   render_kw=_NO_AUTOFILL)
    witness_password = PasswordField(_l("Witness's password"), validators=[DataRequired()], render_kw=_NO_AUTOFILL)


class RoundForm(_Ceremony):
    deadline = DateTimeLocalField(_l("Round deadline (Beijing time)"), format="%Y-%m-%dT%H:%M",
                                  validators=[DataRequired()])
    reason = TextAreaField(_l("Reason for changing the invitation list"), validators=[Optional(), Length(max=2000)])
    officer_secret = PasswordField(_l("Officer's opening secret"), validators=[DataRequired(), Length(max=1024)],
                                   render_kw=_NEW_SECRET)
    officer_secret_confirm = PasswordField(_l("Officer's opening secret again"), render_kw=_NEW_SECRET, validators=[
        DataRequired(), EqualTo("officer_secret", message=_l("The two entries of the officer's secret differ."))])
    witness_secret = PasswordField(_l("Witness's opening secret"), validators=[DataRequired(), Length(max=1024)],
                                   render_kw=_NEW_SECRET)
    witness_secret_confirm = PasswordField(_l("Witness's opening secret again"), render_kw=_NEW_SECRET, validators=[
        DataRequired(), EqualTo("witness_secret", message=_l("The two entries of the witness's secret differ."))])
    submit = SubmitField(_l("Open the negotiation round"))


class RoundOpeningForm(_Ceremony):
    officer_secret = PasswordField(_l("Officer's opening secret"), validators=[DataRequired(), Length(max=1024)],
                                   render_kw=_NO_AUTOFILL)
    witness_secret = PasswordField(_l("Witness's opening secret"), validators=[DataRequired(), Length(max=1024)],
                                   render_kw=_NO_AUTOFILL)
    submit = SubmitField(_l("Open the round's revised quotes"))


class RevisionForm(FlaskForm):
    pack_price = StringField(_l("Revised pack price (yuan)"), validators=[DataRequired(), Length(max=32)])
    submit = SubmitField(_l("Seal and submit"))


def response_label(response: str) -> str:
    return {"pending": _("Pending"), "accepted": _("Accepted (lower price)"), "non_accept": _("Non-accept"),
            "rejected_increase": _("Rejected (price increase)")}.get(response, response)


@bp.app_context_processor
def _labels():
    return {"negotiation_response_label": response_label}


_project_or_404 = visible_project_or_404
_officer_project = editable_project_or_403


def _method_labels() -> dict[str, str]:
    return {"lowest_ucp": _("Lowest valid price"), "median_ucp": _("Median valid price"),
            "national_lowest_listed": _("National lowest listed price"),
            "avg_cut_competitive": _("Average cut of the competitive lots"), "manual": _("Entered by the officer")}


def _back(project: ProcurementProject):
    return redirect(url_for("negotiation.project_negotiation", project_id=project.id))


def _orgs(ids) -> dict[int, Organisation]:
    ids = list(set(ids))
    return {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}


@bp.get("/projects/<int:project_id>")
@roles_required(*_ROLES)
def project_negotiation(project_id: int):
    project = _project_or_404(project_id)
    now = utcnow()
    rounds = services.list_rounds(project)
    lots = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
    supplier = current_user.role == _SUPPLIER
    views = []
    for rnd in rounds:
        rlots = services.round_lots(rnd)
        invites = services.invitations(rnd, current_user.org_id if supplier else None)
        if supplier and not invites:
            continue
        views.append({"round": rnd, "state": services.round_state(rnd, now), "lots": rlots,
                      "invitations": invites, "rlot": {r.id: r for r in rlots}})
    orgs = _orgs(i.supplier_org_id for v in views for i in v["invitations"])
    previous = {}
    if supplier:
        ids = [i.previous_bid_id for v in views for i in v["invitations"]]
        previous = {b.id: b for b in db.session.scalars(select(Bid).where(Bid.id.in_(ids)))} if ids else {}
    state = lifecycle.effective_state(project, now)
    return render_template("negotiation/project.html", project=project, views=views, lots=lots, orgs=orgs,
                           supplier=supplier, previous=previous, state=state, form=RevisionForm(),
                           may_edit=may_edit_project(current_user, project), max_rounds=services.max_rounds(project))


def _lot_choices(project: ProcurementProject):
    bids = services._lot_bids(project)
    lots = db.session.scalars(select(Lot).where(Lot.project_id == project.id).order_by(Lot.lot_no)).all()
    orgs = _orgs(b.supplier_org_id for lot_bids in bids.values() for b in lot_bids)
    return lots, bids, orgs


@bp.route("/projects/<int:project_id>/rounds/new", methods=["GET", "POST"])
@roles_required(_OFFICER)
def new_round(project_id: int):
    project = _officer_project(project_id)
    now = utcnow()
    try:
        services._previous_round_ok(project, now)
    except DomainError as err:
        flash(error_text(err), "warning")
        return _back(project)
    lots, bids, orgs = _lot_choices(project)
    form = RoundForm()
    status = 200
    if form.validate_on_submit():
        targets, overrides = [], {}
        for lot in lots:
            if not request.form.get(f"lot-{lot.id}"):
                continue
            targets.append(services.LotTarget(lot_id=lot.id, method=request.form.get(f"method-{lot.id}") or services.default_target_method(project),
                                              manual=request.form.get(f"manual-{lot.id}") or None))
            add = [int(v) for v in request.form.getlist(f"add-{lot.id}") if v.isdigit()]
            remove = [int(v) for v in request.form.getlist(f"remove-{lot.id}") if v.isdigit()]
            if add or remove:
                overrides[lot.id] = {"add": add, "remove": remove}
        deadline = form.deadline.data.replace(tzinfo=BEIJING).astimezone(dt.timezone.utc)
        try:
            services.open_round(project, targets, actor=current_user, deadline=deadline,
                                actor_password=form.officer_password.data, officer_secret=form.officer_secret.data,
                                witness_username=form.witness_username.data,
                                witness_password=form.witness_password.data, witness_secret=form.witness_secret.data,
                                invite_overrides=overrides, override_reason=form.reason.data)
        except WeakSecret as err:
            db.session.rollback()
            target = form.witness_secret if err.role == "witness" else form.officer_secret
            target.errors = [*target.errors, error_text(err)]
            status = 422
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            status = 429 if err.code == "CEREMONY_RATE_LIMITED" else 422
        else:
            flash(_("The negotiation round is open and the invited suppliers were notified."), "success")
            return _back(project)
    elif request.method == "POST":
        status = 422
    return render_template("negotiation/new_round.html", project=project, form=form, lots=lots, bids=bids,
                           orgs=orgs, methods=services.TARGET_METHODS, default_method=services.default_target_method(project), method_labels=_method_labels()), status


@bp.post("/projects/<int:project_id>/revise")
@roles_required(_SUPPLIER)
def revise(project_id: int):
    project = _project_or_404(project_id)
    rnd = services.get_round(project, request.form.get("round_no", type=int) or 0)
    lot_id = request.form.get("lot_id", type=int)
    form = RevisionForm()
    if rnd is None or lot_id is None or not form.validate_on_submit():
        flash(_("Choose an invited lot and enter a price."), "warning")
        return _back(project)
    try:
        services.submit_revision(project, rnd, lot_id, actor=current_user, pack_price=form.pack_price.data)
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "danger")
    else:
        flash(_("Your revised price is sealed until the round's opening."), "success")
    return _back(project)


@bp.route("/projects/<int:project_id>/round-opening", methods=["GET", "POST"])
@roles_required(_OFFICER)
def open_round(project_id: int):
    project = _officer_project(project_id)
    rounds = services.list_rounds(project)
    rnd = rounds[-1] if rounds else None
    if rnd is None or services.round_state(rnd) != "closed":
        flash(_("A round is opened once its deadline has passed."), "warning")
        return _back(project)
    form = RoundOpeningForm()
    status = 200
    if form.validate_on_submit():
        try:
            _record, run = services.open_round_bids(
                project, rnd, actor=current_user, actor_password=form.officer_password.data,
                officer_secret=form.officer_secret.data, witness_username=form.witness_username.data,
                witness_password=form.witness_password.data, witness_secret=form.witness_secret.data)
        except DomainError as err:
            db.session.rollback()
            flash(error_text(err), "danger")
            status = 429 if err.code == "CEREMONY_RATE_LIMITED" else 422
        else:
            flash(_("The round is open; the selection ran again on the latest prices.") if run is not None else
                  _("The round is open; run the selection from the selection page."), "success")
            return _back(project)
    elif request.method == "POST":
        status = 422
    return render_template("negotiation/opening.html", project=project, form=form, round=rnd), status
