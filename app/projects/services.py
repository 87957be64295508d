"""Procurement projects: creation, timeline, RuleSet versions, lots, eligible products, institutions.

Services flush and never commit, and write an audit event for every change. Changes are made by
procurement officers of the project's authority (DOMAIN.md L1); what the lifecycle has frozen is
refused to everyone (:mod:`app.projects.lifecycle`).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import exists, false, func, or_, select

from app.audit.services import record
from app.auth import roles as R
from app.catalog.models import FORM_CLASSES, Product
from app.catalog.units import PRICE_DECIMALS, parse_spec
from app.core.errors import N_
from app.extensions import db
from app.orgs.models import Organisation
from app.projects import lifecycle
from app.projects.lifecycle import ProjectError, at_or_after, effective_state
from app.projects.models import (
    DRUG_CLASSES,
    PROJECT_KINDS,
    DemandLine,
    Lot,
    LotProduct,
    ProcurementProject,
    ProjectInstitution,
    ProjectStateChange,
    RuleSetVersion,
    SystemComponent,
)
from solver.errors import FieldError, ProblemError
from solver.rulesets import RULESET_FIELDS, flatten, load_presets, resolve_ruleset

# Who reads projects (scoped by list_projects / may_view_project) and who changes them.
READER_ROLES = (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.INSTITUTION_USER, R.SUPPLIER_USER)
EDITOR_ROLES = (R.PROCUREMENT_OFFICER,)
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")


class RuleSetInvalid(ProjectError):
    """A RuleSet specification with bad fields: ``errors`` lists each with its path (``ruleset.spread_multiplier``)."""

    default_code = "RULESET_INVALID"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(self.default_code, N_("The RuleSet has %(count)s invalid field(s): %(fields)s"),
                         params={"count": len(self.errors), "fields": ", ".join(e.path for e in self.errors)})


# --- access -------------------------------------------------------------------------------------------

def _require_editor(actor, project: ProcurementProject | None = None) -> None:
    """Only procurement officers change projects; only those of the project's own authority."""
    if actor is None or actor.role not in EDITOR_ROLES:
        raise ProjectError("PROJECT_EDIT_DENIED", N_("Only procurement officers can change procurement projects."))
    if project is not None and actor.org_id != project.authority_org_id:
        raise ProjectError("PROJECT_NOT_YOURS", N_("Only officers of the project's procurement authority can change it."))


def may_edit_project(user, project: ProcurementProject) -> bool:
    return user is not None and user.role in EDITOR_ROLES and user.org_id == project.authority_org_id


def _supplier_visible_states():
    return tuple(s for s in lifecycle.ORDER if at_or_after(s, "bidding_open"))


def _visibility_filter(user):
    """The WHERE clause of the projects ``user`` may read (None: all)."""
    if user.role in (R.PROCUREMENT_OFFICER, R.SUPERVISOR):
        return None
    if user.role == R.INSTITUTION_USER:
        return exists().where(ProjectInstitution.project_id == ProcurementProject.id,
                              ProjectInstitution.institution_id == user.org_id)
    if user.role == R.SUPPLIER_USER:
        # Suppliers see a project once bidding has opened (a cancelled one too, if it had reached bidding).
        reached_bidding = exists().where(ProjectStateChange.project_id == ProcurementProject.id,
                                         ProjectStateChange.to_state == "bidding_open")
        return or_(ProcurementProject.state.in_(_supplier_visible_states()),
                   (ProcurementProject.state == "cancelled") & reached_bidding)
    return False


def list_projects(user, *, state: str | None = None, q: str | None = None) -> list[ProcurementProject]:
    """Projects ``user`` may read, newest first: officers and supervisors all; institutions the projects
    they take part in; suppliers those at or after ``bidding_open``; other roles none."""
    query = select(ProcurementProject).order_by(ProcurementProject.created_at.desc(), ProcurementProject.id.desc())
    where = _visibility_filter(user)
    if where is False:
        return []
    if where is not None:
        query = query.where(where)
    if state:
        if state == "bidding_closed":
            query = query.where(ProcurementProject.state.in_(("bidding_open", "bidding_closed")))
        else:
            query = query.where(ProcurementProject.state == state)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(ProcurementProject.name.like(like) | ProcurementProject.code.like(like))
    projects = db.session.scalars(query.limit(500)).all()
    if state in ("bidding_open", "bidding_closed"):
        projects = [p for p in projects if effective_state(p) == state]
    return projects


