"""The key ceremony that opens bidding (two secrets, both persons' credentials), and the opening's
other rules: the witness per the RuleSet, a credit rating that starts after the upload (W3)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import MetaData, select

from app.audit.models import AuditEvent
from app.bidding import services
from app.bidding.models import Bid, OpeningKey
from app.bidding.sealing import WeakSecret, unlock_private_key
from app.core.db import utcnow
from app.credit.models import CreditRating
from app.projects import lifecycle
from app.projects.lifecycle import ProjectError
from tests.conftest import PASSWORD
from tests.web.bidding_builders import CHEAP_KDF, OFFICER_SECRET, WITNESS_SECRET, build_bidding_world, fill_quote
from tests.web.conftest import page_csrf_token

NEW_OFFICER_SECRET = "copper kettle sings at 5 dawn"
NEW_WITNESS_SECRET = "seven herons cross a grey lake"


@pytest.fixture(autouse=True)
def _cheap_opening_kdf(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPENING_KDF_PARAMS", CHEAP_KDF)


@pytest.fixture()
def frozen(db, make_user, make_org):
    world = build_bidding_world(make_user, make_org, code="KEY-1", state="demand_frozen", with_key=False)
    db.session.commit()
    return world


def _ceremony(client, project, witness, **overrides):
    url = f"/bidding/projects/{project.id}/key"
    token = page_csrf_token(client, url)
    form = {"csrf_token": token, "officer_password": PASSWORD, "officer_secret": NEW_OFFICER_SECRET,
            "officer_secret_confirm": NEW_OFFICER_SECRET, "witness_username": witness.username,
            "witness_password": PASSWORD, "witness_secret": NEW_WITNESS_SECRET,
            "witness_secret_confirm": NEW_WITNESS_SECRET}
    form.update(overrides)
    return client.post(url, data=form)


def test_bidding_cannot_open_without_a_key(db, frozen):
    with pytest.raises(ProjectError) as refused:
        lifecycle.transition_project(frozen.project, "bidding_open", actor=frozen.officer)
    assert refused.value.code == "OPENING_KEY_MISSING"
    problems = lifecycle.guard_problems(frozen.project, "bidding_open")
    assert [p.code for p in problems] == ["OPENING_KEY_MISSING"]


def test_the_key_ceremony_opens_bidding_with_two_secrets(app, db, make_user, frozen, sign_in):
    client = app.test_client()
    sign_in(client, frozen.officer)
    project = frozen.project
    assert client.get(f"/bidding/projects/{project.id}/key").status_code == 200
    supervisor_client = app.test_client()
    sign_in(supervisor_client, frozen.supervisor)
    assert supervisor_client.get(f"/bidding/projects/{project.id}/key").status_code == 403

    # Weak, mistyped or equal secrets: refused before anything is checked or stored.
    assert _ceremony(client, project, frozen.supervisor, officer_secret="Password123!",
                     officer_secret_confirm="Password123!").status_code == 422
    assert _ceremony(client, project, frozen.supervisor, witness_secret_confirm="seven herons cross a grey lak"
                     ).status_code == 422
    assert _ceremony(client, project, frozen.supervisor, witness_secret=NEW_OFFICER_SECRET,
                     witness_secret_confirm=NEW_OFFICER_SECRET).status_code == 422
    # Wrong credentials, or the wrong person as the witness: refused and audited.
    second_officer = make_user("procurement_officer", org=frozen.officer.org)
    db.session.commit()
    assert _ceremony(client, project, frozen.supervisor, witness_password="not-the-password").status_code == 422
    assert _ceremony(client, project, frozen.supervisor, officer_password="not-the-password").status_code == 422
    assert _ceremony(client, project, frozen.officer).status_code == 422
    assert _ceremony(client, project, second_officer).status_code == 422
    codes = [e.summary["code"] for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "bidding.ceremony_refused").order_by(AuditEvent.seq))]
    assert codes == ["WITNESS_CREDENTIALS_WRONG", "OFFICER_PASSWORD_WRONG", "WITNESS_IS_OFFICER", "WITNESS_NOT_SUPERVISOR"]
    assert db.session.scalar(select(OpeningKey)) is None and project.state == "demand_frozen"

    response = _ceremony(client, project, frozen.supervisor)
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    db.session.refresh(project)
    assert project.state == "bidding_open"
    key = db.session.scalar(select(OpeningKey))
    assert (key.project_id, key.round_no, key.officer_id, key.witness_id) == (
        project.id, 1, frozen.officer.id, frozen.supervisor.id)
    assert unlock_private_key(key, NEW_OFFICER_SECRET, NEW_WITNESS_SECRET)  # both secrets, in their roles
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bidding.opening_key"))
    assert event.summary["witness"] == frozen.supervisor.username and event.summary["fingerprint"]
    # The secrets are stored nowhere, in no form.
    metadata = MetaData()
    connection = db.session.connection()
    metadata.reflect(bind=connection)
    for table in metadata.sorted_tables:
        for row in connection.execute(select(table)):
            text = json.dumps([v if isinstance(v, (str, int, float, type(None))) else repr(v) for v in row],
                              ensure_ascii=False)
            assert NEW_OFFICER_SECRET not in text and NEW_WITNESS_SECRET not in text, table.name
    # Once only.
    assert client.get(f"/bidding/projects/{project.id}/key").status_code == 302


def test_a_second_officer_may_witness_when_the_ruleset_allows_it(db, make_user, make_org):
    world = build_bidding_world(make_user, make_org, code="KEY-2", state="demand_frozen", with_key=False,
                                overrides={"opening_requires_supervisor": False})
    second = make_user("procurement_officer", org=world.officer.org)
    institution = make_user("institution_user")
    with pytest.raises(services.BiddingError) as refused:
        services.open_bidding(world.project, actor=world.officer, actor_password=PASSWORD,
                              officer_secret=NEW_OFFICER_SECRET, witness_username=institution.username,
                              witness_password=PASSWORD, witness_secret=NEW_WITNESS_SECRET)
    assert refused.value.code == "WITNESS_ROLE"
    with pytest.raises(WeakSecret) as weak:
        services.open_bidding(world.project, actor=world.officer, actor_password=PASSWORD,
                              officer_secret=NEW_OFFICER_SECRET, witness_username=second.username,
                              witness_password=PASSWORD, witness_secret="123456789012")
    assert weak.value.role == "witness"
    key = services.open_bidding(world.project, actor=world.officer, actor_password=PASSWORD,
                                officer_secret=NEW_OFFICER_SECRET, witness_username=second.username,
                                witness_password=PASSWORD, witness_secret=NEW_WITNESS_SECRET)
    assert key.witness_id == second.id and world.project.state == "bidding_open"


def test_a_supplier_rated_after_its_upload_is_excluded_at_the_opening(app, db, make_user, make_org):
    world = build_bidding_world(make_user, make_org, code="OPEN-CREDIT")
    for name, price in (("甲制药", "9.5"), ("乙制药", "9.6")):
        supplier = world.users[name]
        _filename, template = services.quote_template(world.project, actor=supplier)
        services.submit_quote(world.project, actor=supplier, file_bytes=fill_quote(
            template, {1: {"pack_price": price, "declared_capacity": 1000}}), filename="q.xlsx")
    now = utcnow()
    world.project.bid_deadline, world.project.opening_at = now - dt.timedelta(seconds=2), now - dt.timedelta(seconds=1)
    db.session.add(CreditRating(company_org_id=world.suppliers["乙制药"].id, scheme="2025",
                                level="particularly_seriously_dishonest", province_code="110000",
                                effective_from=services.beijing_date(now), case_ref="京医保信〔2030〕1号",
                                recorded_by_id=world.officer.id))
    db.session.flush()
    with pytest.raises(services.BiddingError) as refused:  # the opening belongs to the project's officers
        services.open_bids(world.project, actor=make_user("procurement_officer"), actor_password=PASSWORD,
                           officer_secret=OFFICER_SECRET, witness_username=world.supervisor.username,
                           witness_password=PASSWORD, witness_secret=WITNESS_SECRET)
    assert refused.value.code == "PROJECT_NOT_YOURS"
    record = services.open_bids(world.project, actor=world.officer, actor_password=PASSWORD,
                                officer_secret=OFFICER_SECRET, witness_username=world.supervisor.username,
                                witness_password=PASSWORD, witness_secret=WITNESS_SECRET)
    bids = {b.supplier_org_id: b for b in db.session.scalars(select(Bid))}
    assert bids[world.suppliers["乙制药"].id].excluded_reason == "credit_barred"
    assert bids[world.suppliers["甲制药"].id].excluded_reason is None
    assert len(record.quotes) == 2 and world.project.state == "opened"
    with pytest.raises(services.BiddingError) as refused:
        services.open_bids(world.project, actor=world.officer, actor_password=PASSWORD, officer_secret=OFFICER_SECRET,
                           witness_username=world.supervisor.username, witness_password=PASSWORD,
                           witness_secret=WITNESS_SECRET)
    assert refused.value.code == "ALREADY_OPENED"


def test_an_altered_sealed_quote_stops_the_opening(app, db, make_user, make_org):
    world = build_bidding_world(make_user, make_org, code="OPEN-TAMPER")
    supplier = world.users["甲制药"]
    _filename, template = services.quote_template(world.project, actor=supplier)
    receipt = services.submit_quote(world.project, actor=supplier, file_bytes=fill_quote(
        template, {1: {"pack_price": "9.5", "declared_capacity": 1000}}), filename="q.xlsx")
    sub = receipt.submission
    sub.sealed_payload = sub.sealed_payload[:-1] + bytes([sub.sealed_payload[-1] ^ 1])  # a DBA edits the row
    now = utcnow()
    world.project.bid_deadline, world.project.opening_at = now - dt.timedelta(seconds=2), now - dt.timedelta(seconds=1)
    db.session.flush()
    with pytest.raises(services.BiddingError) as refused:
        services.open_bids(world.project, actor=world.officer, actor_password=PASSWORD, officer_secret=OFFICER_SECRET,
                           witness_username=world.supervisor.username, witness_password=PASSWORD,
                           witness_secret=WITNESS_SECRET)
    assert refused.value.code == "OPENING_SEAL_BROKEN" and sub.receipt_no in refused.value.message
