"""Sealed spreadsheet bidding (报价与开标): qualifications, the key ceremony, quotes, the opening.

Services flush and never commit (the request commits once), write an audit event for every change
and enforce roles and project states themselves, for every caller.

The seal (DOMAIN.md L2) in one paragraph: the key ceremony that opens bidding creates the round's
opening key pair; its private half is stored only encrypted under the officer's and the witness's
secrets together (:mod:`app.bidding.sealing`). An uploaded quote file and its parsed lines are
sealed to the public half before anything is written, so the database holds ciphertext, the file's
SHA-256, the line count, the lots covered and times, nothing else. The supplier sees its own
prices once, in the response to its upload (the over-ceiling warnings, computed from the file in
that request). Audit events about quotes carry hashes, counts and times only (``sealed=True``).
At the opening both secrets are entered together, every current quote is unsealed (hash checked)
into :class:`~app.bidding.models.Bid` rows, the opening record lists every version with its hash,
and the project moves to ``opened``; bids never change afterwards (an ORM guard refuses it).

The deadline is the server clock's (P-4): checked when the quote is parsed, right before the
flush, and again at commit time (a ``before_commit`` guard): a quote whose commit would land at or
after ``bid_deadline`` stores nothing, and the refusal is written in its own transaction
(``BID_AFTER_DEADLINE``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.audit.services import append_event, record, record_refusal
from app.auth import roles as R
from app.auth.models import User
from app.auth.security import verify_password
from app.bidding.models import (
    QUALIFICATION_KINDS,
    Bid,
    OpeningKey,
    OpeningRecord,
    QualificationDocument,
    QuoteSubmission,
    QuoteSubmissionLot,
)
from app.bidding.sealing import (
    OpeningSecretsRejected,
    SealBroken,
    create_opening_key,
    deserialise_payload,
    public_key_fingerprint,
    quote_aad,
    seal,
    serialise_payload,
    unlock_private_key,
    unseal,
)
from app.catalog.models import Product
from app.catalog.units import PRICE_DECIMALS, unit_comparable_price, unit_price
from app.core.db import utcnow
from app.core.errors import N_, DomainError, UnknownRegion
from app.core.tx import remember_after_rollback
from app.credit.services import supplier_block
from app.documents.models import StoredDocument
from app.extensions import db
from app.orgs.models import Organisation
from app.projects import lifecycle
from app.projects.lifecycle import BEIJING, ProjectError, effective_state, server_now
from app.projects.models import Lot, LotProduct, ProcurementProject
from app.projects.services import may_view_project
from app.regions.names import resolve_region
from app.spreadsheets import CellError, Notice, SpreadsheetError, build_template, read_tables
from app.spreadsheets.messages import msg
from app.spreadsheets.spec import Limits, MiB, normalize_token
from app.spreadsheets.specs import QUOTE_REGIONS, QUOTES
from app.spreadsheets.template import TemplateSheet

ROUND_NO = 1  # the first bidding; negotiation rounds (§7) come later
TEMPLATE_KIND = "quotes"
TEMPLATE_VERSION = 1
QUOTE_MAX_BYTES = 20 * MiB
DOCUMENT_MAX_BYTES = 20 * MiB
QUOTE_LIMITS = Limits(max_bytes=QUOTE_MAX_BYTES, max_rows=5_000, max_uncompressed_bytes=200 * MiB)
# Wrong passwords or secrets at a ceremony, per project, before a cool-down (config may override).
CEREMONY_MAX_FAILURES = 5
CEREMONY_COOLDOWN_MINUTES = 15
_READONLY_TEMPLATE_COLUMNS = ("project_code", "lot_no", "supplier_uscc", "nhsa_code", "spec")
_SUPPLIER_FILLED = ("pack_price", "declared_capacity", "supplier_capacity", "tier1_min_qty", "tier1_pack_price",
                    "tier2_min_qty", "tier2_pack_price", "tier3_min_qty", "tier3_pack_price", "bundle_id",
                    "bundle_discount")
_QUOTED_REQUIRED = ("pack_price", "pack_qty", "declared_capacity")
_SEALED_READERS = (R.PROCUREMENT_OFFICER, R.SUPERVISOR)
_QUANTITY_PLACES = 4  # Quantity() columns keep 4 decimals

# The upload reads the canonical quote format (DOMAIN.md §12 (d)). A template row the supplier
# leaves without price and capacity is a product it does not quote: so price, pack quantity and
# capacity are required per quoted row (checked below, same codes), not by the engine per row.
QUOTES_UPLOAD = dataclasses.replace(
    QUOTES, columns=tuple(dataclasses.replace(c, required=False) if c.key in _QUOTED_REQUIRED else c
                          for c in QUOTES.columns))


# --- errors ------------------------------------------------------------------------------------------

class BiddingError(DomainError):
    """A refused bidding action; the code says which."""

    default_code = "BIDDING_ERROR"


class BidAfterDeadline(BiddingError):
    """A quote (or withdrawal) whose commit would land at or after ``bid_deadline`` (DOMAIN.md L2)."""

    default_code = "BID_AFTER_DEADLINE"

    def __init__(self, deadline: dt.datetime | None) -> None:
        super().__init__(self.default_code,
                         N_("The bid deadline (%(time)s, Beijing time) has passed by the server clock: nothing was "
                            "stored. Quotes can no longer be submitted, replaced or withdrawn."),
                         params={"time": lifecycle.beijing(deadline)})


class QuoteFileRejected(BiddingError):
    """The quote file has format errors: nothing stored. ``errors`` are cell errors with locations;
    ``file_error`` a whole-file problem (a :class:`~app.spreadsheets.SpreadsheetError`)."""

    default_code = "QUOTE_FILE_REJECTED"

    def __init__(self, errors: Iterable[CellError] = (), file_error: SpreadsheetError | None = None,
                 notices: Iterable[Notice] = ()) -> None:
        self.errors = list(errors)
        self.file_error = file_error
        self.notices = list(notices)
        super().__init__(self.default_code,
                         N_("The quote file was not accepted (%(count)s problem(s)); nothing was stored. Correct the "
                            "cells listed and upload the file again."),
                         params={"count": len(self.errors) or 1})


class BidsReadOnly(RuntimeError):
    """A revealed bid is never changed (P-3): a revision is a new row in a negotiation round."""


# --- small helpers -----------------------------------------------------------------------------------

def beijing_date(moment: dt.datetime) -> dt.date:
    """The calendar day in China of a UTC moment (qualification expiry, credit ratings)."""
    return moment.astimezone(BEIJING).date()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _setting(name: str, default: Any) -> Any:
    try:
        return current_app.config.get(name, default)
    except RuntimeError:  # no application context
        return default


def _is_supplier(user) -> bool:
    return user is not None and user.role == R.SUPPLIER_USER and user.org is not None and user.org.kind == "supplier"


def _require_supplier(actor) -> None:
    if not _is_supplier(actor):
        raise BiddingError("SUPPLIER_ONLY", N_("Only users of a supplier (生产企业/上市许可持有人) can do this."))


def _require_officer(actor, project: ProcurementProject | None = None) -> None:
    if actor is None or actor.role != R.PROCUREMENT_OFFICER:
        raise BiddingError("OFFICER_ONLY", N_("Only procurement officers can do this."))
    if project is not None and actor.org_id != project.authority_org_id:
        raise BiddingError("PROJECT_NOT_YOURS", N_("Only officers of the project's procurement authority can change it."))


def may_read_sealed_counts(user) -> bool:
    """Officers and supervisors see counts and file hashes of sealed quotes; nobody sees more (L2)."""
    return user is not None and user.role in _SEALED_READERS


def _lock(project: ProcurementProject) -> None:
    """One quote write, ceremony or opening at a time per project (a row lock on PostgreSQL)."""
    db.session.flush()
    db.session.refresh(project, with_for_update=True)


def project_ruleset(project: ProcurementProject) -> dict:
    """The RuleSet that applies to bidding: frozen at ``bidding_open`` (L3), else the latest."""
    version = lifecycle.frozen_ruleset(project) or lifecycle.latest_ruleset(project)
    return dict(version.resolved) if version is not None else {}


def project_province(project: ProcurementProject) -> str | None:
    """The province a provincial or municipal project covers (its authority's); None when it spans several."""
    if project.kind not in ("provincial", "municipal"):
        return None
    authority = db.session.get(Organisation, project.authority_org_id)
    code = authority.region_code if authority is not None else None
    return code[:2] + "0000" if code else None


def _who(actor) -> dict[str, Any]:
    from app.auth.security import client_address

    return {"user_id": getattr(actor, "id", None), "username": getattr(actor, "username", None),
            "org_id": getattr(actor, "org_id", None),
            "remote_addr": client_address() if has_request_context() else None}


# --- 1. qualifications -------------------------------------------------------------------------------

def upload_qualification(*, actor, kind: str, title: str, file_bytes: bytes, filename: str,
                         content_type: str | None = None, issued_on: dt.date | None = None,
                         expires_on: dt.date | None = None, now: dt.datetime | None = None) -> QualificationDocument:
    """A supplier uploads a qualification document (licence, registration, …), pending an officer's review."""
    _require_supplier(actor)
    now = server_now(now)
    if kind not in QUALIFICATION_KINDS:
        raise BiddingError("QUALIFICATION_KIND_UNKNOWN", N_("Unknown qualification kind %(kind)s."), params={"kind": kind})
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise BiddingError("QUALIFICATION_TITLE", N_("Give the document a title of 1 to 200 characters."))
    if not file_bytes:
        raise BiddingError("DOCUMENT_EMPTY", N_("The document file is empty: choose the file again."))
    if len(file_bytes) > DOCUMENT_MAX_BYTES:
        raise BiddingError("DOCUMENT_TOO_LARGE", N_("The document is larger than %(limit)s MB."),
                           params={"limit": DOCUMENT_MAX_BYTES // MiB})
    today = beijing_date(now)
    if issued_on is not None and issued_on > today:
        raise BiddingError("QUALIFICATION_NOT_ISSUED", N_("The issue date %(date)s is in the future."),
                           params={"date": issued_on.isoformat()})
    if issued_on is not None and expires_on is not None and expires_on < issued_on:
        raise BiddingError("QUALIFICATION_DATES", N_("The expiry date cannot be before the issue date."))
    if expires_on is not None and expires_on < today:
        raise BiddingError("QUALIFICATION_EXPIRED", N_("The document expired on %(date)s: upload a valid one."),
                           params={"date": expires_on.isoformat()})
    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:255] or "document"
    sha = _sha256(file_bytes)
    document = StoredDocument(sha256=sha, filename=name, content_type=(content_type or "application/octet-stream")[:127],
                              size=len(file_bytes), content=file_bytes, owner_org_id=actor.org_id,
                              uploaded_by_id=actor.id, uploaded_at=now)
    db.session.add(document)
    db.session.flush()
    doc = QualificationDocument(supplier_org_id=actor.org_id, kind=kind, title=title, document_id=document.id,
                                issued_on=issued_on, expires_on=expires_on, status="pending", submitted_at=now)
    db.session.add(doc)
    db.session.flush()
    record("qualification.upload", doc, summary={"kind": kind, "title": title, "sha256": sha, "size": len(file_bytes),
                                                 "issued_on": issued_on, "expires_on": expires_on})
    return doc


def review_qualification(doc: QualificationDocument, *, actor, approve: bool, note: str | None = None,
                         now: dt.datetime | None = None) -> QualificationDocument:
    """An officer approves or rejects a pending document (a rejection needs a note saying why)."""
    _require_officer(actor)
    now = server_now(now)
    if doc.status != "pending":
        raise BiddingError("QUALIFICATION_REVIEWED", N_("This document was already reviewed (%(status)s)."),
                           params={"status": doc.status})
    note = (note or "").strip() or None
    if not approve and not note:
        raise BiddingError("REVIEW_NOTE_REQUIRED", N_("Say why the document is rejected, so the supplier can correct it."))
    if doc.expires_on is not None and approve and doc.expires_on < beijing_date(now):
        raise BiddingError("QUALIFICATION_EXPIRED", N_("The document expired on %(date)s: upload a valid one."),
                           params={"date": doc.expires_on.isoformat()})
    doc.status = "approved" if approve else "rejected"
    doc.reviewed_by_id, doc.reviewed_at, doc.review_note = actor.id, now, note
    db.session.flush()
    record("qualification.review", doc, summary={"decision": doc.status, "note": note,
                                                 "supplier_org_id": doc.supplier_org_id})
    return doc


def has_valid_qualifications(supplier: Organisation | int, on: dt.date) -> bool:
    """Whether the supplier holds an approved qualification document in force on ``on`` (a Beijing day)."""
    org_id = supplier if isinstance(supplier, int) else supplier.id
    query = select(QualificationDocument.id).where(
        QualificationDocument.supplier_org_id == org_id,
        QualificationDocument.status == "approved",
        (QualificationDocument.expires_on.is_(None)) | (QualificationDocument.expires_on >= on),
        (QualificationDocument.issued_on.is_(None)) | (QualificationDocument.issued_on <= on),
    ).limit(1)
    return db.session.scalar(query) is not None


def list_qualifications(user, *, status: str | None = None) -> list[QualificationDocument]:
    """Officers and supervisors: every supplier's documents (pending first); a supplier: its own."""
    query = select(QualificationDocument)
    if user.role in _SEALED_READERS:
        pass
    elif _is_supplier(user):
        query = query.where(QualificationDocument.supplier_org_id == user.org_id)
    else:
        return []
    if status:
        query = query.where(QualificationDocument.status == status)
    pending_first = (QualificationDocument.status != "pending")
    return db.session.scalars(query.order_by(pending_first, QualificationDocument.submitted_at.desc(),
                                             QualificationDocument.id.desc()).limit(500)).all()


def get_qualification(user, qualification_id: int) -> QualificationDocument | None:
    """The document if ``user`` may read it (officers, supervisors, the owning supplier), else None."""
    doc = db.session.get(QualificationDocument, qualification_id)
    if doc is None:
        return None
    if user.role in _SEALED_READERS or (_is_supplier(user) and doc.supplier_org_id == user.org_id):
        return doc
    return None


def qualification_file(doc: QualificationDocument) -> StoredDocument:
    return db.session.get(StoredDocument, doc.document_id)


# --- 2. the key ceremony (opens bidding) ----------------------------------------------------------

def opening_key(project: ProcurementProject, round_no: int = ROUND_NO) -> OpeningKey | None:
    return db.session.scalar(select(OpeningKey).where(OpeningKey.project_id == project.id,
                                                      OpeningKey.round_no == round_no))


def witness_must_be_supervisor(project: ProcurementProject) -> bool:
    """``opening_requires_supervisor`` (L2): the witness is a supervisor, else a second officer may be."""
    return bool(project_ruleset(project).get("opening_requires_supervisor", True))


def _guard_opening_key(project: ProcurementProject, now: dt.datetime) -> None:
    if opening_key(project) is None:
        raise ProjectError("OPENING_KEY_MISSING",
                           N_("Bidding opens at the key ceremony, where the officer and the witness each set an opening "
                              "secret: there is no opening key yet."))


def _guard_opening_record(project: ProcurementProject, now: dt.datetime) -> None:
    # Bids are opened only by the ceremony, which writes the opening record before the move: no
    # service call can reach ``opened`` without both secrets having revealed the quotes.
    exists = db.session.scalar(select(OpeningRecord.id).where(OpeningRecord.project_id == project.id,
                                                             OpeningRecord.round_no == ROUND_NO))
    if exists is None:
        raise ProjectError("OPENING_RECORD_MISSING",
                           N_("Bids are opened at the opening ceremony, where the officer and the witness enter their "
                              "secrets together: there is no opening record yet."))


def opening_problems(project: ProcurementProject, now: dt.datetime) -> list[ProjectError]:
    """What still stands in the way of the opening ceremony (the record it writes itself excepted)."""
    return [p for p in lifecycle.guard_problems(project, "opened", now) if p.code != "OPENING_RECORD_MISSING"]


def _register_lifecycle_guards() -> None:
    for (from_state, to_state), guard in ((("demand_frozen", "bidding_open"), _guard_opening_key),
                                          (("bidding_closed", "opened"), _guard_opening_record)):
        if guard not in lifecycle.TRANSITIONS[(from_state, to_state)].guards:
            lifecycle.add_guard(from_state, to_state, guard)


_register_lifecycle_guards()


def _ceremony_failures(project: ProcurementProject) -> int:
    window = utcnow() - dt.timedelta(minutes=_setting("OPENING_COOLDOWN_MINUTES", CEREMONY_COOLDOWN_MINUTES))
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "bidding.ceremony_refused", AuditEvent.object_type == "ProcurementProject",
            AuditEvent.object_id == str(project.id), AuditEvent.at >= window)
    ) or 0


