"""The project lifecycle (DOMAIN.md L2): states, legal moves, who makes them, guards and freezes.

``draft → demand_collection → demand_frozen → bidding_open → bidding_closed → opened → [negotiation]
→ evaluated → award_proposed → award_published → in_execution → closed``, with the side exit
``cancelled`` (before ``award_published``, with a reason) and ``award_proposed → evaluated`` when the
officer withdraws a proposal.

``bidding_closed`` is nobody's move: the server clock passing ``bid_deadline`` closes bidding
(:func:`effective_state` derives it on read, :func:`sync_state` persists it on the next write).
Moving to ``opened`` is the opening ceremony's (two secrets, a later piece): the move and its clock
guard are here, but it is not offered as a plain button (``Transition.manual`` is false).

Immutability (L2 "immutable from here on", L3) is enforced here for every caller, the platform
administrator and the command line included: from ``bidding_open`` on, the RuleSet, lots, ceilings
and eligible products cannot change (``PROJECT_FROZEN``); from ``demand_frozen`` on, reported demand
changes only through amendment rows (``DEMAND_FROZEN``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.audit.services import record, record_refusal
from app.auth import roles as R
from app.core.db import utcnow
from app.core.errors import N_, DomainError
from app.extensions import db
from app.projects.models import (
    PROJECT_STATES,
    DemandAmendment,
    DemandLine,
    DemandReport,
    Lot,
    ProcurementProject,
    ProjectInstitution,
    ProjectStateChange,
    RuleSetVersion,
)

BEIJING = ZoneInfo("Asia/Shanghai")

# The main line in order (``cancelled`` is the side exit, not part of the order).
ORDER = tuple(s for s in PROJECT_STATES if s != "cancelled")
TERMINAL = frozenset({"closed", "cancelled"})
# Cancelling is allowed before award_published (L2 side exit).
CANCELLABLE = frozenset(ORDER[: ORDER.index("award_published")])
# State labels (msgids): the web layer shows them translated.
STATE_LABELS = {
    "draft": N_("Draft"),
    "demand_collection": N_("Demand collection"),
    "demand_frozen": N_("Demand frozen"),
    "bidding_open": N_("Bidding open"),
    "bidding_closed": N_("Bidding closed (sealed)"),
    "opened": N_("Bids opened"),
    "negotiation": N_("Negotiation"),
    "evaluated": N_("Evaluated"),
    "award_proposed": N_("Award proposed (publicity)"),
    "award_published": N_("Award published"),
    "in_execution": N_("In execution"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}


class ProjectError(DomainError):
    """A refused project change; ``params`` name states (``from_state``, ``to_state``, ``state``) by code."""

    default_code = "PROJECT_ERROR"


class IllegalTransition(ProjectError):
    default_code = "ILLEGAL_TRANSITION"

    def __init__(self, from_state: str, to_state: str) -> None:
        self.from_state, self.to_state = from_state, to_state
        super().__init__(self.default_code, N_("A project cannot move from %(from_state)s to %(to_state)s."),
                         params={"from_state": from_state, "to_state": to_state})


class ProjectFrozen(ProjectError):
    """A change refused because the project's state made it immutable (L2, L3)."""

    default_code = "PROJECT_FROZEN"


# --- clock and states -----------------------------------------------------------------------------------

