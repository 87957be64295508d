"""Winner selection (中选规则) on an opened project: build the selection problem, run the engine, read outcomes.

The rule engine and the region draft are pure award logic in :mod:`solver` (contract
``shared/contracts/selection-problem.md``). This module builds the ``jicai.selection-problem/1``
document from the project's records, runs :func:`solver.select`, and keeps problem, its SHA-256,
result and solver version together in a :class:`SelectionRun`, so anyone can run the same document
again and compare.

Bids are read-only after the opening (DOMAIN.md P-3): a run never writes ``Bid.outcome``,
``reason`` or ``rank``. Per-bid outcomes live in the stored result and are read with
:func:`bid_outcomes`. What a run does write on the project's own records is each lot's
``status`` (``selected`` or ``failed``, 流标).

Services flush and never commit, check who acts and in which state, and audit every change.
"""
from __future__ import annotations

import datetime as dt
import importlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

import solver
from app.audit.services import record
from app.auth import roles as R
from app.bidding.models import Bid, CommittedVolume, QuoteSubmission, SelectionRun
from app.catalog.models import Product
from app.core.errors import N_, DomainError
from app.extensions import db
from app.orgs.models import Organisation
from app.projects.lifecycle import at_or_after, effective_state, frozen_ruleset
from app.projects.models import DemandAmendment, DemandLine, DemandReport, Lot, ProcurementProject, RuleSetVersion
from app.projects.services import may_view_project
from app.regions.names import XINJIANG_CODE, XPCC_CODE, supply_regions
from solver.canonical import problem_sha256
from solver.errors import ProblemError
from solver.rulesets import flatten, resolve_ruleset
from solver.selection.validate import EXCLUSION_REASONS, SCHEMA, tie_key_names

__all__ = [
    "DEMAND_BASES",
    "RUN_STATES",
    "Outcome",
    "SelectionError",
    "bid_outcomes",
    "build_selection_problem",
    "committed_quantities",
    "current_bids",
    "decimal_text",
    "get_run",
    "latest_run",
    "list_runs",
    "may_run_selection",
    "may_view_selection",
    "run_report",
    "run_selection",
    "tie_groups",
]

#: States in which the officer runs the rule engine: after the opening, before an award is proposed.
RUN_STATES = ("opened", "negotiation", "evaluated")
DEMAND_BASES = ("reported", "committed")
#: Who reads every bid's outcome; suppliers read their own bids' only (:func:`run_report`).
FULL_READERS = (R.PROCUREMENT_OFFICER, R.SUPERVISOR)


class SelectionError(DomainError):
    """A refused or impossible selection; ``errors`` keeps the engine's field errors when it refused the input."""

    default_code = "SELECTION_ERROR"

    def __init__(self, code: str | None = None, message: str | None = None, *, params=None, errors=None) -> None:
        self.errors = list(errors or [])
        super().__init__(code, message, params=params)


# --- access -------------------------------------------------------------------------------------------

def may_run_selection(user, project: ProcurementProject) -> bool:
    """Only procurement officers of the project's authority run the rule engine (DOMAIN.md L1)."""
    return user is not None and user.role == R.PROCUREMENT_OFFICER and user.org_id == project.authority_org_id


def may_view_selection(user, project: ProcurementProject) -> bool:
    """Officers and supervisors read every outcome; suppliers their own (if they may read the project)."""
    if user is None or user.role not in (*FULL_READERS, R.SUPPLIER_USER):
        return False
    return may_view_project(user, project)


def _require_runner(actor, project: ProcurementProject) -> None:
    # ``actor is None`` is the command line: an operator with shell access to the server.
    if actor is not None and not may_run_selection(actor, project):
        raise SelectionError("SELECTION_DENIED",
                             N_("Only procurement officers of the project's procurement authority run the selection."))


# --- numbers ------------------------------------------------------------------------------------------

