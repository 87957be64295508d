"""Credit gate (DOMAIN.md §10 R2): is a supplier barred from quoting these products here, on that day?

Only the gate lives here for now (the credit screens come later). :func:`supplier_block` reads the
supplier's ratings that are in force on a day and applies the block matrix (level → list of
``[involved_products | all_products, province | national]``): the project's RuleSet
``credit.block_matrix`` when the caller passes it, else R2's default, :data:`DEFAULT_BLOCK_MATRIX`.

Who calls it: quote upload (W2/W3: a barred supplier is refused and never counts), the opening (a
rating that started after the upload marks the bid ``excluded`` with ``credit_barred``), and later
listing approval and publishing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from app.core.errors import N_, DomainError
from app.credit.models import CreditRating
from app.extensions import db

#: R2's default block matrix [I]: 2025 失信 and 2020 一般/中等 are warnings only; 严重失信 (2025) and
#: 严重 (2020) block the involved products in the rating province; 特别严重失信 (2025) and 特别严重
#: (2020) block every product in the rating province and the involved products nationally.
DEFAULT_BLOCK_MATRIX: Mapping[str, list[list[str]]] = {
    "2025:dishonest": [],
    "2025:seriously_dishonest": [["involved_products", "province"]],
    "2025:particularly_seriously_dishonest": [["all_products", "province"], ["involved_products", "national"]],
    "2020:general": [],
    "2020:moderate": [],
    "2020:serious": [["involved_products", "province"]],
    "2020:particularly_serious": [["all_products", "province"], ["involved_products", "national"]],
}

# The corps (660000) is supplied with 新疆 (650000) unless a project separates them (DOMAIN.md §11).
_XINJIANG = frozenset({"650000", "660000"})


class CreditBarred(DomainError):
    """A supplier barred by a credit rating (W2); ``block`` says which rating and which rule."""

    default_code = "CREDIT_BARRED"

    def __init__(self, block: "CreditBlock") -> None:
        self.block = block
        super().__init__(self.default_code, _BARRED_MESSAGES[(block.products, block.scope)],
                         params={"case": block.case_ref, "province": block.province_code, "level": block.level_key})


_BARRED_MESSAGES = {
    ("all_products", "province"): N_(
        "Your organisation may not quote any product in province %(province)s: a credit rating is in force (case "
        "%(case)s, level %(level)s). Ask the price officer about the rating and its repair."),
    ("involved_products", "province"): N_(
        "Your organisation may not quote the products involved in credit case %(case)s in province %(province)s "
        "(level %(level)s). Ask the price officer about the rating and its repair."),
    ("all_products", "national"): N_(
        "Your organisation may not quote any product: a credit rating is in force (case %(case)s, rating province "
        "%(province)s, level %(level)s). Ask the price officer about the rating and its repair."),
    ("involved_products", "national"): N_(
        "Your organisation may not quote the products involved in credit case %(case)s anywhere (rating province "
        "%(province)s, level %(level)s). Ask the price officer about the rating and its repair."),
}


@dataclass(frozen=True)
class CreditBlock:
    """Why a supplier is barred: the rating and the matrix rule that applies."""

    rating_id: int
    scheme: str
    level: str
    province_code: str
    case_ref: str
    products: str  # involved_products | all_products
    scope: str  # province | national

    @property
    def level_key(self) -> str:
        return f"{self.scheme}:{self.level}"

    def error(self) -> CreditBarred:
        return CreditBarred(self)


def ratings_in_force(company_org_id: int, on: dt.date) -> list[CreditRating]:
    """The company's ratings in force on ``on``: started, not ended, not repaired, not superseded.

    ``effective_to`` is the last day of the rating (inclusive); a rating superseded by one already
    in force on ``on`` no longer counts (ratings are append-only, a change supersedes, R1).
    """
    if isinstance(on, dt.datetime):
        raise TypeError("on must be a date (the Beijing calendar day), not a datetime")
    rows = db.session.scalars(
        select(CreditRating).where(
            CreditRating.company_org_id == company_org_id,
            CreditRating.effective_from <= on,
            or_(CreditRating.effective_to.is_(None), CreditRating.effective_to >= on),
        ).order_by(CreditRating.effective_from, CreditRating.id)
    ).all()
    superseded = {r.supersedes_id for r in rows if r.supersedes_id is not None}
    out = []
    for rating in rows:
        if rating.id in superseded:
            continue
        if rating.repair_status == "repaired" and (rating.repaired_on is None or rating.repaired_on <= on):
            continue
        out.append(rating)
    return out


def _same_province(rating_province: str, province_code: str | None) -> bool:
    # ``None``: the project spans every province (a national or cross-province project), so a
    # block in any one province reaches it.
    if province_code is None:
        return True
    if rating_province == province_code:
        return True
    return rating_province in _XINJIANG and province_code in _XINJIANG


def supplier_block(supplier_org_id: int, *, product_ids: Iterable[int], province_code: str | None = None,
                   on: dt.date, block_matrix: Mapping[str, Any] | None = None) -> CreditBlock | None:
    """The reason ``supplier_org_id`` may not quote ``product_ids`` on ``on``, or ``None``.

    ``province_code`` is the province the procurement covers (``None`` for a national or
    cross-province project: every province's blocks apply). ``block_matrix`` defaults to R2's
    :data:`DEFAULT_BLOCK_MATRIX`; pass the project's ``credit.block_matrix``. An empty rule list is a
    warning only, never a block. The first block found (oldest rating first) is returned.
    """
    matrix = DEFAULT_BLOCK_MATRIX if block_matrix is None else block_matrix
    wanted = {int(pid) for pid in product_ids}
    for rating in ratings_in_force(supplier_org_id, on):
        rules = matrix.get(f"{rating.scheme}:{rating.level}") or []
        involved = {int(pid) for pid in (rating.involved_product_ids or [])}
        for products, scope in rules:
            if scope == "province" and not _same_province(rating.province_code, province_code):
                continue
            if products == "involved_products" and not (involved & wanted):
                continue
            return CreditBlock(rating_id=rating.id, scheme=rating.scheme, level=rating.level,
                               province_code=rating.province_code, case_ref=rating.case_ref,
                               products=products, scope=scope)
    return None
