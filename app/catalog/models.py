"""Product catalog (产品目录): products with NHSA codes, dosage forms, supplier proposals."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Code, ExactDecimal, UTCDateTime, enum_check, id_column, trigram_index, utcnow
from app.orgs.models import Organisation

QUALITY_TIERS = ("originator", "reference", "consistency_evaluated", "other")
FORM_CLASSES = ("oral_solid", "small_volume_injection", "large_volume_injection", "other")
PRODUCT_STATUSES = ("active", "retired", "disabled")
CODE_KINDS = ("drug", "consumable")
APPROVAL_NO_TYPES = ("domestic", "import", "hk_mo_tw")


class DosageForm(Base):
    """A 剂型 of the dictionary and the VBP dosage-form group it belongs to (DOMAIN.md §12)."""

    __tablename__ = "dosage_forms"
    __table_args__ = (enum_check("form_class", FORM_CLASSES),)

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    form_group: Mapped[str] = mapped_column(String(64))
    form_class: Mapped[str] = mapped_column(String(32), default="other")
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class Product(Base):
    """A catalog product (药品/耗材), identified by its NHSA code or the 四同 key.

    ``strength_value``/``strength_unit`` and ``fill_volume_ml`` are parsed from ``spec`` (DOMAIN.md
    U2); ``pack_qty`` counts smallest units (``min_unit``: 片/粒/支 …). A disabled consumable code
    is kept with its history and points to its replacement (``replaced_by_id``).
    """

    __tablename__ = "products"
    __table_args__ = (
        enum_check("quality_tier", QUALITY_TIERS),
        enum_check("status", PRODUCT_STATUSES),
        enum_check("code_kind", CODE_KINDS),
        enum_check("approval_no_type", APPROVAL_NO_TYPES),
        # Substring and similarity search on Chinese names (migration 0002): PostgreSQL only.
        trigram_index("ix_products_generic_name_trgm", "generic_name"),
    )

    id: Mapped[int] = id_column()
    nhsa_code: Mapped[str | None] = mapped_column(Code(27), unique=True, default=None)
    code_kind: Mapped[str] = mapped_column(String(16), default="drug")
    benweima: Mapped[str | None] = mapped_column(Code(14), default=None, index=True)  # 药品本位码
    approval_no: Mapped[str | None] = mapped_column(String(64), default=None)  # 批准文号/注册证号
    approval_no_type: Mapped[str] = mapped_column(String(16), default="domestic")
    udi_di: Mapped[str | None] = mapped_column(String(64), default=None)
    generic_name: Mapped[str] = mapped_column(String(120), index=True)  # 通用名
    # Pinyin initials (阿托伐他汀 → atftt), matched anywhere (LIKE '%…%'): no B-tree index, which could not
    # serve that search and cost a quarter of a bulk import's insert time (dropped by migration 0002).
    generic_name_initials: Mapped[str] = mapped_column(String(120), default="")
    dosage_form: Mapped[str] = mapped_column(String(64))  # 剂型
    form_group: Mapped[str | None] = mapped_column(String(64), default=None)  # VBP dosage-form group
    spec: Mapped[str] = mapped_column(String(120))  # 规格
    strength_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 6), default=None)
    strength_unit: Mapped[str | None] = mapped_column(String(16), default=None)
    fill_volume_ml: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 6), default=None)
    pack_qty: Mapped[int] = mapped_column(Integer)  # smallest units per pack
    min_unit: Mapped[str] = mapped_column(String(16))  # 最小制剂单位
    manufacturer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    mah_name: Mapped[str | None] = mapped_column(String(200), default=None)  # 上市许可持有人
    quality_tier: Mapped[str] = mapped_column(String(32), default="other")
    status: Mapped[str] = mapped_column(String(16), default="active")
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    manufacturer: Mapped[Organisation] = relationship()


class ProductCodeChange(Base):
    """History of a product's code: disabled codes (停用) and transcodes (转码), never deleted (DOMAIN.md C2)."""

    __tablename__ = "product_code_changes"
    __table_args__ = (enum_check("kind", ("disabled", "transcoded", "created")),)

    id: Mapped[int] = id_column()
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    old_code: Mapped[str | None] = mapped_column(Code(27), default=None)
    new_code: Mapped[str | None] = mapped_column(Code(27), default=None)
    effective_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductProposal(Base):
    """A supplier's proposal of its own product, which an officer approves into the catalog."""

    __tablename__ = "product_proposals"
    __table_args__ = (enum_check("status", ("pending", "approved", "rejected")),)

    id: Mapped[int] = id_column()
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), default=None)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    review_note: Mapped[str | None] = mapped_column(Text, default=None)