def decimal_text(value: Decimal) -> str:
    """A Decimal as plain text without trailing zeros (``0.065000`` → ``0.065``, ``101.670000`` → ``101.67``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _quantity(value: Decimal) -> int | float:
    """A quantity as a JSON number: an integer when whole (the usual case: smallest units)."""
    if value == value.to_integral_value():
        return int(value)
    return float(decimal_text(value))  # at most 4 decimals (Quantity): the shortest repr reads back exactly


# --- reading the project ------------------------------------------------------------------------------

def current_bids(project: ProcurementProject, round_no: int | None = None) -> list[Bid]:
    """The bid that counts per supplier and lot: the latest of rounds up to ``round_no`` (all rounds if None).

    Bids of withdrawn or superseded quote submissions do not count, nor a bid a later one supersedes.
    Ordered by lot number, then bid id (the order of the selection problem).
    """
    query = (select(Bid).join(QuoteSubmission, Bid.submission_id == QuoteSubmission.id)
             .join(Lot, Bid.lot_id == Lot.id)
             .where(Bid.project_id == project.id, QuoteSubmission.status == "submitted")
             .order_by(Lot.lot_no, Bid.id))
    if round_no is not None:
        query = query.where(Bid.round_no <= round_no)
    bids = db.session.scalars(query).all()
    superseded = {b.supersedes_id for b in bids if b.supersedes_id is not None}
    latest: dict[tuple[int, int], Bid] = {}
    for bid in bids:
        if bid.id in superseded:
            continue
        key = (bid.supplier_org_id, bid.lot_id)
        if key not in latest or (bid.round_no, bid.id) > (latest[key].round_no, latest[key].id):
            latest[key] = bid
    keep = {b.id for b in latest.values()}
    return [b for b in bids if b.id in keep]


def _fold_region(code: str, xpcc_separate: bool) -> str:
    return XINJIANG_CODE if code == XPCC_CODE and not xpcc_separate else code


def _frozen_demand_lines(project: ProcurementProject) -> list[tuple[int, str, Decimal, int | None]]:
    """(lot id, region code, effective reported demand, product id) of every line of the frozen reports.

    The effective demand of a line is the last approved amendment's figure, else the frozen one.
    """
    rows = db.session.execute(
        select(DemandLine.id, DemandLine.lot_id, DemandLine.region_code, DemandLine.reported_demand,
               DemandLine.product_id)
        .join(DemandReport, DemandLine.report_id == DemandReport.id)
        .where(DemandReport.project_id == project.id, DemandReport.status == "frozen")
        .order_by(DemandLine.id)
    ).all()
    amended: dict[int, Decimal] = {}
    for line_id, quantity in db.session.execute(
        select(DemandAmendment.demand_line_id, DemandAmendment.new_reported_demand)
        .join(DemandLine, DemandAmendment.demand_line_id == DemandLine.id)
        .join(DemandReport, DemandLine.report_id == DemandReport.id)
        .where(DemandReport.project_id == project.id, DemandReport.status == "frozen",
               DemandAmendment.status == "approved")
        .order_by(DemandAmendment.decided_at, DemandAmendment.id)
    ):
        amended[line_id] = quantity  # the last approved one wins
    return [(lot_id, region, amended.get(line_id, quantity), product_id)
            for line_id, lot_id, region, quantity, product_id in rows]


def _ruleset_spec(version: RuleSetVersion) -> str | dict:
    """The frozen RuleSet as the problem names it: its preset plus overrides.

    If the presets have changed since the freeze (a newer solver), preset + overrides would no
    longer resolve to what was frozen: then every frozen field is given explicitly, so the run
    applies exactly the RuleSet fixed at ``bidding_open`` (DOMAIN.md L3).
    """
    overrides = dict(version.overrides or {})
    spec: str | dict = {"preset": version.preset, **overrides} if overrides else version.preset
    try:
        same = resolve_ruleset(spec) == version.resolved
    except ProblemError:
        same = False
    if not same:
        spec = {"preset": version.preset, **flatten(version.resolved)}
    return spec


def _tie_value(value: Any, where: str) -> int | str:
    """An officer's tie-break value: an integer, or a decimal kept exactly as text (never a float)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{where}: tie-break values are integers, Decimals or decimal text, not {type(value).__name__}")
    if isinstance(value, int):
        return value
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise SelectionError("TIE_KEY_NOT_A_NUMBER", N_("The tie-break value %(value)s of bid %(bid)s is not a number."),
                             params={"value": value, "bid": where}) from None
    return int(number) if number == number.to_integral_value() and "." not in str(value) else decimal_text(number)


