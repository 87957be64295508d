"""Negotiation rounds (议价轮次, DOMAIN.md §7 N1–N5): open a round, revised quotes, the round's opening.

Services flush and never commit (the request commits once) and write an audit event for every
change; refusals are audited in their own transaction.

* :func:`open_round` — the officer, with a witness, opens round N (2, 3, …) for chosen lots with a
  target UCP per lot (N2: ``lowest_ucp``, ``median_ucp``, ``national_lowest_listed``,
  ``avg_cut_competitive`` or ``manual``; the form proposes the RuleSet's ``negotiation_target``). It is a key ceremony
  like the first one (:func:`app.bidding.services._check_people`, :func:`create_opening_key`,
  an :class:`OpeningKey` for ``(project, round_no)``). Invitations default to the suppliers with a
  valid current bid above the target (N3); the officer may add or remove suppliers per lot, with a
  reason (audited). The first round moves the project from ``opened`` to ``negotiation``.
* Price to beat (N2): for each invitee, the highest UCP at which its bid would win under the frozen
  RuleSet with the other bids as they stand. Computed by re-running :func:`solver.select` on the
  project's selection problem with that bid's price changed, by a binary search over the price in
  steps of the money precision, between 0 and the invitee's current UCP (winning is assumed
  monotone in one's own price, which holds for ranking, max-winner and spread rules). ``None``
  when it cannot win even at the smallest price (e.g. excluded); equal to the current UCP when it
  already wins. Stored on the invitation and shown only to that supplier.
* :func:`submit_revision` — an invited supplier's revised pack price for one lot, before the
  round's deadline. The unit price is pack price ÷ pack quantity and the UCP keeps the 差比价
  factor of its previous bid (same product, same representative strength: ``ucp = unit ×
  previous.ucp / previous.unit_price``). The new price is in the request in clear and the previous
  bid is already revealed, so "goes down" (N4) is checked here, before sealing: a higher UCP is
  refused (``PRICE_INCREASE_REJECTED``, audited without the price). The accepted revision is
  sealed with the round's key exactly as round 1 quotes are (a :class:`QuoteSubmission` with
  ``round_no`` = N covering that one lot); a re-submission before the deadline supersedes it
  (versions kept). The deadline is checked at upload and again at commit time (the bidding piece's
  ``before_commit`` guard, with the round's deadline).
* :func:`open_round_bids` — after the deadline, both secrets unseal the round's revisions into new
  :class:`Bid` rows (``round_no`` = N, ``supersedes_id`` = the previous bid). Invitees without a
  revision are ``non_accept`` (or ``rejected_increase`` when their only attempt was refused): the
  previous bid stands, or, with ``negotiation_non_accept_drops``, a drop-out bid row supersedes it
  (same prices, ``excluded_reason = incomplete``: the rule engine's exclusion for a bid that did
  not complete the procedure). An opening record is written, the round becomes ``opened`` and
  immutable, and the selection re-runs on the latest prices (:func:`run_selection`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import statistics
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import event, func, inspect, select

from app.audit.models import AuditEvent
from app.audit.services import record, record_refusal
from app.bidding import services as bidding
from app.bidding.models import Bid, NegotiationRound, OpeningKey, OpeningRecord, QuoteSubmission, QuoteSubmissionLot, \
    RoundInvitation, RoundLot
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
from app.catalog.units import PRICE_DECIMALS
from app.core.errors import N_, DomainError
from app.core.tx import remember_after_rollback
from app.extensions import db
from app.projects import lifecycle
from app.projects.lifecycle import effective_state, server_now
from app.projects.models import Lot, ProcurementProject

TARGET_METHODS = ("lowest_ucp", "median_ucp", "national_lowest_listed", "avg_cut_competitive", "manual")
# Methods that need more than the lot's own bids (the catalog's listed prices, the other lots).
_PROJECT_TARGETS = ("national_lowest_listed", "avg_cut_competitive")
ROUND_STATES = ("open", "closed", "opened")
_QUANTUM = Decimal(1).scaleb(-PRICE_DECIMALS)
REVISION_ACTION = "negotiation.revision_refused"


class NegotiationError(DomainError):
    default_code = "NEGOTIATION_ERROR"


# --- reading ------------------------------------------------------------------------------------------

def ruleset(project: ProcurementProject) -> dict:
    return bidding.project_ruleset(project)


def max_rounds(project: ProcurementProject) -> int:
    value = ruleset(project).get("negotiation_max_rounds")
    return 2 if value is None else int(value)


def list_rounds(project: ProcurementProject) -> list[NegotiationRound]:
    return db.session.scalars(select(NegotiationRound).where(NegotiationRound.project_id == project.id)
                              .order_by(NegotiationRound.round_no)).all()


def get_round(project: ProcurementProject, round_no: int) -> NegotiationRound | None:
    return db.session.scalar(select(NegotiationRound).where(NegotiationRound.project_id == project.id,
                                                            NegotiationRound.round_no == round_no))


def round_state(rnd: NegotiationRound, now: dt.datetime | None = None) -> str:
    """``open`` until the deadline, then ``closed`` (derived by the server clock) until its opening."""
    now = server_now(now)
    if rnd.state == "open" and now >= rnd.deadline:
        return "closed"
    return rnd.state


def round_lots(rnd: NegotiationRound) -> list[RoundLot]:
    return db.session.scalars(select(RoundLot).join(Lot, Lot.id == RoundLot.lot_id)
                              .where(RoundLot.round_id == rnd.id).order_by(Lot.lot_no)).all()


def invitations(rnd: NegotiationRound, supplier_org_id: int | None = None) -> list[RoundInvitation]:
    query = (select(RoundInvitation).join(RoundLot, RoundLot.id == RoundInvitation.round_lot_id)
             .where(RoundLot.round_id == rnd.id))
    if supplier_org_id is not None:
        query = query.where(RoundInvitation.supplier_org_id == supplier_org_id)
    return db.session.scalars(query.order_by(RoundLot.id, RoundInvitation.supplier_org_id)).all()


def _valid(bid: Bid) -> bool:
    return bid.excluded_reason is None and not bid.over_ceiling


def _lot_bids(project: ProcurementProject) -> dict[int, list[Bid]]:
    from app.selection.services import current_bids

    out: dict[int, list[Bid]] = {}
    for bid in current_bids(project):
        out.setdefault(bid.lot_id, []).append(bid)
    return out


def default_target_method(project: ProcurementProject) -> str:
    """The RuleSet's ``negotiation_target`` (frozen at bidding_open), ``lowest_ucp`` when unset."""
    from app.projects.lifecycle import frozen_ruleset, latest_ruleset

    version = frozen_ruleset(project) or latest_ruleset(project)
    method = (version.resolved or {}).get("negotiation_target") if version is not None else None
    return method if method in TARGET_METHODS else "lowest_ucp"