def _check_ceremony_rate(project: ProcurementProject, stage: str, actor) -> None:
    limit = _setting("OPENING_MAX_FAILURES", CEREMONY_MAX_FAILURES)
    if _ceremony_failures(project) >= limit:
        record_refusal("bidding.ceremony_rate_limited", object_type="ProcurementProject", object_id=project.id,
                       summary={"stage": stage, "code": "CEREMONY_RATE_LIMITED"}, user_id=actor.id,
                       username=actor.username, org_id=actor.org_id)
        raise BiddingError("CEREMONY_RATE_LIMITED",
                           N_("Too many wrong passwords or secrets for this project: wait %(minutes)s minutes, then "
                              "both persons enter theirs again."),
                           params={"minutes": _setting("OPENING_COOLDOWN_MINUTES", CEREMONY_COOLDOWN_MINUTES)})


def _ceremony_refused(project: ProcurementProject, stage: str, err: DomainError, actor,
                      witness_username: str | None) -> DomainError:
    """Audit a failed password or secret (counted for the cool-down); never the secret itself."""
    record_refusal("bidding.ceremony_refused", object_type="ProcurementProject", object_id=project.id,
                   summary={"stage": stage, "code": err.code, "witness": (witness_username or "")[:64]},
                   user_id=actor.id, username=actor.username, org_id=actor.org_id)
    return err


