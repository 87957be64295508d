"""Sealed bidding (报价): qualifications, sealed quote submissions, opening, bids, negotiation rounds."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, Code, ExactDecimal, Money, Quantity, UTCDateTime, enum_check, id_column, utcnow

QUALIFICATION_KINDS = ("licence", "registration", "authorisation", "pledge", "other")
BID_REASONS = ("won", "revived", "excluded", "over_ceiling", "beyond_max_winners", "outside_spread")


class QualificationDocument(Base):
    """A supplier's qualification document (资质: licence, registration, authorisation, pledge) with expiry.

    A supplier without approved, unexpired qualifications cannot quote.
    """

    __tablename__ = "qualification_documents"
    __table_args__ = (
        enum_check("kind", QUALIFICATION_KINDS),
        enum_check("status", ("pending", "approved", "rejected")),
    )

    id: Mapped[int] = id_column()
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[int] = mapped_column(ForeignKey("stored_documents.id"))
    issued_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    expires_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    review_note: Mapped[str | None] = mapped_column(Text, default=None)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpeningKey(Base):
    """The key pair that seals a round's quotes (开标密钥).

    Quotes are encrypted to ``public_key_pem`` at upload. The private key is stored only encrypted
    under a key derived from two secrets (the officer's and the supervisor's), so it can be used
    only when both are entered together at the opening.
    """

    __tablename__ = "opening_keys"
    __table_args__ = (UniqueConstraint("project_id", "round_no"),)

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    public_key_pem: Mapped[str] = mapped_column(Text)
    encrypted_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    kdf: Mapped[dict] = mapped_column(JSON)  # algorithm, salts and parameters, never a secret
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    witness_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuoteSubmission(Base):
    """One uploaded version of a supplier's quote for a project round (sealed until the opening).

    Nothing readable about prices is stored here: ``sealed_payload`` is the file and its parsed
    lines encrypted with the round's opening key; only counts, the file hash and times are clear.
    Versions are never deleted; the last ``submitted`` one counts (``superseded``/``withdrawn`` kept).
    """

    __tablename__ = "quote_submissions"
    __table_args__ = (
        UniqueConstraint("project_id", "supplier_org_id", "round_no", "version"),
        enum_check("status", ("submitted", "superseded", "withdrawn")),
    )

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    line_count: Mapped[int] = mapped_column(Integer)
    sealed_payload: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)  # the payload key wrapped with the opening key
    receipt_no: Mapped[str] = mapped_column(String(64), unique=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("quote_submissions.id"), default=None)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpeningRecord(Base):
    """The opening record (开标记录) of a round: every quote with its hash, who opened, who witnessed."""

    __tablename__ = "opening_records"
    __table_args__ = (UniqueConstraint("project_id", "round_no"),)

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    witness_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    quotes: Mapped[list] = mapped_column(JSON)  # [{submission, supplier, file_sha256, lines}]
    record_sha256: Mapped[str] = mapped_column(String(64))


class Bid(Base):
    """A revealed quote line (一条报价) for one lot, created at the opening and read-only afterwards.

    ``ucp`` is the unit comparable price (单位可比价) after 差比价 to the lot's representative strength.
    A revision in a negotiation round is a new row pointing at the bid it supersedes.
    """

    __tablename__ = "bids"
    __table_args__ = (
        UniqueConstraint("submission_id", "lot_id"),
        enum_check("reason", BID_REASONS),
        enum_check("outcome", ("won", "lost")),
    )

    id: Mapped[int] = id_column()
    submission_id: Mapped[int] = mapped_column(ForeignKey("quote_submissions.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    pack_price: Mapped[Decimal] = mapped_column(Money())
    pack_qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money())
    ucp: Mapped[Decimal] = mapped_column(Money())
    declared_capacity: Mapped[Decimal] = mapped_column(Quantity())
    capacity_use_per_unit: Mapped[Decimal] = mapped_column(ExactDecimal(18, 6), default=Decimal(1))
    supplier_capacity: Mapped[Decimal | None] = mapped_column(Quantity(), default=None)
    tiers: Mapped[list] = mapped_column(JSON, default=list)  # [{min_quantity, pack_price, unit_price}]
    bundle_code: Mapped[str | None] = mapped_column(String(64), default=None)
    bundle_discount: Mapped[Decimal | None] = mapped_column(ExactDecimal(8, 6), default=None)
    region_preferences: Mapped[list] = mapped_column(JSON, default=list)  # region codes in order
    excluded_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    over_ceiling: Mapped[bool] = mapped_column(default=False)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("bids.id"), default=None)
    outcome: Mapped[str | None] = mapped_column(String(8), default=None)
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    rank: Mapped[int | None] = mapped_column(Integer, default=None)
    revealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NegotiationRound(Base):
    """A negotiation round (议价轮次, DOMAIN.md §7), sealed and opened like round 1."""

    __tablename__ = "negotiation_rounds"
    __table_args__ = (
        UniqueConstraint("project_id", "round_no"),
        enum_check("state", ("open", "closed", "opened")),
    )

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    round_no: Mapped[int] = mapped_column(Integer)  # 2, 3, … (round 1 is the first bidding)
    state: Mapped[str] = mapped_column(String(16), default="open")
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lots: Mapped[list["RoundLot"]] = relationship(back_populates="round")


class RoundLot(Base):
    """A lot in a negotiation round with its target UCP (N2)."""

    __tablename__ = "round_lots"
    __table_args__ = (UniqueConstraint("round_id", "lot_id"),)

    id: Mapped[int] = id_column()
    round_id: Mapped[int] = mapped_column(ForeignKey("negotiation_rounds.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    target_method: Mapped[str] = mapped_column(String(32), default="lowest_ucp")
    target_ucp: Mapped[Decimal] = mapped_column(Money())

    round: Mapped[NegotiationRound] = relationship(back_populates="lots")


class RoundInvitation(Base):
    """An invited supplier in a round for a lot, its price to beat and its response (N3, N4)."""

    __tablename__ = "round_invitations"
    __table_args__ = (
        UniqueConstraint("round_lot_id", "supplier_org_id"),
        enum_check("response", ("pending", "accepted", "non_accept", "rejected_increase")),
    )

    id: Mapped[int] = id_column()
    round_lot_id: Mapped[int] = mapped_column(ForeignKey("round_lots.id"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    previous_bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    price_to_beat: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    response: Mapped[str] = mapped_column(String(24), default="pending")
    added_reason: Mapped[str | None] = mapped_column(Text, default=None)


class SelectionRun(Base):
    """A run of the rule engine (selection contract): problem, its hash, result, solver version."""

    __tablename__ = "selection_runs"

    id: Mapped[int] = id_column()
    project_id: Mapped[int] = mapped_column(ForeignKey("procurement_projects.id"), index=True)
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    ruleset_version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    problem: Mapped[dict] = mapped_column(JSON)
    problem_sha256: Mapped[str] = mapped_column(String(64), index=True)
    result: Mapped[dict] = mapped_column(JSON)
    solver_version: Mapped[str] = mapped_column(String(32))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommittedVolume(Base):
    """Committed volume per institution for a selection run (DOMAIN.md V1), rounded per institution."""

    __tablename__ = "committed_volumes"
    __table_args__ = (UniqueConstraint("selection_run_id", "lot_id", "institution_id"),)

    id: Mapped[int] = id_column()
    selection_run_id: Mapped[int] = mapped_column(ForeignKey("selection_runs.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    region_code: Mapped[str] = mapped_column(Code(6))
    reported_demand: Mapped[Decimal] = mapped_column(Quantity())
    ratio: Mapped[Decimal] = mapped_column(ExactDecimal(6, 4))
    committed_volume: Mapped[Decimal] = mapped_column(Quantity())


class QuoteSubmissionLot(Base):
    """A lot a sealed quote version covers: the per-lot count of submitted quotes before the opening.

    Which lots a supplier quotes is not a price: officers and supervisors may count quotes per lot
    while bidding is sealed (DOMAIN.md L2). Written with the submission, never changed.
    """

    __tablename__ = "quote_submission_lots"
    __table_args__ = (UniqueConstraint("submission_id", "lot_id"),)

    id: Mapped[int] = id_column()
    submission_id: Mapped[int] = mapped_column(ForeignKey("quote_submissions.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