def national_lowest_target(lot: Lot) -> Decimal:
    """N2 ``national_lowest_listed``: the lowest national lowest listed price (§9 P4) among the lot's
    eligible and quoted products, each brought to the lot's representative strength by 差比价 (U3–U4)."""
    from app.catalog.models import Product
    from app.catalog.units import parse_spec, unit_comparable_price
    from app.prices.models import ListedPrice, NationalLowestPrice
    from app.projects.lifecycle import frozen_ruleset, latest_ruleset
    from app.projects.models import LotProduct

    # The lot's products: those eligible for it and those actually quoted in it.
    product_ids = select(LotProduct.product_id).where(LotProduct.lot_id == lot.id).union(
        select(Bid.product_id).where(Bid.lot_id == lot.id))
    rows = db.session.execute(
        select(Product, NationalLowestPrice.value_ucp).distinct()
        .join(ListedPrice, ListedPrice.product_id == Product.id)
        .join(NationalLowestPrice, NationalLowestPrice.key_sha256 == ListedPrice.key_sha256)
        .where(Product.id.in_(product_ids))
    ).all()
    if not rows:
        raise NegotiationError("TARGET_NO_NATIONAL_LOWEST",
                               N_("No national lowest listed price is recorded for the products of lot %(lot)s."),
                               params={"lot": lot.lot_no})
    version = frozen_ruleset(lot.project) or latest_ruleset(lot.project)
    diff_price = (version.resolved or {}).get("diff_price", {}) if version is not None else {}
    representative = parse_spec(lot.representative_spec)
    return min(unit_comparable_price(value, parse_spec(product.spec), representative, diff_price)
               for product, value in rows)