def _computed_tie_keys(bids: list[Bid], key_names: Mapping[str, str],
                       lines: list[tuple[int, str, Decimal, int | None]]) -> dict[int, dict[str, int | str]]:
    """The RuleSet's tie-break values each bid has in the data, 0 where the data does not say.

    ``reported_demand``: the frozen (effective) demand institutions reported in the bid's lot for
    products of the bid's supplier (demand lines naming a product). Other keys (historical provinces
    supplied, 4+7 pilot-city sales) are not recorded in jicai: 0 for every bid, so only the officer's
    values or the draw can separate a tie on them.
    """
    by_supplier_lot: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    product_ids = {p for _, _, _, p in lines if p is not None}
    if "reported_demand" in key_names and product_ids:
        makers = dict(db.session.execute(select(Product.id, Product.manufacturer_id).where(Product.id.in_(product_ids))).all())
        for lot_id, _region, quantity, product_id in lines:
            if product_id is not None:
                by_supplier_lot[(makers[product_id], lot_id)] += quantity
    computed: dict[int, dict[str, int | str]] = {}
    for bid in bids:
        values: dict[str, int | str] = {}
        for name in key_names:
            value = by_supplier_lot.get((bid.supplier_org_id, bid.lot_id), Decimal(0)) if name == "reported_demand" else Decimal(0)
            values[name] = int(value) if value == value.to_integral_value() else decimal_text(value)
        computed[bid.id] = values
    return computed


def _officer_tie_keys(tie_keys: Mapping | None, key_names: Mapping[str, str], bid_ids: set[int]) -> dict[int, dict[str, int | str]]:
    """The officer's tie-break values ``{bid id: {key: value}}``, checked against the bids and the RuleSet's keys."""
    result: dict[int, dict[str, int | str]] = {}
    for raw_bid, values in (tie_keys or {}).items():
        try:
            bid_id = int(raw_bid)
        except (TypeError, ValueError):
            bid_id = None
        if bid_id is None or bid_id not in bid_ids:
            raise SelectionError("TIE_KEY_UNKNOWN_BID", N_("Bid %(bid)s is not a current bid of this project."),
                                 params={"bid": raw_bid})
        for name, value in (values or {}).items():
            if name not in key_names:
                raise SelectionError("TIE_KEY_UNKNOWN",
                                     N_("%(key)s is not a tie-break key of the project's RuleSet (its keys: %(keys)s)."),
                                     params={"key": name, "keys": ", ".join(key_names) or "—"})
            result.setdefault(bid_id, {})[name] = _tie_value(value, str(raw_bid))
    return result


def _excluded(bid: Bid) -> str | None:
    reason = bid.excluded_reason
    if reason is None or reason == "over_ceiling":  # the engine derives over_ceiling from the ceiling itself
        return None
    if reason not in EXCLUSION_REASONS:
        raise SelectionError("UNKNOWN_EXCLUSION",
                             N_("Bid %(bid)s is excluded for a reason the rule engine does not know: %(reason)s."),
                             params={"bid": bid.id, "reason": reason})
    return reason


