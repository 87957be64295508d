"""Demand collection (需求报量, DOMAIN.md L2, V1, V2, §12 (c)): reports, completeness, reminders,
freezing, amendment rows and committed volumes.

Services flush and never commit, write an audit event for every change, and check roles, the
institution's own data and the project's state themselves.

Decisions where DOMAIN.md is silent (also in the reply to the brief):

* **Floor** (``min_report_vs_history``): when the *project* field ``min_report_vs_history`` is set, the
  project requires the floor: a line whose reported demand is below that share of its historical
  usage is an error (nothing is stored). Otherwise the RuleSet's ``min_report_vs_history`` (the
  current version, or the frozen one), else §13's default 0.8, gives a *warning*: the report is
  stored, the user sees the warning, and it is kept in the report's audit event (``warnings``).
  The check is per line, as §12 (c) attaches it to the row.
* **Deadline**: reports are accepted while the project is in ``demand_collection`` and before its
  ``demand_due_at`` by the server clock (P-4); the officer may postpone the deadline.
* **Versions**: every submission (form or file) is a new ``DemandReport`` version superseding the
  previous one (kept, ``superseded``); a form submission has no file hash. The current report of an
  institution is its last ``submitted``/``frozen`` version.
* **Rows**: an institution reports a lot per strength (``spec`` or ``nhsa_code``) and optionally per
  brand (V2, only when the RuleSet's ``brand_demand`` is true); a strength/brand/year appears once.
  Quantities are smallest units with at most 4 decimals (the ``Quantity`` columns).
* **Amendments**: filed by the institution on a line of its frozen report while the project is
  ``demand_frozen`` (one pending per line), decided by an officer of the project's authority; the
  latest approved amendment gives the line's effective demand; frozen lines never change.
* **Committed volumes** use the frozen reports only, the effective demand, the region stored on each
  line (660000 folded into 650000 unless the frozen RuleSet has ``xpcc_separate``), and the ratio of
  the FROZEN RuleSet (or ``ratio_overrides``); a lot with 0 winners gets no rows.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import current_app, has_app_context
from flask_babel import force_locale, lazy_gettext
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.audit.services import record, record_refusal
from app.auth import roles as R
from app.catalog.models import Product
from app.catalog.units import parse_spec
from app.core.errors import N_, DomainError, InvalidSpec
from app.extensions import db
from app.notifications.services import post_notification
from app.orgs.models import Organisation
from app.projects import lifecycle
from app.projects.lifecycle import BEIJING, beijing
from app.projects.models import (
    DemandAmendment,
    DemandLine,
    DemandReport,
    Lot,
    LotProduct,
    ProcurementProject,
    ProjectInstitution,
)
from app.regions.names import REGIONS_BY_CODE, UnknownRegion, resolve_region
from app.spreadsheets import CellError, Notice, build_template, read_table
from app.spreadsheets.specs import DEMAND

TEMPLATE_KIND = "demand"
TEMPLATE_VERSION = 1
DEFAULT_MIN_REPORT_VS_HISTORY = Decimal("0.8")  # DOMAIN.md §13 / V1
QUANTITY_PLACES = 4  # Quantity() columns: NUMERIC(18, 4)
QUANTITY_LIMIT = Decimal(10) ** 14
CURRENT_STATUSES = ("submitted", "frozen")
READONLY_TEMPLATE_COLUMNS = ("project_code", "lot_no", "institution_code", "institution_name", "province_code")

# Field labels (msgids) for messages that name a field of the form.
FIELD_LABELS = {
    "project_code": N_("Project code"),
    "lot_no": N_("Lot number"),
    "institution_code": N_("Institution code"),
    "institution_name": N_("Institution name"),
    "province_code": N_("Province"),
    "nhsa_code": N_("NHSA code"),
    "spec": N_("Specification"),
    "preferred_brand": N_("Preferred brand"),
    "historical_usage": N_("Historical annual usage"),
    "reported_demand": N_("Reported demand"),
    "year": N_("Year"),
}


class DemandError(DomainError):
    default_code = "DEMAND_ERROR"


# --- access -------------------------------------------------------------------------------------------

def takes_part(project: ProcurementProject, institution_id: int) -> bool:
    return db.session.scalar(select(ProjectInstitution.id).where(
        ProjectInstitution.project_id == project.id, ProjectInstitution.institution_id == institution_id)) is not None


def _reporting_institution(project: ProcurementProject, actor) -> Organisation:
    """The actor's own institution, which must take part in ``project``."""
    if actor is None or actor.role != R.INSTITUTION_USER:
        raise DemandError("DEMAND_REPORT_DENIED", N_("Only users of a medical institution report demand."))
    institution = actor.org
    if institution.kind != "medical_institution" or not takes_part(project, institution.id):
        raise DemandError("NOT_PARTICIPATING", N_("Your institution does not take part in project %(code)s."),
                          params={"code": project.code})
    if not institution.region_code:
        raise DemandError("INSTITUTION_WITHOUT_REGION",
                          N_("Your institution has no province in the master data: ask a procurement officer to set it."))
    return institution


def _require_project_officer(project: ProcurementProject, actor) -> None:
    if actor is None or actor.role != R.PROCUREMENT_OFFICER:
        raise DemandError("DEMAND_OFFICER_ONLY", N_("Only procurement officers can do this."))
    if actor.org_id != project.authority_org_id:
        raise DemandError("PROJECT_NOT_YOURS", N_("Only officers of the project's procurement authority can change it."))


def may_read_report(user, report: DemandReport) -> bool:
    """Officers and supervisors read every report; an institution only its own."""
    if user is None:
        return False
    if user.role in (R.PROCUREMENT_OFFICER, R.SUPERVISOR):
        return True
    return user.role == R.INSTITUTION_USER and user.org_id == report.institution_id


def _hold_state(project: ProcurementProject) -> None:
    """Read the project's state under a shared lock (PostgreSQL ``FOR SHARE``) until the transaction ends.

    Reports and amendments of different institutions do not wait for each other, but a state move
    (``transition_project`` locks the project ``FOR UPDATE``) waits for them, and they for it: a report
    can never be stored as ``submitted`` after the demand was frozen, nor an amendment filed after the
    guard of ``bidding_open`` counted the pending ones.
    """
    db.session.flush()
    db.session.refresh(project, with_for_update={"read": True})