def average_competitive_cut(project: ProcurementProject, bids_by_lot: dict[int, list[Bid]]) -> Decimal:
    """The average price cut of the competitive lots (4+7 ``avg_cut_competitive``, W7).

    A lot is competitive with at least ``negotiation_min_bidders`` (3 when unset) valid bids; its cut
    is ``1 − lowest valid UCP ÷ pre-procurement UCP``. Lots without a pre-procurement price do not count.
    """
    from app.projects.lifecycle import frozen_ruleset, latest_ruleset

    version = frozen_ruleset(project) or latest_ruleset(project)
    minimum = (version.resolved or {}).get("negotiation_min_bidders") if version is not None else None
    minimum = int(minimum or 3)
    cuts = []
    for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id)):
        prices = sorted(b.ucp for b in bids_by_lot.get(lot.id, []) if _valid(b))
        if len(prices) >= minimum and lot.pre_procurement_ucp:
            cuts.append(1 - prices[0] / lot.pre_procurement_ucp)
    if not cuts:
        raise NegotiationError("TARGET_NO_COMPETITIVE_LOTS",
                               N_("No lot has %(n)s or more valid bids and a pre-procurement price, so there is no "
                                  "average cut to apply."), params={"n": minimum})
    return sum(cuts) / len(cuts)


def lot_target(project: ProcurementProject, lot: Lot, bids_by_lot: dict[int, list[Bid]], method: str,
               manual: Decimal | str | None = None) -> Decimal:
    """The lot's target UCP (N2) by any method, the ones that look beyond the lot's own bids included."""
    if method == "national_lowest_listed":
        return national_lowest_target(lot)
    if method == "avg_cut_competitive":
        if not lot.pre_procurement_ucp:
            raise NegotiationError("TARGET_NO_PRE_PRICE",
                                   N_("Lot %(lot)s has no pre-procurement price to apply the average cut to."),
                                   params={"lot": lot.lot_no})
        cut = average_competitive_cut(project, bids_by_lot)
        return (lot.pre_procurement_ucp * (1 - cut)).quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    return compute_target(bids_by_lot.get(lot.id, []), method, manual)


def compute_target(bids: list[Bid], method: str, manual: Decimal | str | None = None) -> Decimal:
    """The lot's target UCP (N2) from its valid current bids (``lowest_ucp``, ``median_ucp``, ``manual``)."""
    if method == "manual":
        try:
            value = Decimal(str(manual).strip())
        except (InvalidOperation, AttributeError):
            value = None
        if value is None or not value.is_finite() or value <= 0:
            raise NegotiationError("TARGET_INVALID", N_("A manual target must be a positive price."))
        return value.quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    prices = sorted(b.ucp for b in bids if _valid(b))
    if not prices:
        raise NegotiationError("TARGET_NO_BIDS", N_("The lot has no valid bid to compute a target from."))
    if method == "lowest_ucp":
        return prices[0]
    if method == "median_ucp":
        return Decimal(statistics.median(prices)).quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    raise NegotiationError("TARGET_METHOD", N_("Unknown target method %(method)s."), params={"method": method})


# --- price to beat ------------------------------------------------------------------------------------

def _wins(problem: dict, bid_id: str, price: Decimal) -> bool:
    import solver
    from app.selection.services import decimal_text

    bids = [dict(b, unit_price=decimal_text(price)) if b["id"] == bid_id else b for b in problem["bids"]]
    try:
        result = solver.select(dict(problem, bids=bids))
    except Exception:  # noqa: BLE001 - an unsolvable variant (e.g. a tie needing a draw) is not a win
        return False
    return any(b["bid"] == bid_id and b["outcome"] == "won" for b in result["bids"])


def price_to_beat(problem: dict, bid: Bid) -> Decimal | None:
    """The highest UCP ≤ the bid's own at which it wins (binary search, see the module docstring)."""
    bid_id = str(bid.id)
    if _wins(problem, bid_id, bid.ucp):
        return bid.ucp
    low, high = 1, int(bid.ucp / _QUANTUM)  # in quanta: low may win, high does not
    if high <= low or not _wins(problem, bid_id, _QUANTUM):
        return None
    while high - low > 1:
        mid = (low + high) // 2
        if _wins(problem, bid_id, mid * _QUANTUM):
            low = mid
        else:
            high = mid
    return (low * _QUANTUM).quantize(_QUANTUM)


# --- opening a round ----------------------------------------------------------------------------------

@dataclass
class LotTarget:
    lot_id: int
    method: str = "lowest_ucp"  # the view proposes the RuleSet's negotiation_target
    manual: Decimal | str | None = None


