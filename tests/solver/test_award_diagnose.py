"""Infeasible problems: irreducible conflicts by elastic filtering; and the cost of each rule family."""
from __future__ import annotations

import pytest

from solver.award import rule_costs, solve
from solver.award.diagnose import diagnose
from solver.award.prepare import prepare

BACKENDS = ["cbc", "highs"]


def problem(suppliers, lots, demand, bids) -> dict:
    return {
        "schema": "jicai.award-problem/1", "name": "t", "currency": "CNY",
        "suppliers": [dict({"id": s, "capacity": None, "fixed_cost": "0", "max_lots": None}, **kw) for s, kw in suppliers],
        "lots": [dict({"id": lot, "min_winners": 1, "max_winners": None, "max_share": None}, **kw) for lot, kw in lots],
        "demand": [{"id": d, "lot": lot, "region": r, "quantity": q, "single_source": ss} for d, lot, r, q, ss in demand],
        "bids": [dict({"id": b, "supplier": s, "lot": lot, "regions": None, "unit_price": p, "capacity_use": 1,
                       "max_quantity": None, "tiers": []}, **kw) for b, s, lot, p, kw in bids],
        "bundles": [],
    }


def two_capacities(c1, c2, single=False) -> dict:
    return problem([("S1", {"capacity": c1}), ("S2", {"capacity": c2})], [("L1", {})],
                   [("D1", "L1", "110000", 100, single)],
                   [("B1", "S1", "L1", "1.0", {}), ("B2", "S2", "L1", "1.2", {})])


