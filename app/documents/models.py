"""Stored documents: every uploaded file kept with its SHA-256 (DOMAIN.md P-3)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class StoredDocument(Base):
    """An uploaded file (qualification documents, objection answers, inquiry letters, upload originals).

    ``content`` is ``None`` for sealed uploads, whose bytes live encrypted with the quote.
    """

    __tablename__ = "stored_documents"

    id: Mapped[int] = id_column()
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    owner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None, index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