def _previous_round_ok(project: ProcurementProject, now: dt.datetime) -> int:
    rounds = list_rounds(project)
    state = effective_state(project, now)
    if not rounds:
        if state != "opened":
            raise NegotiationError("NEGOTIATION_STATE",
                                   N_("A negotiation round opens once the bids are opened (the project is %(state)s)."),
                                   params={"state": state})
    else:
        if state != "negotiation":
            raise NegotiationError("NEGOTIATION_STATE",
                                   N_("A negotiation round opens once the bids are opened (the project is %(state)s)."),
                                   params={"state": state})
        if rounds[-1].state != "opened":
            raise NegotiationError("ROUND_STILL_OPEN",
                                   N_("Round %(round)s must be closed and opened before the next one."),
                                   params={"round": rounds[-1].round_no})
    if len(rounds) >= max_rounds(project):
        raise NegotiationError("MAX_ROUNDS_REACHED",
                               N_("The RuleSet allows at most %(n)s negotiation round(s)."),
                               params={"n": max_rounds(project)})
    return (rounds[-1].round_no if rounds else 1) + 1


def open_round(project: ProcurementProject, lots_targets: list[LotTarget], *, actor, deadline: dt.datetime,
               actor_password: str, officer_secret: str, witness_username: str, witness_password: str,
               witness_secret: str, invite_overrides: dict[int, dict[str, list[int]]] | None = None,
               override_reason: str | None = None, now: dt.datetime | None = None) -> NegotiationRound:
    """Open negotiation round N (N1–N3) with its key ceremony; see the module docstring.

    ``invite_overrides``: lot id → ``{"add": [supplier ids], "remove": [supplier ids]}``; any change to
    the default list needs ``override_reason`` (kept on added invitations and in the audit trail).
    """
    bidding._require_officer(actor, project)
    now = server_now(now)
    bidding._lock(project)
    lifecycle.sync_state(project, now)
    round_no = _previous_round_ok(project, now)
    deadline = deadline if deadline.tzinfo else deadline.replace(tzinfo=dt.timezone.utc)
    if deadline <= now:
        raise NegotiationError("ROUND_DEADLINE_PAST", N_("The round's deadline must be in the future."))
    if not lots_targets:
        raise NegotiationError("ROUND_NO_LOTS", N_("Choose at least one lot for the round."))
    lots = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
    overrides = invite_overrides or {}
    reason = (override_reason or "").strip() or None
    if any(v.get("add") or v.get("remove") for v in overrides.values()) and not reason:
        raise NegotiationError("INVITE_REASON_REQUIRED",
                               N_("Give a reason for adding or removing invited suppliers."))
    bids_by_lot = _lot_bids(project)
    plan = []
    for entry in lots_targets:
        lot = lots.get(entry.lot_id)
        if lot is None:
            raise NegotiationError("ROUND_LOT_UNKNOWN", N_("The lot is not one of this project's."))
        if entry.method not in TARGET_METHODS:
            raise NegotiationError("TARGET_METHOD", N_("Unknown target method %(method)s."), params={"method": entry.method})
        bids = bids_by_lot.get(lot.id, [])
        target = lot_target(project, lot, bids_by_lot, entry.method, entry.manual)
        by_supplier = {b.supplier_org_id: b for b in bids}
        invited = {b.supplier_org_id for b in bids if _valid(b) and b.ucp > target}
        change = overrides.get(lot.id, {})
        added = [s for s in change.get("add", []) if s not in invited]
        for supplier_id in added:
            if supplier_id not in by_supplier:
                raise NegotiationError("INVITE_NO_BID", N_("Only suppliers with a bid in the lot can be invited."))
        removed = [s for s in change.get("remove", []) if s in invited]
        invited = (invited | set(added)) - set(removed)
        plan.append((lot, entry.method, target, sorted(invited), by_supplier, added, removed))

    bidding._check_ceremony_rate(project, "round_key", actor)
    witness = bidding._check_people(project, stage="round_key", actor=actor, actor_password=actor_password,
                                    witness_username=witness_username, witness_password=witness_password)
    material = create_opening_key(officer_secret, witness_secret,
                                  kdf_params=bidding._setting("OPENING_KDF_PARAMS", None))
    key = OpeningKey(project_id=project.id, round_no=round_no, public_key_pem=material.public_key_pem,
                     encrypted_private_key=material.encrypted_private_key, kdf=material.kdf, officer_id=actor.id,
                     witness_id=witness.id, created_at=now)
    db.session.add(key)
    if round_no == 2:
        lifecycle.transition_project(project, "negotiation", actor=actor, now=now)
    rnd = NegotiationRound(project_id=project.id, round_no=round_no, state="open", deadline=deadline,
                           opened_by_id=actor.id, opened_at=now)
    db.session.add(rnd)
    db.session.flush()

    from app.selection.services import build_selection_problem

    problem = build_selection_problem(project, now=now)
    summary_lots = []
    invitees: dict[int, list[Lot]] = {}
    for lot, method, target, invited, by_supplier, added, removed in plan:
        rlot = RoundLot(round_id=rnd.id, lot_id=lot.id, target_method=method, target_ucp=target)
        db.session.add(rlot)
        db.session.flush()
        for supplier_id in invited:
            bid = by_supplier[supplier_id]
            db.session.add(RoundInvitation(round_lot_id=rlot.id, supplier_org_id=supplier_id, previous_bid_id=bid.id,
                                           price_to_beat=price_to_beat(problem, bid),
                                           added_reason=reason if supplier_id in added else None))
            invitees.setdefault(supplier_id, []).append(lot)
        summary_lots.append({"lot_id": lot.id, "lot_no": lot.lot_no, "method": method, "invited": invited,
                             "added": added, "removed": removed})
    db.session.flush()
    record("negotiation.round_opened", rnd, summary={
        "project_id": project.id, "round": round_no, "deadline": deadline, "lots": summary_lots,
        "override_reason": reason, "fingerprint": material.fingerprint, "officer": actor.username,
        "witness": witness.username})
    _notify_invitees(project, rnd, invitees)
    return rnd


