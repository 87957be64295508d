"""Builders shared by the project tests: a fixed clock and a project ready to walk the lifecycle."""
from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc
# The tests pass ``now`` explicitly: every time is relative to T0 (all in the future of any real clock).
T0 = dt.datetime(2030, 1, 6, 1, 0, tzinfo=UTC)
DEMAND_DUE = T0 + dt.timedelta(days=3)
BIDDING_OPENS = T0 + dt.timedelta(days=5)
BID_DEADLINE = T0 + dt.timedelta(days=10)  # 2030-01-16 09:00 Beijing time
OPENING = BID_DEADLINE + dt.timedelta(hours=2)


def build_project(make_user, make_org, officer=None, *, code: str = "T-1", lots: int = 1, ceiling: str | None = "1.5",
                  institutions: int = 1, preset: str = "nvbp-4"):
    """A draft project of ``officer``'s authority with lots (each with ``ceiling``), institutions and a RuleSet."""
    from app.projects import services

    officer = officer or make_user("procurement_officer")
    project = services.create_project(actor=officer, code=code, name=f"测试项目 {code}", kind="alliance", preset=preset,
                                      demand_due_at=DEMAND_DUE, bidding_opens_at=BIDDING_OPENS,
                                      bid_deadline=BID_DEADLINE, opening_at=OPENING)
    from tests.web.bidding_builders import give_opening_key

    give_opening_key(project, officer)  # bidding opens only with an opening key (app/bidding guard)
    for n in range(1, lots + 1):
        services.add_lot(project, actor=officer, lot_no=n, generic_name="阿托伐他汀", form_group="口服常释剂型",
                         representative_spec="20mg", ceiling_ucp=ceiling, now=T0)
    orgs = [make_org("medical_institution") for _ in range(institutions)]
    if orgs:
        services.add_institutions(project, [o.id for o in orgs], actor=officer, now=T0)
    return project, officer, orgs


def walk(project, officer, *states: str, now: dt.datetime, reason: str | None = None):
    """Move ``project`` through ``states`` in order at ``now``."""
    from app.projects.lifecycle import transition_project

    for state in states:
        if state == "opened":
            give_opening_record(project, officer, now)
        transition_project(project, state, actor=officer, reason=reason, now=now)
    return project


def give_opening_record(project, officer, now: dt.datetime):
    """The record the opening ceremony leaves (no quotes), for tests that are not about the ceremony."""
    from sqlalchemy import select

    from app.bidding.models import OpeningRecord
    from app.extensions import db

    existing = db.session.scalar(select(OpeningRecord).where(OpeningRecord.project_id == project.id,
                                                           OpeningRecord.round_no == 1))
    if existing is None:
        existing = OpeningRecord(project_id=project.id, round_no=1, opened_at=now, officer_id=officer.id,
                                 witness_id=officer.id, quotes=[], record_sha256="0" * 64)
        db.session.add(existing)
        db.session.flush()
    return existing


def to_bidding_open(project, officer):
    """draft → demand_collection → demand_frozen → bidding_open, each at its proper time."""
    walk(project, officer, "demand_collection", now=T0)
    walk(project, officer, "demand_frozen", now=DEMAND_DUE + dt.timedelta(hours=1))
    walk(project, officer, "bidding_open", now=BIDDING_OPENS + dt.timedelta(hours=1))
    return project
