"""Regions (省级医保区划, GB/T 2260 codes; DOMAIN.md §11)."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Code


class Region(Base):
    """A provincial region: the 31 GB/T 2260 provinces plus 660000 新疆生产建设兵团 (NHSA only).

    ``merged_into`` folds 660000 into 650000 when a project does not supply the corps separately
    (``xpcc_separate = false``). Seeded by the first migration.
    """

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(Code(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    is_nhsa_only: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), default=None)