def _notify_invitees(project: ProcurementProject, rnd: NegotiationRound, invitees: dict[int, list[Lot]]) -> None:
    from flask_babel import gettext

    from app.notifications.services import post_notification

    for supplier_id, lots in invitees.items():
        title = gettext("Negotiation round %(round)s of %(code)s: you are invited", round=rnd.round_no,
                        code=project.code)
        body = gettext("Lots %(lots)s. Submit a lower price before %(time)s (Beijing time); your target and your "
                       "price to beat are on the negotiation page.", lots=", ".join(str(lot.lot_no) for lot in lots),
                       time=lifecycle.beijing(rnd.deadline))
        post_notification(org_id=supplier_id, kind="info", title=title, body=body,
                          link=f"/negotiation/projects/{project.id}")


# --- revised quotes -----------------------------------------------------------------------------------

def supplier_invitation(rnd: NegotiationRound, lot_id: int, supplier_org_id: int) -> RoundInvitation | None:
    return db.session.scalar(select(RoundInvitation).join(RoundLot, RoundLot.id == RoundInvitation.round_lot_id)
                             .where(RoundLot.round_id == rnd.id, RoundLot.lot_id == lot_id,
                                    RoundInvitation.supplier_org_id == supplier_org_id))


def current_revision(rnd: NegotiationRound, lot_id: int, supplier_org_id: int) -> QuoteSubmission | None:
    return db.session.scalar(
        select(QuoteSubmission).join(QuoteSubmissionLot, QuoteSubmissionLot.submission_id == QuoteSubmission.id)
        .where(QuoteSubmission.project_id == rnd.project_id, QuoteSubmission.round_no == rnd.round_no,
               QuoteSubmission.supplier_org_id == supplier_org_id, QuoteSubmission.status == "submitted",
               QuoteSubmissionLot.lot_id == lot_id)
        .order_by(QuoteSubmission.version.desc()).limit(1))


def _revision_refused(project, rnd, invitation, err: DomainError, actor) -> DomainError:
    record_refusal(REVISION_ACTION, object_type="RoundInvitation", object_id=invitation.id if invitation else None,
                   summary={"project_id": project.id, "round": rnd.round_no, "code": err.code}, sealed=True,
                   **{k: v for k, v in bidding._who(actor).items() if v is not None})
    return err


