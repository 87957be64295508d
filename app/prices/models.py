"""Listed-price governance (挂网价格治理, DOMAIN.md §9): listings, national lowest, linkage, flags, inquiries."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Code, ExactDecimal, Money, UTCDateTime, enum_check, id_column, utcnow

PRICE_TYPES = ("listed", "vbp_agreement", "renewal", "negotiated", "temporary")


class ListedPrice(Base):
    """A listed (挂网) price of a product in a province from an effective date (append-only, P-3).

    ``listed_ucp`` is the price per smallest unit; ``key_sha256`` is the hash of the 四同 key
    (generic name, manufacturer, dosage form, specification) it is compared under (P1, P4).
    """

    __tablename__ = "listed_prices"
    __table_args__ = (
        enum_check("price_type", PRICE_TYPES),
        enum_check("status", ("current", "superseded", "suspended")),
    )

    id: Mapped[int] = id_column()
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), index=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    price_type: Mapped[str] = mapped_column(String(16), default="listed")
    listed_price_pack: Mapped[Decimal] = mapped_column(Money())
    pack_qty: Mapped[int] = mapped_column(Integer)
    listed_ucp: Mapped[Decimal] = mapped_column(Money())
    effective_date: Mapped[dt.date] = mapped_column(Date)
    linkable: Mapped[bool] = mapped_column(Boolean, default=True)
    source_document: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="current", index=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("listed_prices.id"), default=None)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PriceReference(Base):
    """A reference price per 四同 key: NHSA's monitored price (P2)."""

    __tablename__ = "price_references"
    __table_args__ = (enum_check("kind", ("monitored",)),)

    id: Mapped[int] = id_column()
    kind: Mapped[str] = mapped_column(String(16), default="monitored")
    key_sha256: Mapped[str] = mapped_column(String(64), index=True)
    value_ucp: Mapped[Decimal] = mapped_column(Money())
    published_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(500))


class NationalLowestPrice(Base):
    """The national lowest listed price (全国最低价) of a 四同 key with its source (P4 steps 2–3)."""

    __tablename__ = "national_lowest_prices"

    key_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_ucp: Mapped[Decimal] = mapped_column(Money())
    source_price_id: Mapped[int] = mapped_column(ForeignKey("listed_prices.id"))
    source_province_code: Mapped[str] = mapped_column(Code(6))
    source_effective_date: Mapped[dt.date] = mapped_column(Date)
    source_document: Mapped[str] = mapped_column(String(500))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkageTask(Base):
    """A linkage task (联动任务): a listing above the national lowest must be linked down by its due date."""

    __tablename__ = "linkage_tasks"
    __table_args__ = (enum_check("status", ("open", "justified", "escalated", "closed", "excepted")),)

    id: Mapped[int] = id_column()
    listed_price_id: Mapped[int] = mapped_column(ForeignKey("listed_prices.id"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    province_code: Mapped[str] = mapped_column(Code(6), index=True)
    target_ucp: Mapped[Decimal] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[dt.date] = mapped_column(Date)
    justification: Mapped[str | None] = mapped_column(Text, default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_reason: Mapped[str | None] = mapped_column(String(32), default=None)


class RiskFlag(Base):
    """A red/yellow flag or abnormal-change warning on a listing (P5)."""

    __tablename__ = "risk_flags"
    __table_args__ = (
        enum_check("level", ("none", "yellow", "red")),
        enum_check("kind", ("reference", "nonsupply_cap", "abnormal_change", "province_spread")),
    )

    id: Mapped[int] = id_column()
    listed_price_id: Mapped[int] = mapped_column(ForeignKey("listed_prices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    level: Mapped[str] = mapped_column(String(8))
    reference_ucp: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GovernanceThreshold(Base):
    """Configurable thresholds of flags and linkage per category (DOMAIN.md §13 defaults)."""

    __tablename__ = "governance_thresholds"

    id: Mapped[int] = id_column()
    category: Mapped[str] = mapped_column(String(64), unique=True)  # a form group, or "*" for the default
    red_multiplier: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4), default=Decimal("1.5"))
    yellow_multiplier: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4), default=Decimal("1.2"))
    abnormal_change_pct: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4), default=Decimal("0.20"))
    abnormal_window_days: Mapped[int] = mapped_column(Integer, default=30)
    province_spread_ratio: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4), default=Decimal("2.0"))
    linkage_tolerance: Mapped[Decimal] = mapped_column(ExactDecimal(8, 4), default=Decimal("0"))
    linkage_deadline_days: Mapped[int] = mapped_column(Integer, default=30)
    low_price_warning: Mapped[Decimal | None] = mapped_column(Money(), default=None)


class Inquiry(Base):
    """A price inquiry case (函询 → 约谈 → 限期整改 → 挂网暂停, DOMAIN.md P6)."""

    __tablename__ = "inquiries"
    __table_args__ = (
        enum_check(
            "state",
            ("flagged", "inquiry", "replied", "justified", "interview", "rectification", "rectified",
             "suspended", "credit_case"),
        ),
    )

    id: Mapped[int] = id_column()
    listed_price_id: Mapped[int] = mapped_column(ForeignKey("listed_prices.id"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="flagged")
    reply_due_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    rectify_due_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InquiryStep(Base):
    """One step of an inquiry with its document, user, time and the price evidence."""

    __tablename__ = "inquiry_steps"

    id: Mapped[int] = id_column()
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_documents.id"), default=None)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
