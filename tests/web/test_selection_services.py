"""Winner selection services: the selection problem built from an opened project, runs stored with their
hash, outcomes read from the run (bids never change), lots selected or failed, ties, access and states."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

import solver
from app.audit.models import AuditEvent
from app.bidding.models import Bid, CommittedVolume, QuoteSubmission, SelectionRun
from app.projects.models import RuleSetVersion
from app.selection import services
from app.selection.services import SelectionError, bid_outcomes, build_selection_problem, run_selection
from solver.canonical import problem_sha256
from solver.rulesets import flatten, resolve_ruleset
from tests.web.selection_builders import build_opened_project


pytestmark = pytest.mark.usefixtures("fast_passwords")


def _abiraterone(make_user, make_org, **kw):
    """Lot 1 like batch-2 abiraterone (ceiling 101.67; 23.333333, 31.90, 35.80, 84.05) and lot 2 with no bid."""
    kw.setdefault("ceilings", {1: "101.67", 2: "0.5"})
    kw.setdefault("bids", {"正大天晴": [(1, "23.333333")], "成都盛迪": [(1, "31.90")], "江西山香": [(1, "35.80")],
                           "强生": [(1, "84.05")]})
    kw.setdefault("demand", [(1, "110000", "408800"), (1, "310000", "596400"), (1, "440000", "417400"),
                             (1, "650000", "60000"), (1, "660000", "8100"), (1, "310000", "100"), (2, "110000", "500")])
    return build_opened_project(make_user, make_org, **kw)


# --- the problem --------------------------------------------------------------------------------------

def test_problem_from_an_opened_project(db, make_user, make_org):
    built = _abiraterone(make_user, make_org)
    problem = build_selection_problem(built.project)
    assert problem["schema"] == "jicai.selection-problem/1"
    assert problem["ruleset"] == "nvbp-2"  # the frozen RuleSet: no override
    # 31 regions, the corps folded into 新疆 (xpcc_separate = false).
    assert len(problem["regions"]) == 31 and "650000" in problem["regions"] and "660000" not in problem["regions"]
    lot1, lot2 = problem["lots"]
    assert lot1 == {
        "id": str(built.lots[1].id), "name": built.lots[1].name, "ceiling": "101.67", "form_class": "oral_solid",
        "drug_class": "chemical", "demand_basis": "reported",
        # summed over lines (strengths) per region, 660000 into 650000, quantities as numbers
        "demand": [{"region": "110000", "quantity": 408800}, {"region": "310000", "quantity": 596500},
                   {"region": "440000", "quantity": 417400}, {"region": "650000", "quantity": 68100}],
    }
    assert lot2["ceiling"] == "0.5" and lot2["demand"] == [{"region": "110000", "quantity": 500}]
    prices = {b["supplier"]: b["unit_price"] for b in problem["bids"]}
    # Decimal strings without trailing zeros, never floats.
    assert prices == {str(built.suppliers["正大天晴"].id): "23.333333", str(built.suppliers["成都盛迪"].id): "31.9",
                      str(built.suppliers["江西山香"].id): "35.8", str(built.suppliers["强生"].id): "84.05"}
    bid = next(b for b in problem["bids"] if b["supplier"] == str(built.suppliers["强生"].id))
    assert bid == {"id": str(built.bids[("强生", 1)].id), "lot": str(built.lots[1].id),
                   "supplier": str(built.suppliers["强生"].id), "unit_price": "84.05", "excluded": None,
                   "tie_keys": {"reported_demand": 0, "provinces_supplied_hist": 0}, "region_preferences": []}
    assert all(isinstance(b["unit_price"], str) for b in problem["bids"])
    # The document survives JSON as it is (no Decimal, no float price) and hashes the same every time.
    assert json.loads(json.dumps(problem)) == problem
    assert problem_sha256(build_selection_problem(built.project)) == problem_sha256(problem)


def test_the_frozen_ruleset_is_used_not_a_later_version(db, make_user, make_org):
    built = _abiraterone(make_user, make_org, overrides={"spread_multiplier": "2.0"})
    frozen = db.session.scalar(select(RuleSetVersion).where(RuleSetVersion.project_id == built.project.id,
                                                            RuleSetVersion.frozen_at.is_not(None)))
    assert frozen.version == 2
    # A later, unfrozen version (it cannot be made through the services once bidding opened) is ignored.
    db.session.add(RuleSetVersion(project_id=built.project.id, version=3, preset="nvbp-10", overrides={},
                                  resolved=resolve_ruleset("nvbp-10")))
    db.session.flush()
    problem = build_selection_problem(built.project)
    assert problem["ruleset"] == {"preset": "nvbp-2", "spread_multiplier": "2.0"}
    # If the presets changed since the freeze, every frozen field is given so the frozen values still apply.
    drifted = dict(frozen.resolved, cut_vs_ceiling="0.4")
    frozen.resolved = drifted
    db.session.flush()
    pinned = build_selection_problem(built.project)["ruleset"]
    assert pinned["preset"] == "nvbp-2" and pinned["cut_vs_ceiling"] == "0.4" and pinned["spread_multiplier"] == "2.0"
    assert resolve_ruleset(pinned) == drifted and set(pinned) == {"preset", *flatten(drifted)}


def test_demand_is_effective_after_approved_amendments(db, make_user, make_org):
    built = _abiraterone(make_user, make_org, amendments=[(0, "approved", "400000"), (1, "rejected", "1"),
                                                          (0, "approved", "400001")])
    lot1 = build_selection_problem(built.project)["lots"][0]
    by_region = {d["region"]: d["quantity"] for d in lot1["demand"]}
    assert by_region["110000"] == 400001  # the last approved amendment
    assert by_region["310000"] == 596500  # a rejected amendment changes nothing


def test_tie_keys_from_the_data_and_from_the_officer(db, make_user, make_org):
    built = build_opened_project(
        make_user, make_org, ceilings={1: "1.0"},
        bids={"甲": [(1, "0.40")], "乙": [(1, "0.40")], "丙": [(1, "0.50")]},
        demand=[(1, "110000", "1000")], demand_by_supplier=[(1, "310000", "250", "乙"), (1, "440000", "5", "乙")])
    problem = build_selection_problem(built.project)
    keys = {b["id"]: b["tie_keys"] for b in problem["bids"]}
    jia, yi = str(built.bids[("甲", 1)].id), str(built.bids[("乙", 1)].id)
    assert keys[jia] == {"reported_demand": 0, "provinces_supplied_hist": 0}
    assert keys[yi] == {"reported_demand": 255, "provinces_supplied_hist": 0}  # demand naming 乙's product
    overridden = build_selection_problem(built.project, tie_keys={int(jia): {"reported_demand": "300"},
                                                                  yi: {"provinces_supplied_hist": Decimal("2.50")}})
    keys = {b["id"]: b["tie_keys"] for b in overridden["bids"]}
    assert keys[jia] == {"reported_demand": 300, "provinces_supplied_hist": 0}
    assert keys[yi] == {"reported_demand": 255, "provinces_supplied_hist": "2.5"}
    with pytest.raises(SelectionError) as err:
        build_selection_problem(built.project, tie_keys={"999999": {"reported_demand": 1}})
    assert err.value.code == "TIE_KEY_UNKNOWN_BID"
    with pytest.raises(SelectionError) as err:
        build_selection_problem(built.project, tie_keys={jia: {"pilot_city_sales_volume": 1}})
    assert err.value.code == "TIE_KEY_UNKNOWN"
    with pytest.raises(SelectionError) as err:
        build_selection_problem(built.project, tie_keys={jia: {"reported_demand": "many"}})
    assert err.value.code == "TIE_KEY_NOT_A_NUMBER"
    with pytest.raises(TypeError):
        build_selection_problem(built.project, tie_keys={jia: {"reported_demand": 1.5}})


def test_no_problem_before_the_opening(db, make_user, make_org):
    built = _abiraterone(make_user, make_org, open_it=False)
    with pytest.raises(SelectionError) as err:
        build_selection_problem(built.project)
    assert err.value.code == "SELECTION_NOT_OPENED" and err.value.params == {"state": "bidding_open"}
    with pytest.raises(SelectionError) as err:
        run_selection(built.project, actor=built.officer)
    assert err.value.code == "SELECTION_STATE"


def test_current_bids_take_the_latest_round_and_skip_withdrawn_quotes(db, make_user, make_org):
    built = _abiraterone(make_user, make_org)
    first = built.bids[("成都盛迪", 1)]
    submission = QuoteSubmission(project_id=built.project.id, supplier_org_id=first.supplier_org_id, round_no=2,
                                 version=1, status="submitted", file_name="r2.xlsx", file_sha256="a" * 64, line_count=1,
                                 sealed_payload=b"\x01", sealed_key=b"\x01", receipt_no="R2-1",
                                 submitted_by_id=built.officer.id)
    db.session.add(submission)
    db.session.flush()
    revised = Bid(submission_id=submission.id, project_id=built.project.id, lot_id=first.lot_id,
                  supplier_org_id=first.supplier_org_id, product_id=first.product_id, round_no=2,
                  pack_price=Decimal("210"), pack_qty=7, unit_price=Decimal("30"), ucp=Decimal("30"),
                  declared_capacity=Decimal(1), supersedes_id=first.id)
    withdrawn = db.session.get(QuoteSubmission, built.bids[("强生", 1)].submission_id)
    withdrawn.status = "withdrawn"
    db.session.add(revised)
    db.session.flush()
    ids = [b.id for b in services.current_bids(built.project)]
    assert revised.id in ids and first.id not in ids and built.bids[("强生", 1)].id not in ids
    assert first.id in [b.id for b in services.current_bids(built.project, round_no=1)]
    prices = {b["id"]: b["unit_price"] for b in build_selection_problem(built.project)["bids"]}
    assert prices[str(revised.id)] == "30"


# --- runs ---------------------------------------------------------------------------------------------

def test_a_run_is_stored_with_its_hash_and_solver_version(db, make_user, make_org):
    built = _abiraterone(make_user, make_org)
    run = run_selection(built.project, actor=built.officer)
    db.session.expire_all()
    stored = db.session.get(SelectionRun, run.id)
    assert stored.problem_sha256 == problem_sha256(stored.problem) == stored.result["problem_sha256"]
    assert stored.solver_version == solver.__version__
    assert stored.result == solver.select(stored.problem)  # the stored problem reproduces the stored result
    assert stored.ruleset_version_id == db.session.scalar(
        select(RuleSetVersion.id).where(RuleSetVersion.project_id == built.project.id, RuleSetVersion.version == 2))
    assert stored.round_no == 1 and stored.created_by_id == built.officer.id

    outcomes = bid_outcomes(stored)
    bid = {name: built.bids[(name, 1)].id for name in ("正大天晴", "成都盛迪", "江西山香", "强生")}
    assert [outcomes[bid[n]].reason for n in ("正大天晴", "成都盛迪", "江西山香", "强生")] == \
        ["won", "won", "won", "beyond_max_winners"]
    assert [outcomes[bid[n]].rank for n in ("正大天晴", "成都盛迪", "江西山香", "强生")] == [1, 2, 3, 4]
    assert outcomes[bid["正大天晴"]].won and not outcomes[bid["强生"]].won
    assert outcomes[bid["强生"]].lot_id == built.lots[1].id
    # Bids are append-only (P-3): the run wrote nothing on them.
    for row in db.session.scalars(select(Bid).where(Bid.project_id == built.project.id)):
        assert (row.outcome, row.reason, row.rank) == (None, None, None)
    # The project's own lot records: lot 1 selected, lot 2 (no bid) failed (流标).
    assert built.lots[1].status == "selected" and built.lots[1].failed_reason is None
    assert built.lots[2].status == "failed" and f"#{run.id}" in built.lots[2].failed_reason

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "selection.run"))
    assert event.object_id == str(run.id) and event.summary["problem_sha256"] == run.problem_sha256
    assert event.summary["lots"] == 2 and event.summary["selected"] == 1 and event.summary["failed"] == 1
    assert event.summary["bids"] == 4 and event.summary["winners"] == 3 and event.summary["solver_version"] == solver.__version__


def test_every_bid_over_the_ceiling_fails_the_lot(db, make_user, make_org):
    built = build_opened_project(make_user, make_org, ceilings={1: "0.10"}, bids={"甲": [(1, "0.12")], "乙": [(1, "0.2")]},
                                 demand=[(1, "110000", "10")])
    run = run_selection(built.project, actor=built.officer)
    (lot,) = run.result["lots"]
    assert lot["status"] == "failed" and lot["bidders"] == 2 and lot["winners"] == []
    assert {o.reason for o in bid_outcomes(run).values()} == {"over_ceiling"}
    assert built.lots[1].status == "failed"


def test_excluded_bids_count_as_bidders_but_cannot_win(db, make_user, make_org):
    built = build_opened_project(make_user, make_org, ceilings={1: "1"},
                                 bids={"甲": [(1, "0.3", {"excluded_reason": "credit_barred"})], "乙": [(1, "0.4")],
                                       "丙": [(1, "0.45")], "丁": [(1, "0.5")]},
                                 demand=[(1, "110000", "10")])
    run = run_selection(built.project, actor=built.officer)
    outcomes = bid_outcomes(run)
    assert outcomes[built.bids[("甲", 1)].id].reason == "excluded" and outcomes[built.bids[("甲", 1)].id].rank is None
    (lot,) = run.result["lots"]
    assert lot["bidders"] == 4 and lot["max_winners"] == 3 and lot["lowest_price"] == "0.4"


def test_a_tie_needs_tie_keys_or_the_draw(db, make_user, make_org):
    # nvbp-2, N = 3 → 2 slots; 乙 and 丙 tie at 0.40 for slot 2.
    built = build_opened_project(make_user, make_org, ceilings={1: "1"},
                                 bids={"甲": [(1, "0.30")], "乙": [(1, "0.40")], "丙": [(1, "0.40")]},
                                 demand=[(1, "110000", "10")])
    with pytest.raises(SelectionError) as err:
        run_selection(built.project, actor=built.officer)
    assert err.value.code == "DRAW_SEED_REQUIRED" and err.value.errors[0].path == "draw_seed"
    assert db.session.scalar(select(SelectionRun.id)) is None
    yi, bing = built.bids[("乙", 1)].id, built.bids[("丙", 1)].id

    run = run_selection(built.project, actor=built.officer, tie_keys={bing: {"reported_demand": 5}})
    outcomes = bid_outcomes(run)
    assert (outcomes[bing].rank, outcomes[bing].reason) == (2, "won")
    assert (outcomes[yi].rank, outcomes[yi].reason) == (3, "beyond_max_winners")

    seeded = run_selection(built.project, actor=built.officer, draw_seed="2030-01-16 开标 见证")
    again = run_selection(built.project, actor=built.officer, draw_seed="2030-01-16 开标 见证")
    assert seeded.result == again.result and seeded.problem_sha256 == again.problem_sha256
    assert seeded.problem["draw_seed"] == "2030-01-16 开标 见证"
    assert sorted(o.rank for o in bid_outcomes(seeded).values()) == [1, 2, 3]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "selection.run")
                                .order_by(AuditEvent.seq)).all()
    assert [e.summary["tie_key_overrides"] for e in events] == [1, 0, 0]
    assert events[-1].summary["draw_seed"] == "2030-01-16 开标 见证"
    # Without the officer's seed the project's own seed is used.
    built.project.draw_seed = "project seed"
    assert run_selection(built.project, actor=built.officer).problem["draw_seed"] == "project seed"


def test_only_officers_of_the_authority_run_it(db, make_user, make_org):
    built = _abiraterone(make_user, make_org)
    supervisor = make_user("supervisor", org=built.officer.org)
    stranger = make_user("procurement_officer")
    for actor in (supervisor, stranger, make_user("supplier_user")):
        with pytest.raises(SelectionError) as err:
            run_selection(built.project, actor=actor)
        assert err.value.code == "SELECTION_DENIED"
    assert services.may_view_selection(supervisor, built.project)
    assert not services.may_view_selection(make_user("institution_user"), built.project)


def test_committed_quantities_engine_and_per_institution(db, make_user, make_org):
    built = _abiraterone(make_user, make_org)
    run = run_selection(built.project, actor=built.officer)
    lot = run.result["lots"][0]
    assert lot["committed_ratio"] == "0.7"  # 3 winners, reported demand
    # The demand piece stored the volumes per institution (one institution per region here), rounded each.
    rows = db.session.scalars(select(CommittedVolume).where(CommittedVolume.selection_run_id == run.id)).all()
    # (the corps' institution is folded into 新疆 like its demand)
    assert sorted((r.region_code, r.committed_volume) for r in rows if r.lot_id == built.lots[1].id) == [
        ("110000", Decimal(286160)), ("310000", Decimal(417550)), ("440000", Decimal(292180)),
        ("650000", Decimal(5670)), ("650000", Decimal(42000))]
    assert not [r for r in rows if r.lot_id == built.lots[2].id]  # 流标: no volume
    per_region = services.committed_quantities(run)[built.lots[1].id]
    report = services.run_report(run)
    for winner, alloc in zip(report[0].winners, lot["allocation"]):
        assert winner.committed_quantity == alloc["committed_quantity"]
        assert winner.institution_committed == sum((per_region.get(r, Decimal(0)) for r in winner.regions), Decimal(0))
        assert winner.institution_committed == winner.committed_quantity
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "selection.run"))
    assert event.summary["committed_volume_rows"] == len(rows)

    # Demand lines that already hold committed volumes: no ratio, in the engine and per institution.
    committed = run_selection(built.project, actor=built.officer, demand_basis="committed")
    lot = committed.result["lots"][0]
    assert lot["committed_ratio"] == "1"
    assert sum(a["committed_quantity"] for a in lot["allocation"]) == 408800 + 596500 + 417400 + 68100
    assert {r.ratio for r in db.session.scalars(select(CommittedVolume)
                                                .where(CommittedVolume.selection_run_id == committed.id))} == {Decimal(1)}


def test_without_the_demand_piece_the_engine_quantities_remain(db, make_user, make_org, monkeypatch):
    built = _abiraterone(make_user, make_org)
    monkeypatch.setattr(services, "_demand_services", lambda: None)
    run = run_selection(built.project, actor=built.officer)
    assert services.committed_quantities(run) is None
    report = services.run_report(run)
    assert all(w.institution_committed is None and w.committed_quantity > 0 for w in report[0].winners)


def test_the_supplier_report_keeps_its_own_bids_only(db, make_user, make_org):
    built = _abiraterone(make_user, make_org, bids={"正大天晴": [(1, "23.333333"), (2, "0.4")], "成都盛迪": [(1, "31.90")],
                                                    "江西山香": [(1, "35.80")], "强生": [(1, "84.05")]})
    run = run_selection(built.project, actor=built.officer)
    own = services.run_report(run, supplier_org_id=built.suppliers["成都盛迪"].id)
    assert [r.lot.lot_no for r in own] == [1]
    assert [line.supplier.name for line in own[0].bids] == ["成都盛迪"]
    assert [w.line.supplier.name for w in own[0].winners] == ["成都盛迪"]
    assert all(line.supplier.name == "成都盛迪" for _region, line in own[0].backups)
    everyone = services.run_report(run)
    assert [len(r.bids) for r in everyone] == [4, 1]