def submit_revision(project: ProcurementProject, rnd: NegotiationRound, lot_id: int, *, actor, pack_price,
                    now: dt.datetime | None = None) -> QuoteSubmission:
    """Seal an invited supplier's revised pack price for one lot (N3, N4); see the module docstring."""
    bidding._require_supplier(actor)
    now = server_now(now)
    bidding._lock(project)
    invitation = supplier_invitation(rnd, lot_id, actor.org_id)
    if invitation is None:
        raise _revision_refused(project, rnd, None, NegotiationError(
            "NOT_INVITED", N_("Your organisation is not invited to this round for this lot.")), actor)
    if round_state(rnd, now) != "open":
        raise _revision_refused(project, rnd, invitation, NegotiationError(
            "ROUND_CLOSED", N_("The round's deadline %(time)s (Beijing time) has passed."),
            params={"time": lifecycle.beijing(rnd.deadline)}), actor)
    try:
        price = Decimal(str(pack_price).strip())
    except (InvalidOperation, AttributeError):
        price = None
    if price is None or not price.is_finite() or price <= 0 or -price.as_tuple().exponent > PRICE_DECIMALS:
        raise NegotiationError("PRICE_INVALID", N_("Enter a positive pack price with at most %(n)s decimals."),
                               params={"n": PRICE_DECIMALS})
    previous = db.session.get(Bid, invitation.previous_bid_id)
    unit = (price / previous.pack_qty).quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    factor = previous.ucp / previous.unit_price if previous.unit_price else Decimal(1)
    ucp = (unit * factor).quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    if ucp > previous.ucp:
        raise _revision_refused(project, rnd, invitation, NegotiationError(
            "PRICE_INCREASE_REJECTED",
            N_("A revised price may only go down: the unit comparable price would be higher than your previous one.")),
            actor)
    key = bidding.opening_key(project, rnd.round_no)
    line = {"lot_id": lot_id, "product_id": previous.product_id, "pack_price": price, "pack_qty": previous.pack_qty,
            "unit_price": unit, "ucp": ucp, "previous_bid_id": previous.id}
    # The random nonce keeps the clear SHA-256 from being matched against guessed prices.
    file_bytes = json.dumps({"lot_id": lot_id, "pack_price": str(price), "nonce": secrets.token_hex(16)},
                            sort_keys=True).encode()
    sha = hashlib.sha256(file_bytes).hexdigest()
    prior = current_revision(rnd, lot_id, actor.org_id)
    version = (db.session.scalar(select(func.max(QuoteSubmission.version)).where(
        QuoteSubmission.project_id == project.id, QuoteSubmission.supplier_org_id == actor.org_id,
        QuoteSubmission.round_no == rnd.round_no)) or 0) + 1
    blob = seal(serialise_payload(file_bytes, [line]), key.public_key_pem,
                aad=quote_aad(project_id=project.id, round_no=rnd.round_no, supplier_org_id=actor.org_id,
                              file_sha256=sha, version=version))
    if prior is not None:
        prior.status = "superseded"
    submission = QuoteSubmission(
        project_id=project.id, supplier_org_id=actor.org_id, round_no=rnd.round_no, version=version,
        status="submitted", file_name=f"round{rnd.round_no}-v{version}", file_sha256=sha, line_count=1,
        sealed_payload=blob.ciphertext, sealed_key=blob.wrapped_key, receipt_no=bidding._receipt_no(project),
        supersedes_id=prior.id if prior is not None else None, submitted_by_id=actor.id, submitted_at=now)
    db.session.add(submission)
    db.session.flush()
    db.session.add(QuoteSubmissionLot(submission_id=submission.id, lot_id=lot_id))
    db.session.flush()
    _expect_commit_before_round_deadline(submission, project, rnd, actor, sha)
    record("negotiation.revision_submitted", submission, sealed=True, summary={
        "project_id": project.id, "round": rnd.round_no, "lot_id": lot_id, "version": version, "sha256": sha,
        "receipt_no": submission.receipt_no, "replaces_version": prior.version if prior is not None else None})
    return submission


def _expect_commit_before_round_deadline(submission, project, rnd, actor, sha: str) -> None:
    """The bidding piece's commit-time guard (``before_commit``), with the round's deadline."""
    entry = bidding._CommitDeadline(
        obj=submission, project_id=project.id, deadline=rnd.deadline, who=bidding._who(actor),
        summary={"project_id": project.id, "stage": f"round{rnd.round_no}_revision_commit",
                 "code": "BID_AFTER_DEADLINE", "sha256": sha, "deadline": rnd.deadline})
    db.session.info.setdefault(bidding._COMMIT_DEADLINES, []).append(entry)
    remember_after_rollback(entry.write_refusal)


# --- opening a round ----------------------------------------------------------------------------------

def _had_increase_refusal(invitation: RoundInvitation) -> bool:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == REVISION_ACTION,
                                                         AuditEvent.object_type == "RoundInvitation",
                                                         AuditEvent.object_id == str(invitation.id))).all()
    return any((e.summary or {}).get("code") == "PRICE_INCREASE_REJECTED" for e in events)