def build_selection_problem(project: ProcurementProject, *, round_no: int | None = None, tie_keys: Mapping | None = None,
                            draw_seed: str | None = None, demand_basis: str = "reported",
                            now: dt.datetime | None = None) -> dict:
    """The ``jicai.selection-problem/1`` document of an opened (or later) project.

    * ``ruleset``: the RuleSet frozen at ``bidding_open`` (preset + overrides, see :func:`_ruleset_spec`);
    * ``regions``: the project's supply regions, 31 with 660000 folded into 新疆 unless ``xpcc_separate``;
    * ``lots``: every lot with its ceiling (``ceiling_ucp`` as decimal text), classes and the demand per
      region from the frozen demand reports, effective after approved amendments, summed over strengths.
      ``demand_basis`` is ``reported`` (the ratio for the number of winners applies, DOMAIN.md V1) or
      ``committed``, for demand lines that already hold committed volumes (the imported batch 2);
    * ``bids``: every current bid (:func:`current_bids`): id = the Bid id, supplier = its organisation
      id, ``unit_price`` = ``ucp``, ``excluded`` from ``excluded_reason``, the RuleSet's tie-break
      values computed from the data (:func:`_computed_tie_keys`) overridden by the officer's
      ``tie_keys`` ``{bid id: {key: value}}``, and the supplier's region preferences;
    * ``draw_seed``: the officer's, else the project's (``ProcurementProject.draw_seed``), else null.

    Prices are decimal strings without trailing zeros, quantities numbers. Deterministic: the same
    records and inputs give the same document and so the same ``problem_sha256``.
    """
    state = effective_state(project, now)
    if state == "cancelled" or not at_or_after(state, "opened"):
        raise SelectionError("SELECTION_NOT_OPENED",
                             N_("Winners can only be selected once the bids are opened (the project is %(state)s)."),
                             params={"state": state})
    if demand_basis not in DEMAND_BASES:
        raise ValueError(f"demand_basis must be one of {DEMAND_BASES}")
    version = frozen_ruleset(project)
    if version is None:
        raise SelectionError("RULESET_NOT_FROZEN", N_("The project has no frozen RuleSet (it is frozen when bidding opens)."))
    resolved = version.resolved
    xpcc_separate = bool(resolved.get("xpcc_separate"))
    regions = [r.code for r in supply_regions(xpcc_separate=xpcc_separate)]
    lots = db.session.scalars(select(Lot).where(Lot.project_id == project.id).order_by(Lot.lot_no)).all()
    bids = current_bids(project, round_no)
    lines = _frozen_demand_lines(project)

    demand: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for lot_id, region, quantity, _product in lines:
        demand[lot_id][_fold_region(region, xpcc_separate)] += quantity

    key_names = tie_key_names(resolved)
    tie_values = _computed_tie_keys(bids, key_names, lines)
    for bid_id, values in _officer_tie_keys(tie_keys, key_names, {b.id for b in bids}).items():
        tie_values[bid_id].update(values)

    seed = (draw_seed or "").strip() or (project.draw_seed or "").strip() or None
    return {
        "schema": SCHEMA,
        "ruleset": _ruleset_spec(version),
        "draw_seed": seed,
        "regions": regions,
        "lots": [
            {
                "id": str(lot.id),
                "name": lot.name,
                "ceiling": None if lot.ceiling_ucp is None else decimal_text(lot.ceiling_ucp),
                "form_class": lot.form_class,
                "drug_class": lot.drug_class,
                "demand_basis": demand_basis,
                "demand": [{"region": code, "quantity": _quantity(q)} for code, q in sorted(demand[lot.id].items())],
            }
            for lot in lots
        ],
        "bids": [
            {
                "id": str(bid.id),
                "lot": str(bid.lot_id),
                "supplier": str(bid.supplier_org_id),
                "unit_price": decimal_text(bid.ucp),
                "excluded": _excluded(bid),
                "tie_keys": tie_values[bid.id],
                "region_preferences": list(dict.fromkeys(_fold_region(c, xpcc_separate) for c in bid.region_preferences or [])),
            }
            for bid in bids
        ],
    }


# --- running ------------------------------------------------------------------------------------------

def _engine_refused(exc: ProblemError) -> SelectionError:
    details = "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
    if exc.errors and all(e.path == "draw_seed" for e in exc.errors):
        return SelectionError("DRAW_SEED_REQUIRED",
                              N_("Bids are still tied after every tie-break key: give tie-break values or the seed of the officer's draw. %(details)s"),
                              params={"details": details}, errors=exc.errors)
    return SelectionError("SELECTION_PROBLEM_INVALID", N_("The rule engine refused the selection problem: %(details)s"),
                          params={"details": details}, errors=exc.errors)


def _demand_services():
    """``app.demand.services`` when it offers committed volumes (``compute_committed_volumes`` and
    ``store_committed_volumes``), else None."""
    try:
        module = importlib.import_module("app.demand.services")
    except ModuleNotFoundError as exc:
        if exc.name in ("app.demand", "app.demand.services"):
            return None
        raise
    if not all(hasattr(module, name) for name in ("compute_committed_volumes", "store_committed_volumes")):
        return None
    return module


