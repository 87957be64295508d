"""Negotiation rounds (DOMAIN.md §7, N1–N5): open a round, revised prices, the round's opening, re-selection."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.web.bidding_builders import CHEAP_KDF
from tests.web.conftest import page_csrf_token
from tests.web.project_builders import OPENING
from tests.web.selection_builders import build_opened_project

OFFICER_SECRET = "amber walrus tiptoes 4 moons"
WITNESS_SECRET = "quiet lanterns over 9 rivers"
ROUND_AT = OPENING + dt.timedelta(hours=3)  # after the opening (2030): later than the real clock
DEADLINE = ROUND_AT + dt.timedelta(days=2)
AFTER = DEADLINE + dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def cheap_kdf(app):
    app.config["OPENING_KDF_PARAMS"] = CHEAP_KDF
    yield
    app.config.pop("OPENING_KDF_PARAMS", None)


def _world(make_user, make_org, preset="nvbp-2", code="NEG-1"):
    opened = build_opened_project(make_user, make_org, code=code, preset=preset, ceilings={1: "1.5"},
                                  bids={"甲": [(1, "0.95")], "乙": [(1, "1.10")], "丙": [(1, "0.90")],
                                        "丁": [(1, "0.80")]},
                                  demand=[(1, "110000", "1000")])
    supervisor = make_user("supervisor", org=opened.officer.org)
    users = {name: make_user("supplier_user", org=org) for name, org in opened.suppliers.items()}
    return opened, supervisor, users


def _open(opened, supervisor, *, overrides=None, reason=None, method="lowest_ucp", manual=None, now=ROUND_AT,
          deadline=DEADLINE):
    from app.bidding import negotiation

    return negotiation.open_round(
        opened.project, [negotiation.LotTarget(lot_id=opened.lots[1].id, method=method, manual=manual)],
        actor=opened.officer, deadline=deadline, actor_password=PASSWORD, officer_secret=OFFICER_SECRET,
        witness_username=supervisor.username, witness_password=PASSWORD, witness_secret=WITNESS_SECRET,
        invite_overrides=overrides, override_reason=reason, now=now)


def _open_bids(opened, supervisor, rnd, now=AFTER):
    from app.bidding import negotiation

    return negotiation.open_round_bids(opened.project, rnd, actor=opened.officer, actor_password=PASSWORD,
                                       officer_secret=OFFICER_SECRET, witness_username=supervisor.username,
                                       witness_password=PASSWORD, witness_secret=WITNESS_SECRET, now=now)


def _invited(rnd, opened):
    from app.bidding import negotiation

    names = {org.id: name for name, org in opened.suppliers.items()}
    return {names[i.supplier_org_id]: i for i in negotiation.invitations(rnd)}


def _revise(app, sign_in, user, project, rnd, lot, price):
    client = app.test_client()
    sign_in(client, user)
    path = f"/negotiation/projects/{project.id}"
    token = page_csrf_token(client, path)
    response = client.post(f"/negotiation/projects/{project.id}/revise",
                           data={"csrf_token": token, "round_no": rnd.round_no, "lot_id": lot.id, "pack_price": price})
    return response


def test_domain_example_target_080(app, db, make_user, make_org, sign_in):
    """§7 example: target 0.80; A 0.95 → 0.79 accepted; B 1.10 → 1.12 rejected; C no answer → non_accept at 0.90."""
    from app.audit.models import AuditEvent
    from app.bidding.models import Bid, QuoteSubmission
    from app.selection.services import bid_outcomes

    opened, supervisor, users = _world(make_user, make_org)
    rnd = _open(opened, supervisor)
    assert opened.project.state == "negotiation"
    lot = opened.lots[1]
    invited = _invited(rnd, opened)
    assert sorted(invited) == sorted(["甲", "乙", "丙"])  # above the target 0.80 (丁 is at it)
    assert [rl.target_ucp for rl in rnd.lots] == [Decimal("0.80")]
    db.session.commit()

    assert _revise(app, sign_in, users["甲"], opened.project, rnd, lot, "5.53").status_code == 302  # 0.79 a unit
    refused = _revise(app, sign_in, users["乙"], opened.project, rnd, lot, "7.84")  # 1.12 > 1.10
    assert refused.status_code == 302
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "negotiation.revision_refused")).all()
    assert [e.summary["code"] for e in events] == ["PRICE_INCREASE_REJECTED"]

    # sealed until the round's opening: no page and no row shows the revised price
    client = app.test_client()
    sign_in(client, opened.officer)
    page = client.get(f"/negotiation/projects/{opened.project.id}").get_data(as_text=True)
    assert "5.53" not in page and "0.79" not in page
    subs = db.session.scalars(select(QuoteSubmission).where(QuoteSubmission.round_no == rnd.round_no)).all()
    assert len(subs) == 1 and subs[0].line_count == 1
    clear = json.dumps([[s.file_name, s.file_sha256, s.receipt_no] for s in subs])
    assert "5.53" not in clear and "0.79" not in clear
    for event in db.session.scalars(select(AuditEvent)).all():
        assert "5.53" not in json.dumps(event.summary, default=str)
    assert not db.session.scalars(select(Bid).where(Bid.round_no == rnd.round_no)).all()

    record, run = _open_bids(opened, supervisor, rnd)
    assert record.round_no == rnd.round_no and rnd.state == "opened"
    invited = _invited(rnd, opened)
    assert invited["甲"].response == "accepted"
    assert invited["乙"].response == "rejected_increase"
    assert invited["丙"].response == "non_accept"
    revised = db.session.scalars(select(Bid).where(Bid.round_no == rnd.round_no)).all()
    assert len(revised) == 1
    assert revised[0].ucp == Decimal("0.79") and revised[0].supersedes_id == opened.bids[("甲", 1)].id
    # the selection re-ran on the final prices: A at 0.79, C stays at 0.90, every round-1 bid is kept
    assert run is not None
    prices = {b["supplier"]: b["unit_price"] for b in run.problem["bids"]}
    assert prices[str(opened.suppliers["甲"].id)] == "0.79"
    assert prices[str(opened.suppliers["丙"].id)] == "0.9"
    assert prices[str(opened.suppliers["乙"].id)] == "1.1"
    assert revised[0].id in bid_outcomes(run)
    assert db.session.get(Bid, opened.bids[("甲", 1)].id) is not None


def test_invitation_edits_need_a_reason_and_are_audited(app, db, make_user, make_org):
    from app.audit.models import AuditEvent
    from app.bidding.negotiation import NegotiationError

    opened, supervisor, users = _world(make_user, make_org)
    ding, bing = opened.suppliers["丁"].id, opened.suppliers["丙"].id
    overrides = {opened.lots[1].id: {"add": [ding], "remove": [bing]}}
    with pytest.raises(NegotiationError) as err:
        _open(opened, supervisor, overrides=overrides)
    assert err.value.code == "INVITE_REASON_REQUIRED"
    rnd = _open(opened, supervisor, overrides=overrides, reason="丁 asked to take part")
    invited = _invited(rnd, opened)
    assert sorted(invited) == sorted(["甲", "乙", "丁"])
    assert invited["丁"].added_reason == "丁 asked to take part"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "negotiation.round_opened")).one()
    assert event.summary["override_reason"] == "丁 asked to take part"
    assert event.summary["lots"][0]["removed"] == [bing] and event.summary["lots"][0]["added"] == [ding]


def test_median_and_manual_targets(app, db, make_user, make_org):
    opened, supervisor, users = _world(make_user, make_org)
    rnd = _open(opened, supervisor, method="median_ucp")
    assert rnd.lots[0].target_ucp == Decimal("0.925")
    assert sorted(_invited(rnd, opened)) == sorted(["甲", "乙"])


def test_price_to_beat_is_shown_only_to_its_supplier(app, db, make_user, make_org, sign_in):
    opened, supervisor, users = _world(make_user, make_org, preset="nvbp-4+7", code="NEG-2")
    rnd = _open(opened, supervisor)
    invited = _invited(rnd, opened)
    # one winner (4+7): to win, A must reach 丁's 0.80 (the tie-break decides at equal price)
    beat = invited["甲"].price_to_beat
    assert beat is not None and Decimal("0.79") < beat <= Decimal("0.80")  # a tie at 0.80 may go its way
    db.session.commit()
    cell = re.compile(r'<td class="price-to-beat">([^<]*)</td>')
    for name in ("甲", "乙", "丙"):
        client = app.test_client()
        sign_in(client, users[name])
        page = client.get(f"/negotiation/projects/{opened.project.id}").get_data(as_text=True)
        assert cell.findall(page) == [str(invited[name].price_to_beat)]  # its own, only
        assert all(f"<td>{other}</td>" not in page for other in ("甲", "乙", "丙", "丁") if other != name)
    client = app.test_client()
    sign_in(client, users["丁"])  # not invited: sees no round at all
    assert cell.findall(client.get(f"/negotiation/projects/{opened.project.id}").get_data(as_text=True)) == []
    client = app.test_client()
    sign_in(client, opened.officer)
    assert cell.findall(client.get(f"/negotiation/projects/{opened.project.id}").get_data(as_text=True)) == []


def test_non_accept_drops_when_the_ruleset_says_so(app, db, make_user, make_org):
    from app.bidding.models import Bid

    opened, supervisor, users = _world(make_user, make_org, preset="nvbp-4+7", code="NEG-3")
    rnd = _open(opened, supervisor)
    _record, run = _open_bids(opened, supervisor, rnd)
    dropped = db.session.scalars(select(Bid).where(Bid.round_no == rnd.round_no)).all()
    assert sorted(b.supplier_org_id for b in dropped) == sorted(
        opened.suppliers[n].id for n in ("甲", "乙", "丙"))
    assert all(b.excluded_reason == "incomplete" for b in dropped)
    assert {i.response for i in _invited(rnd, opened).values()} == {"non_accept"}


def test_max_rounds_and_round_order(app, db, make_user, make_org, sign_in):
    from app.bidding.negotiation import NegotiationError

    opened, supervisor, users = _world(make_user, make_org)
    rnd = _open(opened, supervisor)
    with pytest.raises(NegotiationError) as err:
        _open(opened, supervisor, now=ROUND_AT + dt.timedelta(hours=1))
    assert err.value.code == "ROUND_STILL_OPEN"
    _open_bids(opened, supervisor, rnd)
    later = AFTER + dt.timedelta(hours=1)
    third = _open(opened, supervisor, method="manual", manual="0.5", now=later, deadline=later + dt.timedelta(days=1))
    assert third.round_no == 3
    _open_bids(opened, supervisor, third, now=later + dt.timedelta(days=1, minutes=1))
    with pytest.raises(NegotiationError) as err:
        _open(opened, supervisor, now=later + dt.timedelta(days=2), deadline=later + dt.timedelta(days=3))
    assert err.value.code == "MAX_ROUNDS_REACHED"


def test_revision_after_deadline_and_uninvited_are_refused(app, db, make_user, make_org):
    from app.bidding import negotiation

    opened, supervisor, users = _world(make_user, make_org)
    rnd = _open(opened, supervisor)
    with pytest.raises(negotiation.NegotiationError) as err:
        negotiation.submit_revision(opened.project, rnd, opened.lots[1].id, actor=users["丁"], pack_price="5")
    assert err.value.code == "NOT_INVITED"
    with pytest.raises(negotiation.NegotiationError) as err:
        negotiation.submit_revision(opened.project, rnd, opened.lots[1].id, actor=users["甲"], pack_price="5",
                                    now=AFTER)
    assert err.value.code == "ROUND_CLOSED"
    first = negotiation.submit_revision(opened.project, rnd, opened.lots[1].id, actor=users["甲"], pack_price="6")
    second = negotiation.submit_revision(opened.project, rnd, opened.lots[1].id, actor=users["甲"], pack_price="5.6")
    assert (first.status, second.status, second.supersedes_id) == ("superseded", "submitted", first.id)
    _open_bids(opened, supervisor, rnd)
    assert _invited(rnd, opened)["甲"].response == "accepted"
    with pytest.raises(negotiation.NegotiationError):
        _open_bids(opened, supervisor, rnd, now=AFTER + dt.timedelta(hours=1))
    # an opened round never changes (N5)
    from app.bidding.services import BidsReadOnly

    _invited(rnd, opened)["甲"].response = "non_accept"
    with pytest.raises(BidsReadOnly):
        db.session.flush()


def test_officer_opens_a_round_on_the_web(app, db, make_user, make_org, sign_in):
    from app.bidding import negotiation
    from app.notifications.models import Notification

    opened, supervisor, users = _world(make_user, make_org)
    db.session.commit()
    client = app.test_client()
    sign_in(client, opened.officer)
    path = f"/negotiation/projects/{opened.project.id}/rounds/new"
    token = page_csrf_token(client, path)
    lot = opened.lots[1]
    response = client.post(path, data={
        "csrf_token": token, f"lot-{lot.id}": "1", f"method-{lot.id}": "lowest_ucp",
        f"remove-{lot.id}": str(opened.suppliers["丙"].id), "reason": "丙 withdrew from the lot",
        "deadline": "2040-01-01T12:00", "officer_password": PASSWORD, "officer_secret": OFFICER_SECRET,
        "officer_secret_confirm": OFFICER_SECRET, "witness_username": supervisor.username,
        "witness_password": PASSWORD, "witness_secret": WITNESS_SECRET, "witness_secret_confirm": WITNESS_SECRET})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    rnd = negotiation.list_rounds(opened.project)[0]
    assert sorted(_invited(rnd, opened)) == sorted(["甲", "乙"])
    notes = db.session.scalars(select(Notification).where(
        Notification.org_id.in_([opened.suppliers[n].id for n in ("甲", "乙")]))).all()
    assert len(notes) == 2


def test_a_revision_committed_after_the_round_deadline_is_refused(app, db, make_user, make_org, monkeypatch):
    from app.bidding import negotiation
    from app.bidding import services as bidding

    opened, supervisor, users = _world(make_user, make_org)
    rnd = _open(opened, supervisor)
    db.session.commit()
    negotiation.submit_revision(opened.project, rnd, opened.lots[1].id, actor=users["甲"], pack_price="6")
    monkeypatch.setattr(bidding, "commit_clock", lambda: DEADLINE)
    with pytest.raises(bidding.BidAfterDeadline):
        db.session.commit()
    db.session.rollback()
    assert negotiation.current_revision(rnd, opened.lots[1].id, opened.suppliers["甲"].id) is None


def test_average_cut_of_the_competitive_lots_as_target(app, db, make_user, make_org):
    from app.bidding import negotiation

    opened, supervisor, _ = _world(make_user, make_org)
    with pytest.raises(negotiation.NegotiationError) as refused:
        _open(opened, supervisor, method="avg_cut_competitive")
    assert refused.value.code == "TARGET_NO_PRE_PRICE"
    # Lot 1 has 4 valid bids (competitive), lowest 0.80 against 2.00 before: a 60 % cut.
    opened.lots[1].pre_procurement_ucp = Decimal("2.00")
    db.session.flush()
    rnd = _open(opened, supervisor, method="avg_cut_competitive")
    assert rnd.lots[0].target_ucp == Decimal("0.800000")
    assert sorted(_invited(rnd, opened)) == sorted(["甲", "乙", "丙"])


def test_national_lowest_listed_price_as_target(app, db, make_user, make_org):
    from app.bidding import negotiation
    from app.bidding.models import Bid
    from app.prices.models import ListedPrice, NationalLowestPrice

    opened, supervisor, _ = _world(make_user, make_org)
    with pytest.raises(negotiation.NegotiationError) as refused:
        _open(opened, supervisor, method="national_lowest_listed")
    assert refused.value.code == "TARGET_NO_NATIONAL_LOWEST"
    product_id = db.session.scalar(select(Bid.product_id).where(Bid.lot_id == opened.lots[1].id).limit(1))
    listing = ListedPrice(product_id=product_id, key_sha256="k" * 64, province_code="330000", listed_price_pack=Decimal("5.95"),
                          pack_qty=7, listed_ucp=Decimal("0.85"), effective_date=dt.date(2029, 6, 1),
                          source_document="浙医保〔2029〕1号")
    db.session.add(listing)
    db.session.flush()
    db.session.add(NationalLowestPrice(key_sha256="k" * 64, value_ucp=Decimal("0.85"), source_price_id=listing.id,
                                       source_province_code="330000", source_effective_date=dt.date(2029, 6, 1),
                                       source_document="浙医保〔2029〕1号"))
    db.session.flush()
    rnd = _open(opened, supervisor, method="national_lowest_listed")
    assert rnd.lots[0].target_ucp == Decimal("0.850000")  # the product is at the representative 20mg: no 差比价
    assert sorted(_invited(rnd, opened)) == sorted(["甲", "乙", "丙"])


def test_the_rulesets_negotiation_target_is_the_default(app, db, make_user, make_org):
    from app.bidding import negotiation

    opened, _, _ = _world(make_user, make_org)
    assert negotiation.default_target_method(opened.project) == "lowest_ucp"  # nvbp-2
    four_plus_seven, _, _ = _world(make_user, make_org, preset="nvbp-4+7", code="NEG-47")
    assert negotiation.default_target_method(four_plus_seven.project) == "avg_cut_competitive"