def _check_people(project: ProcurementProject, *, stage: str, actor, actor_password: str,
                  witness_username: str, witness_password: str) -> User:
    """Both persons' credentials, checked again at the ceremony; the witness's role per the RuleSet."""
    if not verify_password(actor.password_hash, actor_password or ""):
        raise _ceremony_refused(project, stage, BiddingError(
            "OFFICER_PASSWORD_WRONG", N_("Your password is wrong: enter the password you log in with.")),
            actor, witness_username)
    username = (witness_username or "").strip()
    witness = db.session.scalar(select(User).where(User.username == username)) if username else None
    password_ok = verify_password(witness.password_hash if witness is not None else None, witness_password or "")
    if witness is None or not password_ok or not witness.is_active or witness.is_locked:
        raise _ceremony_refused(project, stage, BiddingError(
            "WITNESS_CREDENTIALS_WRONG", N_("The witness's user name or password is wrong, or the account is locked.")),
            actor, username)
    if witness.id == actor.id:
        raise _ceremony_refused(project, stage, BiddingError(
            "WITNESS_IS_OFFICER", N_("The witness must be another person than the officer.")), actor, username)
    if witness_must_be_supervisor(project):
        if witness.role != R.SUPERVISOR:
            raise _ceremony_refused(project, stage, BiddingError(
                "WITNESS_NOT_SUPERVISOR", N_("The RuleSet requires a supervisor (监督人员) as the witness.")),
                actor, username)
    elif witness.role not in (R.SUPERVISOR, R.PROCUREMENT_OFFICER):
        raise _ceremony_refused(project, stage, BiddingError(
            "WITNESS_ROLE", N_("The witness must be a supervisor or a second procurement officer.")), actor, username)
    return witness


def open_bidding(project: ProcurementProject, *, actor, actor_password: str, officer_secret: str,
                 witness_username: str, witness_password: str, witness_secret: str,
                 now: dt.datetime | None = None) -> OpeningKey:
    """The key ceremony: create the round's opening key from two secrets and open bidding.

    The officer (signed in, password re-entered) and the witness (user name and password checked
    here) each enter a secret on the same form; :func:`~app.bidding.sealing.create_opening_key`
    refuses weak or equal secrets. Nothing secret is stored or logged. The key and the move to
    ``bidding_open`` commit together or not at all.
    """
    _require_officer(actor, project)
    now = server_now(now)
    _lock(project)
    lifecycle.sync_state(project, now)
    state = effective_state(project, now)
    if state != "demand_frozen":
        raise BiddingError("KEY_CEREMONY_STATE",
                           N_("The key ceremony opens bidding: the project must be in “demand frozen” (it is %(state)s)."),
                           params={"state": state})
    if opening_key(project) is not None:
        raise BiddingError("OPENING_KEY_EXISTS", N_("The project already has an opening key."))
    problems = [p for p in lifecycle.guard_problems(project, "bidding_open", now) if p.code != "OPENING_KEY_MISSING"]
    if problems:
        raise problems[0]
    _check_ceremony_rate(project, "key", actor)
    witness = _check_people(project, stage="key", actor=actor, actor_password=actor_password,
                            witness_username=witness_username, witness_password=witness_password)
    material = create_opening_key(officer_secret, witness_secret, kdf_params=_setting("OPENING_KDF_PARAMS", None))
    key = OpeningKey(project_id=project.id, round_no=ROUND_NO, public_key_pem=material.public_key_pem,
                     encrypted_private_key=material.encrypted_private_key, kdf=material.kdf, officer_id=actor.id,
                     witness_id=witness.id, created_at=now)
    db.session.add(key)
    db.session.flush()
    record("bidding.opening_key", key, summary={
        "project_id": project.id, "round": ROUND_NO, "fingerprint": material.fingerprint,
        "officer": actor.username, "witness": witness.username, "witness_role": witness.role,
        "kdf": {k: material.kdf[k] for k in ("kdf", "memory_cost", "time_cost", "parallelism")}})
    lifecycle.transition_project(project, "bidding_open", actor=actor, now=now)
    return key


# --- 3. the quote template ---------------------------------------------------------------------------

def supplier_lot_products(project: ProcurementProject, supplier_org_id: int) -> list[tuple[Lot, Product]]:
    """The supplier's own active products eligible in each lot of the project (its manufacturer's)."""
    return [tuple(row) for row in db.session.execute(
        select(Lot, Product).join(LotProduct, LotProduct.lot_id == Lot.id).join(Product, Product.id == LotProduct.product_id)
        .where(Lot.project_id == project.id, Product.manufacturer_id == supplier_org_id, Product.status == "active")
        .order_by(Lot.lot_no, Product.spec, Product.id)
    )]


def _own_usccs(org: Organisation) -> set[str]:
    return {code.upper() for code in (org.uscc, org.agent_uscc) if code}


def _ensure_visible(project: ProcurementProject, actor) -> None:
    if not may_view_project(actor, project):
        raise BiddingError("PROJECT_NOT_VISIBLE", N_("This project is not open to you."))


