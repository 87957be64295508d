"""The 2nd national batch (2020) recorded as a historical opening of the demo project ``NVBP-2020-02``.

What this is, plainly: the published result table ``nvbp-batch2-bids.csv`` (real figures, one row
per submitted bid) is recorded as the bids of round 1 of the demo project, so the rule engine can be
run on real results in the app (the acceptance test of DOMAIN.md W11, and the demo). It is **not** a
sealed bidding that took place on this platform, and the records say so:

* **Opening key.** A key pair is made with :func:`app.bidding.sealing.create_opening_key` from two
  random secrets generated here. No officer and no witness ever chose or saw them; they live in this
  function's memory only, are used once to unlock the key at the end of the import, and are then
  dropped. ``OpeningKey.officer_id`` and ``witness_id`` are both the importing officer: nobody else
  took part.
* **Quote submissions.** One per company: its rows of the published CSV (header line plus its own
  lines, byte for byte) are the "file", sealed with the opening key like an upload, so the stored
  row is a genuine sealed payload whose SHA-256 is the extract's. The importing officer is the
  submitter; ``file_name`` names the published table; the lots each covers are recorded as an
  upload's are (``QuoteSubmissionLot``). They are opened again with the two secrets
  before those are dropped, and the bids are created from what was unsealed.
* **Opening record.** ``quotes`` lists one entry per company, as an opening does (receipt, version,
  the company extract's SHA-256, line count), with ``"import": "published result table"`` and the
  table's SHA-256 (``source_sha256``); ``record_sha256`` is :func:`app.bidding.services.opening_digest`,
  so :func:`~app.bidding.services.verify_opening_record` checks it like any opening record.
* **Bids.** One per CSV row. The table gives the price per smallest unit only, not the pack price:
  ``unit_price`` and ``ucp`` are the published unit price, ``pack_price`` the same figure with
  ``pack_qty = 1``. ``declared_capacity`` is unknown (0). No region preferences were published: none
  are recorded (the draft falls back to descending demand), and the published supply provinces are
  never used to produce a result. Winners and supply provinces of the table are left out of the bids.
* **Clock.** The lifecycle rows use the published timeline as their clock reading (bidding opened
  2019-12-29 09:00, quotes at that moment, bid deadline 2020-01-17 12:00, opening 14:00 Beijing
  time): the project moves ``demand_frozen → bidding_open`` (the RuleSet is frozen), bidding closes
  by the clock, and ``bidding_closed → opened``, all through :func:`transition_project`, each with the
  reason "历史导入". The audit trail carries the real time of the import and says it is historical.
* **碳酸氢钠 (lot 33).** It had volumes but no bid (流标); the result tables give no ceiling for it,
  and bidding cannot open with a lot without a ceiling. It gets :data:`NO_BID_CEILING_PLACEHOLDER`
  through :func:`app.projects.services.update_lot` (audited), marked as a placeholder in the import's
  audit event. No bid is compared with it.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import secrets
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select

from app.audit.services import record
from app.bidding.models import Bid, OpeningKey, OpeningRecord, QuoteSubmission, QuoteSubmissionLot
from app.bidding.sealing import (
    WeakSecret,
    check_secret_strength,
    create_opening_key,
    deserialise_payload,
    quote_aad,
    seal,
    serialise_payload,
    unlock_private_key,
    unseal,
)
from app.bidding.services import opening_digest
from app.catalog.models import Product
from app.core.errors import N_
from app.demo import batch2
from app.demo.seed import NVBP_CODE
from app.extensions import db
from app.orgs.models import Organisation
from app.projects import services as project_services
from app.projects.lifecycle import effective_state, transition_project
from app.projects.models import Lot, ProcurementProject
from app.selection.services import SelectionError, may_run_selection

__all__ = ["IMPORT_REASON", "NO_BID_CEILING_PLACEHOLDER", "import_published_batch2"]

ROUND_NO = 1
IMPORT_REASON = "历史导入：第二批国家组织药品集中采购公布的结果表（非本平台密封报价）"
#: Ceiling given to a lot nobody bid on, only so bidding can open; not a published figure.
NO_BID_CEILING_PLACEHOLDER = Decimal("0.1")
SOURCE_NAME = batch2.BIDS_CSV.name


def _secret() -> str:
    while True:  # a random token is never "obvious"; the loop only guards the strength check's rules
        candidate = secrets.token_urlsafe(32)
        try:
            check_secret_strength(candidate)
            return candidate
        except WeakSecret:  # pragma: no cover
            continue


def _company_extracts(source: bytes) -> dict[str, tuple[bytes, list[dict[str, str]]]]:
    """Company full name → (header + its CSV lines, byte for byte; its parsed rows), in file order."""
    text = source.decode("utf-8-sig")
    raw_lines = text.splitlines(keepends=True)
    header = raw_lines[0]
    names = next(csv.reader([header]))
    extracts: dict[str, list[str]] = defaultdict(list)
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for raw in raw_lines[1:]:
        if not raw.strip():
            continue
        values = next(csv.reader(io.StringIO(raw)))
        row = dict(zip(names, values))
        company = row["company"].strip()
        extracts[company].append(raw)
        rows[company].append(row)
    return {company: ((header + "".join(lines)).encode("utf-8"), rows[company]) for company, lines in extracts.items()}


def import_published_batch2(*, actor) -> ProcurementProject:
    """Record the published 2nd-batch bids as the historical opening of ``NVBP-2020-02``; returns the project.

    Needs the demo seed (``app.demo.seed.seed_demo``) and an officer of the project's authority. The
    project must still be ``demand_frozen`` with no opening key (an import happens once). Ends with the
    project ``opened``. Everything it does and does not claim is in the module docstring.
    """
    project = db.session.scalar(select(ProcurementProject).where(ProcurementProject.code == NVBP_CODE))
    if project is None:
        raise SelectionError("BATCH2_PROJECT_MISSING",
                             N_("The demo project %(code)s is not loaded: seed the demo first."), params={"code": NVBP_CODE})
    if actor is None or not may_run_selection(actor, project):
        raise SelectionError("SELECTION_DENIED",
                             N_("Only procurement officers of the project's procurement authority run the selection."))
    state = effective_state(project)
    already = db.session.scalar(select(func.count()).select_from(OpeningKey).where(OpeningKey.project_id == project.id))
    if state != "demand_frozen" or already:
        raise SelectionError("BATCH2_ALREADY_IMPORTED",
                             N_("The published bids can only be imported into %(code)s while its demand is frozen and nothing was bid (it is %(state)s)."),
                             params={"code": NVBP_CODE, "state": state})

    source = batch2.BIDS_CSV.read_bytes()
    source_sha256 = hashlib.sha256(source).hexdigest()
    extracts = _company_extracts(source)
    lots = {lot.lot_no: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == project.id))}
    orgs = {o.name: o for o in db.session.scalars(
        select(Organisation).where(Organisation.kind == "supplier", Organisation.name.in_(list(extracts))))}
    missing = sorted(set(extracts) - set(orgs))
    if missing:
        raise SelectionError("BATCH2_COMPANY_MISSING", N_("The demo has no supplier organisation named %(names)s."),
                             params={"names": ", ".join(missing)})
    plans = {plan.key: plan.nhsa_code for plan in batch2.products()}
    products = dict(db.session.execute(select(Product.nhsa_code, Product.id)
                                       .where(Product.nhsa_code.in_(list(plans.values())))).all())

    # 碳酸氢钠 and any other lot without a ceiling: a placeholder, so that bidding can open.
    placeholders = []
    for lot in sorted(lots.values(), key=lambda lot: lot.lot_no):
        if lot.ceiling_ucp is None:
            project_services.update_lot(lot, actor=actor, ceiling_ucp=NO_BID_CEILING_PLACEHOLDER)
            placeholders.append(lot.lot_no)

    # The opening key, from two secrets nobody sees; they are dropped at the end of this function.
    officer_secret, witness_secret = _secret(), _secret()
    material = create_opening_key(officer_secret, witness_secret)
    opening_key = OpeningKey(project_id=project.id, round_no=ROUND_NO, public_key_pem=material.public_key_pem,
                             encrypted_private_key=material.encrypted_private_key, kdf=material.kdf,
                             officer_id=actor.id, witness_id=actor.id)
    db.session.add(opening_key)
    db.session.flush()

    opens_at, opening_at = project.bidding_opens_at, project.opening_at
    transition_project(project, "bidding_open", actor=actor, reason=IMPORT_REASON, now=opens_at)

    submissions: dict[str, QuoteSubmission] = {}
    for company, (file_bytes, rows) in extracts.items():
        org = orgs[company]
        file_sha256 = hashlib.sha256(file_bytes).hexdigest()
        lines = []
        for number, row in enumerate(rows, start=2):  # spreadsheet-style row numbers of the extract
            lot, price = lots[int(row["lot_no"])], Decimal(row["bid_unit_price"].strip())
            nhsa_code = plans[(lot.lot_no, company, row["spec"].strip())]
            # The shape of an uploaded quote's parsed line (app.bidding.services.parse_quote).
            lines.append({
                "row": number, "lot_id": lot.id, "lot_no": lot.lot_no, "product_id": products[nhsa_code],
                "nhsa_code": nhsa_code, "spec": row["spec"].strip(), "pack_price": price, "pack_qty": 1,
                "unit_price": price, "ucp": price, "declared_capacity": Decimal(0),
                "capacity_use_per_unit": Decimal(1), "supplier_capacity": None, "tiers": [], "bundle_code": None,
                "bundle_discount": None, "over_ceiling": lot.ceiling_ucp is not None and price > lot.ceiling_ucp,
                "region_preferences": [],
            })
        aad = quote_aad(project_id=project.id, round_no=ROUND_NO, supplier_org_id=org.id, file_sha256=file_sha256,
                        version=1)
        blob = seal(serialise_payload(file_bytes, lines), material.public_key_pem, aad=aad)
        submission = QuoteSubmission(
            project_id=project.id, supplier_org_id=org.id, round_no=ROUND_NO, version=1, status="submitted",
            file_name=f"{SOURCE_NAME}#{org.short_name or company}", file_sha256=file_sha256, line_count=len(lines),
            sealed_payload=blob.ciphertext, sealed_key=blob.wrapped_key,
            receipt_no=f"IMPORT-{project.code}-R{ROUND_NO}-{org.id}", submitted_by_id=actor.id, submitted_at=opens_at)
        db.session.add(submission)
        submissions[company] = submission
    db.session.flush()
    db.session.add_all(QuoteSubmissionLot(submission_id=submissions[company].id, lot_id=lots[lot_no].id)
                       for company, (_bytes, rows) in extracts.items()
                       for lot_no in dict.fromkeys(int(row["lot_no"]) for row in rows))
    db.session.flush()

    # Unlock once with the two secrets, then drop them: nobody can open this key again.
    unlocked = unlock_private_key(opening_key, officer_secret, witness_secret)
    del officer_secret, witness_secret
    quotes = []
    bids = 0
    for company, submission in submissions.items():
        aad = quote_aad(project_id=project.id, round_no=ROUND_NO, supplier_org_id=submission.supplier_org_id,
                        file_sha256=submission.file_sha256, version=1)
        _file, lines = deserialise_payload(unseal(submission, unlocked, aad=aad), expected_sha256=submission.file_sha256)
        for line in lines:
            db.session.add(Bid(
                submission_id=submission.id, project_id=project.id, lot_id=line["lot_id"],
                supplier_org_id=submission.supplier_org_id, product_id=line["product_id"], round_no=ROUND_NO,
                pack_price=line["pack_price"], pack_qty=line["pack_qty"], unit_price=line["unit_price"],
                ucp=line["ucp"], declared_capacity=line["declared_capacity"],
                capacity_use_per_unit=line["capacity_use_per_unit"], supplier_capacity=line["supplier_capacity"],
                tiers=[], bundle_code=None, bundle_discount=None, region_preferences=line["region_preferences"],
                excluded_reason=None, over_ceiling=line["over_ceiling"], revealed_at=opening_at))
            bids += 1
        quotes.append({"submission": submission.id, "receipt_no": submission.receipt_no,
                       "supplier": submission.supplier_org_id, "supplier_name": company, "version": submission.version,
                       "status": submission.status, "file_sha256": submission.file_sha256,
                       "lines": submission.line_count,
                       "submitted_at": opens_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                       "import": "published result table", "source": SOURCE_NAME, "source_sha256": source_sha256})
    del unlocked
    db.session.flush()

    opening_record = OpeningRecord(
        project_id=project.id, round_no=ROUND_NO, opened_at=opening_at, officer_id=actor.id, witness_id=actor.id,
        quotes=quotes, record_sha256=opening_digest(project_id=project.id, round_no=ROUND_NO, opened_at=opening_at,
                                                    officer_id=actor.id, witness_id=actor.id, quotes=quotes))
    db.session.add(opening_record)
    db.session.flush()

    transition_project(project, "opened", actor=actor, reason=IMPORT_REASON, now=opening_at)
    record("selection.import_batch2", project, summary={
        "historical_import": True,
        "note": "第二批国家集采公布结果表作为历史开标导入；非本平台的密封报价。开标密钥的两个秘密在导入时随机生成、"
                "仅用于导入时解封一次并立即丢弃；无见证人。包装价格未公布：按单位价格、每包 1 个最小单位记录。",
        "source": SOURCE_NAME,
        "source_sha256": source_sha256,
        "companies": len(submissions),
        "bids": bids,
        "opening_record_sha256": opening_record.record_sha256,
        "ceiling_placeholders": placeholders,
        "timeline": {"bidding_open": opens_at, "bid_deadline": project.bid_deadline, "opened": opening_at},
    })
    return project
