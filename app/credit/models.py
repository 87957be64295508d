"""Credit ratings (医药价格和招采信用评价, DOMAIN.md §10)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, enum_check, id_column, utcnow

LEVELS_2020 = ("general", "moderate", "serious", "particularly_serious")  # 一般/中等/严重/特别严重
LEVELS_2025 = ("dishonest", "seriously_dishonest", "particularly_seriously_dishonest")  # 失信/严重失信/特别严重失信


class CreditRating(Base):
    """A credit rating of a company in a province for a period; append-only, a change supersedes."""

    __tablename__ = "credit_ratings"
    __table_args__ = (
        enum_check("scheme", ("2020", "2025")),
        enum_check("level", LEVELS_2020 + LEVELS_2025),
        enum_check("repair_status", ("none", "in_repair", "repaired")),
    )

    id: Mapped[int] = id_column()
    company_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(4))
    level: Mapped[str] = mapped_column(String(40))
    province_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date, default=None)
    case_ref: Mapped[str] = mapped_column(String(120))
    involved_product_ids: Mapped[list] = mapped_column(JSON, default=list)
    repair_status: Mapped[str] = mapped_column(String(16), default="none")
    repaired_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("credit_ratings.id"), default=None)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
