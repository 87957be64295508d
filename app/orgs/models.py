"""Organisations: procurement and price authorities, suppliers (MAH), distributors, institutions."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Code, UTCDateTime, enum_check, id_column, trigram_index, utcnow

ORG_KINDS = (
    "procurement_authority",  # 集采办 / 联采办
    "price_authority",  # 医保局价格招采部门
    "supplier",  # 生产企业 / 上市许可持有人 (MAH)
    "distributor",  # 配送企业
    "medical_institution",  # 医疗机构
    "platform",  # the platform operator (platform administrators)
)
INSTITUTION_LEVELS = ("tertiary", "secondary", "primary", "unrated")


class Organisation(Base):
    """An organisation on the platform (机构/企业).

    Identified by its unified social credit code (统一社会信用代码, DOMAIN.md C5). A foreign maker
    without one gives ``foreign_id`` and its agent's code ``agent_uscc``. Medical institutions also
    carry their institution code, level, region and 医共体 (county medical community).
    """

    __tablename__ = "organisations"
    __table_args__ = (
        enum_check("kind", ORG_KINDS),
        enum_check("institution_level", INSTITUTION_LEVELS),
        CheckConstraint(
            "uscc IS NOT NULL OR (foreign_id IS NOT NULL AND agent_uscc IS NOT NULL) OR kind = 'platform'",
            name="identified",
        ),
        trigram_index("ix_organisations_name_trgm", "name"),
    )

    id: Mapped[int] = id_column()
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    short_name: Mapped[str | None] = mapped_column(String(64), default=None)
    uscc: Mapped[str | None] = mapped_column(Code(18), unique=True, default=None)
    foreign_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    agent_uscc: Mapped[str | None] = mapped_column(Code(18), default=None)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), default=None, index=True)
    institution_code: Mapped[str | None] = mapped_column(Code(32), unique=True, default=None)
    institution_level: Mapped[str | None] = mapped_column(String(16), default=None)
    medical_community: Mapped[str | None] = mapped_column(String(200), default=None)  # 医共体
    is_primary_care: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.kind} {self.name}>"
