"""Contracts and execution (履约): contracts, distributors, purchases and deliveries, payments, supply alerts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Code, Money, Quantity, UTCDateTime, enum_check, id_column, utcnow

SUPPLY_STATES = ("normal", "supply_alert", "confirmed", "backup_active", "resolved", "award_cancelled")


class Contract(Base):
    """A purchase contract (采购合同) per (institution, supplier, lot) generated from a published award.

    Versions are append-only: a change is a new version superseding the previous one.
    """

    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("contract_no", "version"),
        enum_check("status", ("draft", "supplier_confirmed", "institution_confirmed", "signed", "superseded")),
    )

    id: Mapped[int] = id_column()
    contract_no: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    award_id: Mapped[int] = mapped_column(ForeignKey("published_awards.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    region_code: Mapped[str] = mapped_column(Code(6))
    cycle_start: Mapped[dt.date] = mapped_column(Date)
    cycle_end: Mapped[dt.date] = mapped_column(Date)
    pack_price: Mapped[Decimal] = mapped_column(Money())
    unit_price: Mapped[Decimal] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(24), default="draft")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), default=None)
    supplier_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    supplier_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    institution_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    institution_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    years: Mapped[list["ContractYear"]] = relationship(back_populates="contract", order_by="ContractYear.year_no")


class ContractYear(Base):
    """Committed volume of a contract for one year of the cycle (later years repeat year 1 unless amended)."""

    __tablename__ = "contract_years"
    __table_args__ = (UniqueConstraint("contract_id", "year_no"),)

    id: Mapped[int] = id_column()
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    year_no: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    committed_volume: Mapped[Decimal] = mapped_column(Quantity())

    contract: Mapped[Contract] = relationship(back_populates="years")


class DistributorAssignment(Base):
    """A supplier's distributor for a region (配送关系), confirmed by institutions."""

    __tablename__ = "distributor_assignments"
    __table_args__ = (enum_check("status", ("proposed", "confirmed", "revoked")),)

    id: Mapped[int] = id_column()
    award_id: Mapped[int] = mapped_column(ForeignKey("published_awards.id"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    distributor_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    region_code: Mapped[str] = mapped_column(Code(6))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    named_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    named_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class PurchaseRecord(Base):
    """A purchase order line with its delivery and receipt (采购/配送记录, DOMAIN.md §12(e))."""

    __tablename__ = "purchase_records"
    __table_args__ = (UniqueConstraint("institution_id", "order_no"),)

    id: Mapped[int] = id_column()
    order_no: Mapped[str] = mapped_column(String(64))
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), default=None, index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    distributor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty_packs: Mapped[Decimal] = mapped_column(Quantity())
    pack_qty: Mapped[int] = mapped_column(Integer)
    price_pack: Mapped[Decimal] = mapped_column(Money())
    order_date: Mapped[dt.date] = mapped_column(Date, index=True)
    delivery_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    received_qty: Mapped[Decimal | None] = mapped_column(Quantity(), default=None)  # smallest units received
    received_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    payment_due_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    invoice_no: Mapped[str | None] = mapped_column(String(64), default=None)
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("stored_documents.id"), default=None)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(Base):
    """A payment (回款) against a delivery, by the hospital or the insurance fund (direct settlement)."""

    __tablename__ = "payments"

    id: Mapped[int] = id_column()
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase_records.id"), index=True)
    payer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(64), default=None)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupplyAlert(Base):
    """A supply problem in a region and its state machine (DOMAIN.md V6)."""

    __tablename__ = "supply_alerts"
    __table_args__ = (
        enum_check("state", SUPPLY_STATES),
        enum_check("kind", ("delivery_rate", "stockout", "payment_overdue")),
    )

    id: Mapped[int] = id_column()
    award_id: Mapped[int] = mapped_column(ForeignKey("published_awards.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    region_code: Mapped[str] = mapped_column(Code(6))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(16), default="supply_alert")
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    backup_supplier_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