def _store_committed_volumes(project: ProcurementProject, run: SelectionRun, demand_basis: str, actor) -> int | None:
    """Committed volumes per institution for the run (DOMAIN.md V1), by the demand piece; None without it.

    The ratio is the frozen RuleSet's for each lot's number of winners; with ``demand_basis =
    committed`` the demand already holds committed volumes, so the ratio is 1 (as in the problem).
    """
    demand = _demand_services()
    if demand is None:
        return None
    winners = {int(lot["lot"]): len(lot["winners"]) for lot in run.result["lots"]}
    overrides = {lot_id: "1" for lot_id, n in winners.items() if n} if demand_basis == "committed" else None
    rows = demand.compute_committed_volumes(project, winners, ratio_overrides=overrides)
    return demand.store_committed_volumes(run, rows, actor=actor)


def run_selection(project: ProcurementProject, *, actor, tie_keys: Mapping | None = None, draw_seed: str | None = None,
                  round_no: int | None = None, demand_basis: str = "reported",
                  now: dt.datetime | None = None) -> SelectionRun:
    """Run the rule engine on the project and store the run; returns the :class:`SelectionRun`.

    The officer (of the project's authority; ``actor=None`` is the command line) runs it while the
    project is ``opened``, in ``negotiation`` or ``evaluated``. The problem (:func:`build_selection_problem`),
    its ``problem_sha256``, the engine's result and ``solver.__version__`` are stored together; each
    lot's status becomes ``selected`` or ``failed`` (流标). Bids are not touched (P-3): read the
    outcomes with :func:`bid_outcomes`. Committed volumes per institution (rounded per institution,
    V1) are computed and stored by ``app.demand.services`` when that piece is there; the result's
    lot-level ``committed_quantity`` per winner (rounded per region) is always there.

    Raises :class:`SelectionError`: not allowed, wrong state, or the engine refused the input
    (``DRAW_SEED_REQUIRED`` when a tie reaches the officer's draw without a seed).
    """
    _require_runner(actor, project)
    db.session.flush()
    db.session.refresh(project, with_for_update=True)  # one run at a time per project
    state = effective_state(project, now)
    if state not in RUN_STATES:
        raise SelectionError("SELECTION_STATE",
                             N_("Winners are selected while the project is opened, in negotiation or evaluated (it is %(state)s)."),
                             params={"state": state})
    problem = build_selection_problem(project, round_no=round_no, tie_keys=tie_keys, draw_seed=draw_seed,
                                      demand_basis=demand_basis, now=now)
    try:
        result = solver.select(problem)
    except ProblemError as exc:
        raise _engine_refused(exc) from None
    sha = problem_sha256(problem)
    if result.get("problem_sha256") != sha:  # pragma: no cover - the engine hashes the same canonical JSON
        raise RuntimeError("the engine's problem_sha256 differs from the app's")
    version = frozen_ruleset(project)
    bids = current_bids(project, round_no)
    run = SelectionRun(project_id=project.id, round_no=max((b.round_no for b in bids), default=round_no or 1),
                       ruleset_version_id=version.id, problem=problem, problem_sha256=sha, result=result,
                       solver_version=solver.__version__, created_by_id=getattr(actor, "id", None))
    db.session.add(run)
    db.session.flush()

    lots = {str(lot.id): lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
    for lot_result in result["lots"]:
        lot = lots[lot_result["lot"]]
        lot.status = lot_result["status"]
        lot.failed_reason = None if lot.status == "selected" else f"无有效报价，流标（中选规则运行 #{run.id}）"
    db.session.flush()

    committed_rows = _store_committed_volumes(project, run, demand_basis, actor)

    statuses = [lot["status"] for lot in result["lots"]]
    record("selection.run", run, summary={
        "project_id": project.id,
        "project_code": project.code,
        "problem_sha256": sha,
        "solver_version": solver.__version__,
        "ruleset_version": version.version,
        "round_no": run.round_no,
        "demand_basis": demand_basis,
        "draw_seed": problem["draw_seed"],
        "tie_key_overrides": sum(len(v or {}) for v in (tie_keys or {}).values()),
        "lots": len(statuses),
        "selected": statuses.count("selected"),
        "failed": statuses.count("failed"),
        "bids": len(result["bids"]),
        "winners": sum(len(lot["winners"]) for lot in result["lots"]),
        "committed_volume_rows": committed_rows,
    })
    return run


# --- reading runs -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """A bid's outcome in a run (the stored result; the Bid row itself is never changed)."""

    bid_id: int
    lot_id: int
    outcome: str  # won | lost
    reason: str  # won | revived | excluded | over_ceiling | beyond_max_winners | outside_spread
    rank: int | None
    flags: tuple[str, ...] = ()

    @property
    def won(self) -> bool:
        return self.outcome == "won"


def bid_outcomes(selection_run: SelectionRun) -> dict[int, Outcome]:
    """Bid id → :class:`Outcome` of every bid of the run."""
    lot_of = {b["id"]: int(b["lot"]) for b in selection_run.problem["bids"]}
    return {
        int(b["bid"]): Outcome(bid_id=int(b["bid"]), lot_id=lot_of[b["bid"]], outcome=b["outcome"], reason=b["reason"],
                               rank=b["rank"], flags=tuple(b.get("flags") or ()))
        for b in selection_run.result["bids"]
    }


def list_runs(project: ProcurementProject) -> list[SelectionRun]:
    """The project's runs, newest first."""
    return db.session.scalars(select(SelectionRun).where(SelectionRun.project_id == project.id)
                              .order_by(SelectionRun.id.desc())).all()


def latest_run(project: ProcurementProject) -> SelectionRun | None:
    return db.session.scalar(select(SelectionRun).where(SelectionRun.project_id == project.id)
                             .order_by(SelectionRun.id.desc()).limit(1))


def get_run(project: ProcurementProject, run_id: int) -> SelectionRun | None:
    run = db.session.get(SelectionRun, run_id)
    return run if run is not None and run.project_id == project.id else None


def committed_quantities(selection_run: SelectionRun) -> dict[int, dict[str, Decimal]] | None:
    """Committed volumes rounded per institution (``CommittedVolume`` rows of the run), summed per lot and region.

    None when the run has none (the demand piece has not computed them).
    """
    rows = db.session.execute(
        select(CommittedVolume.lot_id, CommittedVolume.region_code, func.sum(CommittedVolume.committed_volume))
        .where(CommittedVolume.selection_run_id == selection_run.id)
        .group_by(CommittedVolume.lot_id, CommittedVolume.region_code)
    ).all()
    if not rows:
        return None
    out: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for lot_id, region, total in rows:
        out[lot_id][region] = Decimal(total)
    return out


# --- the report the pages show ------------------------------------------------------------------------

@dataclass
class BidLine:
    bid: Bid
    supplier: Organisation
    outcome: Outcome


@dataclass
class WinnerLine:
    line: BidLine
    regions: list[str]
    committed_quantity: int | float  # the engine's: Σ per region of quantity × ratio, rounded half-up per region
    institution_committed: Decimal | None  # Σ of the per-institution rounded CommittedVolume rows, if computed
    backup_regions: list[str] = field(default_factory=list)


@dataclass
class LotReport:
    lot: Lot
    status: str
    bidders: int
    max_winners: int
    lowest_price: Decimal | None
    committed_ratio: Decimal | None
    ruleset: dict
    bids: list[BidLine]
    winners: list[WinnerLine]
    backups: list[tuple[str, BidLine]]


def run_report(selection_run: SelectionRun, *, supplier_org_id: int | None = None) -> list[LotReport]:
    """Per lot: N, max winners, lowest price, every bid's outcome (ranked order), winners with their
    primary regions, backups and committed quantities.

    With ``supplier_org_id`` only that supplier's bids (and its own regions and backups) are kept,
    and lots it did not bid in are left out: what a supplier may see.
    """
    outcomes = bid_outcomes(selection_run)
    bids = {b.id: b for b in db.session.scalars(select(Bid).where(Bid.id.in_(list(outcomes))))} if outcomes else {}
    suppliers = {o.id: o for o in db.session.scalars(
        select(Organisation).where(Organisation.id.in_({b.supplier_org_id for b in bids.values()})))} if bids else {}
    lots = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == selection_run.project_id))}
    institution = committed_quantities(selection_run)
    ruleset = resolve_ruleset(selection_run.problem["ruleset"])

    lines = {bid_id: BidLine(bids[bid_id], suppliers[bids[bid_id].supplier_org_id], outcome)
             for bid_id, outcome in outcomes.items()}

    def visible(bid_id: int) -> bool:
        return supplier_org_id is None or bids[bid_id].supplier_org_id == supplier_org_id

    reports = []
    for lot_result in selection_run.result["lots"]:
        lot = lots[int(lot_result["lot"])]
        lot_lines = [line for line in lines.values() if line.outcome.lot_id == lot.id and visible(line.bid.id)]
        if supplier_org_id is not None and not lot_lines:
            continue
        lot_lines.sort(key=lambda line: (line.outcome.rank is None, line.outcome.rank or 0, line.bid.ucp, line.bid.id))
        backups = [(b["region"], lines[int(b["bid"])]) for b in lot_result["backups"]]
        winners = []
        for alloc in lot_result["allocation"]:
            bid_id = int(alloc["bid"])
            if not visible(bid_id):
                continue
            regions = list(alloc["primary_regions"])
            inst = None
            if institution is not None:
                inst = sum((institution.get(lot.id, {}).get(r, Decimal(0)) for r in regions), Decimal(0))
            winners.append(WinnerLine(lines[bid_id], regions, alloc["committed_quantity"], inst,
                                      [region for region, line in backups if line.bid.id == bid_id]))
        reports.append(LotReport(
            lot=lot, status=lot_result["status"], bidders=lot_result["bidders"], max_winners=lot_result["max_winners"],
            lowest_price=None if lot_result["lowest_price"] is None else Decimal(lot_result["lowest_price"]),
            committed_ratio=None if lot_result["committed_ratio"] is None else Decimal(lot_result["committed_ratio"]),
            ruleset=ruleset, bids=lot_lines, winners=winners,
            backups=backups if supplier_org_id is None else [(r, line) for r, line in backups if visible(line.bid.id)],
        ))
    return reports