def may_view_project(user, project: ProcurementProject) -> bool:
    if user is None or user.role not in READER_ROLES:
        return False
    where = _visibility_filter(user)
    if where is None:
        return True
    return db.session.scalar(select(ProcurementProject.id).where(ProcurementProject.id == project.id, where)) is not None


# --- projects -----------------------------------------------------------------------------------------

_TIMELINE_FIELDS = ("demand_due_at", "bidding_opens_at", "bid_deadline", "opening_at", "cycle_start", "cycle_end")
# The last (effective) state in which each timeline field may still change.
_TIMELINE_EDITABLE_UNTIL = {
    "demand_due_at": "demand_collection",
    "bidding_opens_at": "demand_frozen",
    "bid_deadline": "bidding_open",  # in bidding_open only postponed (and only before it passes)
    "opening_at": "bidding_closed",
    "cycle_start": "award_proposed",
    "cycle_end": "award_proposed",
}
# Timeline order: each pair (earlier, later) must hold when both are set.
_TIMELINE_ORDER = (("demand_due_at", "bidding_opens_at"), ("demand_due_at", "bid_deadline"),
                   ("bidding_opens_at", "bid_deadline"), ("bid_deadline", "opening_at"), ("cycle_start", "cycle_end"))


def _check_moment(name: str, value: Any) -> None:
    if value is None:
        return
    if name.startswith("cycle_"):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise TypeError(f"{name} must be a date")
    elif not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime (stored UTC, DOMAIN.md P-4)")


def _check_timeline_order(values: dict[str, Any]) -> None:
    for earlier, later in _TIMELINE_ORDER:
        a, b = values.get(earlier), values.get(later)
        if a is not None and b is not None and b < a:
            raise ProjectError("TIMELINE_ORDER", N_("%(later)s cannot be before %(earlier)s."),
                               params={"later": later, "earlier": earlier})


def create_project(*, actor, code: str, name: str, kind: str = "national", preset: str | None = None,
                   overrides: dict | None = None, **timeline: Any) -> ProcurementProject:
    """A new project in ``draft`` owned by the officer's procurement authority (and RuleSet v1 if ``preset``)."""
    _require_editor(actor)
    code = (code or "").strip().upper()
    if not _CODE_RE.match(code):
        raise ProjectError("PROJECT_CODE_INVALID",
                           N_("The project code must be 1 to 32 letters, digits, dots, dashes or underscores, got %(code)s."),
                           params={"code": code})
    if db.session.scalar(select(ProcurementProject.id).where(ProcurementProject.code == code)) is not None:
        raise ProjectError("PROJECT_CODE_TAKEN", N_("A project with the code %(code)s already exists."), params={"code": code})
    name = (name or "").strip()
    if not name:
        raise ProjectError("PROJECT_NAME_REQUIRED", N_("The project needs a name."))
    if kind not in PROJECT_KINDS:
        raise ProjectError("UNKNOWN_PROJECT_KIND", N_("Unknown project kind %(kind)s."), params={"kind": kind})
    unknown = set(timeline) - set(_TIMELINE_FIELDS)
    if unknown:
        raise TypeError(f"unknown timeline fields {sorted(unknown)}")
    for field_name, value in timeline.items():
        _check_moment(field_name, value)
    _check_timeline_order(timeline)
    project = ProcurementProject(code=code, name=name, kind=kind, state="draft", authority_org_id=actor.org_id,
                                 created_by_id=actor.id, **timeline)
    db.session.add(project)
    db.session.flush()
    record("project.create", project, summary={"code": code, "name": name, "kind": kind, **timeline})
    if preset is not None:
        set_ruleset(project, preset, overrides or {}, actor=actor)
    return project