def quote_template(project: ProcurementProject, *, actor, now: dt.datetime | None = None) -> tuple[str, bytes]:
    """The supplier's quote template: its eligible products per lot pre-filled (identity columns
    locked), the region-preference sheet, stamped with the project code and template version."""
    _require_supplier(actor)
    _ensure_visible(project, actor)
    now = server_now(now)
    if effective_state(project, now) != "bidding_open":
        raise BiddingError("BIDDING_NOT_OPEN", N_("The project is not open for bidding (it is %(state)s)."),
                           params={"state": effective_state(project, now)})
    pairs = supplier_lot_products(project, actor.org_id)
    if not pairs:
        raise BiddingError("NO_ELIGIBLE_PRODUCTS",
                           N_("None of your organisation's catalog products is eligible in this project's lots."))
    org = actor.org
    uscc = org.uscc or org.agent_uscc
    rows = [{"project_code": project.code, "lot_no": lot.lot_no, "supplier_uscc": uscc, "nhsa_code": product.nhsa_code,
             "spec": product.spec, "pack_qty": product.pack_qty} for lot, product in pairs]
    lot_numbers = sorted({lot.lot_no for lot, _ in pairs})
    regions = TemplateSheet(QUOTE_REGIONS, prefilled_rows=[{"lot_no": n, "regions": []} for n in lot_numbers],
                            readonly_columns=("lot_no",))
    data = build_template(QUOTES, kind=TEMPLATE_KIND, version=TEMPLATE_VERSION, project_code=project.code,
                          issued_at=now, prefilled_rows=rows, readonly_columns=_READONLY_TEMPLATE_COLUMNS,
                          extra_sheets=[regions])
    return f"quote-template-{project.code}.xlsx", data


# --- 3. parsing and checking an uploaded quote ---------------------------------------------------------

@dataclass
class OverCeilingLine:
    """An over-ceiling line, for the uploader's warning only (computed from its file in this request)."""

    row: int
    lot_no: int
    ucp: Decimal
    ceiling: Decimal


@dataclass
class ParsedQuote:
    lines: list[dict[str, Any]]
    notices: list[Notice]
    over_ceiling: list[OverCeilingLine]


def _is_quoted(rec: dict[str, Any]) -> bool:
    return any(rec.get(key) is not None for key in _SUPPLIER_FILLED)


def _places(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent)