def _ensure_open(project: ProcurementProject, now: dt.datetime) -> None:
    lifecycle.ensure_demand_reporting_open(project, now)
    if project.demand_due_at is not None and now >= project.demand_due_at:
        raise DemandError("DEMAND_DUE_PASSED",
                          N_("The demand reporting deadline %(time)s (Beijing time) has passed: ask the procurement officer to extend it."),
                          params={"time": beijing(project.demand_due_at)})


def reporting_problem(project: ProcurementProject, now: dt.datetime | None = None) -> DomainError | None:
    """Why demand cannot be reported now (None: it can)."""
    try:
        _ensure_open(project, lifecycle.server_now(now))
    except DomainError as err:
        return err
    return None


# --- RuleSet-dependent settings ------------------------------------------------------------------------

def _ruleset_fields(project: ProcurementProject) -> dict[str, Any]:
    ruleset = lifecycle.frozen_ruleset(project) or lifecycle.latest_ruleset(project)
    return dict(ruleset.resolved) if ruleset is not None else {}


@dataclass(frozen=True)
class FloorRule:
    """``ratio`` × historical usage is the least demand expected; ``enforced``: below it is an error."""

    ratio: Decimal
    enforced: bool

    @property
    def percent(self) -> str:
        return f"{(self.ratio * 100).normalize():f}%"


def floor_rule(project: ProcurementProject) -> FloorRule:
    if project.min_report_vs_history is not None:
        return FloorRule(Decimal(project.min_report_vs_history), True)
    value = _ruleset_fields(project).get("min_report_vs_history")
    return FloorRule(Decimal(value) if value else DEFAULT_MIN_REPORT_VS_HISTORY, False)


def set_demand_floor(project: ProcurementProject, value: Decimal | str | None, *, actor,
                     now: dt.datetime | None = None) -> Decimal | None:
    """Make the project require (``value``, a share such as 0.8 or 80%) or not require (None) the floor
    ``min_report_vs_history``; while demand is not yet frozen. Reports already stored are not re-checked."""
    now = lifecycle.server_now(now)
    _require_project_officer(project, actor)
    _hold_state(project)
    state = lifecycle.effective_state(project, now)
    if state not in ("draft", "demand_collection"):
        raise lifecycle.ProjectFrozen("DEMAND_FLOOR_FROZEN",
                                      N_("The demand floor can only change before demand is frozen (the project is %(state)s)."),
                                      params={"state": state})
    ratio = None
    text = "" if value is None else str(value).strip()
    if text:
        try:
            ratio = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
        except InvalidOperation:
            ratio = None
        if ratio is None or not ratio.is_finite() or not 0 <= ratio <= 1 or ratio != ratio.quantize(Decimal("0.0001")):
            raise DemandError("DEMAND_FLOOR_INVALID",
                              N_("The required share must be a decimal between 0 and 1 (at most 4 places) or a percentage such as 80%%, got %(value)s."),
                              params={"value": text})
        ratio = ratio.normalize()
    before = project.min_report_vs_history
    if before == ratio or (before is not None and ratio is not None and Decimal(before) == ratio):
        return ratio
    project.min_report_vs_history = ratio
    db.session.flush()
    record("demand.floor", project, summary={"before": before, "after": ratio})
    return ratio


def brand_demand_allowed(project: ProcurementProject) -> bool:
    """V2: demand by brand only when the (frozen, else current) RuleSet's ``brand_demand`` is true."""
    return bool(_ruleset_fields(project).get("brand_demand"))


# --- lines: input, checks -----------------------------------------------------------------------------

@dataclass
class LineInput:
    """One demand line as typed in the form or read from a file (file-only columns may be None)."""

    lot_no: int | None
    historical_usage: Decimal | None
    reported_demand: Decimal | None
    year: int | None
    nhsa_code: str | None = None
    spec: str | None = None
    preferred_brand: str | None = None
    project_code: str | None = None
    institution_code: str | None = None
    institution_name: str | None = None
    province_code: str | None = None


@dataclass
class Issue:
    """A problem with one field of one line: ``key`` is the column key (the form field)."""

    key: str
    code: str
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    hint: str | None = None

    def message(self) -> str:
        text = _(self.msgid)
        return text % self.params if self.params else text

    def cell_error(self) -> CellError:
        return CellError.for_key(self.key, self.code, lazy_gettext(self.msgid, **self.params),
                                 lazy_gettext(self.hint, **self.params) if self.hint else None)


@dataclass
class ResolvedLine:
    lot: Lot
    product_id: int | None
    spec: str | None
    preferred_brand: str | None
    historical_usage: Decimal
    reported_demand: Decimal
    year: int
    ref: Any  # the file row number, or (lot_no, n) for a form line