def update_project_timeline(project: ProcurementProject, *, actor, now: dt.datetime | None = None,
                            **changes: Any) -> list[str]:
    """Change timeline fields (aware UTC datetimes; ``cycle_*`` dates); returns the names that changed.

    A field can change until its stage has passed: the demand deadline until demand is frozen, the
    bid deadline until bidding opens (then only postponed, to a later time still in the future,
    while bidding is open), the opening time until the opening, the cycle until the award is
    published. The order demand due ≤ bidding opens ≤ bid deadline ≤ opening must hold.
    """
    _require_editor(actor, project)
    now = lifecycle.server_now(now)
    unknown = set(changes) - set(_TIMELINE_FIELDS)
    if unknown:
        raise TypeError(f"unknown timeline fields {sorted(unknown)}")
    for field_name, value in changes.items():
        _check_moment(field_name, value)
    changed = {k: v for k, v in changes.items() if getattr(project, k) != v}
    if not changed:
        return []
    state = effective_state(project, now)
    if state in lifecycle.TERMINAL:
        raise lifecycle.terminal_error(state)
    for field_name, value in changed.items():
        if not (state in lifecycle.ORDER and lifecycle.ORDER.index(state) <= lifecycle.ORDER.index(
                _TIMELINE_EDITABLE_UNTIL[field_name])):
            raise lifecycle.ProjectFrozen("TIMELINE_FROZEN", N_("%(field)s can no longer change: the project is %(state)s."),
                                          params={"field": field_name, "state": state})
    if "bid_deadline" in changed and state == "bidding_open":
        new = changed["bid_deadline"]
        if new is None or new <= project.bid_deadline or new <= now:
            raise ProjectError("DEADLINE_ONLY_POSTPONED",
                               N_("While bidding is open the bid deadline can only be postponed, to a later time in the future."))
    if "demand_due_at" in changed and state == "demand_collection":
        new = changed["demand_due_at"]
        if new is None or new <= now:
            raise ProjectError("DEMAND_DUE_PASSED", N_("The demand reporting deadline %(time)s (Beijing time) is not in the future."),
                               params={"time": lifecycle.beijing(new)})
    merged = {k: getattr(project, k) for k in _TIMELINE_FIELDS}
    merged.update(changed)
    _check_timeline_order(merged)
    before = {k: getattr(project, k) for k in changed}
    lifecycle.sync_state(project, now)
    for field_name, value in changed.items():
        setattr(project, field_name, value)
    db.session.flush()
    record("project.timeline", project, summary={"before": before, "after": changed})
    return sorted(changed)


# --- RuleSet ------------------------------------------------------------------------------------------

def preset_names() -> list[str]:
    return list(load_presets())


def _flat_overrides(overrides: dict) -> dict[str, Any]:
    """Overrides as dotted field names (a group may be given nested)."""
    flat: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and any(name.startswith(key + ".") for name in RULESET_FIELDS):
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[key] = value
    return flat