class _QuoteChecker:
    """Row validators for the quote and region sheets; keeps the computed line of each good row."""

    def __init__(self, project: ProcurementProject, org: Organisation, ruleset: dict):
        self.project = project
        self.org = org
        self.usccs = _own_usccs(org)
        self.lots = {lot.lot_no: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
        self.products: dict[int, list[Product]] = {}
        for lot, product in supplier_lot_products(project, org.id):
            self.products.setdefault(lot.id, []).append(product)
        self.diff_price = ruleset.get("diff_price") or {}
        self.decimals = int(ruleset.get("price_decimals", PRICE_DECIMALS))
        self.rounding = ruleset.get("rounding", "ROUND_HALF_UP")
        self.xpcc_separate = bool(ruleset.get("xpcc_separate", False))
        self.lines: dict[int, dict[str, Any]] = {}
        self.seen_lots: dict[int, int] = {}
        self.regions: dict[int, list[str]] = {}

    # -- the quote sheet --
    def quote_row(self, rec: dict[str, Any], rownum: int) -> list[CellError]:
        if not _is_quoted(rec):
            return []  # a template row left empty: a product not quoted
        errors = [CellError.for_key(key, "required", msg("required"), msg("required_hint"))
                  for key in _QUOTED_REQUIRED if rec.get(key) is None]
        if str(rec.get("project_code") or "").upper() != self.project.code.upper():
            errors.append(CellError.for_key("project_code", "PROJECT_CODE_MISMATCH", _l(
                "This file is for project %(found)s, not %(expected)s.", found=rec.get("project_code"),
                expected=self.project.code), _l("Download this project's template and copy your quotes into it.")))
        if str(rec.get("supplier_uscc") or "").upper() not in self.usccs:
            errors.append(CellError.for_key("supplier_uscc", "USCC_NOT_YOURS", _l(
                "The credit code is not your organisation's."), _l("Quote only in your own organisation's name.")))
        if rec.get("round_no") not in (None, ROUND_NO):
            errors.append(CellError.for_key("round_no", "ROUND_NOT_OPEN", _l(
                "Round %(n)s is not open for quotes.", n=rec.get("round_no")), _l("Leave the round empty or write 1.")))
        lot = self.lots.get(rec.get("lot_no"))
        if lot is None:
            errors.append(CellError.for_key("lot_no", "LOT_UNKNOWN", _l(
                "The project has no lot %(n)s.", n=rec.get("lot_no")), _l("Use the lot numbers of the template.")))
        if errors or lot is None:
            return errors
        if lot.lot_no in self.seen_lots:
            return [CellError.for_key("lot_no", "LOT_QUOTED_TWICE", _l(
                "Lot %(n)s is already quoted in row %(row)s: quote one product per lot.", n=lot.lot_no,
                row=self.seen_lots[lot.lot_no]), _l("Keep one row per lot and leave the others empty."))]
        product, errors = self._product(lot, rec)
        if product is None:
            return errors
        return self._line(lot, product, rec, rownum)

    def _product(self, lot: Lot, rec: dict[str, Any]) -> tuple[Product | None, list[CellError]]:
        candidates = self.products.get(lot.id, [])
        code = rec.get("nhsa_code")
        if code:
            found = [p for p in candidates if (p.nhsa_code or "").upper() == str(code).upper()]
            key = "nhsa_code"
        else:
            spec = normalize_token(rec.get("spec") or "")
            found = [p for p in candidates if normalize_token(p.spec) == spec]
            if len(found) > 1 and rec.get("pack_qty") is not None:
                found = [p for p in found if p.pack_qty == rec["pack_qty"]] or found
            key = "spec"
        if not found:
            return None, [CellError.for_key(key, "PRODUCT_NOT_ELIGIBLE", _l(
                "This product is not one of your organisation's eligible products in lot %(n)s.", n=lot.lot_no),
                _l("Use a product listed for this lot in the template."))]
        if len(found) > 1:
            return None, [CellError.for_key(key, "PRODUCT_AMBIGUOUS", _l(
                "Several of your products in lot %(n)s have this specification.", n=lot.lot_no),
                _l("Give the NHSA code (医保代码) of the product you quote."))]
        product = found[0]
        if rec.get("pack_qty") != product.pack_qty:
            return None, [CellError.for_key("pack_qty", "PACK_QTY_MISMATCH", _l(
                "The catalog gives %(expected)s smallest units per pack for this product.", expected=product.pack_qty),
                _l("Quote the pack as registered in the catalog."))]
        return product, []

    def _line(self, lot: Lot, product: Product, rec: dict[str, Any], rownum: int) -> list[CellError]:
        errors: list[CellError] = []
        pack_price, pack_qty, capacity = rec["pack_price"], rec["pack_qty"], rec["declared_capacity"]
        for key in ("declared_capacity", "supplier_capacity"):
            value = rec.get(key)
            if value is not None and _places(value) > _QUANTITY_PLACES:
                errors.append(CellError.for_key(key, "QUANTITY_TOO_PRECISE", _l(
                    "At most %(places)s decimal places for a quantity.", places=_QUANTITY_PLACES)))
        tiers = []
        for n in (1, 2, 3):
            qty, price = rec.get(f"tier{n}_min_qty"), rec.get(f"tier{n}_pack_price")
            if qty is None:
                continue
            if n > 1 and rec.get(f"tier{n - 1}_min_qty") is None:
                errors.append(CellError.for_key(f"tier{n}_min_qty", "TIER_GAP", _l(
                    "Tier %(n)s is given without tier %(previous)s.", n=n, previous=n - 1),
                    _l("Fill the tiers in order, starting with tier 1.")))
                continue
            if price >= pack_price:
                errors.append(CellError.for_key(f"tier{n}_pack_price", "TIER_NOT_BELOW_BASE", _l(
                    "A tier price must be below the pack price of the quote."),
                    _l("Tiers give lower prices for larger quantities.")))
            if _places(qty) > _QUANTITY_PLACES:
                errors.append(CellError.for_key(f"tier{n}_min_qty", "QUANTITY_TOO_PRECISE", _l(
                    "At most %(places)s decimal places for a quantity.", places=_QUANTITY_PLACES)))
            if qty > capacity:
                errors.append(CellError.for_key(f"tier{n}_min_qty", "TIER_ABOVE_CAPACITY", _l(
                    "The tier starts above the declared capacity, so it can never apply."),
                    _l("Lower the tier's quantity or raise the declared capacity.")))
            tiers.append({"min_quantity": qty, "pack_price": price,
                          "unit_price": unit_price(price, pack_qty, price_decimals=self.decimals, rounding=self.rounding)})
        try:
            price_per_unit = unit_price(pack_price, pack_qty, price_decimals=self.decimals, rounding=self.rounding)
            ucp = unit_comparable_price(price_per_unit, product.spec, lot.representative_spec, self.diff_price,
                                        price_decimals=self.decimals, rounding=self.rounding)
        except DomainError as err:
            errors.append(CellError.for_key("nhsa_code" if rec.get("nhsa_code") else "spec", "UCP_NOT_COMPUTABLE", _l(
                "The unit comparable price cannot be computed for this product: %(reason)s", reason=err.message),
                _l("Ask the procurement officer to check the product's specification in the catalog.")))
            return errors
        if errors:
            return errors
        self.seen_lots[lot.lot_no] = rownum
        self.lines[rownum] = {
            "row": rownum, "lot_id": lot.id, "lot_no": lot.lot_no, "product_id": product.id,
            "nhsa_code": product.nhsa_code, "spec": product.spec, "pack_price": pack_price, "pack_qty": pack_qty,
            "unit_price": price_per_unit, "ucp": ucp, "declared_capacity": capacity,
            "capacity_use_per_unit": rec.get("capacity_use_per_unit") or Decimal(1),
            "supplier_capacity": rec.get("supplier_capacity"), "tiers": tiers,
            "bundle_code": rec.get("bundle_id"), "bundle_discount": rec.get("bundle_discount"),
            "over_ceiling": lot.ceiling_ucp is not None and ucp > lot.ceiling_ucp,
        }
        return []

    # -- the region-preference sheet --
    def region_row(self, rec: dict[str, Any], rownum: int) -> list[CellError]:
        lot = self.lots.get(rec.get("lot_no"))
        if lot is None:
            return [CellError.for_key("lot_no", "LOT_UNKNOWN", _l("The project has no lot %(n)s.", n=rec.get("lot_no")),
                                      _l("Use the lot numbers of the template."))]
        codes: list[str] = []
        for text in rec.get("regions") or []:
            try:
                code = resolve_region(text, xpcc_separate=self.xpcc_separate)
            except UnknownRegion:
                return [CellError.for_key("regions", "UNKNOWN_REGION", _l("Unknown region: %(text)s", text=text),
                                          _l("Write a province name (北京, 新疆（含兵团）) or its 6-digit code."),
                                          value=text)]
            if code in codes:
                return [CellError.for_key("regions", "REGION_TWICE", _l("The region %(text)s is listed twice.", text=text),
                                          _l("List each region once, in order of preference."), value=text)]
            codes.append(code)
        self.regions[lot.lot_no] = codes
        return []


def _cross_row_errors(table, checker: _QuoteChecker) -> list[CellError]:
    """Rules between rows: a bundle spans two lots or more; one supplier capacity per file."""
    errors = []

    def error(rownum: int, key: str, value: Any, code: str, message, hint=None) -> CellError:
        return CellError(sheet=table.sheet, row=rownum, column=table.columns.get(key),
                         header=QUOTES.column(key).display_header(), value=value, code=code, message=message,
                         hint=hint, key=key)

    bundles: dict[str, list[dict]] = {}
    for line in checker.lines.values():
        if line["bundle_code"]:
            bundles.setdefault(line["bundle_code"], []).append(line)
    for code, lines in sorted(bundles.items()):
        if len(lines) < 2:
            errors.append(error(lines[0]["row"], "bundle_id", code, "BUNDLE_SINGLE_LOT",
                                _l("Bundle %(code)s covers one lot only.", code=code),
                                _l("A bundle discount applies when a supplier wins all of two lots or more.")))
    capacities = sorted({line["supplier_capacity"] for line in checker.lines.values() if line["supplier_capacity"] is not None})
    if len(capacities) > 1:
        first = min(line["row"] for line in checker.lines.values() if line["supplier_capacity"] is not None)
        errors.append(error(first, "supplier_capacity", capacities[0], "SUPPLIER_CAPACITY_DIFFERS",
                            _l("The supplier's total capacity must be the same on every row."),
                            _l("It is shared by all your quotes in the project: write one value.")))
    return errors


def parse_quote(project: ProcurementProject, org: Organisation, file_bytes: bytes, filename: str) -> ParsedQuote:
    """Read and check a quote file (all or nothing); raises :class:`QuoteFileRejected` with every error."""
    checker = _QuoteChecker(project, org, project_ruleset(project))
    try:
        tables = read_tables(file_bytes, filename or "quote.xlsx", [QUOTES_UPLOAD, QUOTE_REGIONS], limits=QUOTE_LIMITS,
                             expect_stamp=(TEMPLATE_KIND, TEMPLATE_VERSION, project.code),
                             row_validators={"quotes": checker.quote_row, "quote_regions": checker.region_row},
                             optional=("quote_regions",))
    except SpreadsheetError as exc:
        raise QuoteFileRejected(file_error=exc) from None
    quotes = tables["quotes"]
    missing = [c for c in QUOTES.columns if c.key in _QUOTED_REQUIRED and c.key not in quotes.columns]
    if missing:
        raise QuoteFileRejected(file_error=SpreadsheetError(msg(
            "missing_columns", sheet=quotes.sheet, columns="、".join(c.display_header() for c in missing)),
            code="missing_columns"))
    notices = [n for t in tables.values() for n in t.notices]
    errors = [e for t in tables.values() for e in t.errors]
    if not errors:
        errors = _cross_row_errors(quotes, checker)
    if errors:
        raise QuoteFileRejected(errors=errors, notices=notices)
    if not checker.lines:
        raise QuoteFileRejected(file_error=SpreadsheetError(_l(
            "The file quotes nothing: fill the pack price, pack quantity and declared capacity of at least one row."),
            code="no_quote_lines"))
    lines = [checker.lines[row] for row in sorted(checker.lines)]
    for line in lines:
        line["region_preferences"] = checker.regions.get(line["lot_no"], [])
    over = [OverCeilingLine(row=line["row"], lot_no=line["lot_no"], ucp=line["ucp"],
                            ceiling=checker.lots[line["lot_no"]].ceiling_ucp) for line in lines if line["over_ceiling"]]
    return ParsedQuote(lines=lines, notices=notices, over_ceiling=over)


# --- 3. submitting, replacing and withdrawing quotes -------------------------------------------------

@dataclass
class QuoteReceipt:
    """What the uploader gets back: the stored version's receipt and, once, its over-ceiling warnings."""

    submission: QuoteSubmission
    lines: int
    over_ceiling: list[OverCeilingLine] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    replaced_version: int | None = None


def current_submission(project: ProcurementProject, supplier_org_id: int, *, lock: bool = False) -> QuoteSubmission | None:
    query = select(QuoteSubmission).where(
        QuoteSubmission.project_id == project.id, QuoteSubmission.supplier_org_id == supplier_org_id,
        QuoteSubmission.round_no == ROUND_NO, QuoteSubmission.status == "submitted")
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query.order_by(QuoteSubmission.version.desc()).limit(1))


