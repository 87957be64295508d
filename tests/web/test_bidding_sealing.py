"""The seal (DOMAIN.md L2): before the opening no route, no role, no export, no CLI, no audit event
and no database row shows a price or the uploaded file; then the two secrets reveal it exactly.

The proof walks every GET route of the app (every blueprint, whoever wrote it) as anonymous, every
role, an organisation administrator and both uploading suppliers, and reads every column of every
table with SQLAlchemy Core, searching for the typed prices, the prices the platform derives from
them (unit price, UCP, tier unit prices), their scaled-integer forms, the opening secrets and
chunks of the uploaded files' bytes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
from decimal import Decimal

import pytest
from sqlalchemy import MetaData, select

from app.audit.models import AuditEvent
from app.bidding import services
from app.bidding.models import Bid, OpeningRecord, QuoteSubmission
from app.core.db import utcnow
from tests.web.bidding_builders import (
    CHEAP_KDF,
    OFFICER_SECRET,
    WITNESS_SECRET,
    build_bidding_world,
    fill_quote,
)
from tests.web.conftest import page_csrf_token

CEILINGS = {1: "1.5", 2: "1.1"}
SPECS = {2: "40mg"}
# 甲制药 uploads twice (version 1 is superseded), 乙制药 once. Every figure is distinctive.
A_V1 = {1: {"pack_price": "9.654321", "declared_capacity": 400000}}
A_V2 = {1: {"pack_price": 9.876543, "declared_capacity": 500000, "supplier_capacity": 900000, "tier1_min_qty": 100000,
            "tier1_pack_price": "9.123457", "bundle_id": "PK-1", "bundle_discount": "0.035"},
        2: {"pack_price": "13.579135", "declared_capacity": 300000, "supplier_capacity": 900000, "bundle_id": "PK-1",
            "bundle_discount": "0.035"}}
B_V1 = {1: {"pack_price": "10.246802", "declared_capacity": 250000},
        2: {"pack_price": "12.345679", "declared_capacity": 250000}}
# What those become (U1, U3 with the lot's 20mg representative spec, nvbp-4's 1.7 coefficient).
DERIVED = {"9.654321": "1.379189", "9.876543": "1.410935", "9.123457": "1.303351", "13.579135": ("1.939876", "1.141104"),
           "10.246802": "1.463829", "12.345679": ("1.763668", "1.037452")}


def _price_strings() -> list[str]:
    typed = [str(v[k]) for quote in (A_V1, A_V2, B_V1) for v in quote.values() for k in v if "price" in k]
    derived = [x for v in DERIVED.values() for x in (v if isinstance(v, tuple) else (v,))]
    return sorted(set(typed + derived))


PRICES = _price_strings()
SCALED = {int(Decimal(p) * 10**6) for p in PRICES}  # how SQLite would hold them in a Money column
SECRETS = (OFFICER_SECRET, WITNESS_SECRET)


@pytest.fixture(autouse=True)
def _cheap_opening_kdf(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPENING_KDF_PARAMS", CHEAP_KDF)


def _client(app, sign_in, user):
    client = app.test_client()
    if user is not None:
        sign_in(client, user)
    return client


def _upload(client, project, data: bytes):
    url = f"/bidding/projects/{project.id}/quote"
    token = page_csrf_token(client, url)
    return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(data), "quote.xlsx")},
                       content_type="multipart/form-data")


_TEMPLATES: list[bytes] = []  # the templates as downloaded: what a filled file shares with them is no secret


_CHUNKS: dict[bytes, list[bytes]] = {}


def _chunks(data: bytes) -> list[bytes]:
    """Pieces of an uploaded file found in no template (the compressed sheet the supplier filled)."""
    if data not in _CHUNKS:
        windows = (data[i:i + 48] for i in range(0, len(data) - 48, 16))
        _CHUNKS[data] = [w for w in windows if not any(w in t for t in _TEMPLATES)][:8]
    return _CHUNKS[data]


def _leaks(blob: bytes, files: list[bytes]) -> list[str]:
    found = [p for p in PRICES if p.encode() in blob]
    found += [s for s in SECRETS if s.encode() in blob]
    for n, data in enumerate(files):
        chunks = _chunks(data)
        assert chunks, "the uploaded file has no bytes of its own to look for"
        if data in blob or any(chunk in blob for chunk in chunks):
            found.append(f"bytes of uploaded file {n}")
    return found


@pytest.fixture()
def sealed(app, db, make_user, make_org, sign_in):
    """Two suppliers have uploaded (one of them twice) through the web; nothing is opened."""
    _TEMPLATES.clear()
    _CHUNKS.clear()
    world = build_bidding_world(make_user, make_org, code="SEAL-1", ceilings=CEILINGS, specs=SPECS,
                                suppliers=("甲制药", "乙制药", "丙制药"))
    db.session.commit()
    files = []
    for name, versions in (("甲制药", (A_V1, A_V2)), ("乙制药", (B_V1,))):
        client = _client(app, sign_in, world.users[name])
        template = client.get(f"/bidding/projects/{world.project.id}/template").data
        _TEMPLATES.append(template)
        for rows in versions:
            data = fill_quote(template, rows, regions={1: ["北京", "广东"]})
            response = _upload(client, world.project, data)
            assert response.status_code == 200, response.get_data(as_text=True)[:1500]
            files.append(data)
    return world, files


def _actors(make_user, make_org, world) -> dict[str, object]:
    supplier_admin = world.users["丙制药"]
    supplier_admin.is_org_admin = True
    return {
        "anonymous": None,
        "platform_admin": make_user("platform_admin"),
        "procurement_officer": world.officer,
        "supervisor": world.supervisor,
        "other_officer": make_user("procurement_officer"),
        "institution_user": make_user("institution_user"),
        "supplier_a": world.users["甲制药"],
        "supplier_b": world.users["乙制药"],
        "supplier_org_admin": supplier_admin,
        "distributor_user": make_user("distributor_user"),
        "price_officer": make_user("price_officer"),
    }


def _candidates(app, db, world) -> dict[str, list[int]]:
    from app.bidding.models import QualificationDocument

    ids = {
        "project_id": [world.project.id],
        "lot_id": [lot.id for lot in world.lots.values()],
        "submission_id": list(db.session.scalars(select(QuoteSubmission.id))),
        "qualification_id": list(db.session.scalars(select(QualificationDocument.id)))[:2],
        "product_id": [p.id for p in world.products.values()][:2],
    }
    return ids


def _urls(app, candidates) -> list[tuple[str, str]]:
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        names = sorted(rule.arguments)
        choices = [candidates.get(name, [1, 2]) for name in names]
        for combo in itertools.islice(itertools.product(*choices), 12):
            urls.append((rule.endpoint, rule.build(dict(zip(names, combo)), append_unknown=False)[1]))
    return urls


def test_no_route_no_role_and_no_database_row_reveals_a_price_before_the_opening(
        app, db, make_user, make_org, sign_in, sealed):
    world, files = sealed
    actors = _actors(make_user, make_org, world)
    db.session.commit()
    clients = {name: _client(app, sign_in, user) for name, user in actors.items()}
    urls = _urls(app, _candidates(app, db, world))
    assert len({endpoint for endpoint, _ in urls if endpoint.startswith("bidding.")}) >= 12
    problems, checked, shown = [], 0, 0
    for name, client in clients.items():
        for endpoint, url in urls:
            response = client.get(url)
            checked += 1
            shown += response.status_code == 200
            leaks = _leaks(response.data + str(response.headers).encode(), files)
            if leaks:
                problems.append(f"GET {url} ({endpoint}) as {name}: {leaks}")
            if response.status_code >= 500:
                problems.append(f"GET {url} ({endpoint}) as {name}: status {response.status_code}")
    assert checked > 500 and shown > 150
    assert not problems, "\n".join(problems)

    # Counts and hashes: to officers and supervisors only; a supplier sees its own receipts only.
    page = f"/bidding/projects/{world.project.id}"
    subs = db.session.scalars(select(QuoteSubmission).order_by(QuoteSubmission.id)).all()
    a1, a2, b1 = subs
    for reader in ("procurement_officer", "supervisor"):
        html = clients[reader].get(page).get_data(as_text=True)
        assert all(s.file_sha256 in html for s in subs)
        assert "甲制药" not in html and "乙制药" not in html  # no supplier named next to the hashes
    a_page = clients["supplier_a"].get(page).get_data(as_text=True)
    assert a1.receipt_no in a_page and a2.receipt_no in a_page and b1.file_sha256 not in a_page
    assert 'id="sealed-h"' not in a_page and 'id="sealed-h"' not in clients["supplier_b"].get(page).get_data(as_text=True)
    assert clients["supplier_a"].get(f"/bidding/receipts/{b1.id}").status_code == 404
    for outsider in ("platform_admin", "institution_user", "distributor_user", "price_officer"):
        assert clients[outsider].get(page).status_code in (403, 404)
    status = services.sealed_status(world.project)
    assert [lot["quotes"] for lot in status["lots"]] == [2, 2] and status["submitted"] == 2
    with pytest.raises(services.BiddingError):
        services.sealed_overview(world.project, world.users["甲制药"])

    # The command line shows counts and hashes, no price.
    result = app.test_cli_runner().invoke(args=["bidding", "status", world.project.code])
    assert result.exit_code == 0, result.output
    assert a2.file_sha256 in result.output and "2 submitted" in result.output
    assert not _leaks(result.output.encode(), files)

    # Every column of every table, read raw.
    metadata = MetaData()
    connection = db.session.connection()
    metadata.reflect(bind=connection)
    found, rows_read = [], 0
    for table in metadata.sorted_tables:
        for row in connection.execute(select(table)).mappings():
            rows_read += 1
            for column, value in row.items():
                if value is None:
                    continue
                if isinstance(value, (bytes, bytearray, memoryview)):
                    blob = bytes(value)
                elif isinstance(value, (dict, list)):
                    blob = json.dumps(value, ensure_ascii=False, default=str).encode()
                elif isinstance(value, int) and not isinstance(value, bool):
                    if value in SCALED:
                        found.append(f"{table.name}.{column} = {value} (a scaled price)")
                    continue
                else:
                    blob = str(value).encode()
                for leak in _leaks(blob, files):
                    found.append(f"{table.name}.{column}: {leak}")
    assert rows_read > 50
    assert not found, "\n".join(found)
    assert db.session.scalars(select(Bid)).all() == []

    # Audit events about quotes carry hashes, counts and times only.
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("bidding.quote%"))).all()
    assert {e.action for e in events} == {"bidding.quote_submitted"}
    for event in events:
        assert set(event.summary) <= {"project_id", "round", "version", "sha256", "lines", "receipt_no", "submitted_at",
                                      "replaces_version"}
    assert sorted(e.summary["sha256"] for e in events) == sorted(hashlib.sha256(f).hexdigest() for f in files)


def _open_form(client, project, witness, officer_secret=OFFICER_SECRET, witness_secret=WITNESS_SECRET,
               witness_password="correct-horse-9"):
    url = f"/bidding/projects/{project.id}/opening"
    token = page_csrf_token(client, url)
    return client.post(url, data={"csrf_token": token, "officer_password": "correct-horse-9",
                                  "officer_secret": officer_secret, "witness_username": witness.username,
                                  "witness_password": witness_password, "witness_secret": witness_secret})


def _close_bidding(db, project) -> None:
    """Time passes: the bid deadline and the opening time are now behind the server clock."""
    now = utcnow()
    project.bid_deadline, project.opening_at = now - dt.timedelta(seconds=2), now - dt.timedelta(seconds=1)
    db.session.commit()


def test_the_opening_reveals_exactly_what_was_sealed(app, db, sign_in, sealed):
    world, files = sealed
    project = world.project
    officer = _client(app, sign_in, world.officer)
    # Before the opening time the ceremony is not offered.
    assert officer.get(f"/bidding/projects/{project.id}/opening").status_code == 302
    _close_bidding(db, project)
    assert officer.get(f"/bidding/projects/{project.id}/opening").status_code == 200

    for wrong in ({"officer_secret": WITNESS_SECRET, "witness_secret": OFFICER_SECRET},  # swapped
                  {"witness_secret": "quiet lanterns over 9 river"}):
        response = _open_form(officer, project, world.supervisor, **wrong)
        assert response.status_code == 422
    response = _open_form(officer, project, world.supervisor, witness_password="wrong-password-1")
    assert response.status_code == 422
    refusals = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bidding.ceremony_refused")).all()
    assert [e.summary["code"] for e in refusals] == ["OPENING_SECRETS_REJECTED", "OPENING_SECRETS_REJECTED",
                                                     "WITNESS_CREDENTIALS_WRONG"]
    assert not any(s in json.dumps(e.summary, ensure_ascii=False) for e in refusals for s in SECRETS)
    assert db.session.scalars(select(Bid)).all() == [] and project.state != "opened"

    response = _open_form(officer, project, world.supervisor)
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    db.session.refresh(project)
    assert project.state == "opened"

    bids = {(b.supplier_org_id, b.lot_id): b for b in db.session.scalars(select(Bid))}
    a, b = world.suppliers["甲制药"].id, world.suppliers["乙制药"].id
    lot1, lot2 = world.lots[1].id, world.lots[2].id
    assert set(bids) == {(a, lot1), (a, lot2), (b, lot1), (b, lot2)}  # version 1 of 甲制药 is not a bid
    a1 = bids[(a, lot1)]
    assert (a1.pack_price, a1.pack_qty, a1.unit_price, a1.ucp) == (
        Decimal("9.876543"), 7, Decimal("1.410935"), Decimal("1.410935"))
    assert (a1.declared_capacity, a1.supplier_capacity, a1.capacity_use_per_unit) == (
        Decimal(500000), Decimal(900000), Decimal(1))
    assert a1.tiers == [{"min_quantity": "100000", "pack_price": "9.123457", "unit_price": "1.303351"}]
    assert (a1.bundle_code, a1.bundle_discount) == ("PK-1", Decimal("0.035"))
    assert a1.region_preferences == ["110000", "440000"]
    assert (a1.over_ceiling, a1.excluded_reason) == (False, None)
    a2 = bids[(a, lot2)]
    assert (a2.pack_price, a2.unit_price, a2.ucp, a2.over_ceiling) == (
        Decimal("13.579135"), Decimal("1.939876"), Decimal("1.141104"), True)  # stored, invalid, still a bid
    b2 = bids[(b, lot2)]
    assert (b2.pack_price, b2.ucp, b2.over_ceiling) == (Decimal("12.345679"), Decimal("1.037452"), False)

    record = db.session.scalar(select(OpeningRecord))
    subs = {s.id: s for s in db.session.scalars(select(QuoteSubmission))}
    assert [q["file_sha256"] for q in record.quotes] == [subs[q["submission"]].file_sha256 for q in record.quotes]
    assert sorted(q["file_sha256"] for q in record.quotes) == sorted(hashlib.sha256(f).hexdigest() for f in files)
    assert [q["status"] for q in record.quotes] == ["superseded", "submitted", "submitted"]
    assert services.verify_opening_record(record)
    assert (record.officer_id, record.witness_id) == (world.officer.id, world.supervisor.id)
    html = officer.get(f"/bidding/projects/{project.id}/opening-record").get_data(as_text=True)
    assert record.record_sha256 in html and all(q["file_sha256"] in html for q in record.quotes)
    assert "1.141104" in officer.get(f"/bidding/projects/{project.id}/bids").get_data(as_text=True)
    csv = officer.get(f"/bidding/projects/{project.id}/bids.csv").data.decode("utf-8-sig")
    assert "9.876543" in csv and "13.579135" in csv
    # A supplier may read the opening record (hashes), not the bids.
    supplier = _client(app, sign_in, world.users["乙制药"])
    assert supplier.get(f"/bidding/projects/{project.id}/opening-record").status_code == 200
    assert supplier.get(f"/bidding/projects/{project.id}/bids").status_code == 403

    # From now on bids are read-only and no quote gets in.
    response = _upload(supplier, project, files[-1])
    assert response.status_code == 422
    assert len(db.session.scalars(select(QuoteSubmission)).all()) == 3
    assert officer.get(f"/bidding/projects/{project.id}/opening").status_code == 302  # to the record
    a1.pack_price = Decimal("1")
    with pytest.raises(services.BidsReadOnly):
        db.session.flush()
    db.session.rollback()


def test_repeated_wrong_secrets_impose_a_cool_down(app, db, sign_in, sealed, monkeypatch):
    world, _files = sealed
    monkeypatch.setitem(app.config, "OPENING_MAX_FAILURES", 2)
    _close_bidding(db, world.project)
    officer = _client(app, sign_in, world.officer)
    for _ in range(2):
        assert _open_form(officer, world.project, world.supervisor, witness_secret="not the right one 1").status_code == 422
    response = _open_form(officer, world.project, world.supervisor)  # right now, but too soon
    assert response.status_code == 429
    assert db.session.scalar(select(OpeningRecord)) is None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bidding.ceremony_rate_limited"))
    monkeypatch.setitem(app.config, "OPENING_COOLDOWN_MINUTES", 0)  # the cool-down is over
    assert _open_form(officer, world.project, world.supervisor).status_code == 302
    assert db.session.scalar(select(OpeningRecord)) is not None