def set_ruleset(project: ProcurementProject, preset: str, overrides: dict | None, actor, *,
                now: dt.datetime | None = None) -> RuleSetVersion:
    """Record a new RuleSet version: ``preset`` plus ``overrides``, resolved and checked field by field.

    Refused once bidding has opened (L3), to everyone. Bad fields raise :class:`RuleSetInvalid`
    with each path. An unchanged specification returns the current version without a new one.
    """
    lifecycle.ensure_setup_editable(project, "ruleset", now)
    _require_editor(actor, project)
    overrides = _flat_overrides(overrides or {})
    try:
        resolved = resolve_ruleset({"preset": preset, **overrides})
    except ProblemError as exc:
        raise RuleSetInvalid(exc.errors) from None
    current = lifecycle.latest_ruleset(project)
    if current is not None and current.preset == preset and (current.overrides or {}) == overrides:
        return current
    version = RuleSetVersion(project_id=project.id, version=(current.version + 1) if current else 1, preset=preset,
                             overrides=overrides, resolved=resolved, created_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    record("project.ruleset", project, summary={"version": version.version, "preset": preset, "overrides": overrides})
    return version


_BARE_VALUE_RE = re.compile(r"^[A-Za-z0-9_.+\-:]+$")


def format_override_value(value: Any) -> str:
    """An override value as typed on a ``key = value`` line (bare words and decimals unquoted)."""
    if isinstance(value, str) and _BARE_VALUE_RE.match(value) and value not in ("true", "false", "null"):
        try:
            json.loads(value)
        except ValueError:
            return value
        if re.match(r"^[0-9]+(\.[0-9]+)?$", value):
            return value  # a decimal string: typed bare, read back as a string (never a float)
    return json.dumps(value, ensure_ascii=False)


def format_overrides(overrides: dict) -> str:
    return "\n".join(f"{key} = {format_override_value(value)}" for key, value in sorted((overrides or {}).items()))


@dataclass
class OverrideLineError:
    line: int
    text: str


def parse_override_lines(text: str) -> tuple[dict[str, Any], list[OverrideLineError]]:
    """``key = value`` lines (``#`` comments, blank lines ignored) into overrides.

    Values are JSON (``true``, ``null``, ``[[1, 1, "0.5"]]``) with decimals kept as strings (never
    float, DOMAIN.md P-2), or bare text for enum values (``spread_rule = none``). A decimal field
    accepts a bare number (``spread_multiplier = 1.8`` gives ``"1.8"``).
    """
    overrides: dict[str, Any] = {}
    errors: list[OverrideLineError] = []
    for number, raw_line in enumerate((text or "").splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            errors.append(OverrideLineError(number, raw_line))
            continue
        candidates = []
        try:
            candidates.append(json.loads(raw, parse_float=str))
        except ValueError:
            pass
        if raw:
            candidates.append(raw)
        if not candidates:
            errors.append(OverrideLineError(number, raw_line))
            continue
        spec = RULESET_FIELDS.get(key)
        chosen = candidates[0]
        if spec is not None:
            chosen = next((c for c in candidates if spec.check(c) is None), candidates[0])
        overrides[key] = chosen
    return overrides, errors


def ruleset_rows(version: RuleSetVersion | None) -> list[dict[str, Any]]:
    """Every RuleSet field with its preset value, resolved value and whether it is overridden."""
    if version is None:
        return []
    preset = flatten(load_presets().get(version.preset, {}))
    resolved = flatten(version.resolved or {})
    overrides = version.overrides or {}
    return [{"name": name, "source": spec.source, "preset": preset.get(name), "value": resolved.get(name),
             "overridden": name in overrides} for name, spec in RULESET_FIELDS.items()]


# --- lots ---------------------------------------------------------------------------------------------

def parse_money(value: Any, field_name: str, *, required: bool = False) -> Decimal | None:
    """A positive price per smallest unit with at most 6 decimals (DOMAIN.md P-2), from Decimal or text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ProjectError("MONEY_REQUIRED", N_("%(field)s is required."), params={"field": field_name})
        return None
    if isinstance(value, float):
        raise TypeError("money must be Decimal or text, never float (DOMAIN.md P-2)")
    text = value.strip().replace(",", "") if isinstance(value, str) else value
    try:
        amount = text if isinstance(text, Decimal) else Decimal(str(text))
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise ProjectError("MONEY_INVALID", N_("%(field)s must be a decimal number such as 0.150714, got %(value)s."),
                           params={"field": field_name, "value": value}) from None
    if amount <= 0:
        raise ProjectError("MONEY_NOT_POSITIVE", N_("%(field)s must be greater than zero, got %(value)s."),
                           params={"field": field_name, "value": value})
    if amount.as_tuple().exponent < -PRICE_DECIMALS:
        raise ProjectError("MONEY_TOO_PRECISE", N_("%(field)s has more than %(places)s decimal places: %(value)s."),
                           params={"field": field_name, "places": PRICE_DECIMALS, "value": value})
    if amount >= Decimal(10) ** 12:
        raise ProjectError("MONEY_INVALID", N_("%(field)s must be a decimal number such as 0.150714, got %(value)s."),
                           params={"field": field_name, "value": value})
    return amount


_LOT_FIELDS = ("lot_no", "name", "generic_name", "form_group", "form_class", "drug_class", "representative_spec",
               "ceiling_ucp", "pre_procurement_ucp")


def _lot_values(project: ProcurementProject, values: dict[str, Any], lot: Lot | None = None) -> dict[str, Any]:
    """Check and normalise lot fields (only those given)."""
    out: dict[str, Any] = {}
    if "lot_no" in values:
        lot_no = values["lot_no"]
        if isinstance(lot_no, bool) or not isinstance(lot_no, int) or lot_no < 1:
            raise ProjectError("LOT_NO_INVALID", N_("The lot number must be a positive whole number, got %(value)s."),
                               params={"value": lot_no})
        clash = select(Lot.id).where(Lot.project_id == project.id, Lot.lot_no == lot_no)
        if lot is not None:
            clash = clash.where(Lot.id != lot.id)
        if db.session.scalar(clash) is not None:
            raise ProjectError("LOT_NO_TAKEN", N_("The project already has a lot number %(lot_no)s."), params={"lot_no": lot_no})
        out["lot_no"] = lot_no
    for key, limit in (("generic_name", 120), ("form_group", 64), ("name", 200)):
        if key in values:
            text = (values[key] or "").strip()
            if key != "name" and not text:
                raise ProjectError("LOT_FIELD_REQUIRED", N_("%(field)s is required."), params={"field": key})
            if len(text) > limit:
                raise ProjectError("LOT_FIELD_TOO_LONG", N_("%(field)s is longer than %(limit)s characters."),
                                   params={"field": key, "limit": limit})
            out[key] = text
    if "form_class" in values:
        if values["form_class"] not in FORM_CLASSES:
            raise ProjectError("UNKNOWN_FORM_CLASS", N_("Unknown dosage-form class %(value)s."),
                               params={"value": values["form_class"]})
        out["form_class"] = values["form_class"]
    if "drug_class" in values:
        if values["drug_class"] not in DRUG_CLASSES:
            raise ProjectError("UNKNOWN_DRUG_CLASS", N_("Unknown drug class %(value)s."), params={"value": values["drug_class"]})
        out["drug_class"] = values["drug_class"]
    if "representative_spec" in values:
        text = (values["representative_spec"] or "").strip()
        spec = parse_spec(text)  # InvalidSpec (a DomainError) names the text
        if spec.strength_value is None and spec.fill_volume_ml is None:
            raise ProjectError("REP_SPEC_NO_AMOUNT",
                               N_("The representative specification %(text)s gives neither a strength nor a fill volume."),
                               params={"text": text})
        out.update(representative_spec=text, rep_strength_value=spec.strength_value,
                   rep_strength_unit=spec.strength_unit, rep_fill_volume_ml=spec.fill_volume_ml)
    if "ceiling_ucp" in values:
        out["ceiling_ucp"] = parse_money(values["ceiling_ucp"], "ceiling_ucp")
    if "pre_procurement_ucp" in values:
        out["pre_procurement_ucp"] = parse_money(values["pre_procurement_ucp"], "pre_procurement_ucp")
    return out


def add_lot(project: ProcurementProject, *, actor, lot_no: int, generic_name: str, form_group: str,
            representative_spec: str, name: str | None = None, form_class: str = "oral_solid",
            drug_class: str = "chemical", ceiling_ucp: Decimal | str | None = None,
            pre_procurement_ucp: Decimal | str | None = None, now: dt.datetime | None = None) -> Lot:
    """A new lot (品种). The ceiling is the max valid price per smallest unit of the representative
    strength (W1); it may be left empty in draft but every lot needs one before bidding opens."""
    lifecycle.ensure_setup_editable(project, "lots", now)
    _require_editor(actor, project)
    values = _lot_values(project, dict(lot_no=lot_no, name=name, generic_name=generic_name, form_group=form_group,
                                       form_class=form_class, drug_class=drug_class,
                                       representative_spec=representative_spec, ceiling_ucp=ceiling_ucp,
                                       pre_procurement_ucp=pre_procurement_ucp))
    values["name"] = values["name"] or values["generic_name"] + values["form_group"]
    lot = Lot(project_id=project.id, kind="single", status="open", **values)
    db.session.add(lot)
    db.session.flush()
    record("lot.create", lot, summary={"project_id": project.id, **{k: v for k, v in values.items() if v is not None}})
    return lot


def update_lot(lot: Lot, *, actor, now: dt.datetime | None = None, **changes: Any) -> list[str]:
    """Change lot fields (any of lot_no, name, generic_name, form_group, form_class, drug_class,
    representative_spec, ceiling_ucp, pre_procurement_ucp); returns the names that changed."""
    project = lot.project
    lifecycle.ensure_setup_editable(project, "lots", now)
    _require_editor(actor, project)
    unknown = set(changes) - set(_LOT_FIELDS)
    if unknown:
        raise TypeError(f"unknown lot fields {sorted(unknown)}")
    values = _lot_values(project, changes, lot)
    if "name" in values and not values["name"]:
        values["name"] = values.get("generic_name", lot.generic_name) + values.get("form_group", lot.form_group)
    changed = {k: v for k, v in values.items() if getattr(lot, k) != v}
    if not changed:
        return []
    before = {k: getattr(lot, k) for k in changed}
    for key, value in changed.items():
        setattr(lot, key, value)
    db.session.flush()
    record("lot.update", lot, summary={"project_id": project.id, "before": before, "after": changed})
    return sorted(changed)


def remove_lot(lot: Lot, *, actor, now: dt.datetime | None = None) -> None:
    """Delete a lot before bidding opens; a lot with reported demand cannot be removed."""
    project = lot.project
    lifecycle.ensure_setup_editable(project, "lots", now)
    _require_editor(actor, project)
    if db.session.scalar(select(DemandLine.id).where(DemandLine.lot_id == lot.id).limit(1)) is not None:
        raise ProjectError("LOT_HAS_DEMAND", N_("Lot %(lot_no)s has reported demand and cannot be removed."),
                           params={"lot_no": lot.lot_no})
    summary = {"project_id": project.id, "lot_no": lot.lot_no, "name": lot.name}
    lot_id = lot.id
    for model in (LotProduct, SystemComponent):
        for row in db.session.scalars(select(model).where(model.lot_id == lot_id)):
            db.session.delete(row)
    db.session.delete(lot)
    db.session.flush()
    record("lot.remove", object_type="Lot", object_id=lot_id, summary=summary)


def eligible_product_ids(lot: Lot) -> list[int]:
    return list(db.session.scalars(select(LotProduct.product_id).where(LotProduct.lot_id == lot.id)
                                   .order_by(LotProduct.product_id)))


def set_eligible_products(lot: Lot, product_ids, *, actor, now: dt.datetime | None = None) -> list[int]:
    """Make exactly ``product_ids`` (active catalog products) quotable in ``lot``; frozen from bidding_open."""
    project = lot.project
    lifecycle.ensure_setup_editable(project, "products", now)
    _require_editor(actor, project)
    wanted = sorted({int(pid) for pid in product_ids})
    found = dict(db.session.execute(select(Product.id, Product.status).where(Product.id.in_(wanted))).all()) if wanted else {}
    missing = [pid for pid in wanted if pid not in found]
    if missing:
        raise ProjectError("UNKNOWN_PRODUCT", N_("No catalog product with id %(ids)s."),
                           params={"ids": ", ".join(map(str, missing))})
    inactive = [pid for pid in wanted if found[pid] != "active"]
    if inactive:
        raise ProjectError("PRODUCT_NOT_ACTIVE", N_("Product(s) %(ids)s are not active in the catalog."),
                           params={"ids": ", ".join(map(str, inactive))})
    current = set(eligible_product_ids(lot))
    added, removed = sorted(set(wanted) - current), sorted(current - set(wanted))
    if not added and not removed:
        return wanted
    for row in db.session.scalars(select(LotProduct).where(LotProduct.lot_id == lot.id, LotProduct.product_id.in_(removed))):
        db.session.delete(row)
    db.session.add_all(LotProduct(lot_id=lot.id, product_id=pid) for pid in added)
    db.session.flush()
    record("lot.products", lot, summary={"project_id": project.id, "added": added, "removed": removed})
    return wanted


def candidate_products(lot: Lot, limit: int = 300) -> list[Product]:
    """Active catalog products whose generic name contains the lot's, plus those already eligible."""
    current = eligible_product_ids(lot)
    query = select(Product).where(
        or_(Product.id.in_(current) if current else false(),
            (Product.status == "active") & Product.generic_name.like(f"%{lot.generic_name}%"))
    ).order_by(Product.generic_name, Product.spec, Product.id).limit(limit)
    return db.session.scalars(query).all()


# --- institutions -------------------------------------------------------------------------------------

def project_institutions(project: ProcurementProject) -> list[Organisation]:
    return db.session.scalars(
        select(Organisation).join(ProjectInstitution, ProjectInstitution.institution_id == Organisation.id)
        .where(ProjectInstitution.project_id == project.id).order_by(Organisation.region_code, Organisation.name)
    ).all()


def add_institutions(project: ProcurementProject, institution_ids, *, actor, now: dt.datetime | None = None) -> list[int]:
    """Add medical institutions to the project (until demand is frozen); returns the ids newly added."""
    lifecycle.ensure_institutions_editable(project, now)
    _require_editor(actor, project)
    wanted = sorted({int(i) for i in institution_ids})
    kinds = dict(db.session.execute(select(Organisation.id, Organisation.kind).where(Organisation.id.in_(wanted))).all()) if wanted else {}
    bad = [i for i in wanted if kinds.get(i) != "medical_institution"]
    if bad:
        raise ProjectError("NOT_AN_INSTITUTION", N_("Organisation(s) %(ids)s are not medical institutions."),
                           params={"ids": ", ".join(map(str, bad))})
    present = set(db.session.scalars(select(ProjectInstitution.institution_id)
                                     .where(ProjectInstitution.project_id == project.id)))
    added = [i for i in wanted if i not in present]
    if not added:
        return []
    db.session.add_all(ProjectInstitution(project_id=project.id, institution_id=i) for i in added)
    db.session.flush()
    record("project.institutions", project, summary={"added": added})
    return added


def candidate_institutions(project: ProcurementProject, q: str | None = None, limit: int = 200) -> list[Organisation]:
    present = select(ProjectInstitution.institution_id).where(ProjectInstitution.project_id == project.id)
    query = select(Organisation).where(Organisation.kind == "medical_institution", Organisation.active.is_(True),
                                       Organisation.id.not_in(present))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(Organisation.name.like(like) | Organisation.region_code.like(like))
    return db.session.scalars(query.order_by(Organisation.region_code, Organisation.name).limit(limit)).all()


# --- reading ------------------------------------------------------------------------------------------

def state_history(project: ProcurementProject) -> list[ProjectStateChange]:
    return db.session.scalars(select(ProjectStateChange).where(ProjectStateChange.project_id == project.id)
                              .order_by(ProjectStateChange.at, ProjectStateChange.id)).all()


def ruleset_versions(project: ProcurementProject) -> list[RuleSetVersion]:
    return db.session.scalars(select(RuleSetVersion).where(RuleSetVersion.project_id == project.id)
                              .order_by(RuleSetVersion.version.desc())).all()


def project_lots(project: ProcurementProject) -> list[Lot]:
    return db.session.scalars(select(Lot).where(Lot.project_id == project.id).order_by(Lot.lot_no)).all()


def lot_counts(project_ids: list[int]) -> dict[int, int]:
    """Project id → number of lots, in one query."""
    if not project_ids:
        return {}
    return dict(db.session.execute(select(Lot.project_id, func.count()).where(Lot.project_id.in_(project_ids))
                                   .group_by(Lot.project_id)).all())


def project_summary(project: ProcurementProject, now: dt.datetime | None = None) -> dict[str, Any]:
    """A plain summary of the project: state (persisted and effective), timeline, lots, RuleSet, institutions."""
    lots = project_lots(project)
    counts = dict(db.session.execute(
        select(LotProduct.lot_id, func.count()).where(LotProduct.lot_id.in_([lot.id for lot in lots]))
        .group_by(LotProduct.lot_id)).all()) if lots else {}
    ruleset = lifecycle.latest_ruleset(project)
    institutions = db.session.scalar(select(func.count()).select_from(ProjectInstitution)
                                     .where(ProjectInstitution.project_id == project.id))
    return {
        "id": project.id,
        "code": project.code,
        "name": project.name,
        "kind": project.kind,
        "authority_org_id": project.authority_org_id,
        "state": project.state,
        "effective_state": effective_state(project, now),
        "cancelled_reason": project.cancelled_reason,
        "timeline": {k: getattr(project, k) for k in _TIMELINE_FIELDS},
        "lots": [{"id": lot.id, "lot_no": lot.lot_no, "name": lot.name, "generic_name": lot.generic_name,
                  "form_group": lot.form_group, "form_class": lot.form_class, "drug_class": lot.drug_class,
                  "representative_spec": lot.representative_spec, "ceiling_ucp": lot.ceiling_ucp,
                  "eligible_products": counts.get(lot.id, 0), "status": lot.status} for lot in lots],
        "lots_without_ceiling": [lot.lot_no for lot in lots if lot.ceiling_ucp is None],
        "institutions": institutions,
        "ruleset": None if ruleset is None else {
            "version": ruleset.version, "preset": ruleset.preset, "overrides": dict(ruleset.overrides or {}),
            "frozen_at": ruleset.frozen_at, "id": ruleset.id},
    }