def _quote_refused(project: ProcurementProject, err: DomainError, actor, *, stage: str, sha256: str | None = None,
                   extra: dict | None = None) -> DomainError:
    """Audit a refused quote action in its own transaction (hash and code only, never a price)."""
    summary = {"project_id": project.id, "stage": stage, "code": err.code}
    if sha256:
        summary["sha256"] = sha256
    summary.update(extra or {})
    record_refusal("bidding.quote_refused", object_type="ProcurementProject", object_id=project.id, summary=summary,
                   sealed=True, **{k: v for k, v in _who(actor).items() if v is not None})
    return err


def _ensure_quoting_open(project: ProcurementProject, actor, now: dt.datetime, *, stage: str, sha256: str | None) -> None:
    state = effective_state(project, now)
    if state == "bidding_open":
        return
    if project.bid_deadline is not None and now >= project.bid_deadline and state != "draft":
        raise _quote_refused(project, BidAfterDeadline(project.bid_deadline), actor, stage=stage, sha256=sha256,
                             extra={"deadline": project.bid_deadline, "attempted_at": now})
    raise _quote_refused(project, BiddingError(
        "BIDDING_NOT_OPEN", N_("The project is not open for bidding (it is %(state)s)."), params={"state": state}),
        actor, stage=stage, sha256=sha256)


def _deadline_before_flush(project: ProcurementProject, actor, moment: dt.datetime, *, stage: str,
                           sha256: str | None) -> None:
    if project.bid_deadline is None or moment >= project.bid_deadline:
        raise _quote_refused(project, BidAfterDeadline(project.bid_deadline), actor, stage=stage, sha256=sha256,
                             extra={"deadline": project.bid_deadline, "attempted_at": moment})


def _receipt_no(project: ProcurementProject) -> str:
    # Random, without the supplier or any number that could read as a price.
    return f"QR{project.id:05d}-{secrets.token_hex(6).upper()}"


def _stored_file_name(filename: str | None, version: int) -> str:
    # The uploaded name may carry a price ("quote 12.5.xlsx"): only a neutral name is kept in clear.
    ext = os.path.splitext((filename or "").lower())[1]
    return f"quote-v{version}{ext if ext in ('.xlsx', '.xls', '.ods', '.csv') else ''}"