def infeasible(p, backend) -> list[str]:
    sol = solve(p, {"backend": backend})
    assert sol["status"] == "infeasible"
    assert sol["objective"] is None and sol["awards"] == [] and sol["gap"] is None
    return sol["diagnosis"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_contract_example_capacities_50_and_40(backend):
    assert sorted(infeasible(two_capacities(50, 40), backend)) == ["capacity:S1", "capacity:S2", "demand:D1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_sourcing_is_part_of_the_conflict(backend):
    # 60 + 60 could cover a split unit of 100, not a single-source one
    assert infeasible(two_capacities(60, 60, single=True), backend) == [
        "demand:D1", "single_source:D1", "capacity:S1", "capacity:S2"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_min_winners_above_the_number_of_bidders(backend):
    p = two_capacities(None, None)
    p["lots"][0]["min_winners"] = 3
    assert infeasible(p, backend) == ["min_winners:L1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_winners_with_capacities(backend):
    p = two_capacities(60, 60)
    p["lots"][0]["max_winners"] = 1
    assert infeasible(p, backend) == ["demand:D1", "capacity:S1", "capacity:S2", "max_winners:L1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_lots_against_min_winners_and_max_quantity(backend):
    # S1 may win one lot, but both lots need two winners and S1, S2 are the only bidders;
    # the irrelevant max_quantity of B3 stays out of the conflict.
    p = problem([("S1", {"max_lots": 1}), ("S2", {})], [("L1", {"min_winners": 2}), ("L2", {"min_winners": 2})],
                [("D1", "L1", "1", 100, False), ("D2", "L2", "1", 100, False)],
                [("B1", "S1", "L1", "1", {}), ("B2", "S2", "L1", "1", {}),
                 ("B3", "S1", "L2", "1", {"max_quantity": 90}), ("B4", "S2", "L2", "1", {})])
    diag = infeasible(p, backend)
    assert diag == ["min_winners:L1", "min_winners:L2", "max_lots:S1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_share_with_single_source_units(backend):
    p = problem([("A", {}), ("B", {})], [("L1", {"max_share": "0.5"})],
                [("R1", "L1", "1", 60, True), ("R2", "L1", "2", 40, True)],
                [("BA", "A", "L1", "1.0", {}), ("BB", "B", "L1", "2.0", {})])
    assert infeasible(p, backend) == ["demand:R1", "single_source:R1", "max_share:A:L1", "max_share:B:L1"]


def test_uncovered_unit_and_lot_without_demand():
    p = two_capacities(None, None)
    p["demand"].append({"id": "D9", "lot": "L1", "region": "120000", "quantity": 5, "single_source": True})
    p["bids"][0]["regions"] = p["bids"][1]["regions"] = ["110000"]
    assert infeasible(p, "cbc") == ["demand:D9"]
    q = two_capacities(None, None)
    q["lots"].append({"id": "L2", "min_winners": 1, "max_winners": None, "max_share": None})
    assert infeasible(q, "highs") == ["min_winners:L2"]   # nobody can win a lot without demand


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_returned_conflict_is_irreducible(backend):
    p = problem([("S1", {"capacity": 70}), ("S2", {"capacity": 50}), ("S3", {"capacity": 20})],
                [("L1", {"max_winners": 2}), ("L2", {})],
                [("D1", "L1", "1", 100, False), ("D2", "L2", "1", 40, True)],
                [("B1", "S1", "L1", "1", {}), ("B2", "S2", "L1", "1", {}), ("B3", "S3", "L1", "1", {}),
                 ("B4", "S1", "L2", "1", {}), ("B5", "S2", "L2", "1", {})])
    diag = infeasible(p, backend)
    # D1 needs 100 from at most two of S1..S3 while D2 (40) takes room at S1 or S2: 80 or 90 at most
    assert diag == ["demand:D1", "demand:D2", "capacity:S1", "capacity:S2", "capacity:S3", "max_winners:L1"]
    # irreducible: dropping any one name leaves a feasible system
    prep = prepare(p)
    from solver.award import backends
    from solver.award.model import build_feasibility
    for name in diag:
        m = build_feasibility(prep, keep=frozenset(n for n in diag if n != name))
        assert backends.run(m.prob, backend=backend, time_limit=10, gap=None, threads=1).status != "infeasible"
    m = build_feasibility(prep, keep=frozenset(diag))
    assert backends.run(m.prob, backend=backend, time_limit=10, gap=None, threads=1).status == "infeasible"


def test_diagnose_reports_no_conflict_for_a_feasible_problem():
    d = diagnose(prepare(two_capacities(60, 60)), backend="cbc", time_limit=10, threads=1, min_win_quantity=1)
    assert d.names is None


# -- rule costs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_rule_costs_single_sourcing_costs_10_in_domain_o3(backend):
    p = problem([("A", {"capacity": 150}), ("B", {})], [("L1", {})],
                [("R1", "L1", "1", 100, True), ("R2", "L1", "2", 100, True)],
                [("BA", "A", "L1", "1.00", {}), ("BB", "B", "L1", "1.20", {})])
    costs = rule_costs(p, {"backend": backend, "gap": 0})
    # with both capacity and single-sourcing: 220; without single-sourcing 210; without capacity 200
    assert costs == {"single_source": "10.000000", "capacity": "20.000000"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_rule_costs_binding_max_share_is_positive(backend):
    p = problem([("A", {}), ("B", {})], [("L1", {"max_share": "0.7", "max_winners": 2})],
                [("R1", "L1", "1", 100, False)],
                [("BA", "A", "L1", "1.00", {}), ("BB", "B", "L1", "1.50", {})])
    costs = rule_costs(p, {"backend": backend, "gap": 0})
    assert costs == {"max_share": "15.000000"}   # 70 x 1 + 30 x 1.5 = 115 vs 100


def test_rule_costs_lists_slack_families_at_zero_and_refuses_infeasible():
    p = two_capacities(120, 90)
    p["lots"][0]["max_winners"] = 1
    assert rule_costs(p, {"gap": 0}) == {"capacity": "0.000000", "max_winners": "0.000000"}
    with pytest.raises(ValueError, match="infeasible"):
        rule_costs(two_capacities(50, 40))