# --- ties, for the officer's form ---------------------------------------------------------------------

@dataclass
class TieGroup:
    """Valid bids of one lot at the same unit price: the tie-break keys (then the draw) order them."""

    lot: Lot
    ucp: Decimal
    bids: list[tuple[Bid, Organisation, dict[str, int | str]]]  # with the values computed from the data


def tie_groups(project: ProcurementProject, round_no: int | None = None) -> tuple[list[str], list[TieGroup]]:
    """The RuleSet's tie-break key names and every group of tied valid bids (not excluded, not over the ceiling)."""
    version = frozen_ruleset(project)
    if version is None:
        return [], []
    key_names = tie_key_names(version.resolved)
    bids = current_bids(project, round_no)
    lots = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
    groups: dict[tuple[int, Decimal], list[Bid]] = defaultdict(list)
    for bid in bids:
        lot = lots[bid.lot_id]
        if bid.excluded_reason not in (None, "over_ceiling") or (lot.ceiling_ucp is not None and bid.ucp > lot.ceiling_ucp):
            continue
        groups[(bid.lot_id, bid.ucp)].append(bid)
    tied = [members for members in groups.values() if len(members) > 1]
    if not tied:
        return list(key_names), []
    computed = _computed_tie_keys([b for members in tied for b in members], key_names, _frozen_demand_lines(project))
    orgs = {o.id: o for o in db.session.scalars(
        select(Organisation).where(Organisation.id.in_({b.supplier_org_id for members in tied for b in members})))}
    result = [TieGroup(lots[members[0].lot_id], members[0].ucp,
                       [(b, orgs[b.supplier_org_id], computed[b.id]) for b in members]) for members in tied]
    result.sort(key=lambda g: (g.lot.lot_no, g.ucp))
    return list(key_names), result
