"""Qualification documents (资质): upload with expiry, an officer's review, and the gate on quoting."""
from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.bidding import services
from app.bidding.models import QualificationDocument, QuoteSubmission
from app.core.db import utcnow
from app.core.tx import finish
from app.documents.models import StoredDocument
from tests.web.bidding_builders import CHEAP_KDF, build_bidding_world, fill_quote
from tests.web.conftest import page_csrf_token

PDF = b"%PDF-1.4 licence scan \x00\x01\x02"


@pytest.fixture(autouse=True)
def _cheap_opening_kdf(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPENING_KDF_PARAMS", CHEAP_KDF)


@pytest.fixture()
def world(db, make_user, make_org):
    world = build_bidding_world(make_user, make_org, code="QUAL-1", qualified=False)
    db.session.commit()
    return world


def _client(app, sign_in, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _upload_document(client, **fields):
    token = page_csrf_token(client, "/bidding/qualifications/new")
    data = {"csrf_token": token, "kind": "licence", "title": "药品生产许可证 苏20160001",
            "document": (io.BytesIO(PDF), "许可证.pdf"), **fields}
    return client.post("/bidding/qualifications/new", data=data, content_type="multipart/form-data")


def _quote(world, name="甲制药"):
    _filename, template = services.quote_template(world.project, actor=world.users[name])
    return fill_quote(template, {1: {"pack_price": "9.5", "declared_capacity": 1000}})


def test_a_supplier_without_approved_qualifications_cannot_quote(app, db, world):
    supplier = world.users["甲制药"]
    data = _quote(world)
    with pytest.raises(services.BiddingError) as refused:
        services.submit_quote(world.project, actor=supplier, file_bytes=data, filename="q.xlsx")
    assert refused.value.code == "NO_VALID_QUALIFICATIONS"
    finish(False)
    assert db.session.scalars(select(QuoteSubmission)).all() == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bidding.quote_refused"))
    assert event.summary["code"] == "NO_VALID_QUALIFICATIONS" and event.user_id == supplier.id
    assert event.summary["sha256"] == hashlib.sha256(data).hexdigest()


def test_upload_review_and_then_quote(app, db, world, sign_in):
    supplier = world.users["甲制药"]
    client = _client(app, sign_in, supplier)
    expires = (utcnow() + dt.timedelta(days=200)).date()
    response = _upload_document(client, issued_on="2024-01-01", expires_on=expires.isoformat())
    assert response.status_code == 302
    doc = db.session.scalar(select(QualificationDocument).where(
        QualificationDocument.supplier_org_id == supplier.org_id))
    stored = db.session.get(StoredDocument, doc.document_id)
    assert (doc.status, doc.expires_on, doc.issued_on) == ("pending", expires, dt.date(2024, 1, 1))
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest() and stored.content == PDF and stored.filename == "许可证.pdf"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "qualification.upload")).summary["sha256"] \
        == stored.sha256
    assert not services.has_valid_qualifications(supplier.org_id, utcnow().date())

    # The other supplier neither sees nor downloads it; the supplier cannot review its own.
    other = _client(app, sign_in, world.users["乙制药"])
    assert other.get(f"/bidding/qualifications/{doc.id}").status_code == 404
    assert other.get(f"/bidding/qualifications/{doc.id}/file").status_code == 404
    assert "苏20160001" not in other.get("/bidding/qualifications").get_data(as_text=True)
    token = page_csrf_token(client, f"/bidding/qualifications/{doc.id}")
    assert client.post(f"/bidding/qualifications/{doc.id}/review", data={"csrf_token": token, "approve": "1"}).status_code == 403

    officer = _client(app, sign_in, world.officer)
    assert "苏20160001" in officer.get("/bidding/qualifications?status=pending").get_data(as_text=True)
    download = officer.get(f"/bidding/qualifications/{doc.id}/file")
    assert download.data == PDF and download.headers["Content-Disposition"].startswith("attachment")
    review = f"/bidding/qualifications/{doc.id}/review"
    token = page_csrf_token(officer, f"/bidding/qualifications/{doc.id}")
    officer.post(review, data={"csrf_token": token, "reject": "1"})  # a rejection needs a note
    db.session.refresh(doc)
    assert doc.status == "pending"
    officer.post(review, data={"csrf_token": token, "approve": "1", "note": "核验原件一致"})
    db.session.refresh(doc)
    assert (doc.status, doc.reviewed_by_id, doc.review_note) == ("approved", world.officer.id, "核验原件一致")
    assert officer.post(review, data={"csrf_token": token, "reject": "1", "note": "x"}).status_code == 302
    db.session.refresh(doc)
    assert doc.status == "approved"  # reviewed once

    assert services.has_valid_qualifications(supplier.org_id, utcnow().date())
    receipt = services.submit_quote(world.project, actor=supplier, file_bytes=_quote(world), filename="q.xlsx")
    assert receipt.submission.status == "submitted"