def beijing(moment: dt.datetime | None) -> str:
    """A UTC moment as Beijing time text for messages (``2020-01-17 12:00``)."""
    if moment is None:
        return "—"
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def server_now(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` if given (tests, a procedure with its own clock reading), else the server clock; always aware UTC."""
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass the server clock as an aware UTC time (DOMAIN.md P-4)")
    return now


def effective_state(project: ProcurementProject, now: dt.datetime | None = None) -> str:
    """The state the server clock puts the project in: ``bidding_open`` past ``bid_deadline`` is ``bidding_closed``."""
    now = server_now(now)
    if project.state == "bidding_open" and project.bid_deadline is not None and now >= project.bid_deadline:
        return "bidding_closed"
    return project.state


def at_or_after(state: str, reference: str) -> bool:
    """Whether ``state`` is ``reference`` or later on the main line (``cancelled`` is neither)."""
    return state in ORDER and ORDER.index(state) >= ORDER.index(reference)


def sync_state(project: ProcurementProject, now: dt.datetime | None = None) -> bool:
    """Persist a state the clock derived (``bidding_closed``); True when something was written.

    The state change is dated at the deadline (the moment bidding closed), with no user: the server
    clock made the move.
    """
    now = server_now(now)
    derived = effective_state(project, now)
    if derived == project.state:
        return False
    previous = project.state
    project.state = derived
    db.session.add(ProjectStateChange(project_id=project.id, from_state=previous, to_state=derived, user_id=None,
                                      reason=None, at=project.bid_deadline))
    db.session.flush()
    record("project.state_derived", project, summary={"from": previous, "to": derived,
                                                      "bid_deadline": project.bid_deadline, "persisted_at": now})
    return True


# --- immutability -------------------------------------------------------------------------------------

def terminal_error(state: str) -> ProjectFrozen:
    return ProjectFrozen("PROJECT_FROZEN", N_("The project is %(state)s: nothing in it can change any more."),
                         params={"state": state})


_FROZEN_MESSAGES = {
    "ruleset": N_("The RuleSet cannot change once bidding has opened (the project is %(state)s)."),
    "lots": N_("Lots and their ceilings cannot change once bidding has opened (the project is %(state)s)."),
    "products": N_("The eligible products of a lot cannot change once bidding has opened (the project is %(state)s)."),
}


def ensure_setup_editable(project: ProcurementProject, what: str, now: dt.datetime | None = None) -> str:
    """Refuse a change to the RuleSet, lots, ceilings or eligible products from ``bidding_open`` on (L2, L3).

    ``what`` is ``ruleset``, ``lots`` or ``products``. Applies to every caller, whatever the role.
    Returns the effective state.
    """
    state = effective_state(project, now)
    if state in TERMINAL:
        raise terminal_error(state)
    if at_or_after(state, "bidding_open"):
        raise ProjectFrozen("PROJECT_FROZEN", _FROZEN_MESSAGES[what], params={"state": state})
    return state


def ensure_institutions_editable(project: ProcurementProject, now: dt.datetime | None = None) -> str:
    """Participating institutions may be added until demand is frozen (they report demand in ``demand_collection``)."""
    state = effective_state(project, now)
    if state in TERMINAL:
        raise terminal_error(state)
    if at_or_after(state, "demand_frozen"):
        raise ProjectFrozen("PROJECT_FROZEN",
                            N_("Institutions cannot be added once demand is frozen (the project is %(state)s)."),
                            params={"state": state})
    return state


def ensure_demand_reporting_open(project: ProcurementProject, now: dt.datetime | None = None) -> None:
    """Institutions create or edit their demand reports only during ``demand_collection`` (L2)."""
    state = effective_state(project, now)
    if state == "demand_collection":
        return
    if state in TERMINAL:
        raise terminal_error(state)
    if at_or_after(state, "demand_frozen"):
        raise ProjectFrozen("DEMAND_FROZEN",
                            N_("Reported demand is frozen (the project is %(state)s): changes are made only as amendment rows."),
                            params={"state": state})
    raise ProjectError("DEMAND_NOT_OPEN", N_("Demand collection has not started (the project is %(state)s)."),
                       params={"state": state})


def ensure_amendments_open(project: ProcurementProject, now: dt.datetime | None = None) -> None:
    """Amendment rows to frozen demand are filed and decided while the project is ``demand_frozen``.

    From ``bidding_open`` on the frozen reported demand itself is immutable (L2).
    """
    state = effective_state(project, now)
    if state != "demand_frozen":
        raise ProjectFrozen("DEMAND_AMENDMENTS_CLOSED",
                            N_("Demand amendments are only possible while demand is frozen and bidding has not opened (the project is %(state)s)."),
                            params={"state": state})


# --- RuleSet versions ---------------------------------------------------------------------------------

def latest_ruleset(project: ProcurementProject) -> RuleSetVersion | None:
    return db.session.scalar(
        select(RuleSetVersion).where(RuleSetVersion.project_id == project.id).order_by(RuleSetVersion.version.desc()).limit(1)
    )


def frozen_ruleset(project: ProcurementProject) -> RuleSetVersion | None:
    """The RuleSet version fixed at ``bidding_open`` (L3), or None before."""
    return db.session.scalar(
        select(RuleSetVersion).where(RuleSetVersion.project_id == project.id, RuleSetVersion.frozen_at.is_not(None))
        .order_by(RuleSetVersion.version.desc()).limit(1)
    )


def _freeze_ruleset(project: ProcurementProject, actor, now: dt.datetime) -> RuleSetVersion:
    """A new, frozen RuleSet version: the latest preset and overrides, resolved again at this moment."""
    from solver.errors import ProblemError
    from solver.rulesets import resolve_ruleset

    current = latest_ruleset(project)
    spec = {"preset": current.preset, **(current.overrides or {})}
    try:
        resolved = resolve_ruleset(spec)
    except ProblemError as exc:
        raise ProjectError("RULESET_INVALID", N_("The RuleSet no longer resolves: %(errors)s"),
                           params={"errors": "; ".join(str(e) for e in exc.errors)}) from exc
    frozen = RuleSetVersion(project_id=project.id, version=current.version + 1, preset=current.preset,
                            overrides=dict(current.overrides or {}), resolved=resolved, frozen_at=now,
                            created_by_id=getattr(actor, "id", None))
    db.session.add(frozen)
    db.session.flush()
    return frozen


# --- guards -------------------------------------------------------------------------------------------

Guard = Callable[[ProcurementProject, dt.datetime], None]


def _guard_lots_and_institutions(project: ProcurementProject, now: dt.datetime) -> None:
    if not db.session.scalar(select(func.count()).select_from(Lot).where(Lot.project_id == project.id)):
        raise ProjectError("NO_LOTS", N_("The project has no lots yet."))
    if not db.session.scalar(select(func.count()).select_from(ProjectInstitution)
                             .where(ProjectInstitution.project_id == project.id)):
        raise ProjectError("NO_INSTITUTIONS", N_("The project has no participating institutions yet."))


def _guard_demand_due(project: ProcurementProject, now: dt.datetime) -> None:
    if project.demand_due_at is None:
        raise ProjectError("DEMAND_DUE_MISSING", N_("Set the demand reporting deadline first."))
    if project.demand_due_at <= now:
        raise ProjectError("DEMAND_DUE_PASSED", N_("The demand reporting deadline %(time)s (Beijing time) is not in the future."),
                           params={"time": beijing(project.demand_due_at)})


def _guard_bidding_setup(project: ProcurementProject, now: dt.datetime) -> None:
    lots = db.session.scalars(select(Lot).where(Lot.project_id == project.id).order_by(Lot.lot_no)).all()
    if not lots:
        raise ProjectError("NO_LOTS", N_("The project has no lots yet."))
    missing = [str(lot.lot_no) for lot in lots if lot.ceiling_ucp is None or lot.ceiling_ucp <= 0]
    if missing:
        raise ProjectError("LOT_WITHOUT_CEILING",
                           N_("Every lot needs a price ceiling before bidding opens; lot(s) without one: %(lots)s."),
                           params={"lots": ", ".join(missing)})
    if latest_ruleset(project) is None:
        raise ProjectError("NO_RULESET", N_("Choose the project's RuleSet before bidding opens."))
    pending = db.session.scalar(
        select(func.count()).select_from(DemandAmendment).join(DemandLine, DemandAmendment.demand_line_id == DemandLine.id)
        .join(DemandReport, DemandLine.report_id == DemandReport.id)
        .where(DemandReport.project_id == project.id, DemandAmendment.status == "pending")
    )
    if pending:
        raise ProjectError("AMENDMENTS_PENDING",
                           N_("%(count)s demand amendment(s) still await a decision: frozen demand becomes immutable when bidding opens."),
                           params={"count": pending})


def _guard_bid_deadline(project: ProcurementProject, now: dt.datetime) -> None:
    if project.bid_deadline is None:
        raise ProjectError("BID_DEADLINE_MISSING", N_("Set the bid deadline first."))
    if project.bid_deadline <= now:
        raise ProjectError("BID_DEADLINE_PASSED", N_("The bid deadline %(time)s (Beijing time) is not in the future."),
                           params={"time": beijing(project.bid_deadline)})
    if project.bidding_opens_at is not None and now < project.bidding_opens_at:
        raise ProjectError("BIDDING_NOT_SCHEDULED_YET",
                           N_("Bidding is scheduled to open at %(time)s (Beijing time); change the timeline to open it earlier."),
                           params={"time": beijing(project.bidding_opens_at)})


def _guard_clock_closes_bidding(project: ProcurementProject, now: dt.datetime) -> None:
    raise ProjectError("BIDDING_CLOSES_BY_CLOCK",
                       N_("Nobody closes bidding: it closes when the server clock passes the bid deadline (%(time)s, Beijing time)."),
                       params={"time": beijing(project.bid_deadline)})


def opening_guard(project: ProcurementProject, now: dt.datetime | None = None) -> None:
    """Refuse the opening before ``opening_at`` by the server clock (the ceremony calls this, then moves)."""
    now = server_now(now)
    if effective_state(project, now) != "bidding_closed":
        raise ProjectError("BIDDING_NOT_CLOSED", N_("Bids can only be opened once bidding has closed (the project is %(state)s)."),
                           params={"state": effective_state(project, now)})
    if project.opening_at is None:
        raise ProjectError("OPENING_TIME_MISSING", N_("Set the opening time first."))
    if now < project.opening_at:
        raise ProjectError("OPENING_NOT_DUE",
                           N_("The opening is scheduled for %(time)s (Beijing time): the server clock has not reached it."),
                           params={"time": beijing(project.opening_at)})


def _guard_negotiation_allowed(project: ProcurementProject, now: dt.datetime) -> None:
    ruleset = frozen_ruleset(project) or latest_ruleset(project)
    if ruleset is not None and ruleset.resolved.get("negotiation_max_rounds") == 0:
        raise ProjectError("NEGOTIATION_DISABLED", N_("The project's RuleSet allows no negotiation rounds."))


def _guard_publication(project: ProcurementProject, now: dt.datetime) -> None:
    """The proposed award was publicised for its whole period and, if the RuleSet says so, approved by a supervisor."""
    from app.awards.models import AwardProposal

    proposal = db.session.scalar(
        select(AwardProposal).where(AwardProposal.project_id == project.id, AwardProposal.status.in_(("publicised", "approved")))
        .order_by(AwardProposal.id.desc()).limit(1)
    )
    if proposal is None:
        raise ProjectError("NO_AWARD_PROPOSAL", N_("There is no proposed award under publicity to publish."))
    if now < proposal.publicity_end:
        raise ProjectError("PUBLICITY_NOT_OVER", N_("The publicity period ends at %(time)s (Beijing time)."),
                           params={"time": beijing(proposal.publicity_end)})
    ruleset = frozen_ruleset(project) or latest_ruleset(project)
    needs_approval = ruleset is None or ruleset.resolved.get("publish_requires_second_approval", True)
    if needs_approval and (proposal.status != "approved" or proposal.approved_by_id is None):
        raise ProjectError("AWARD_NOT_APPROVED", N_("The proposed award needs the supervisor's second approval before it is published."))


# --- transitions --------------------------------------------------------------------------------------

_OFFICER = (R.PROCUREMENT_OFFICER,)


@dataclass
class Transition:
    """A legal move: who may make it, what must hold, whether it needs a reason.

    ``manual`` moves are offered as buttons; the others belong to a procedure (the server clock, the
    opening ceremony) that calls :func:`transition_project` itself.
    """

    from_state: str
    to_state: str
    roles: tuple[str, ...] = _OFFICER
    guards: list[Guard] = field(default_factory=list)
    needs_reason: bool = False
    manual: bool = True


def _main_line() -> dict[tuple[str, str], Transition]:
    moves = [
        Transition("draft", "demand_collection", guards=[_guard_lots_and_institutions, _guard_demand_due]),
        Transition("demand_collection", "demand_frozen"),
        Transition("demand_frozen", "bidding_open", guards=[_guard_bidding_setup, _guard_bid_deadline]),
        Transition("bidding_open", "bidding_closed", roles=(), guards=[_guard_clock_closes_bidding], manual=False),
        Transition("bidding_closed", "opened", guards=[lambda p, now: opening_guard(p, now)], manual=False),
        Transition("opened", "negotiation", guards=[_guard_negotiation_allowed]),
        Transition("opened", "evaluated"),
        Transition("negotiation", "evaluated"),
        Transition("evaluated", "award_proposed"),
        Transition("award_proposed", "evaluated", needs_reason=True),  # the officer withdraws the proposal
        Transition("award_proposed", "award_published", guards=[_guard_publication]),
        Transition("award_published", "in_execution"),
        Transition("in_execution", "closed"),
    ]
    moves += [Transition(state, "cancelled", needs_reason=True) for state in ORDER if state in CANCELLABLE]
    return {(t.from_state, t.to_state): t for t in moves}


TRANSITIONS: dict[tuple[str, str], Transition] = _main_line()


def add_guard(from_state: str, to_state: str, guard: Guard) -> None:
    """Let a later piece (opening ceremony, awards) add a condition to a move."""
    TRANSITIONS[(from_state, to_state)].guards.append(guard)


def next_states(state: str) -> list[str]:
    """Every state the lifecycle allows after ``state`` (by anyone, manual or not)."""
    return [to for (src, to) in TRANSITIONS if src == state]


def _may_act(actor, project: ProcurementProject, transition: Transition) -> bool:
    return actor is not None and actor.role in transition.roles and actor.org_id == project.authority_org_id


def guard_problems(project: ProcurementProject, to_state: str, now: dt.datetime | None = None) -> list[DomainError]:
    """What stops the move from the effective state to ``to_state`` now (empty: nothing)."""
    now = server_now(now)
    transition = TRANSITIONS.get((effective_state(project, now), to_state))
    if transition is None:
        return [IllegalTransition(effective_state(project, now), to_state)]
    problems = []
    for guard in transition.guards:
        try:
            guard(project, now)
        except DomainError as err:
            problems.append(err)
    return problems


def available_moves(project: ProcurementProject, actor, now: dt.datetime | None = None) -> list[Transition]:
    """The manual moves ``actor`` may offer from the project's effective state (guards not yet checked)."""
    state = effective_state(project, now)
    return [t for (src, _), t in TRANSITIONS.items() if src == state and t.manual and _may_act(actor, project, t)]


def _refuse(project: ProcurementProject, to_state: str, err: DomainError, actor) -> DomainError:
    record_refusal("project.transition_refused", object_type="ProcurementProject", object_id=project.id,
                   summary={"from": project.state, "to": to_state, "code": err.code},
                   user_id=getattr(actor, "id", None), username=getattr(actor, "username", None),
                   org_id=getattr(actor, "org_id", None))
    return err


def transition_project(project: ProcurementProject, to_state: str, *, actor, reason: str | None = None,
                       now: dt.datetime | None = None) -> ProjectStateChange:
    """Move ``project`` to ``to_state`` for ``actor``, or raise a :class:`ProjectError` saying why not.

    First persists a state the clock derived (``bidding_closed``), then checks the move is legal,
    that ``actor``'s role makes it (an officer of the project's authority), its reason and guards;
    then applies its effects (freezing demand or the RuleSet, the cancellation reason) and writes a
    :class:`ProjectStateChange` and an audit event. A refusal is itself audited.
    """
    now = server_now(now)
    db.session.flush()
    db.session.refresh(project, with_for_update=True)  # one move at a time per project
    sync_state(project, now)
    from_state = project.state
    if to_state not in PROJECT_STATES:
        raise _refuse(project, to_state, ProjectError("UNKNOWN_STATE", N_("Unknown project state %(state)s."),
                                                      params={"state": to_state}), actor)
    transition = TRANSITIONS.get((from_state, to_state))
    if transition is None:
        raise _refuse(project, to_state, IllegalTransition(from_state, to_state), actor)
    if not transition.roles:
        for guard in transition.guards:
            try:
                guard(project, now)
            except DomainError as err:
                raise _refuse(project, to_state, err, actor) from None
    if actor is None or actor.role not in transition.roles:
        raise _refuse(project, to_state, ProjectError(
            "TRANSITION_NOT_ALLOWED", N_("Your role cannot move a project from %(from_state)s to %(to_state)s."),
            params={"from_state": from_state, "to_state": to_state}), actor)
    if actor.org_id != project.authority_org_id:
        raise _refuse(project, to_state, ProjectError(
            "PROJECT_NOT_YOURS", N_("Only officers of the project's procurement authority can change it.")), actor)
    reason = (reason or "").strip() or None
    if transition.needs_reason and not reason:
        raise ProjectError("REASON_REQUIRED", N_("Give a reason for moving the project from %(from_state)s to %(to_state)s."),
                           params={"from_state": from_state, "to_state": to_state})
    for guard in transition.guards:
        try:
            guard(project, now)
        except DomainError as err:
            raise _refuse(project, to_state, err, actor) from None

    summary: dict = {"from": from_state, "to": to_state}
    if reason:
        summary["reason"] = reason
    if to_state == "demand_frozen":
        summary["frozen_reports"] = _freeze_demand(project)
    elif to_state == "bidding_open":
        frozen = _freeze_ruleset(project, actor, now)
        summary["ruleset_version"] = frozen.version
    elif to_state == "cancelled":
        project.cancelled_reason = reason
    project.state = to_state
    change = ProjectStateChange(project_id=project.id, from_state=from_state, to_state=to_state, user_id=actor.id,
                                reason=reason, at=now)
    db.session.add(change)
    db.session.flush()
    record("project.transition", project, summary=summary)
    return change


def _freeze_demand(project: ProcurementProject) -> int:
    """At ``demand_frozen`` the submitted demand reports become frozen (drafts were never submitted and do not count)."""
    reports = db.session.scalars(
        select(DemandReport).where(DemandReport.project_id == project.id, DemandReport.status == "submitted")
    ).all()
    for report in reports:
        report.status = "frozen"
    db.session.flush()
    return len(reports)
