"""Builders for the bidding tests: opening keys, a project open for bidding with suppliers and
products, and quote files filled the way a supplier fills its template (openpyxl, real .xlsx)."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

UTC = dt.timezone.utc
CHEAP_KDF = {"memory_cost": 8, "time_cost": 1, "parallelism": 1}
OFFICER_SECRET = "amber walrus tiptoes 4 moons"
WITNESS_SECRET = "quiet lanterns over 9 rivers"


def give_opening_key(project, officer, witness=None):
    """An opening key for round 1 made from the test secrets (cheap KDF), without the ceremony.

    Bidding opens only with a key (app/bidding guards ``demand_frozen → bidding_open``); tests of
    the lifecycle that do not care about sealing get one this way.
    """
    from app.bidding.models import OpeningKey
    from app.bidding.sealing import create_opening_key
    from app.extensions import db

    material = create_opening_key(OFFICER_SECRET, WITNESS_SECRET, kdf_params=CHEAP_KDF)
    key = OpeningKey(project_id=project.id, round_no=1, public_key_pem=material.public_key_pem,
                     encrypted_private_key=material.encrypted_private_key, kdf=material.kdf,
                     officer_id=officer.id, witness_id=(witness or officer).id)
    db.session.add(key)
    db.session.flush()
    return key


@dataclass
class BiddingWorld:
    project: object
    officer: object
    supervisor: object
    lots: dict[int, object]
    suppliers: dict[str, object] = field(default_factory=dict)  # name → Organisation
    users: dict[str, object] = field(default_factory=dict)  # name → its supplier user
    products: dict[tuple[str, int], object] = field(default_factory=dict)  # (name, lot no) → Product


def relative_timeline(now: dt.datetime) -> dict[str, dt.datetime]:
    """A timeline around the real clock (web tests use the server clock, not a fixed one)."""
    return {"demand_due_at": now + dt.timedelta(minutes=30), "bid_deadline": now + dt.timedelta(days=2),
            "opening_at": now + dt.timedelta(days=2, hours=2)}


def build_bidding_world(make_user, make_org, *, code: str = "BID-1", ceilings: dict[int, str] | None = None,
                        specs: dict[int, str] | None = None, suppliers: tuple[str, ...] = ("甲制药", "乙制药"),
                        qualified: bool = True, preset: str = "nvbp-4", overrides: dict | None = None,
                        kind: str = "alliance", with_key: bool = True, state: str = "bidding_open") -> BiddingWorld:
    """A project of a fresh officer's authority walked to ``state`` (real clock minus a little).

    Each lot has the representative spec 20mg; each supplier owns one product per lot (spec from
    ``specs``, default 20mg, 7 tablets a pack) eligible in that lot, and (``qualified``) an approved
    licence. The project's times are moved so the real server clock sits inside bidding.
    """
    from app.bidding.models import QualificationDocument
    from app.catalog.models import Product
    from app.core.db import utcnow
    from app.documents.models import StoredDocument
    from app.extensions import db
    from app.projects import lifecycle, services

    ceilings = ceilings or {1: "1.5"}
    specs = specs or {}
    officer = make_user("procurement_officer")
    supervisor = make_user("supervisor", org=officer.org)
    now = utcnow()
    project = services.create_project(actor=officer, code=code, name=f"报价测试 {code}", kind=kind, preset=preset,
                                      overrides=overrides, **relative_timeline(now))
    lots = {n: services.add_lot(project, actor=officer, lot_no=n, generic_name=f"测试药{n}", form_group="口服常释剂型",
                                representative_spec="20mg", ceiling_ucp=ceiling)
            for n, ceiling in sorted(ceilings.items())}
    institution = make_org("medical_institution")
    services.add_institutions(project, [institution.id], actor=officer)
    world = BiddingWorld(project=project, officer=officer, supervisor=supervisor, lots=lots)
    for name in suppliers:
        org = make_org("supplier", name=name)
        world.suppliers[name] = org
        world.users[name] = make_user("supplier_user", org=org)
        for n, lot in lots.items():
            product = Product(generic_name=f"测试药{n}", dosage_form="片剂", spec=specs.get(n, "20mg"), pack_qty=7,
                              min_unit="片", manufacturer_id=org.id, nhsa_code=f"XA10AAA{n:03d}A001010{org.id:06d}"[:23])
            db.session.add(product)
            db.session.flush()
            world.products[(name, n)] = product
        if qualified:
            doc = StoredDocument(sha256="0" * 64, filename="licence.pdf", size=1, content=b"x", owner_org_id=org.id)
            db.session.add(doc)
            db.session.flush()
            db.session.add(QualificationDocument(supplier_org_id=org.id, kind="licence", title="药品生产许可证",
                                                 document_id=doc.id, status="approved",
                                                 expires_on=(now + dt.timedelta(days=365)).date()))
    db.session.flush()
    for n, lot in lots.items():
        services.set_eligible_products(lot, [p.id for (name, m), p in world.products.items() if m == n], actor=officer)
    order = ("demand_collection", "demand_frozen", "bidding_open")
    for target in order[: order.index(state) + 1] if state in order else ():
        if target == "bidding_open" and with_key:
            give_opening_key(project, officer, supervisor)
        lifecycle.transition_project(project, target, actor=officer, now=now)
    return world


def fill_quote(template: bytes, rows: dict[int, dict], regions: dict[int, list[str]] | None = None) -> bytes:
    """Fill the downloaded template as a supplier does: ``rows`` maps a lot number to the values of
    its pre-filled row (by column key); ``regions`` a lot number to its preferred regions."""
    import openpyxl

    from app.spreadsheets.specs import QUOTE_REGIONS, QUOTES
    from app.spreadsheets.template import template_columns

    wb = openpyxl.load_workbook(io.BytesIO(template))
    ws = wb[QUOTES.sheet_title]
    columns = {tc.column.key: i + 1 for i, tc in enumerate(template_columns(QUOTES)) if tc.number is None}
    for r in range(3, ws.max_row + 1):
        lot_no = ws.cell(r, columns["lot_no"]).value
        if lot_no is None:
            continue
        for key, value in rows.get(int(lot_no), {}).items():
            ws.cell(r, columns[key]).value = value
    if regions:
        rs = wb[QUOTE_REGIONS.sheet_title]
        for r in range(3, rs.max_row + 1):
            lot_no = rs.cell(r, 1).value
            if lot_no is not None and int(lot_no) in regions:
                for i, region in enumerate(regions[int(lot_no)]):
                    rs.cell(r, 2 + i).value = region
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def plain_quote(rows: list[dict], headers: list[str] | None = None) -> bytes:
    """A plain canonical quote file (one header row, no template stamp), rows keyed by column key."""
    import openpyxl

    from app.spreadsheets.specs import QUOTES

    headers = headers or [c.key for c in QUOTES.columns if not c.repeat]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([QUOTES.column(h).zh for h in headers])
    for row in rows:
        ws.append([row.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def matrix_bidding(world) -> None:
    """For the route × role matrix: qualification documents and quote receipts of the supplier actors
    (``supplier_user``, ``org_admin``) and of the stranger; the "bidding" project's opening key comes
    from :func:`give_opening_key` before it opens."""
    import hashlib

    from app.bidding.models import QualificationDocument, QuoteSubmission
    from app.core.db import utcnow
    from app.documents.models import StoredDocument
    from app.extensions import db

    project = world.projects["bidding"]
    owners = {actor: world.users[actor] for actor in ("supplier_user", "org_admin")}
    owners["stranger"] = world.stranger
    for n, (actor, user) in enumerate(owners.items(), start=1):
        doc = StoredDocument(sha256=hashlib.sha256(actor.encode()).hexdigest(), filename=f"{actor}.pdf", size=1,
                             content=b"x", owner_org_id=user.org_id)
        db.session.add(doc)
        db.session.flush()
        qualification = QualificationDocument(supplier_org_id=user.org_id, kind="licence", title=f"licence {actor}",
                                              document_id=doc.id)
        submission = QuoteSubmission(project_id=project.id, supplier_org_id=user.org_id, round_no=1, version=1,
                                     status="submitted", file_name="quote-v1.xlsx",
                                     file_sha256=hashlib.sha256(f"quote {actor}".encode()).hexdigest(), line_count=1,
                                     sealed_payload=b"\x01placeholder", sealed_key=b"\x01", receipt_no=f"QR-MATRIX-{n}",
                                     submitted_by_id=user.id, submitted_at=utcnow())
        db.session.add_all([qualification, submission])
        db.session.flush()
        if actor == "stranger":
            world.stranger_qualification, world.stranger_receipt = qualification, submission
        else:
            world.qualifications[actor], world.receipts[actor] = qualification, submission
