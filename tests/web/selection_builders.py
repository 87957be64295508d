"""Builders for the selection tests: an opened project with lots, frozen demand and revealed bids.

The project walks the real lifecycle (draft → … → bidding_open → bidding_closed by the clock →
opened) at the fixed times of ``project_builders``. Quote submissions here are placeholders (their
sealed payload is not a real seal): the selection reads the revealed ``Bid`` rows only, which an
opening creates; the sealing itself is the bidding piece's and the batch-2 import's business.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from tests.web.project_builders import BID_DEADLINE, BIDDING_OPENS, DEMAND_DUE, OPENING, T0, walk

CHEAP_KDF = {"memory_cost": 8, "time_cost": 1, "parallelism": 1}


@dataclass
class Opened:
    project: object
    officer: object
    lots: dict[int, object]  # lot number → Lot
    suppliers: dict[str, object]  # name → Organisation
    bids: dict[tuple[str, int], object]  # (supplier name, lot number) → Bid
    products: dict[tuple[str, int], object] = field(default_factory=dict)
    institutions: dict[str, object] = field(default_factory=dict)  # region code → its institution
    lines: list = field(default_factory=list)


def _opening_key(project, officer):
    """An opening key for round 1, in case bidding may only open with one (cheap KDF for tests)."""
    from app.bidding.models import OpeningKey
    from app.bidding.sealing import create_opening_key
    from app.extensions import db

    material = create_opening_key("quiet harbour lantern 7", "mossy violin orbit 42", kdf_params=CHEAP_KDF)
    db.session.add(OpeningKey(project_id=project.id, round_no=1, public_key_pem=material.public_key_pem,
                              encrypted_private_key=material.encrypted_private_key, kdf=material.kdf,
                              officer_id=officer.id, witness_id=officer.id))
    db.session.flush()


def build_opened_project(make_user, make_org, *, code: str = "SEL-1", preset: str = "nvbp-2", overrides=None,
                         ceilings: dict[int, str | None] | None = None,
                         bids: dict[str, list[tuple]] | None = None,
                         demand: list[tuple[int, str, str]] | None = None,
                         demand_by_supplier: list[tuple[int, str, str, str]] | None = None,
                         amendments: list[tuple[int, str, str]] | None = None,
                         officer=None, open_it: bool = True) -> Opened:
    """An ``opened`` project of ``officer``'s authority.

    ``ceilings``: lot number → ceiling text; ``bids``: supplier name → ``[(lot number, ucp text)]`` or
    ``[(lot number, ucp text, {Bid field: value})]``; ``demand``: ``(lot number, region code, quantity)``
    lines, each of the institution of its region (one per region, as institutions belong to one);
    ``demand_by_supplier``: lines naming the supplier's product
    ``(lot, region, quantity, supplier)``; ``amendments``: ``(line index, status, new quantity)``.
    """
    from app.bidding.models import Bid, QuoteSubmission
    from app.catalog.models import Product
    from app.extensions import db
    from app.projects import services
    from app.projects.models import DemandAmendment, DemandLine, DemandReport

    ceilings = ceilings if ceilings is not None else {1: "1.5"}
    bids = bids if bids is not None else {}
    officer = officer or make_user("procurement_officer")
    project = services.create_project(actor=officer, code=code, name=f"中选测试 {code}", kind="alliance", preset=preset,
                                      overrides=overrides, demand_due_at=DEMAND_DUE, bidding_opens_at=BIDDING_OPENS,
                                      bid_deadline=BID_DEADLINE, opening_at=OPENING)
    lots = {}
    for lot_no, ceiling in sorted(ceilings.items()):
        lots[lot_no] = services.add_lot(project, actor=officer, lot_no=lot_no, generic_name=f"测试药{lot_no}",
                                        form_group="口服常释剂型", representative_spec="20mg", ceiling_ucp=ceiling, now=T0)
    regions = sorted({line[1] for line in (demand or []) + (demand_by_supplier or [])} | {"110000"})
    institutions = {region: make_org("medical_institution", region_code=region) for region in regions}
    services.add_institutions(project, [o.id for o in institutions.values()], actor=officer, now=T0)

    suppliers = {name: make_org("supplier", name=name, short_name=name) for name in bids}
    for _lot, _region, _qty, name in demand_by_supplier or []:
        if name not in suppliers:
            suppliers[name] = make_org("supplier", name=name, short_name=name)
    products = {}
    for name, org in suppliers.items():
        for lot_no in lots:
            products[(name, lot_no)] = Product(generic_name=f"测试药{lot_no}", dosage_form="片剂", spec="20mg", pack_qty=7,
                                               min_unit="片", manufacturer_id=org.id)
            db.session.add(products[(name, lot_no)])
    db.session.flush()

    walk(project, officer, "demand_collection", now=T0)
    reports = {region: DemandReport(project_id=project.id, institution_id=org.id, version=1, status="submitted",
                                    submitted_at=T0 + dt.timedelta(hours=1)) for region, org in institutions.items()}
    db.session.add_all(reports.values())
    db.session.flush()
    lines = []
    for lot_no, region, qty in demand or []:
        lines.append(DemandLine(report_id=reports[region].id, lot_id=lots[lot_no].id, region_code=region, year=2030,
                                historical_usage=Decimal(qty), reported_demand=Decimal(qty), spec="20mg"))
    for lot_no, region, qty, name in demand_by_supplier or []:
        lines.append(DemandLine(report_id=reports[region].id, lot_id=lots[lot_no].id, region_code=region, year=2030,
                                historical_usage=Decimal(qty), reported_demand=Decimal(qty), spec="20mg",
                                product_id=products[(name, lot_no)].id))
    db.session.add_all(lines)
    db.session.flush()
    walk(project, officer, "demand_frozen", now=DEMAND_DUE + dt.timedelta(hours=1))
    for index, status, qty in amendments or []:
        db.session.add(DemandAmendment(demand_line_id=lines[index].id, new_reported_demand=Decimal(qty), reason="测试",
                                       status=status, requested_by_id=officer.id, decided_by_id=officer.id,
                                       decided_at=DEMAND_DUE + dt.timedelta(hours=2 + len(lines))))
    db.session.flush()
    _opening_key(project, officer)
    walk(project, officer, "bidding_open", now=BIDDING_OPENS + dt.timedelta(hours=1))

    made: dict[tuple[str, int], object] = {}
    for n, (name, entries) in enumerate(bids.items(), start=1):
        org = suppliers[name]
        digest = hashlib.sha256(f"{code}:{name}".encode()).hexdigest()
        submission = QuoteSubmission(project_id=project.id, supplier_org_id=org.id, round_no=1, version=1,
                                     status="submitted", file_name=f"{name}.xlsx", file_sha256=digest,
                                     line_count=len(entries), sealed_payload=b"\x01placeholder", sealed_key=b"\x01",
                                     receipt_no=f"{code}-{n}", submitted_by_id=officer.id,
                                     submitted_at=BIDDING_OPENS + dt.timedelta(hours=2))
        db.session.add(submission)
        db.session.flush()
        for entry in entries:
            lot_no, price = entry[0], Decimal(entry[1])
            extra = entry[2] if len(entry) > 2 else {}
            lot = lots[lot_no]
            bid = Bid(submission_id=submission.id, project_id=project.id, lot_id=lot.id, supplier_org_id=org.id,
                      product_id=products[(name, lot_no)].id, round_no=1, pack_price=price * 7, pack_qty=7,
                      unit_price=price, ucp=price, declared_capacity=Decimal(1000000),
                      over_ceiling=lot.ceiling_ucp is not None and price > lot.ceiling_ucp,
                      revealed_at=OPENING, **extra)
            db.session.add(bid)
            made[(name, lot_no)] = bid
    db.session.flush()
    if open_it:
        walk(project, officer, "opened", now=OPENING + dt.timedelta(hours=1))
    return Opened(project=project, officer=officer, lots=lots, suppliers=suppliers, bids=made, products=products,
                  institutions=institutions, lines=lines)
