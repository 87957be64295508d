"""Quotes (DOMAIN.md L2, W1, W3, §12 (d)): the template round trip, format errors with their cells,
over-ceiling warnings, versions and receipts, withdrawal, and the deadline at commit time."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import openpyxl
import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.bidding import services
from app.bidding.models import QuoteSubmission, QuoteSubmissionLot
from app.core.tx import finish
from app.projects import lifecycle
from app.spreadsheets.specs import QUOTE_REGIONS, QUOTES
from tests.web.bidding_builders import CHEAP_KDF, build_bidding_world, fill_quote, plain_quote
from tests.web.conftest import page_csrf_token

# Lot 1: 20mg like the representative spec, ceiling 1.5 per tablet; lot 2: 40mg (差比价 ÷ 1.7), ceiling 1.1.
CEILINGS = {1: "1.5", 2: "1.1"}
SPECS = {2: "40mg"}
QUOTE = {
    1: {"pack_price": 9.876543, "declared_capacity": 500000, "supplier_capacity": 900000, "tier1_min_qty": 100000,
        "tier1_pack_price": "9.123457", "tier2_min_qty": 200000, "tier2_pack_price": "8.765431", "bundle_id": "B1",
        "bundle_discount": "3%"},
    2: {"pack_price": "13.579135", "declared_capacity": 300000, "supplier_capacity": 900000, "bundle_id": "B1",
        "bundle_discount": 0.03},
}


@pytest.fixture(autouse=True)
def _cheap_opening_kdf(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPENING_KDF_PARAMS", CHEAP_KDF)


@pytest.fixture()
def world(db, make_user, make_org):
    world = build_bidding_world(make_user, make_org, ceilings=CEILINGS, specs=SPECS)
    db.session.commit()  # a refused request rolls back the session it shares with the test
    return world


def _client(app, sign_in, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _template(client, project) -> bytes:
    response = client.get(f"/bidding/projects/{project.id}/template")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Disposition"].startswith("attachment")
    return response.data


def _upload(client, project, data: bytes, filename: str = "报价.xlsx"):
    url = f"/bidding/projects/{project.id}/quote"
    token = page_csrf_token(client, url)
    return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def _submissions(db, project):
    return db.session.scalars(select(QuoteSubmission).where(QuoteSubmission.project_id == project.id)
                              .order_by(QuoteSubmission.supplier_org_id, QuoteSubmission.version)).all()


def _refusals(db, code: str) -> list[AuditEvent]:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bidding.quote_refused")).all()
    return [e for e in events if e.summary.get("code") == code]


def test_the_template_is_stamped_with_the_suppliers_own_products_and_the_region_sheet(app, world, sign_in):
    client = _client(app, sign_in, world.users["甲制药"])
    data = _template(client, world.project)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert {QUOTES.sheet_title, QUOTE_REGIONS.sheet_title} <= set(wb.sheetnames)
    stamp = {row[0]: row[1] for row in wb["_jicai_template"].iter_rows(values_only=True)}
    assert stamp["kind"] == "quotes" and stamp["project_code"] == world.project.code
    assert wb["_jicai_template"].sheet_state == "veryHidden"
    ws = wb[QUOTES.sheet_title]
    rows = [r for r in ws.iter_rows(min_row=3, values_only=True) if r[1] is not None]
    own = {world.products[("甲制药", n)].nhsa_code for n in (1, 2)}
    other = {world.products[("乙制药", n)].nhsa_code for n in (1, 2)}
    assert {r[3] for r in rows} == own and not ({r[3] for r in rows} & other)
    assert {r[0] for r in rows} == {world.project.code}
    assert {r[2] for r in rows} == {world.suppliers["甲制药"].uscc}
    assert [(r[1], r[4], r[6]) for r in rows] == [(1, "20mg", 7), (2, "40mg", 7)]
    # Identity columns are locked on a protected sheet; prices and capacities stay editable.
    assert ws.protection.sheet
    assert ws.cell(3, 1).protection.locked and ws.cell(3, 4).protection.locked
    assert not ws.cell(3, 6).protection.locked  # pack price
    regions = wb[QUOTE_REGIONS.sheet_title]
    assert [r[0] for r in regions.iter_rows(min_row=3, values_only=True) if r[0] is not None] == [1, 2]


def test_template_round_trip_seals_the_quote_warns_over_ceiling_and_gives_a_receipt(app, db, world, sign_in):
    supplier = world.users["甲制药"]
    client = _client(app, sign_in, supplier)
    data = fill_quote(_template(client, world.project), QUOTE, regions={1: ["北京", "上海市"], 2: ["440000"]})
    response = _upload(client, world.project, data, "甲制药 报价 13.579135.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]

    (sub,) = _submissions(db, world.project)
    sha = hashlib.sha256(data).hexdigest()
    assert (sub.status, sub.version, sub.line_count, sub.file_sha256) == ("submitted", 1, 2, sha)
    assert sub.file_name == "quote-v1.xlsx"  # the uploaded name carried a price: not kept in clear
    assert sub.receipt_no in html and sha in html and "2" in html
    # The over-ceiling warning: lot 2, 13.579135 / 7 = 1.939876 per 40mg tablet → 1.141104 at 20mg > 1.1.
    assert "1.141104" in html and "1.100000" in html
    assert "1.410935" not in html  # lot 1 is under its ceiling: no price shown for it
    lots = set(db.session.scalars(select(QuoteSubmissionLot.lot_id).where(QuoteSubmissionLot.submission_id == sub.id)))
    assert lots == {world.lots[1].id, world.lots[2].id}

    # The receipt, read back later, shows no price at all; the inbox got it too.
    later = client.get(f"/bidding/receipts/{sub.id}").get_data(as_text=True)
    assert sub.receipt_no in later and sha in later and "1.141104" not in later
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert sub.receipt_no in inbox and sha in inbox
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bidding.quote_submitted"))
    assert event.summary["sha256"] == sha and event.summary["lines"] == 2
    assert set(event.summary) == {"project_id", "round", "version", "sha256", "lines", "receipt_no", "submitted_at",
                                  "replaces_version"}


def test_a_plain_canonical_file_without_the_template_is_accepted(app, db, world, sign_in):
    supplier, org = world.users["乙制药"], world.suppliers["乙制药"]
    data = plain_quote([{"project_code": world.project.code, "lot_no": 1, "supplier_uscc": org.uscc,
                         "nhsa_code": world.products[("乙制药", 1)].nhsa_code, "pack_price": "10.246802", "pack_qty": 7,
                         "declared_capacity": "250000"}],
                       headers=["project_code", "lot_no", "supplier_uscc", "nhsa_code", "pack_price", "pack_qty",
                                "declared_capacity"])
    response = _upload(_client(app, sign_in, supplier), world.project, data, "quote.xlsx")
    assert response.status_code == 200, response.get_data(as_text=True)[:1500]
    (sub,) = _submissions(db, world.project)
    assert sub.line_count == 1


def test_format_errors_reject_the_file_with_their_cells_and_store_nothing(app, db, world, sign_in):
    supplier = world.users["甲制药"]
    client = _client(app, sign_in, supplier)
    template = _template(client, world.project)
    bad = fill_quote(template, {
        1: {"pack_price": "abc", "declared_capacity": 1000},
        2: {"pack_price": "13.5", "declared_capacity": 1000, "tier1_min_qty": 5000, "tier1_pack_price": "14"},
    }, regions={1: ["火星"]})
    response = _upload(client, world.project, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "F3" in html  # 包装报价 of the first data row (row 3: two header rows)
    assert "TIER_NOT_BELOW_BASE" in html and "UNKNOWN_REGION" in html
    assert "地区偏好" in html
    assert _submissions(db, world.project) == []
    (refusal,) = _refusals(db, "QUOTE_FILE_REJECTED")
    assert refusal.summary["sha256"] == hashlib.sha256(bad).hexdigest() and refusal.summary["errors"] >= 3

    # Someone else's products, credit code, lot and project code: each refused at its cell.
    org = world.suppliers["甲制药"]
    rows = [
        {"project_code": "OTHER-9", "lot_no": 1, "supplier_uscc": org.uscc, "nhsa_code": world.products[("甲制药", 1)].nhsa_code,
         "pack_price": "9", "pack_qty": 7, "declared_capacity": "1"},
        {"project_code": world.project.code, "lot_no": 2, "supplier_uscc": world.suppliers["乙制药"].uscc,
         "nhsa_code": world.products[("甲制药", 2)].nhsa_code, "pack_price": "9", "pack_qty": 7, "declared_capacity": "1"},
        {"project_code": world.project.code, "lot_no": 1, "supplier_uscc": org.uscc,
         "nhsa_code": world.products[("乙制药", 1)].nhsa_code, "pack_price": "9", "pack_qty": 7, "declared_capacity": "1"},
        {"project_code": world.project.code, "lot_no": 7, "supplier_uscc": org.uscc, "spec": "20mg", "pack_price": "9",
         "pack_qty": 7, "declared_capacity": "1"},
        {"project_code": world.project.code, "lot_no": 1, "supplier_uscc": org.uscc,
         "nhsa_code": world.products[("甲制药", 1)].nhsa_code, "pack_price": "9", "pack_qty": 10, "declared_capacity": "1"},
    ]
    response = _upload(client, world.project, plain_quote(rows, headers=[
        "project_code", "lot_no", "supplier_uscc", "nhsa_code", "spec", "pack_price", "pack_qty", "declared_capacity"]))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for code, cell in (("PROJECT_CODE_MISMATCH", "A2"), ("USCC_NOT_YOURS", "C3"), ("PRODUCT_NOT_ELIGIBLE", "D4"),
                       ("LOT_UNKNOWN", "B5"), ("PACK_QTY_MISMATCH", "G6")):
        assert re.search(rf"<td>{cell}</td>.*?{code}", html, re.S), (code, cell)
    assert _submissions(db, world.project) == []


def test_a_file_without_a_required_column_or_without_any_quote_is_refused(app, db, world, sign_in):
    client = _client(app, sign_in, world.users["甲制药"])
    org = world.suppliers["甲制药"]
    no_price = plain_quote([{"project_code": world.project.code, "lot_no": 1, "supplier_uscc": org.uscc, "spec": "20mg",
                             "pack_qty": 7, "declared_capacity": "1"}],
                           headers=["project_code", "lot_no", "supplier_uscc", "spec", "pack_qty", "declared_capacity"])
    response = _upload(client, world.project, no_price)
    assert response.status_code == 422 and "包装报价" in response.get_data(as_text=True)
    empty = _template(client, world.project)  # the template as downloaded: nothing quoted
    response = _upload(client, world.project, empty)
    assert response.status_code == 422
    assert _submissions(db, world.project) == []


def test_a_bundle_needs_two_lots_and_one_lot_is_quoted_once(app, db, world):
    supplier = world.users["甲制药"]
    _name, template = services.quote_template(world.project, actor=supplier)
    data = fill_quote(template, {1: {"pack_price": "9", "declared_capacity": 10, "bundle_id": "B9", "bundle_discount": "0.05"},
                                 2: {"pack_price": "9", "declared_capacity": 10}})
    with pytest.raises(services.QuoteFileRejected) as refused:
        services.submit_quote(world.project, actor=supplier, file_bytes=data, filename="q.xlsx")
    (error,) = refused.value.errors
    assert (error.code, error.row, error.column) == ("BUNDLE_SINGLE_LOT", 3, "Q")


def test_a_reupload_replaces_the_quote_and_keeps_every_version(app, db, world, sign_in):
    client = _client(app, sign_in, world.users["甲制药"])
    template = _template(client, world.project)
    first = fill_quote(template, {1: {"pack_price": "9.5", "declared_capacity": 1000}})
    second = fill_quote(template, {1: {"pack_price": "9.4", "declared_capacity": 1000},
                                   2: {"pack_price": "9.3", "declared_capacity": 1000}})
    assert _upload(client, world.project, first).status_code == 200
    response = _upload(client, world.project, second)
    assert response.status_code == 200
    v1, v2 = _submissions(db, world.project)
    assert (v1.version, v1.status, v1.line_count) == (1, "superseded", 1)
    assert (v2.version, v2.status, v2.line_count, v2.supersedes_id) == (2, "submitted", 2, v1.id)
    assert v1.file_sha256 == hashlib.sha256(first).hexdigest() and v2.file_sha256 == hashlib.sha256(second).hexdigest()
    assert v1.receipt_no != v2.receipt_no and v1.submitted_at <= v2.submitted_at
    page = client.get(f"/bidding/projects/{world.project.id}").get_data(as_text=True)
    assert v1.receipt_no in page and v2.receipt_no in page
    # The other supplier sees neither receipt.
    other = _client(app, sign_in, world.users["乙制药"])
    assert other.get(f"/bidding/receipts/{v1.id}").status_code == 404
    assert v1.receipt_no not in other.get(f"/bidding/projects/{world.project.id}").get_data(as_text=True)
    status = services.sealed_status(world.project)
    assert [lot["quotes"] for lot in status["lots"]] == [1, 1]
    assert (status["submitted"], status["superseded"]) == (1, 1)


def test_withdrawal_keeps_the_version_but_it_is_no_bid(app, db, world, sign_in):
    client = _client(app, sign_in, world.users["甲制药"])
    data = fill_quote(_template(client, world.project), {1: {"pack_price": "9.5", "declared_capacity": 1000}})
    assert _upload(client, world.project, data).status_code == 200
    url = f"/bidding/projects/{world.project.id}/withdraw"
    token = page_csrf_token(client, f"/bidding/projects/{world.project.id}")
    assert client.post(url, data={"csrf_token": token}).status_code == 302  # not confirmed: nothing happens
    assert _submissions(db, world.project)[0].status == "submitted"
    assert client.post(url, data={"csrf_token": token, "confirm": "y"}).status_code == 302
    (sub,) = _submissions(db, world.project)
    assert sub.status == "withdrawn"
    assert services.sealed_status(world.project)["lots"][0]["quotes"] == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bidding.quote_withdrawn"))
    assert event.summary["sha256"] == sub.file_sha256
    # A later upload is a new version that replaces nothing.
    assert _upload(client, world.project, data).status_code == 200
    latest = _submissions(db, world.project)[-1]
    assert (latest.version, latest.status, latest.supersedes_id) == (2, "submitted", None)


def test_a_quote_at_or_after_the_deadline_is_refused_and_the_refusal_survives(app, db, world):
    supplier = world.users["甲制药"]
    _name, template = services.quote_template(world.project, actor=supplier)
    data = fill_quote(template, {1: {"pack_price": "9.5", "declared_capacity": 1000}})
    deadline = world.project.bid_deadline
    for moment in (deadline, deadline + dt.timedelta(seconds=1)):
        with pytest.raises(services.BidAfterDeadline):
            services.submit_quote(world.project, actor=supplier, file_bytes=data, filename="q.xlsx", now=moment)
        finish(False)  # the request's end: roll back, then write the queued refusal
    assert _submissions(db, world.project) == []
    refusals = _refusals(db, "BID_AFTER_DEADLINE")
    assert len(refusals) == 2 and all(r.summary["sha256"] == hashlib.sha256(data).hexdigest() for r in refusals)
    # One microsecond before the deadline is still in time.
    receipt = services.submit_quote(world.project, actor=supplier, file_bytes=data, filename="q.xlsx",
                                    now=deadline - dt.timedelta(microseconds=1))
    assert receipt.submission.status == "submitted"


def test_the_commit_itself_is_refused_once_the_clock_passes_the_deadline(app, db, world, monkeypatch):
    supplier = world.users["甲制药"]
    _name, template = services.quote_template(world.project, actor=supplier)
    data = fill_quote(template, {1: {"pack_price": "9.5", "declared_capacity": 1000}})
    services.submit_quote(world.project, actor=supplier, file_bytes=data, filename="q.xlsx")  # in time, flushed
    late = world.project.bid_deadline
    monkeypatch.setattr(services, "commit_clock", lambda: late)
    with pytest.raises(services.BidAfterDeadline):
        finish(True)  # the request boundary: the commit would land at the deadline
    assert _submissions(db, world.project) == []
    (refusal,) = _refusals(db, "BID_AFTER_DEADLINE")
    assert refusal.summary["stage"] == "submit_commit" and refusal.summary["sha256"] == hashlib.sha256(data).hexdigest()
    assert refusal.user_id == supplier.id


def test_an_upload_whose_request_ends_after_the_deadline_stores_nothing(app, db, world, sign_in, monkeypatch):
    client = _client(app, sign_in, world.users["甲制药"])
    data = fill_quote(_template(client, world.project), {1: {"pack_price": "9.5", "declared_capacity": 1000}})
    monkeypatch.setattr(services, "commit_clock", lambda: world.project.bid_deadline + dt.timedelta(milliseconds=1))
    response = _upload(client, world.project, data)
    assert response.status_code == 422
    assert lifecycle.beijing(world.project.bid_deadline) in response.get_data(as_text=True)  # the message names it
    assert _submissions(db, world.project) == []
    assert len(_refusals(db, "BID_AFTER_DEADLINE")) == 1


def test_upload_is_refused_outside_bidding(app, db, make_user, make_org):
    world = build_bidding_world(make_user, make_org, code="BID-EARLY", state="demand_frozen")
    db.session.commit()
    supplier = world.users["甲制药"]
    with pytest.raises(services.BiddingError):  # not even visible to suppliers before bidding opens
        services.submit_quote(world.project, actor=supplier, file_bytes=b"x", filename="q.xlsx")
    assert db.session.scalar(select(func.count()).select_from(QuoteSubmission)) == 0


def test_only_suppliers_upload_and_only_for_themselves(app, db, world):
    with pytest.raises(services.BiddingError) as refused:
        services.submit_quote(world.project, actor=world.officer, file_bytes=b"x", filename="q.xlsx")
    assert refused.value.code == "SUPPLIER_ONLY"
    with pytest.raises(services.BiddingError) as refused:
        services.quote_template(world.project, actor=world.supervisor)
    assert refused.value.code == "SUPPLIER_ONLY"
