"""Award scenarios (中选方案), proposals with publicity and objections, published awards and amendments."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Code, ExactDecimal, Money, Quantity, UTCDateTime, enum_check, id_column, utcnow

SCENARIO_MODES = ("rule_draft", "optimised", "manual")
SCENARIO_STATUSES = ("queued", "running", "optimal", "feasible", "infeasible", "no_solution", "failed")
BID_POOLS = ("rule_winners", "within_spread", "all_valid")


class AwardScenario(Base):
    """An award scenario: the rule draft, an optimised award or a manual one, kept with its inputs.

    Stores the award-problem JSON and its SHA-256, the RuleSet version, solver version, backend,
    options, log and solution, so it can be solved again and compared.
    """

    __tablename__ = "award_scenarios"
    __table_args__ = (
        enum_check("mode", SCENARIO_MODES),
        enum_check("status", SCENARIO_STATUSES),
        enum_check("bid_pool", BID_POOLS),
    )

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    ruleset_version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    selection_run_id: Mapped[int | None] = mapped_column(ForeignKey("selection_runs.id"), default=None)
    bid_pool: Mapped[str | None] = mapped_column(String(16), default=None)
    committed_ratio: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4), default=None)
    committed_ratio_source: Mapped[str | None] = mapped_column(String(32), default=None)
    constraints: Mapped[dict] = mapped_column(JSON, default=dict)
    problem: Mapped[dict | None] = mapped_column(JSON, default=None)
    problem_sha256: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    solver_version: Mapped[str | None] = mapped_column(String(32), default=None)
    backend: Mapped[str | None] = mapped_column(String(16), default=None)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    log: Mapped[str | None] = mapped_column(Text, default=None)
    solution: Mapped[dict | None] = mapped_column(JSON, default=None)
    objective: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    bound: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    gap: Mapped[float | None] = mapped_column(Float, default=None)  # a solver's relative gap, not money
    rule_costs: Mapped[dict | None] = mapped_column(JSON, default=None)
    manual_reason: Mapped[str | None] = mapped_column(Text, default=None)
    job_id: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    lines: Mapped[list["AwardLine"]] = relationship(back_populates="scenario")


class AwardLine(Base):
    """One allocation of a scenario: a bid's volume for a region (or an institution), primary or backup."""

    __tablename__ = "award_lines"
    __table_args__ = (enum_check("role", ("primary", "backup")),)

    id: Mapped[int] = id_column()
    scenario_id: Mapped[int] = mapped_column(ForeignKey("award_scenarios.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    region_code: Mapped[str] = mapped_column(Code(6))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    role: Mapped[str] = mapped_column(String(8), default="primary")
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(Money())
    cost: Mapped[Decimal] = mapped_column(Money())

    scenario: Mapped[AwardScenario] = relationship(back_populates="lines")


class AwardProposal(Base):
    """A proposed award (拟中选) under publicity (公示): objections, second approval, publication."""

    __tablename__ = "award_proposals"
    __table_args__ = (enum_check("status", ("publicised", "withdrawn", "approved", "published")),)

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("award_scenarios.id"))
    status: Mapped[str] = mapped_column(String(16), default="publicised")
    publicity_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    publicity_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, default=None)


class Objection(Base):
    """An objection (质疑) to a proposed award, answered by an officer with documents."""

    __tablename__ = "objections"
    __table_args__ = (enum_check("status", ("open", "answered")),)

    id: Mapped[int] = id_column()
    proposal_id: Mapped[int] = mapped_column(ForeignKey("award_proposals.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), default=None)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_documents.id"), default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")
    answer_text: Mapped[str | None] = mapped_column(Text, default=None)
    answer_document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_documents.id"), default=None)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class PublishedAward(Base):
    """The final award (中选结果) of a project: immutable, superseded only by a documented amendment.

    Keeps its provenance: the scenario, the problem hash, the solver and RuleSet versions.
    """

    __tablename__ = "published_awards"

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("award_proposals.id"))
    scenario_id: Mapped[int] = mapped_column(ForeignKey("award_scenarios.id"))
    ruleset_version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    problem_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    solver_version: Mapped[str | None] = mapped_column(String(32), default=None)
    cycle_start: Mapped[dt.date] = mapped_column(Date)
    cycle_end: Mapped[dt.date] = mapped_column(Date)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("published_awards.id"), default=None)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PublishedAwardLine(Base):
    """A line of a published award: winner, prices, region role and committed volume for a cycle year."""

    __tablename__ = "published_award_lines"
    __table_args__ = (enum_check("role", ("primary", "backup")),)

    id: Mapped[int] = id_column()
    award_id: Mapped[int] = mapped_column(ForeignKey("published_awards.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("bids.id"), default=None)
    region_code: Mapped[str] = mapped_column(Code(6), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None, index=True)
    role: Mapped[str] = mapped_column(String(8), default="primary")
    year_no: Mapped[int] = mapped_column(Integer, default=1)
    pack_price: Mapped[Decimal] = mapped_column(Money())
    unit_price: Mapped[Decimal] = mapped_column(Money())
    committed_volume: Mapped[Decimal] = mapped_column(Quantity())


class AwardAmendment(Base):
    """A documented amendment to a published award (disqualification, backup activation, MAH change)."""

    __tablename__ = "award_amendments"
    __table_args__ = (
        enum_check("kind", ("disqualification", "backup_activation", "mah_change", "volume_change", "other")),
    )

    id: Mapped[int] = id_column()
    award_id: Mapped[int] = mapped_column(ForeignKey("published_awards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    payload: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_documents.id"), default=None)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