def open_round_bids(project: ProcurementProject, rnd: NegotiationRound, *, actor, actor_password: str,
                    officer_secret: str, witness_username: str, witness_password: str, witness_secret: str,
                    rerun_selection: bool = True, now: dt.datetime | None = None):
    """Open round N after its deadline (N4, N5); returns ``(opening record, selection run or None)``."""
    bidding._require_officer(actor, project)
    now = server_now(now)
    bidding._check_ceremony_rate(project, "round_opening", actor)
    bidding._lock(project)
    if rnd.state == "opened":
        raise NegotiationError("ROUND_ALREADY_OPENED", N_("This round was already opened."))
    if round_state(rnd, now) != "closed":
        raise NegotiationError("ROUND_NOT_CLOSED", N_("The round closes at its deadline %(time)s (Beijing time)."),
                               params={"time": lifecycle.beijing(rnd.deadline)})
    key = bidding.opening_key(project, rnd.round_no)
    witness = bidding._check_people(project, stage="round_opening", actor=actor, actor_password=actor_password,
                                    witness_username=witness_username, witness_password=witness_password)
    try:
        unlocked = unlock_private_key(key, officer_secret, witness_secret)
    except OpeningSecretsRejected as err:
        raise bidding._ceremony_refused(project, "round_opening", err, actor, witness_username) from None

    drops = bool(ruleset(project).get("negotiation_non_accept_drops"))
    submissions = db.session.scalars(select(QuoteSubmission).where(
        QuoteSubmission.project_id == project.id, QuoteSubmission.round_no == rnd.round_no)
        .order_by(QuoteSubmission.supplier_org_id, QuoteSubmission.version)).all()
    quotes, revised = [], {}
    for sub in submissions:
        quotes.append({"submission": sub.id, "receipt_no": sub.receipt_no, "supplier": sub.supplier_org_id,
                       "version": sub.version, "status": sub.status, "file_sha256": sub.file_sha256,
                       "lines": sub.line_count,
                       "submitted_at": sub.submitted_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
        if sub.status != "submitted":
            continue
        aad = quote_aad(project_id=project.id, round_no=sub.round_no, supplier_org_id=sub.supplier_org_id,
                        file_sha256=sub.file_sha256, version=sub.version)
        try:
            _file, lines = deserialise_payload(unseal(sub, unlocked, aad=aad), expected_sha256=sub.file_sha256)
        except SealBroken as err:
            raise NegotiationError("OPENING_SEAL_BROKEN", N_("The sealed revision %(receipt)s does not open (%(code)s)."),
                                   params={"receipt": sub.receipt_no, "code": err.code}) from None
        for line in lines:
            revised[(sub.supplier_org_id, line["lot_id"])] = (sub, line)
    del unlocked

    responses = {"accepted": 0, "non_accept": 0, "rejected_increase": 0}
    new_bids = []
    dropouts: dict[int, QuoteSubmission] = {}
    for invitation in invitations(rnd):
        rlot = db.session.get(RoundLot, invitation.round_lot_id)
        previous = db.session.get(Bid, invitation.previous_bid_id)
        hit = revised.get((invitation.supplier_org_id, rlot.lot_id))
        if hit is not None and hit[1]["ucp"] < previous.ucp:
            sub, line = hit
            new_bids.append(_revised_bid(previous, sub, line, rnd, now))
            invitation.response = "accepted"
        else:
            # no answer, or an unchanged price (N4): the previous quote stands, or drops out
            invitation.response = "rejected_increase" if hit is None and _had_increase_refusal(invitation) \
                else "non_accept"
            if drops:
                sub = dropouts.get(invitation.supplier_org_id)
                if sub is None:
                    sub = dropouts[invitation.supplier_org_id] = _dropout_submission(project, rnd, previous, actor, now)
                if hit is not None:  # an unchanged revision is not a bid; the drop-out row replaces it
                    hit[0].status = "superseded"
                new_bids.append(_revised_bid(previous, sub, {
                    "pack_price": previous.pack_price, "unit_price": previous.unit_price, "ucp": previous.ucp},
                    rnd, now, excluded="incomplete"))
            elif hit is not None:
                hit[0].status = "superseded"
        responses[invitation.response] += 1
    db.session.flush()
    row = OpeningRecord(project_id=project.id, round_no=rnd.round_no, opened_at=now, officer_id=actor.id,
                        witness_id=witness.id, quotes=quotes,
                        record_sha256=bidding.opening_digest(project_id=project.id, round_no=rnd.round_no,
                                                             opened_at=now, officer_id=actor.id,
                                                             witness_id=witness.id, quotes=quotes))
    db.session.add(row)
    db.session.add_all(new_bids)
    rnd.state = "opened"
    db.session.flush()
    record("negotiation.round_bids_opened", rnd, summary={
        "project_id": project.id, "round": rnd.round_no, "record_sha256": row.record_sha256, "bids": len(new_bids),
        "responses": responses, "non_accept_drops": drops, "witness": witness.username,
        "key_fingerprint": public_key_fingerprint(key.public_key_pem)})
    run = None
    if rerun_selection:
        from app.selection.services import SelectionError, run_selection

        try:
            with db.session.begin_nested():
                run = run_selection(project, actor=actor, now=now)
        except SelectionError as err:
            record("negotiation.selection_deferred", rnd, summary={"project_id": project.id, "code": err.code})
    return row, run


def _revised_bid(previous: Bid, sub: QuoteSubmission, line: dict, rnd: NegotiationRound, now: dt.datetime,
                 excluded: str | None = None) -> Bid:
    lot = db.session.get(Lot, previous.lot_id)
    return Bid(submission_id=sub.id, project_id=previous.project_id, lot_id=previous.lot_id,
               supplier_org_id=previous.supplier_org_id, product_id=previous.product_id, round_no=rnd.round_no,
               pack_price=line["pack_price"], pack_qty=previous.pack_qty, unit_price=line["unit_price"],
               ucp=line["ucp"], declared_capacity=previous.declared_capacity,
               capacity_use_per_unit=previous.capacity_use_per_unit, supplier_capacity=previous.supplier_capacity,
               tiers=[], bundle_code=previous.bundle_code, bundle_discount=previous.bundle_discount,
               region_preferences=list(previous.region_preferences or []),
               excluded_reason=excluded or previous.excluded_reason,
               over_ceiling=lot.ceiling_ucp is not None and line["ucp"] > lot.ceiling_ucp,
               supersedes_id=previous.id, revealed_at=now)


def _dropout_submission(project, rnd, previous: Bid, actor, now) -> QuoteSubmission:
    """The round's record of a supplier's non-accept drop-out (no sealed content: nothing was quoted)."""
    version = (db.session.scalar(select(func.max(QuoteSubmission.version)).where(
        QuoteSubmission.project_id == project.id, QuoteSubmission.supplier_org_id == previous.supplier_org_id,
        QuoteSubmission.round_no == rnd.round_no)) or 0) + 1
    sub = QuoteSubmission(project_id=project.id, supplier_org_id=previous.supplier_org_id, round_no=rnd.round_no,
                          version=version, status="submitted", file_name=f"round{rnd.round_no}-non-accept",
                          file_sha256=hashlib.sha256(b"").hexdigest(), line_count=0, sealed_payload=b"",
                          sealed_key=b"", receipt_no=bidding._receipt_no(project), submitted_by_id=actor.id,
                          submitted_at=now)
    db.session.add(sub)
    db.session.flush()
    return sub


# --- a round is immutable once opened -----------------------------------------------------------------

def _round_opened(connection, round_id: int) -> bool:
    return connection.execute(select(NegotiationRound.state).where(NegotiationRound.id == round_id)).scalar() == "opened"


@event.listens_for(RoundInvitation, "before_update")
def _invitation_immutable(mapper, connection, target: RoundInvitation) -> None:
    round_id = connection.execute(select(RoundLot.round_id).where(RoundLot.id == target.round_lot_id)).scalar()
    if _round_opened(connection, round_id):
        raise bidding.BidsReadOnly("an opened negotiation round never changes (N5)")


@event.listens_for(RoundLot, "before_update")
def _round_lot_immutable(mapper, connection, target: RoundLot) -> None:
    if _round_opened(connection, target.round_id):
        raise bidding.BidsReadOnly("an opened negotiation round never changes (N5)")


@event.listens_for(NegotiationRound, "before_update")
def _round_immutable(mapper, connection, target: NegotiationRound) -> None:
    state = inspect(target).attrs["state"].history
    if state.deleted and state.deleted[0] == "opened":
        raise bidding.BidsReadOnly("an opened negotiation round never changes (N5)")
