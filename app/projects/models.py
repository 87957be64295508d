"""Procurement projects (集采项目): RuleSet versions, lots, institutions' demand."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import FORM_CLASSES
from app.core.db import Base, Code, ExactDecimal, Money, Quantity, UTCDateTime, enum_check, id_column, utcnow

# DOMAIN.md L2, in order; ``cancelled`` is a side exit.
PROJECT_STATES = (
    "draft",
    "demand_collection",
    "demand_frozen",
    "bidding_open",
    "bidding_closed",
    "opened",
    "negotiation",
    "evaluated",
    "award_proposed",
    "award_published",
    "in_execution",
    "closed",
    "cancelled",
)
PROJECT_KINDS = ("national", "alliance", "provincial", "municipal")
DRUG_CLASSES = ("chemical", "special_anti_infective")


class ProcurementProject(Base):
    """A procurement project (集采项目) and its timeline.

    ``state`` is the persisted state; ``bidding_closed`` is derived from the server clock passing
    ``bid_deadline`` and persisted on the next write (DOMAIN.md L2).
    """

    __tablename__ = "procurement_projects"
    __table_args__ = (enum_check("state", PROJECT_STATES), enum_check("kind", PROJECT_KINDS))

    id: Mapped[int] = id_column()
    code: Mapped[str] = mapped_column(Code(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="national")
    authority_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[str] = mapped_column(String(24), default="draft", index=True)
    demand_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    bidding_opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    bid_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    opening_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    cycle_start: Mapped[dt.date | None] = mapped_column(Date, default=None)
    cycle_end: Mapped[dt.date | None] = mapped_column(Date, default=None)
    min_report_vs_history: Mapped[Decimal | None] = mapped_column(ExactDecimal(6, 4), default=None)
    draw_seed: Mapped[str | None] = mapped_column(String(200), default=None)
    cancelled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lots: Mapped[list["Lot"]] = relationship(back_populates="project", order_by="Lot.lot_no")
    ruleset_versions: Mapped[list["RuleSetVersion"]] = relationship(
        back_populates="project", order_by="RuleSetVersion.version"
    )


class ProjectStateChange(Base):
    """One move of a project through the lifecycle, with who, when and why."""

    __tablename__ = "project_state_changes"

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuleSetVersion(Base):
    """A version of the project's RuleSet: a preset plus field overrides, frozen at ``bidding_open`` (L3).

    ``resolved`` holds every field after overrides, so a scenario can cite exactly what applied.
    """

    __tablename__ = "ruleset_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    preset: Mapped[str] = mapped_column(String(32))
    overrides: Mapped[dict] = mapped_column(JSON, default=dict)
    resolved: Mapped[dict] = mapped_column(JSON)
    frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[ProcurementProject] = relationship(back_populates="ruleset_versions")


class Lot(Base):
    """A lot (品种): generic name + dosage-form group, its representative strength and ceiling.

    ``ceiling_ucp`` is the max valid price (最高有效申报价) per smallest unit of the representative
    strength; ``status`` becomes ``failed`` (流标) when no bid can win.
    """

    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("project_id", "lot_no"),
        enum_check("form_class", FORM_CLASSES),
        enum_check("drug_class", DRUG_CLASSES),
        enum_check("kind", ("single", "system")),
        enum_check("status", ("open", "selected", "failed")),
    )

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    lot_no: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    generic_name: Mapped[str] = mapped_column(String(120), index=True)
    form_group: Mapped[str] = mapped_column(String(64))
    form_class: Mapped[str] = mapped_column(String(32), default="oral_solid")
    drug_class: Mapped[str] = mapped_column(String(32), default="chemical")
    kind: Mapped[str] = mapped_column(String(16), default="single")
    representative_spec: Mapped[str] = mapped_column(String(120))
    rep_strength_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 6), default=None)
    rep_strength_unit: Mapped[str | None] = mapped_column(String(16), default=None)
    rep_fill_volume_ml: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 6), default=None)
    ceiling_ucp: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    pre_procurement_ucp: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")
    failed_reason: Mapped[str | None] = mapped_column(Text, default=None)

    project: Mapped[ProcurementProject] = relationship(back_populates="lots")


class LotProduct(Base):
    """A catalog product eligible to be quoted in a lot."""

    __tablename__ = "lot_products"
    __table_args__ = (UniqueConstraint("lot_id", "product_id"),)

    id: Mapped[int] = id_column()
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)


class SystemComponent(Base):
    """A component of a system lot (按系统采购, DOMAIN.md K1)."""

    __tablename__ = "system_components"

    id: Mapped[int] = id_column()
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    component_code27: Mapped[str] = mapped_column(Code(27))
    qty_per_system: Mapped[Decimal] = mapped_column(Quantity())
    required: Mapped[bool] = mapped_column(Boolean, default=True)


class ProjectInstitution(Base):
    """A medical institution taking part in a project (it reports demand and receives volume)."""

    __tablename__ = "project_institutions"
    __table_args__ = (UniqueConstraint("project_id", "institution_id"),)

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)


class DemandReport(Base):
    """One version of an institution's demand report (需求报量) for a project.

    A new submission supersedes the previous version; all versions are kept.
    """

    __tablename__ = "demand_reports"
    __table_args__ = (
        UniqueConstraint("project_id", "institution_id", "version"),
        enum_check("status", ("draft", "submitted", "superseded", "frozen")),
    )

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    file_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("demand_reports.id"), default=None)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    lines: Mapped[list["DemandLine"]] = relationship(back_populates="report")


class DemandLine(Base):
    """Reported demand of one institution for one lot (and strength, and optionally a brand, V2)."""

    __tablename__ = "demand_lines"

    id: Mapped[int] = id_column()
    report_id: Mapped[int] = mapped_column(ForeignKey("demand_reports.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), default=None)
    spec: Mapped[str | None] = mapped_column(String(120), default=None)
    preferred_brand: Mapped[str | None] = mapped_column(String(200), default=None)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    year: Mapped[int] = mapped_column(Integer)
    historical_usage: Mapped[Decimal] = mapped_column(Quantity())
    reported_demand: Mapped[Decimal] = mapped_column(Quantity())

    report: Mapped[DemandReport] = relationship(back_populates="lines")


class DemandAmendment(Base):
    """An amendment row to frozen demand, approved or refused by an officer (L2 ``demand_frozen``)."""

    __tablename__ = "demand_amendments"
    __table_args__ = (enum_check("status", ("pending", "approved", "rejected")),)

    id: Mapped[int] = id_column()
    demand_line_id: Mapped[int] = mapped_column(ForeignKey("demand_lines.id"), index=True)
    new_reported_demand: Mapped[Decimal] = mapped_column(Quantity())
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