def submit_quote(project: ProcurementProject, *, actor, file_bytes: bytes, filename: str,
                 now: dt.datetime | None = None) -> QuoteReceipt:
    """Seal and store a supplier's quote (a new version; the previous one is superseded).

    Refused, with an audit event that survives the rollback: outside ``bidding_open`` or at/after the
    bid deadline (``BID_AFTER_DEADLINE``), without approved qualifications, for a credit-barred
    supplier (R2), and for format errors (:class:`QuoteFileRejected` lists every cell). Prices
    above a lot's ceiling are stored (sealed) and reported in the returned receipt only.
    """
    _require_supplier(actor)
    _ensure_visible(project, actor)
    clock_given = now is not None
    now = server_now(now)
    file_bytes = bytes(file_bytes or b"")
    sha = _sha256(file_bytes)
    _lock(project)
    lifecycle.sync_state(project, now)
    _ensure_quoting_open(project, actor, now, stage="submit", sha256=sha)
    key = opening_key(project)
    if key is None:  # bidding cannot open without one (guard); a hand-edited database could
        raise BiddingError("OPENING_KEY_MISSING", N_("The project has no opening key: quotes cannot be sealed."))
    today = beijing_date(now)
    if not has_valid_qualifications(actor.org_id, today):
        raise _quote_refused(project, BiddingError(
            "NO_VALID_QUALIFICATIONS", N_("Your organisation has no approved qualification document in force: upload "
                                          "your documents and wait for an officer's approval before quoting.")),
            actor, stage="submit", sha256=sha)
    if len(file_bytes) > QUOTE_MAX_BYTES:
        raise _quote_refused(project, BiddingError("QUOTE_FILE_TOO_LARGE", N_("The quote file is larger than %(limit)s MB."),
                                                   params={"limit": QUOTE_MAX_BYTES // MiB}), actor, stage="submit",
                             sha256=sha)
    try:
        parsed = parse_quote(project, actor.org, file_bytes, filename)
    except QuoteFileRejected as err:
        raise _quote_refused(project, err, actor, stage="submit", sha256=sha,
                             extra={"errors": len(err.errors) or 1}) from None
    ruleset = project_ruleset(project)
    block = supplier_block(actor.org_id, product_ids=[line["product_id"] for line in parsed.lines],
                           province_code=project_province(project), on=today,
                           block_matrix=(ruleset.get("credit") or {}).get("block_matrix"))
    if block is not None:
        raise _quote_refused(project, block.error(), actor, stage="submit", sha256=sha,
                             extra={"credit_rating": block.rating_id, "level": block.level_key,
                                    "province": block.province_code})

    # The server clock, right before anything is written (and again at commit time).
    moment = now if clock_given else utcnow()
    _deadline_before_flush(project, actor, moment, stage="submit", sha256=sha)
    previous = current_submission(project, actor.org_id, lock=True)
    version = (db.session.scalar(select(func.max(QuoteSubmission.version)).where(
        QuoteSubmission.project_id == project.id, QuoteSubmission.supplier_org_id == actor.org_id,
        QuoteSubmission.round_no == ROUND_NO)) or 0) + 1
    payload = serialise_payload(file_bytes, parsed.lines)
    blob = seal(payload, key.public_key_pem, aad=quote_aad(project_id=project.id, round_no=ROUND_NO,
                                                           supplier_org_id=actor.org_id, file_sha256=sha, version=version))
    del payload
    if previous is not None:
        previous.status = "superseded"
    submission = QuoteSubmission(
        project_id=project.id, supplier_org_id=actor.org_id, round_no=ROUND_NO, version=version, status="submitted",
        file_name=_stored_file_name(filename, version), file_sha256=sha, line_count=len(parsed.lines),
        sealed_payload=blob.ciphertext, sealed_key=blob.wrapped_key, receipt_no=_receipt_no(project),
        supersedes_id=previous.id if previous is not None else None, submitted_by_id=actor.id, submitted_at=moment)
    db.session.add(submission)
    db.session.flush()
    db.session.add_all(QuoteSubmissionLot(submission_id=submission.id, lot_id=lot_id)
                       for lot_id in sorted({line["lot_id"] for line in parsed.lines}))
    db.session.flush()
    _expect_commit_before_deadline(submission, project, actor, stage="submit", sha256=sha)
    record("bidding.quote_submitted", submission, sealed=True, summary={
        "project_id": project.id, "round": ROUND_NO, "version": version, "sha256": sha, "lines": len(parsed.lines),
        "receipt_no": submission.receipt_no, "submitted_at": moment,
        "replaces_version": previous.version if previous is not None else None})
    _notify_receipt(actor, project, submission)
    return QuoteReceipt(submission=submission, lines=len(parsed.lines), over_ceiling=parsed.over_ceiling,
                        notices=parsed.notices, replaced_version=previous.version if previous is not None else None)


def _notify_receipt(actor, project: ProcurementProject, submission: QuoteSubmission) -> None:
    from flask_babel import gettext

    from app.notifications.services import post_notification

    title = gettext("Quote received for %(code)s (version %(version)s)", code=project.code, version=submission.version)
    body = gettext("Receipt %(receipt)s · received %(time)s (Beijing time) · SHA-256 %(sha)s · %(lines)s line(s) "
                   "accepted. The quote stays sealed until the opening.", receipt=submission.receipt_no,
                   time=lifecycle.beijing(submission.submitted_at), sha=submission.file_sha256,
                   lines=submission.line_count)
    post_notification(user_id=actor.id, kind="info", title=title, body=body)


def withdraw_quote(project: ProcurementProject, *, actor, now: dt.datetime | None = None) -> QuoteSubmission:
    """Withdraw the supplier's current quote before the deadline (it is kept, marked ``withdrawn``,
    and is not a bid: it does not count in W3)."""
    _require_supplier(actor)
    _ensure_visible(project, actor)
    clock_given = now is not None
    now = server_now(now)
    _lock(project)
    lifecycle.sync_state(project, now)
    _ensure_quoting_open(project, actor, now, stage="withdraw", sha256=None)
    current = current_submission(project, actor.org_id, lock=True)
    if current is None:
        raise BiddingError("NO_QUOTE_TO_WITHDRAW", N_("You have no submitted quote to withdraw in this project."))
    moment = now if clock_given else utcnow()
    _deadline_before_flush(project, actor, moment, stage="withdraw", sha256=current.file_sha256)
    current.status = "withdrawn"
    db.session.flush()
    _expect_commit_before_deadline(current, project, actor, stage="withdraw", sha256=current.file_sha256)
    record("bidding.quote_withdrawn", current, sealed=True, summary={
        "project_id": project.id, "round": ROUND_NO, "version": current.version, "sha256": current.file_sha256,
        "receipt_no": current.receipt_no, "withdrawn_at": moment})
    return current


# --- the deadline at commit time -----------------------------------------------------------------------

_COMMIT_DEADLINES = "jicai.bidding.commit_deadlines"


def commit_clock() -> dt.datetime:
    """The server clock the commit-time check reads (tests move it)."""
    return utcnow()


@dataclass
class _CommitDeadline:
    obj: Any
    project_id: int
    deadline: dt.datetime
    summary: dict
    who: dict
    late: bool = False

    def write_refusal(self, session: Session) -> None:
        """Runs after the transaction ends (commit or rollback): audit the refusal if it came too late."""
        if self.late:
            append_event(session, "bidding.quote_refused", object_type="ProcurementProject", object_id=self.project_id,
                         summary=self.summary, sealed=True, **{k: v for k, v in self.who.items() if v is not None})


def _expect_commit_before_deadline(obj, project: ProcurementProject, actor, *, stage: str, sha256: str | None) -> None:
    entry = _CommitDeadline(obj=obj, project_id=project.id, deadline=project.bid_deadline, who=_who(actor),
                            summary={"project_id": project.id, "stage": stage + "_commit", "code": "BID_AFTER_DEADLINE",
                                     "sha256": sha256, "deadline": project.bid_deadline})
    db.session.info.setdefault(_COMMIT_DEADLINES, []).append(entry)
    remember_after_rollback(entry.write_refusal)


def _late_entries(session: Session, moment: dt.datetime) -> list[_CommitDeadline]:
    late = []
    for entry in session.info.get(_COMMIT_DEADLINES) or []:
        if entry.obj in session and moment >= entry.deadline:
            entry.late = True
            entry.summary["attempted_at"] = moment
            late.append(entry)
    return late


def check_commit_deadline(now: dt.datetime | None = None) -> None:
    """Refuse now what the commit guard would refuse (a view calls it last, for a clear answer)."""
    late = _late_entries(db.session(), now or commit_clock())
    if late:
        raise BidAfterDeadline(late[0].deadline)


@event.listens_for(Session, "before_commit")
def _refuse_late_commit(session: Session) -> None:
    """The request boundary: a quote write whose commit would land at or after the deadline fails."""
    if not session.info.get(_COMMIT_DEADLINES):
        return
    late = _late_entries(session, commit_clock())
    session.info.pop(_COMMIT_DEADLINES, None)
    if late:
        raise BidAfterDeadline(late[0].deadline)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_COMMIT_DEADLINES, None)


# --- 4. reading before the opening: counts and hashes only ------------------------------------------

def sealed_status(project: ProcurementProject) -> dict[str, Any]:
    """Counts and file hashes of the project's quotes (no supplier, no price): per lot, the number of
    submitted quotes; every version with its SHA-256, time, line count and status."""
    lots = db.session.scalars(select(Lot).where(Lot.project_id == project.id).order_by(Lot.lot_no)).all()
    counts = dict(db.session.execute(
        select(QuoteSubmissionLot.lot_id, func.count()).join(QuoteSubmission, QuoteSubmission.id == QuoteSubmissionLot.submission_id)
        .where(QuoteSubmission.project_id == project.id, QuoteSubmission.round_no == ROUND_NO,
               QuoteSubmission.status == "submitted").group_by(QuoteSubmissionLot.lot_id)).all())
    versions = db.session.scalars(select(QuoteSubmission).where(
        QuoteSubmission.project_id == project.id, QuoteSubmission.round_no == ROUND_NO)
        .order_by(QuoteSubmission.submitted_at, QuoteSubmission.id)).all()
    by_status: dict[str, int] = {}
    for sub in versions:
        by_status[sub.status] = by_status.get(sub.status, 0) + 1
    return {
        "lots": [{"lot_no": lot.lot_no, "name": lot.name, "quotes": counts.get(lot.id, 0)} for lot in lots],
        "versions": [{"file_sha256": s.file_sha256, "submitted_at": s.submitted_at, "lines": s.line_count,
                      "status": s.status} for s in versions],
        "submitted": by_status.get("submitted", 0),
        "superseded": by_status.get("superseded", 0),
        "withdrawn": by_status.get("withdrawn", 0),
    }


def sealed_overview(project: ProcurementProject, user) -> dict[str, Any]:
    """:func:`sealed_status` for officers and supervisors only."""
    if not may_read_sealed_counts(user):
        raise BiddingError("SEALED_COUNTS_DENIED", N_("Only officers and supervisors see the counts of sealed quotes."))
    return sealed_status(project)


def supplier_submissions(project: ProcurementProject, user) -> list[QuoteSubmission]:
    """The user's own organisation's versions (its receipts), newest first."""
    if not _is_supplier(user):
        return []
    return db.session.scalars(select(QuoteSubmission).where(
        QuoteSubmission.project_id == project.id, QuoteSubmission.supplier_org_id == user.org_id)
        .order_by(QuoteSubmission.version.desc())).all()


def get_receipt(user, submission_id: int) -> QuoteSubmission | None:
    """A quote version's receipt: for its own supplier, officers and supervisors (no price in it)."""
    sub = db.session.get(QuoteSubmission, submission_id)
    if sub is None:
        return None
    if may_read_sealed_counts(user) or (_is_supplier(user) and sub.supplier_org_id == user.org_id):
        return sub
    return None


# --- 5. the opening -----------------------------------------------------------------------------------

def opening_record(project: ProcurementProject, round_no: int = ROUND_NO) -> OpeningRecord | None:
    return db.session.scalar(select(OpeningRecord).where(OpeningRecord.project_id == project.id,
                                                         OpeningRecord.round_no == round_no))


def opening_digest(*, project_id: int, round_no: int, opened_at: dt.datetime, officer_id: int, witness_id: int,
                   quotes: list[dict]) -> str:
    """SHA-256 of the opening record's canonical JSON (anyone can recompute it from the record)."""
    body = {"project": project_id, "round": round_no,
            "opened_at": opened_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "officer": officer_id, "witness": witness_id, "quotes": quotes}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_opening_record(record_row: OpeningRecord) -> bool:
    return opening_digest(project_id=record_row.project_id, round_no=record_row.round_no,
                          opened_at=record_row.opened_at, officer_id=record_row.officer_id,
                          witness_id=record_row.witness_id, quotes=record_row.quotes) == record_row.record_sha256


def _dec_text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def open_bids(project: ProcurementProject, *, actor, actor_password: str, officer_secret: str, witness_username: str,
              witness_password: str, witness_secret: str, now: dt.datetime | None = None) -> OpeningRecord:
    """The opening (开标): both secrets entered together unseal every current quote into bids.

    At or after ``opening_at``, once bidding has closed. Wrong passwords or secrets are refused and
    audited; after :data:`CEREMONY_MAX_FAILURES` within the cool-down, attempts are refused before
    any check. Every sealed file's SHA-256 is checked; a broken seal stops the opening (nothing is
    revealed). A supplier barred by a credit rating in force at the opening gets its bids marked
    ``credit_barred`` (W3). Writes the opening record and moves the project to ``opened``.
    """
    _require_officer(actor, project)
    now = server_now(now)
    _check_ceremony_rate(project, "opening", actor)
    _lock(project)
    lifecycle.sync_state(project, now)
    if opening_record(project) is not None:
        raise BiddingError("ALREADY_OPENED", N_("The bids of this project were already opened."))
    lifecycle.opening_guard(project, now)
    key = opening_key(project)
    if key is None:
        raise BiddingError("OPENING_KEY_MISSING", N_("The project has no opening key: quotes cannot be sealed."))
    witness = _check_people(project, stage="opening", actor=actor, actor_password=actor_password,
                            witness_username=witness_username, witness_password=witness_password)
    try:
        unlocked = unlock_private_key(key, officer_secret, witness_secret)
    except OpeningSecretsRejected as err:
        raise _ceremony_refused(project, "opening", err, actor, witness_username) from None

    ruleset = project_ruleset(project)
    matrix = (ruleset.get("credit") or {}).get("block_matrix")
    province = project_province(project)
    lots = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
    today = beijing_date(now)
    quotes: list[dict] = []
    bids: list[Bid] = []
    submissions = db.session.scalars(select(QuoteSubmission).where(
        QuoteSubmission.project_id == project.id, QuoteSubmission.round_no == ROUND_NO)
        .order_by(QuoteSubmission.supplier_org_id, QuoteSubmission.version)).all()
    supplier_ids = sorted({sub.supplier_org_id for sub in submissions})
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)
                                    .where(Organisation.id.in_(supplier_ids))).all()) if supplier_ids else {}
    for sub in submissions:
        quotes.append({"submission": sub.id, "receipt_no": sub.receipt_no, "supplier": sub.supplier_org_id,
                       "supplier_name": names.get(sub.supplier_org_id), "version": sub.version, "status": sub.status,
                       "file_sha256": sub.file_sha256, "lines": sub.line_count,
                       "submitted_at": sub.submitted_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
        if sub.status != "submitted":
            continue  # superseded and withdrawn versions are listed, never opened (not bids)
        aad = quote_aad(project_id=project.id, round_no=sub.round_no, supplier_org_id=sub.supplier_org_id,
                        file_sha256=sub.file_sha256, version=sub.version)
        try:
            _file, lines = deserialise_payload(unseal(sub, unlocked, aad=aad), expected_sha256=sub.file_sha256)
            if len(lines) != sub.line_count:
                raise SealBroken("SEAL_LINES_MISMATCH", N_("The sealed quote does not hold the line count recorded at upload."))
        except SealBroken as err:
            record_refusal("bidding.opening_seal_broken", object_type="QuoteSubmission", object_id=sub.id,
                           summary={"project_id": project.id, "receipt_no": sub.receipt_no, "code": err.code},
                           user_id=actor.id, username=actor.username, org_id=actor.org_id)
            raise BiddingError("OPENING_SEAL_BROKEN",
                               N_("The sealed quote %(receipt)s does not open (%(code)s): the opening stopped and "
                                  "nothing was revealed. Report it to the supervisor."),
                               params={"receipt": sub.receipt_no, "code": err.code}) from None
        block = supplier_block(sub.supplier_org_id, product_ids=[line["product_id"] for line in lines],
                               province_code=province, on=today, block_matrix=matrix)
        for line in lines:
            lot = lots[line["lot_id"]]
            bids.append(Bid(
                submission_id=sub.id, project_id=project.id, lot_id=lot.id, supplier_org_id=sub.supplier_org_id,
                product_id=line["product_id"], round_no=sub.round_no, pack_price=line["pack_price"],
                pack_qty=line["pack_qty"], unit_price=line["unit_price"], ucp=line["ucp"],
                declared_capacity=line["declared_capacity"], capacity_use_per_unit=line["capacity_use_per_unit"],
                supplier_capacity=line["supplier_capacity"],
                tiers=[{"min_quantity": _dec_text(t["min_quantity"]), "pack_price": _dec_text(t["pack_price"]),
                        "unit_price": _dec_text(t["unit_price"])} for t in line["tiers"]],
                bundle_code=line["bundle_code"], bundle_discount=line["bundle_discount"],
                region_preferences=list(line.get("region_preferences") or []),
                excluded_reason="credit_barred" if block is not None else None,
                over_ceiling=lot.ceiling_ucp is not None and line["ucp"] > lot.ceiling_ucp,
                revealed_at=now))
    del unlocked
    row = OpeningRecord(project_id=project.id, round_no=ROUND_NO, opened_at=now, officer_id=actor.id,
                        witness_id=witness.id, quotes=quotes,
                        record_sha256=opening_digest(project_id=project.id, round_no=ROUND_NO, opened_at=now,
                                                     officer_id=actor.id, witness_id=witness.id, quotes=quotes))
    db.session.add(row)
    db.session.add_all(bids)
    db.session.flush()
    lifecycle.transition_project(project, "opened", actor=actor, now=now)
    record("bidding.opened", row, summary={
        "project_id": project.id, "round": ROUND_NO, "quotes": sum(1 for q in quotes if q["status"] == "submitted"),
        "versions": len(quotes), "bids": len(bids), "record_sha256": row.record_sha256, "witness": witness.username,
        "key_fingerprint": public_key_fingerprint(key.public_key_pem)})
    return row


def revealed_bids(project: ProcurementProject, user) -> list[Bid]:
    """The bids of an opened project, for officers and supervisors (empty before the opening)."""
    if not may_read_sealed_counts(user) or opening_record(project) is None:
        return []
    return db.session.scalars(select(Bid).join(Lot, Lot.id == Bid.lot_id).where(
        Bid.project_id == project.id, Bid.round_no == ROUND_NO).order_by(Lot.lot_no, Bid.ucp, Bid.id)).all()


# --- bids are read-only ------------------------------------------------------------------------------

# What the opening revealed never changes; the selection's own columns (outcome, reason, rank) may
# be set later by the rule engine.
_REVEALED_COLUMNS = ("submission_id", "project_id", "lot_id", "supplier_org_id", "product_id", "round_no",
                     "pack_price", "pack_qty", "unit_price", "ucp", "declared_capacity", "capacity_use_per_unit",
                     "supplier_capacity", "tiers", "bundle_code", "bundle_discount", "region_preferences",
                     "excluded_reason", "over_ceiling", "supersedes_id", "revealed_at")


@event.listens_for(Bid, "before_update")
def _bids_are_read_only(mapper, connection, target: Bid) -> None:
    state = inspect(target)
    changed = [name for name in _REVEALED_COLUMNS if state.attrs[name].history.has_changes()]
    if changed:
        raise BidsReadOnly(f"a revealed bid never changes (P-3): {', '.join(changed)}")


@event.listens_for(Bid, "before_delete")
def _bids_are_never_deleted(mapper, connection, target: Bid) -> None:
    raise BidsReadOnly("a revealed bid is never deleted (P-3)")