def _fold_text(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


class _LineChecker:
    """Checks lines for one institution's report in one project (shared by the form and the upload)."""

    def __init__(self, project: ProcurementProject, institution: Organisation, *, from_file: bool):
        self.project = project
        self.institution = institution
        self.from_file = from_file
        self.lots = {lot.lot_no: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
        self.eligible: dict[int, set[int]] = defaultdict(set)
        if self.lots:
            for lot_id, product_id in db.session.execute(select(LotProduct.lot_id, LotProduct.product_id).where(
                    LotProduct.lot_id.in_([lot.id for lot in self.lots.values()]))):
                self.eligible[lot_id].add(product_id)
        self.floor = floor_rule(project)
        self.brand_allowed = brand_demand_allowed(project)
        self.products: dict[str, Product | None] = {}
        self.seen: dict[tuple, Any] = {}
        self.warnings: list[dict[str, Any]] = []

    def _product(self, code: str) -> Product | None:
        if code not in self.products:
            self.products[code] = db.session.scalar(select(Product).where(Product.nhsa_code == code))
        return self.products[code]

    def _quantity(self, key: str, value: Decimal | None, issues: list[Issue]) -> Decimal | None:
        if value is None:
            issues.append(Issue(key, "REQUIRED", N_("%(field)s is required."), {"field": _(FIELD_LABELS[key])}))
            return None
        if value < 0:
            issues.append(Issue(key, "NEGATIVE", N_("%(field)s cannot be negative, got %(value)s."),
                                {"field": _(FIELD_LABELS[key]), "value": f"{value:f}"},
                                N_("Write 0 when the institution used or needs none.")))
            return None
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
            issues.append(Issue(key, "TOO_PRECISE", N_("%(field)s has more than %(places)s decimal places: %(value)s."),
                                {"field": _(FIELD_LABELS[key]), "places": QUANTITY_PLACES, "value": f"{value:f}"},
                                N_("Quantities are counted in smallest units (tablets, capsules, vials …).")))
            return None
        if value >= QUANTITY_LIMIT:
            issues.append(Issue(key, "TOO_LARGE", N_("%(field)s is implausibly large: %(value)s."),
                                {"field": _(FIELD_LABELS[key]), "value": f"{value:f}"}))
            return None
        return value

    def _identity(self, line: LineInput, issues: list[Issue]) -> None:
        """The file's project, institution and province columns must be this upload's."""
        found = (line.project_code or "").strip()
        if found.upper() != self.project.code.upper():
            issues.append(Issue("project_code", "DEMAND_WRONG_PROJECT",
                                N_("This row is for project %(found)s, but the file is uploaded to project %(code)s."),
                                {"found": found, "code": self.project.code},
                                N_("Download the template of this project and copy your rows into it.")))
        own_code = (self.institution.institution_code or "").upper()
        code = (line.institution_code or "").strip().upper()
        if not own_code:
            issues.append(Issue("institution_code", "INSTITUTION_WITHOUT_CODE",
                                N_("Your institution has no institution code in the master data: ask a procurement officer to set it.")))
        elif code != own_code:
            issues.append(Issue("institution_code", "DEMAND_WRONG_INSTITUTION",
                                N_("The institution code %(found)s is not your institution's (%(code)s): you can only report your own demand."),
                                {"found": code, "code": own_code}))
        elif _fold_text(line.institution_name) not in {_fold_text(self.institution.name),
                                                          _fold_text(self.institution.short_name)} - {""}:
            issues.append(Issue("institution_name", "DEMAND_INSTITUTION_NAME",
                                N_("The institution name %(found)s does not match the registered name %(name)s of code %(code)s."),
                                {"found": line.institution_name or "", "name": self.institution.name, "code": own_code},
                                N_("Write the institution's registered name, as in the template.")))
        try:
            region = resolve_region(line.province_code or "", xpcc_separate=True)
        except UnknownRegion:
            issues.append(Issue("province_code", "UNKNOWN_REGION", N_("Unknown province: %(text)s."),
                                {"text": line.province_code or ""},
                                N_("Write a 6-digit region code such as 110000 or a province name such as 北京.")))
        else:
            if region != self.institution.region_code:
                issues.append(Issue("province_code", "DEMAND_WRONG_PROVINCE",
                                    N_("The province %(found)s is not your institution's registered province %(region)s."),
                                    {"found": line.province_code, "region": self.institution.region_code}))

    def _strength(self, lot: Lot, line: LineInput, issues: list[Issue]) -> tuple[int | None, str | None] | None:
        """(product id, spec text) of the line, checked against the lot."""
        code = (line.nhsa_code or "").strip().upper() or None
        spec_text = (line.spec or "").strip() or None
        if spec_text is not None and len(spec_text) > 120:
            issues.append(Issue("spec", "SPEC_TOO_LONG", N_("The specification is longer than %(limit)s characters."),
                                {"limit": 120}))
            return None
        if code is not None:
            product = self._product(code)
            if product is None:
                issues.append(Issue("nhsa_code", "DEMAND_UNKNOWN_PRODUCT", N_("No catalog product has the NHSA code %(code)s."),
                                    {"code": code}, N_("Check the code, or give the specification instead.")))
                return None
            eligible = self.eligible.get(lot.id)
            fits = product.id in eligible if eligible else (
                lot.generic_name in product.generic_name and (product.form_group in (None, lot.form_group)))
            if not fits:
                issues.append(Issue("nhsa_code", "DEMAND_PRODUCT_NOT_IN_LOT",
                                    N_("The product %(code)s (%(name)s %(spec)s) does not belong to lot %(lot_no)s (%(lot)s)."),
                                    {"code": code, "name": product.generic_name, "spec": product.spec,
                                     "lot_no": lot.lot_no, "lot": lot.name}))
                return None
            return product.id, spec_text or product.spec
        if spec_text is None:
            issues.append(Issue("spec", "DEMAND_STRENGTH_REQUIRED",
                                N_("Give the specification or the NHSA code of the strength you report."),
                                hint=N_("For example the lot's representative specification %(rep)s."),
                                params={"rep": lot.representative_spec}))
            return None
        try:
            spec = parse_spec(spec_text)
        except InvalidSpec as err:
            issues.append(Issue("spec", "SPEC_UNPARSEABLE", err.msgid, dict(err.params),
                                N_("Write the strength with its unit, e.g. 20mg, 0.25g, 40万IU, 5ml:0.1g or 100mg/ml.")))
            return None
        if lot.rep_strength_unit:
            fits = any(q.unit == lot.rep_strength_unit for q in spec.strengths)
        else:
            fits = spec.fill_volume_ml is not None
        if not fits:
            issues.append(Issue("spec", "DEMAND_SPEC_NOT_IN_LOT",
                                N_("The specification %(spec)s does not fit lot %(lot_no)s (%(lot)s, representative specification %(rep)s)."),
                                {"spec": spec_text, "lot_no": lot.lot_no, "lot": lot.name, "rep": lot.representative_spec}))
            return None
        return None, spec_text

    def check(self, line: LineInput, ref: Any) -> tuple[list[Issue], ResolvedLine | None]:
        issues: list[Issue] = []
        if self.from_file:
            self._identity(line, issues)
        lot = self.lots.get(line.lot_no) if line.lot_no is not None else None
        strength = None
        if lot is None:
            issues.append(Issue("lot_no", "DEMAND_UNKNOWN_LOT", N_("Project %(code)s has no lot %(lot_no)s."),
                                {"code": self.project.code, "lot_no": line.lot_no if line.lot_no is not None else ""},
                                N_("Use the lot numbers (品种序号) of the project's template.")))
        else:
            strength = self._strength(lot, line, issues)
        brand = (line.preferred_brand or "").strip() or None
        if brand is not None and not self.brand_allowed:
            issues.append(Issue("preferred_brand", "DEMAND_BRAND_NOT_ALLOWED",
                                N_("This project's RuleSet does not take demand by brand: leave the preferred brand empty.")))
        elif brand is not None and len(brand) > 200:
            issues.append(Issue("preferred_brand", "BRAND_TOO_LONG", N_("The preferred brand is longer than %(limit)s characters."),
                                {"limit": 200}))
        historical = self._quantity("historical_usage", line.historical_usage, issues)
        reported = self._quantity("reported_demand", line.reported_demand, issues)
        year = line.year
        if year is None or isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            issues.append(Issue("year", "DEMAND_YEAR", N_("The year must be a whole number between 2000 and 2100.")))
            year = None
        if issues or lot is None or strength is None or historical is None or reported is None or year is None:
            return issues, None
        product_id, spec_text = strength
        key = (lot.lot_no, product_id or _fold_text(spec_text), _fold_text(brand), year)
        first = self.seen.get(key)
        if first is not None:
            where_key = "nhsa_code" if line.nhsa_code else "spec"
            return [Issue(where_key, "DEMAND_DUPLICATE_LINE",
                          N_("Lot %(lot_no)s, %(spec)s is reported twice for %(year)s (first at %(first)s)."),
                          {"lot_no": lot.lot_no, "spec": spec_text or "", "year": year, "first": _ref_text(first)},
                          N_("Add the quantities up in one line."))], None
        self.seen[key] = ref
        minimum = (self.floor.ratio * historical)
        if historical > 0 and reported < minimum:
            params = {"reported": f"{reported:f}", "history": f"{historical:f}", "percent": self.floor.percent,
                      "minimum": f"{minimum.normalize():f}"}
            if self.floor.enforced:
                return [Issue("reported_demand", "DEMAND_BELOW_FLOOR",
                              N_("The reported demand %(reported)s is below %(percent)s of the historical usage %(history)s: this project requires at least %(minimum)s."),
                              params, N_("Report at least the required share of your past usage."))], None
            self.warnings.append({"ref": _ref_text(ref), "lot_no": lot.lot_no, "spec": spec_text,
                                  "historical_usage": historical, "reported_demand": reported,
                                  "ratio": self.floor.ratio, "minimum": minimum})
        return [], ResolvedLine(lot=lot, product_id=product_id, spec=spec_text, preferred_brand=brand,
                                historical_usage=historical, reported_demand=reported, year=year, ref=ref)


def _ref_text(ref: Any) -> str:
    if isinstance(ref, tuple):
        return f"{ref[0]}-{ref[1]}"
    return str(ref)


def warning_text(warning: dict[str, Any]) -> str:
    """A stored floor warning in the user's language."""
    return _("Lot %(lot_no)s, %(spec)s: the reported demand %(reported)s is below %(percent)s of the historical usage %(history)s.",
             lot_no=warning["lot_no"], spec=warning.get("spec") or "", reported=warning["reported_demand"],
             percent=f"{(Decimal(str(warning['ratio'])) * 100).normalize():f}%", history=warning["historical_usage"])


# --- submitting ---------------------------------------------------------------------------------------

class DemandLinesInvalid(DemandError):
    """Form lines with problems: ``problems`` is a list of (reference, Issue); nothing was stored."""

    default_code = "DEMAND_LINES_INVALID"

    def __init__(self, problems: list[tuple[Any, Issue]]):
        self.problems = problems
        super().__init__(self.default_code, N_("The demand report has %(count)s problem(s); nothing was saved."),
                         params={"count": len(problems)})


@dataclass
class Submission:
    report: DemandReport
    warnings: list[dict[str, Any]]


def current_report(project: ProcurementProject, institution_id: int) -> DemandReport | None:
    """The institution's report that counts: its last submitted (or frozen) version."""
    return db.session.scalar(
        select(DemandReport).where(DemandReport.project_id == project.id, DemandReport.institution_id == institution_id,
                                   DemandReport.status.in_(CURRENT_STATUSES))
        .order_by(DemandReport.version.desc()).limit(1))


def report_versions(project: ProcurementProject, institution_id: int) -> list[DemandReport]:
    return db.session.scalars(
        select(DemandReport).where(DemandReport.project_id == project.id, DemandReport.institution_id == institution_id)
        .order_by(DemandReport.version.desc())).all()


def report_lines(report: DemandReport) -> list[DemandLine]:
    return db.session.scalars(
        select(DemandLine).join(Lot, Lot.id == DemandLine.lot_id).where(DemandLine.report_id == report.id)
        .order_by(Lot.lot_no, DemandLine.id)).all()


def _store(project: ProcurementProject, institution: Organisation, lines: list[ResolvedLine], *, actor, source: str,
           warnings: list[dict[str, Any]], now: dt.datetime, file_sha256: str | None = None,
           filename: str | None = None) -> Submission:
    # One submission at a time per institution and project: versions are numbered without gaps or clashes.
    db.session.scalar(select(ProjectInstitution).where(ProjectInstitution.project_id == project.id,
                                                       ProjectInstitution.institution_id == institution.id)
                      .with_for_update())
    previous = current_report(project, institution.id)
    last_version = db.session.scalar(select(func.max(DemandReport.version)).where(
        DemandReport.project_id == project.id, DemandReport.institution_id == institution.id)) or 0
    if previous is not None:
        previous.status = "superseded"
    report = DemandReport(project_id=project.id, institution_id=institution.id, version=last_version + 1,
                          status="submitted", file_sha256=file_sha256, supersedes_id=previous.id if previous else None,
                          submitted_by_id=actor.id, submitted_at=now)
    db.session.add(report)
    db.session.flush()
    db.session.add_all(DemandLine(report_id=report.id, lot_id=line.lot.id, product_id=line.product_id, spec=line.spec,
                                  preferred_brand=line.preferred_brand, region_code=institution.region_code,
                                  year=line.year, historical_usage=line.historical_usage,
                                  reported_demand=line.reported_demand) for line in lines)
    db.session.flush()
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line.lot.lot_no] += line.reported_demand
    record("demand.submit", report, summary={
        "project_id": project.id, "project_code": project.code, "institution_id": institution.id,
        "version": report.version, "supersedes": previous.id if previous else None, "source": source,
        "filename": filename, "file_sha256": file_sha256, "lines": len(lines),
        "reported_by_lot": {str(k): v for k, v in sorted(totals.items())}, "warnings": warnings})
    return Submission(report=report, warnings=warnings)


def submit_demand_lines(project: ProcurementProject, lines: list[LineInput], *, actor,
                        now: dt.datetime | None = None) -> Submission:
    """Submit the institution's demand typed in the form: a new report version, or :class:`DemandLinesInvalid`.

    Line references in problems are ``(lot_no, n)``: the n-th line of the lot in the form.
    """
    now = lifecycle.server_now(now)
    institution = _reporting_institution(project, actor)
    _hold_state(project)
    _ensure_open(project, now)
    checker = _LineChecker(project, institution, from_file=False)
    problems: list[tuple[Any, Issue]] = []
    resolved: list[ResolvedLine] = []
    counters: dict[Any, int] = defaultdict(int)
    for line in lines:
        counters[line.lot_no] += 1
        ref = (line.lot_no, counters[line.lot_no])
        issues, ok = checker.check(line, ref)
        problems.extend((ref, issue) for issue in issues)
        if ok is not None:
            resolved.append(ok)
    if not lines:
        problems.append((None, Issue("reported_demand", "DEMAND_EMPTY", N_("Report at least one line (0 if you need none)."))))
    if problems:
        raise DemandLinesInvalid(problems)
    return _store(project, institution, resolved, actor=actor, source="form", warnings=checker.warnings, now=now)


@dataclass
class Upload:
    """The outcome of an upload: ``report`` when stored, else the cell ``errors`` (nothing stored)."""

    filename: str
    file_sha256: str
    report: DemandReport | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report is not None


def upload_demand_report(project: ProcurementProject, data: bytes, filename: str, *, actor,
                         now: dt.datetime | None = None) -> Upload:
    """Read a demand report (§12 (c), xlsx/xls/ods/csv) and store it as a new version, all or nothing.

    A file stamped for another kind of template or another project is refused as a whole
    (``TemplateStampError``); other file-level problems raise their ``SpreadsheetError``. Cell
    problems come back in ``errors`` with sheet, row, column, what is wrong and what to do; the
    refusal is audited (file hash and count) and nothing is stored.
    """
    now = lifecycle.server_now(now)
    institution = _reporting_institution(project, actor)
    _hold_state(project)
    _ensure_open(project, now)
    result = Upload(filename=filename, file_sha256=hashlib.sha256(data).hexdigest())
    checker = _LineChecker(project, institution, from_file=True)
    resolved: list[ResolvedLine] = []

    def validate(row: dict[str, Any], rownum: int) -> list[CellError]:
        line = LineInput(lot_no=row.get("lot_no"), historical_usage=row.get("historical_usage"),
                         reported_demand=row.get("reported_demand"), year=row.get("year"), nhsa_code=row.get("nhsa_code"),
                         spec=row.get("spec"), preferred_brand=row.get("preferred_brand"),
                         project_code=row.get("project_code"), institution_code=row.get("institution_code"),
                         institution_name=row.get("institution_name"), province_code=row.get("province_code"))
        issues, ok = checker.check(line, rownum)
        if ok is not None:
            resolved.append(ok)
        return [issue.cell_error() for issue in issues]

    parsed = read_table(data, filename, DEMAND, expect_stamp=(TEMPLATE_KIND, TEMPLATE_VERSION, project.code),
                        row_validator=validate)
    result.notices = list(parsed.notices)
    if not parsed.ok:
        result.errors = parsed.errors
        record_refusal("demand.upload_refused", object_type="ProcurementProject", object_id=project.id,
                       summary={"institution_id": institution.id, "filename": filename,
                                "file_sha256": result.file_sha256, "errors": len(parsed.errors)})
        return result
    submission = _store(project, institution, resolved, actor=actor, source="upload", warnings=checker.warnings,
                        now=now, file_sha256=result.file_sha256, filename=filename)
    result.report, result.warnings = submission.report, submission.warnings
    return result


def report_warnings(report: DemandReport) -> list[dict[str, Any]]:
    """The floor warnings shown when ``report`` was submitted (kept in its audit event)."""
    summary = db.session.scalar(select(AuditEvent.summary).where(
        AuditEvent.action == "demand.submit", AuditEvent.object_type == "DemandReport",
        AuditEvent.object_id == str(report.id)).order_by(AuditEvent.seq.desc()).limit(1))
    return list((summary or {}).get("warnings") or [])


def demand_template(project: ProcurementProject, *, actor, now: dt.datetime | None = None) -> bytes:
    """The §12 (c) template for the actor's institution: one row per lot strength (or per line of its
    current report), the project, lot and institution columns locked, stamped with the project code."""
    now = lifecycle.server_now(now)
    institution = _reporting_institution(project, actor)
    _ensure_open(project, now)
    base = {"project_code": project.code, "institution_code": institution.institution_code or "",
            "institution_name": institution.name, "province_code": institution.region_code}
    lots = db.session.scalars(select(Lot).where(Lot.project_id == project.id).order_by(Lot.lot_no)).all()
    year = now.astimezone(BEIJING).year
    rows: list[dict[str, Any]] = []
    report = current_report(project, institution.id)
    lines_by_lot: dict[int, list[DemandLine]] = defaultdict(list)
    if report is not None:
        for line in report_lines(report):
            lines_by_lot[line.lot_id].append(line)
    products_by_lot: dict[int, list[Product]] = defaultdict(list)
    if lots:
        for lot_id, product in db.session.execute(
                select(LotProduct.lot_id, Product).join(Product, Product.id == LotProduct.product_id)
                .where(LotProduct.lot_id.in_([lot.id for lot in lots])).order_by(Product.spec, Product.id)):
            products_by_lot[lot_id].append(product)
    for lot in lots:
        if lines_by_lot.get(lot.id):
            codes = {p.id: p.nhsa_code for p in products_by_lot.get(lot.id, [])}
            for line in lines_by_lot[lot.id]:
                rows.append({**base, "lot_no": lot.lot_no, "nhsa_code": codes.get(line.product_id) if line.product_id else None,
                             "spec": line.spec, "preferred_brand": line.preferred_brand,
                             "historical_usage": line.historical_usage, "reported_demand": line.reported_demand,
                             "year": line.year})
            continue
        specs = list(dict.fromkeys(p.spec for p in products_by_lot.get(lot.id, []))) or [lot.representative_spec]
        for spec in specs:
            rows.append({**base, "lot_no": lot.lot_no, "spec": spec, "year": year})
    return build_template(DEMAND, kind=TEMPLATE_KIND, version=TEMPLATE_VERSION, project_code=project.code,
                          issued_at=now, prefilled_rows=rows, readonly_columns=READONLY_TEMPLATE_COLUMNS)


# --- effective demand ---------------------------------------------------------------------------------

def effective_values(line_ids: list[int]) -> dict[int, Decimal]:
    """Line id → the demand of its latest approved amendment, for lines that have one."""
    if not line_ids:
        return {}
    rows = db.session.execute(
        select(DemandAmendment.demand_line_id, DemandAmendment.new_reported_demand)
        .where(DemandAmendment.demand_line_id.in_(line_ids), DemandAmendment.status == "approved")
        .order_by(DemandAmendment.decided_at, DemandAmendment.id)).all()
    return {line_id: value for line_id, value in rows}


def effective_demand(line: DemandLine) -> Decimal:
    """The line's demand as it counts: the frozen value, or its latest approved amendment's."""
    return effective_values([line.id]).get(line.id, line.reported_demand)


def _current_reports(project: ProcurementProject, statuses=CURRENT_STATUSES) -> dict[int, DemandReport]:
    """Institution id → its current report."""
    out: dict[int, DemandReport] = {}
    for report in db.session.scalars(select(DemandReport).where(
            DemandReport.project_id == project.id, DemandReport.status.in_(statuses)).order_by(DemandReport.version)):
        out[report.institution_id] = report
    return out


# --- completeness ---------------------------------------------------------------------------------------

@dataclass
class InstitutionProgress:
    institution: Organisation
    report: DemandReport | None
    totals: dict[int, Decimal]  # lot id → effective demand
    lines: int = 0

    @property
    def reported(self) -> bool:
        return self.report is not None


@dataclass
class RegionProgress:
    region_code: str | None
    region_name: str
    expected: int = 0
    reported: int = 0
    totals: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @property
    def share(self) -> Decimal:
        return (Decimal(self.reported) / Decimal(self.expected) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP) \
            if self.expected else Decimal(0)


@dataclass
class Completeness:
    lots: list[Lot]
    regions: list[RegionProgress]
    institutions: list[InstitutionProgress]
    totals: dict[int, Decimal]

    @property
    def expected(self) -> int:
        return len(self.institutions)

    @property
    def reported(self) -> int:
        return sum(1 for i in self.institutions if i.reported)

    @property
    def missing(self) -> list[Organisation]:
        return [i.institution for i in self.institutions if not i.reported]


def demand_completeness(project: ProcurementProject) -> Completeness:
    """Reported / expected institutions per region and per institution, and demand per lot.

    Demand is the effective demand of each institution's current report (after approved amendments).
    """
    lots = db.session.scalars(select(Lot).where(Lot.project_id == project.id).order_by(Lot.lot_no)).all()
    institutions = db.session.scalars(
        select(Organisation).join(ProjectInstitution, ProjectInstitution.institution_id == Organisation.id)
        .where(ProjectInstitution.project_id == project.id).order_by(Organisation.region_code, Organisation.name)).all()
    reports = _current_reports(project)
    lines = db.session.scalars(select(DemandLine).where(
        DemandLine.report_id.in_([r.id for r in reports.values()]))).all() if reports else []
    amended = effective_values([line.id for line in lines])
    by_report: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    line_counts: dict[int, int] = defaultdict(int)
    for line in lines:
        by_report[line.report_id][line.lot_id] += amended.get(line.id, line.reported_demand)
        line_counts[line.report_id] += 1
    regions: dict[str | None, RegionProgress] = {}
    progress: list[InstitutionProgress] = []
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for org in institutions:
        report = reports.get(org.id)
        lot_totals = dict(by_report.get(report.id, {})) if report else {}
        progress.append(InstitutionProgress(org, report, lot_totals, line_counts.get(report.id, 0) if report else 0))
        region = regions.get(org.region_code)
        if region is None:
            known = REGIONS_BY_CODE.get(org.region_code or "")
            region = regions[org.region_code] = RegionProgress(org.region_code, known.name if known else "—")
        region.expected += 1
        if report is not None:
            region.reported += 1
            for lot_id, value in lot_totals.items():
                region.totals[lot_id] += value
                totals[lot_id] += value
    ordered = sorted(regions.values(), key=lambda r: r.region_code or "999999")
    return Completeness(lots=lots, regions=ordered, institutions=progress, totals=dict(totals))


# --- reminders and freezing -----------------------------------------------------------------------------

def send_demand_reminders(project: ProcurementProject, *, actor, link: str | None = None,
                          now: dt.datetime | None = None) -> list[Organisation]:
    """Remind every participating institution without a submitted report (in-app, and email when
    configured); returns them. Only while demand is collected; audited."""
    now = lifecycle.server_now(now)
    _require_project_officer(project, actor)
    lifecycle.ensure_demand_reporting_open(project, now)
    missing = demand_completeness(project).missing
    if not missing:
        return []
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN") if has_app_context() else "zh_CN"
    with force_locale(locale):
        title = _("Demand report due for project %(code)s", code=project.code)
        body = _("Your institution has not submitted its demand report for %(name)s (%(code)s). The deadline is %(time)s (Beijing time).",
                 name=project.name, code=project.code, time=beijing(project.demand_due_at))
    for org in missing:
        post_notification(org_id=org.id, kind="reminder", title=title, body=body, link=link)
    record("demand.remind", project, summary={"institutions": [o.id for o in missing], "count": len(missing),
                                              "demand_due_at": project.demand_due_at})
    return missing


def freeze_demand(project: ProcurementProject, *, actor, now: dt.datetime | None = None):
    """Freeze the reported demand: the lifecycle move ``demand_collection → demand_frozen`` (audited there)."""
    return lifecycle.transition_project(project, "demand_frozen", actor=actor, now=now)


# --- amendments -----------------------------------------------------------------------------------------

def request_amendment(line: DemandLine, *, actor, new_reported_demand: Decimal | str, reason: str,
                      now: dt.datetime | None = None) -> DemandAmendment:
    """An institution asks to change a line of its frozen report (L2: only as amendment rows)."""
    now = lifecycle.server_now(now)
    report = db.session.get(DemandReport, line.report_id)
    project = db.session.get(ProcurementProject, report.project_id)
    institution = _reporting_institution(project, actor)
    if report.institution_id != institution.id:
        raise DemandError("NOT_YOUR_REPORT", N_("You can only amend your own institution's demand."))
    _hold_state(project)
    lifecycle.ensure_amendments_open(project, now)
    db.session.refresh(line, with_for_update=True)  # one pending amendment per line, even when two arrive together
    if report.status != "frozen":
        raise DemandError("AMEND_ONLY_FROZEN", N_("Only lines of the frozen report can be amended."))
    try:
        value = Decimal(str(new_reported_demand).strip().replace(",", ""))
        if not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise DemandError("AMENDMENT_VALUE", N_("The new reported demand must be a number, got %(value)s."),
                          params={"value": new_reported_demand}) from None
    issues: list[Issue] = []
    checker = _LineChecker(project, institution, from_file=False)
    checker._quantity("reported_demand", value, issues)
    if issues:
        raise DemandError(issues[0].code, issues[0].msgid, params=issues[0].params)
    floor = checker.floor
    minimum = floor.ratio * line.historical_usage
    if floor.enforced and line.historical_usage > 0 and value < minimum:
        raise DemandError("DEMAND_BELOW_FLOOR",
                          N_("The reported demand %(reported)s is below %(percent)s of the historical usage %(history)s: this project requires at least %(minimum)s."),
                          params={"reported": f"{value:f}", "percent": floor.percent,
                                  "history": f"{line.historical_usage:f}", "minimum": f"{minimum.normalize():f}"})
    reason = (reason or "").strip()
    if not reason:
        raise DemandError("REASON_REQUIRED_AMEND", N_("Give a reason for the amendment."))
    if value == effective_demand(line):
        raise DemandError("AMENDMENT_NO_CHANGE", N_("The new reported demand equals the current one: nothing to amend."))
    pending = db.session.scalar(select(DemandAmendment.id).where(DemandAmendment.demand_line_id == line.id,
                                                                 DemandAmendment.status == "pending"))
    if pending is not None:
        raise DemandError("AMENDMENT_PENDING", N_("This line already has an amendment awaiting a decision."))
    amendment = DemandAmendment(demand_line_id=line.id, new_reported_demand=value, reason=reason[:2000],
                                status="pending", requested_by_id=actor.id, requested_at=now)
    db.session.add(amendment)
    db.session.flush()
    record("demand.amendment_request", amendment, summary={
        "project_id": project.id, "institution_id": institution.id, "line_id": line.id, "lot_id": line.lot_id,
        "frozen": line.reported_demand, "requested": value, "reason": amendment.reason})
    return amendment


def decide_amendment(amendment: DemandAmendment, *, actor, approve: bool, note: str | None = None,
                     now: dt.datetime | None = None) -> DemandAmendment:
    """An officer of the project's authority approves or refuses a pending amendment; the institution is told."""
    now = lifecycle.server_now(now)
    line = db.session.get(DemandLine, amendment.demand_line_id)
    report = db.session.get(DemandReport, line.report_id)
    project = db.session.get(ProcurementProject, report.project_id)
    _require_project_officer(project, actor)
    _hold_state(project)
    lifecycle.ensure_amendments_open(project, now)
    db.session.refresh(amendment, with_for_update=True)
    if amendment.status != "pending":
        raise DemandError("AMENDMENT_DECIDED", N_("This amendment was already decided."))
    note = (note or "").strip() or None
    if not approve and not note:
        raise DemandError("REASON_REQUIRED_REFUSE", N_("Give a reason for refusing the amendment."))
    before = effective_demand(line)
    amendment.status = "approved" if approve else "rejected"
    amendment.decided_by_id = actor.id
    amendment.decided_at = now
    db.session.flush()
    record("demand.amendment_" + ("approve" if approve else "reject"), amendment, summary={
        "project_id": project.id, "institution_id": report.institution_id, "line_id": line.id,
        "effective_before": before, "requested": amendment.new_reported_demand, "note": note})
    lot = db.session.get(Lot, line.lot_id)
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN") if has_app_context() else "zh_CN"
    with force_locale(locale):
        if approve:
            title = _("Demand amendment approved: %(code)s lot %(lot_no)s", code=project.code, lot_no=lot.lot_no)
        else:
            title = _("Demand amendment refused: %(code)s lot %(lot_no)s", code=project.code, lot_no=lot.lot_no)
    post_notification(org_id=report.institution_id, kind="info", title=title, body=note or "")
    return amendment


@dataclass
class AmendmentRow:
    amendment: DemandAmendment
    line: DemandLine
    report: DemandReport
    lot: Lot
    institution: Organisation


def list_amendments(project: ProcurementProject, user) -> list[AmendmentRow]:
    """The project's amendments, newest first: all for officers and supervisors, its own for an institution."""
    query = (select(DemandAmendment, DemandLine, DemandReport, Lot, Organisation)
             .join(DemandLine, DemandLine.id == DemandAmendment.demand_line_id)
             .join(DemandReport, DemandReport.id == DemandLine.report_id)
             .join(Lot, Lot.id == DemandLine.lot_id)
             .join(Organisation, Organisation.id == DemandReport.institution_id)
             .where(DemandReport.project_id == project.id)
             .order_by(DemandAmendment.requested_at.desc(), DemandAmendment.id.desc()))
    if user.role not in (R.PROCUREMENT_OFFICER, R.SUPERVISOR):
        query = query.where(DemandReport.institution_id == user.org_id)
    return [AmendmentRow(*row) for row in db.session.execute(query).all()]


# --- committed volumes (V1) ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommittedVolumeRow:
    """An institution's committed volume for a lot: effective frozen demand summed over strengths × ratio,
    rounded half-up to whole smallest units (``volume_rounding = per_institution_half_up``)."""

    lot_id: int
    institution_id: int
    region_code: str
    winners: int
    reported_demand: Decimal
    ratio: Decimal
    committed_volume: Decimal


class CommittedVolumes(list):
    """The rows of :func:`compute_committed_volumes` (a ``list[CommittedVolumeRow]``) with their sums.

    Sums add the rounded institution volumes: the total is never rounded itself (V1).
    """

    def region_totals(self) -> dict[tuple[int, str], Decimal]:
        """(lot id, region code) → Σ committed volume of its institutions."""
        totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for row in self:
            totals[(row.lot_id, row.region_code)] += row.committed_volume
        return dict(totals)

    def national_totals(self) -> dict[int, Decimal]:
        """Lot id → Σ committed volume over every institution."""
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for row in self:
            totals[row.lot_id] += row.committed_volume
        return dict(totals)


def _ratio(value: Any, where: str) -> Decimal:
    try:
        ratio = Decimal(str(value))
    except (InvalidOperation, ValueError):
        ratio = None
    if ratio is None or not ratio.is_finite() or not 0 < ratio <= 1:
        raise DemandError("VOLUME_RATIO_INVALID", N_("The volume ratio for %(where)s must be a decimal in (0, 1], got %(value)s."),
                          params={"where": where, "value": value})
    return ratio


def compute_committed_volumes(project: ProcurementProject, winners_per_lot: dict[int, int], *,
                              ratio_overrides: dict[int, Decimal | str] | None = None) -> CommittedVolumes:
    """Committed volume per institution and lot (DOMAIN.md V1), computed after selection.

    For each lot in ``winners_per_lot`` (lot id → number of winners): every institution's effective
    frozen demand (approved amendments applied), summed over the lot's strengths, times the ratio
    for that number of winners from the FROZEN RuleSet's ``volume_ratio_table`` for the lot's
    ``drug_class`` (or ``ratio_overrides[lot_id]``, e.g. an officer's ratio in an optimised scenario),
    rounded half-up per institution to whole smallest units. A lot with 0 winners (流标) gets no rows.
    """
    from solver.rulesets import table_lookup

    ruleset = lifecycle.frozen_ruleset(project)
    if ruleset is None:
        raise DemandError("RULESET_NOT_FROZEN",
                          N_("Committed volumes use the RuleSet frozen when bidding opened; project %(code)s has none yet."),
                          params={"code": project.code})
    resolved = ruleset.resolved
    if resolved.get("volume_rounding", "per_institution_half_up") != "per_institution_half_up":
        raise DemandError("VOLUME_ROUNDING_UNKNOWN", N_("Unknown volume rounding %(value)s."),
                          params={"value": resolved.get("volume_rounding")})
    xpcc_separate = bool(resolved.get("xpcc_separate"))
    overrides = dict(ratio_overrides or {})
    lots = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
    ratios: dict[int, tuple[int, Decimal]] = {}
    for lot_id, winners in winners_per_lot.items():
        lot = lots.get(lot_id)
        if lot is None:
            raise DemandError("LOT_NOT_IN_PROJECT", N_("Lot %(lot)s is not a lot of project %(code)s."),
                              params={"lot": lot_id, "code": project.code})
        if isinstance(winners, bool) or not isinstance(winners, int) or winners < 0:
            raise DemandError("WINNERS_INVALID", N_("The number of winners of lot %(lot_no)s must be a whole number ≥ 0, got %(value)s."),
                              params={"lot_no": lot.lot_no, "value": winners})
        if winners == 0:
            continue
        if lot_id in overrides:
            ratio = _ratio(overrides[lot_id], f"lot {lot.lot_no}")
        else:
            value = table_lookup(resolved["volume_ratio_table"][lot.drug_class], winners)
            if value is None:
                raise DemandError("VOLUME_RATIO_MISSING",
                                  N_("The frozen RuleSet has no volume ratio for %(winners)s winner(s) of a %(drug_class)s lot."),
                                  params={"winners": winners, "drug_class": lot.drug_class})
            ratio = _ratio(value, f"lot {lot.lot_no}")
        ratios[lot_id] = (winners, ratio)
    rows = CommittedVolumes()
    if not ratios:
        return rows
    lines = db.session.execute(
        select(DemandLine, DemandReport.institution_id).join(DemandReport, DemandReport.id == DemandLine.report_id)
        .where(DemandReport.project_id == project.id, DemandReport.status == "frozen",
               DemandLine.lot_id.in_(list(ratios)))
        .order_by(DemandLine.lot_id, DemandReport.institution_id, DemandLine.id)).all()
    amended = effective_values([line.id for line, _ in lines])
    demand: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    regions: dict[tuple[int, int], str] = {}
    for line, institution_id in lines:
        key = (line.lot_id, institution_id)
        demand[key] += amended.get(line.id, line.reported_demand)
        region = line.region_code
        merged = REGIONS_BY_CODE.get(region).merged_into if region in REGIONS_BY_CODE else None
        regions.setdefault(key, merged if merged and not xpcc_separate else region)
    for (lot_id, institution_id), total in demand.items():
        winners, ratio = ratios[lot_id]
        rows.append(CommittedVolumeRow(
            lot_id=lot_id, institution_id=institution_id, region_code=regions[(lot_id, institution_id)],
            winners=winners, reported_demand=total, ratio=ratio,
            committed_volume=(total * ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    return rows


def store_committed_volumes(selection_run, rows: list[CommittedVolumeRow], *, actor=None) -> int:
    """Store the rows for ``selection_run`` (``CommittedVolume``), once: a run's volumes are never rewritten."""
    from app.bidding.models import CommittedVolume

    project = db.session.get(ProcurementProject, selection_run.project_id)
    if actor is not None:
        _require_project_officer(project, actor)
    lot_ids = {lot_id for lot_id in db.session.scalars(select(Lot.id).where(Lot.project_id == project.id))}
    foreign = sorted({row.lot_id for row in rows} - lot_ids)
    if foreign:
        raise DemandError("LOT_NOT_IN_PROJECT", N_("Lot %(lot)s is not a lot of project %(code)s."),
                          params={"lot": ", ".join(map(str, foreign)), "code": project.code})
    existing = db.session.scalar(select(func.count()).select_from(CommittedVolume)
                                 .where(CommittedVolume.selection_run_id == selection_run.id))
    if existing:
        raise DemandError("COMMITTED_VOLUMES_STORED",
                          N_("Committed volumes of this selection run are already stored; a new run gives new ones."))
    db.session.add_all(CommittedVolume(selection_run_id=selection_run.id, lot_id=row.lot_id,
                                       institution_id=row.institution_id, region_code=row.region_code,
                                       reported_demand=row.reported_demand, ratio=row.ratio,
                                       committed_volume=row.committed_volume) for row in rows)
    db.session.flush()
    national: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        national[row.lot_id] += row.committed_volume
    record("committed_volume.store", selection_run, summary={
        "project_id": project.id, "rows": len(rows),
        "lots": {str(lot_id): {"ratio": next(r.ratio for r in rows if r.lot_id == lot_id), "total": total}
                 for lot_id, total in sorted(national.items())}})
    return len(rows)