def test_a_rejection_keeps_the_supplier_out(app, db, world):
    supplier = world.users["乙制药"]
    doc = services.upload_qualification(actor=supplier, kind="registration", title="注册证", file_bytes=PDF,
                                        filename="r.pdf")
    with pytest.raises(services.BiddingError) as refused:
        services.review_qualification(doc, actor=world.officer, approve=False)
    assert refused.value.code == "REVIEW_NOTE_REQUIRED"
    services.review_qualification(doc, actor=world.officer, approve=False, note="扫描件不清晰")
    assert doc.status == "rejected"
    assert not services.has_valid_qualifications(supplier.org_id, utcnow().date())
    with pytest.raises(services.BiddingError) as refused:
        services.review_qualification(doc, actor=world.supervisor, approve=True)
    assert refused.value.code == "OFFICER_ONLY"


def test_expiry_and_issue_dates_decide_validity(app, db, world):
    supplier = world.users["甲制药"]
    doc = services.upload_qualification(actor=supplier, kind="licence", title="许可证", file_bytes=PDF, filename="l.pdf",
                                        issued_on=dt.date(2024, 1, 1), expires_on=dt.date(2031, 6, 30),
                                        now=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    services.review_qualification(doc, actor=world.officer, approve=True, now=dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc))
    org = supplier.org_id
    assert services.has_valid_qualifications(org, dt.date(2031, 6, 30))  # the expiry day is still valid
    assert not services.has_valid_qualifications(org, dt.date(2031, 7, 1))
    assert not services.has_valid_qualifications(org, dt.date(2023, 12, 31))  # before its issue date
    with pytest.raises(services.BiddingError) as refused:
        services.upload_qualification(actor=supplier, kind="licence", title="旧许可证", file_bytes=PDF, filename="o.pdf",
                                      expires_on=dt.date(2020, 1, 1))
    assert refused.value.code == "QUALIFICATION_EXPIRED"
    with pytest.raises(services.BiddingError) as refused:
        services.upload_qualification(actor=supplier, kind="licence", title="x", file_bytes=b"", filename="e.pdf")
    assert refused.value.code == "DOCUMENT_EMPTY"
    with pytest.raises(services.BiddingError) as refused:
        services.upload_qualification(actor=world.officer, kind="licence", title="x", file_bytes=PDF, filename="e.pdf")
    assert refused.value.code == "SUPPLIER_ONLY"


def test_a_quote_after_the_documents_expired_is_refused(app, db, world):
    supplier = world.users["甲制药"]
    doc = services.upload_qualification(actor=supplier, kind="licence", title="许可证", file_bytes=PDF, filename="l.pdf")
    services.review_qualification(doc, actor=world.officer, approve=True)
    doc.expires_on = (utcnow() - dt.timedelta(days=2)).date()  # time passed: the licence ran out
    db.session.commit()
    with pytest.raises(services.BiddingError) as refused:
        services.submit_quote(world.project, actor=supplier, file_bytes=_quote(world), filename="q.xlsx")
    assert refused.value.code == "NO_VALID_QUALIFICATIONS"
