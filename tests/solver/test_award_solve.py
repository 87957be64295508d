"""The award optimiser on hand-made problems with known optima, per constraint family and backend."""
from __future__ import annotations

import copy
import itertools
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from solver.award import check_awards, solve
from solver.award.extract import inconsistent, volumes_from_model
from solver.award.model import build_model
from solver.award.prepare import prepare
from solver.canonical import problem_sha256
from solver.errors import ProblemError

BACKENDS = ["cbc", "highs"]
EXACT = {"gap": 0.0, "time_limit": 30}

CONTRACT_KEYS = {"schema", "status", "objective", "bound", "gap", "backend", "solve_seconds", "problem_sha256",
                 "awards", "discounts", "fixed_costs", "diagnosis", "solver_version", "log"}


def problem(suppliers, lots, demand, bids, bundles=()) -> dict:
    """A problem from short tuples, with the contract's defaults filled in."""
    return {
        "schema": "jicai.award-problem/1", "name": "test", "currency": "CNY",
        "suppliers": [dict({"id": s, "capacity": None, "fixed_cost": "0", "max_lots": None}, **kw)
                      for s, kw in suppliers],
        "lots": [dict({"id": lot, "min_winners": 1, "max_winners": None, "max_share": None}, **kw)
                 for lot, kw in lots],
        "demand": [{"id": d, "lot": lot, "region": r, "quantity": q, "single_source": ss}
                   for d, lot, r, q, ss in demand],
        "bids": [dict({"id": b, "supplier": s, "lot": lot, "regions": None, "unit_price": p, "capacity_use": 1,
                       "max_quantity": None, "tiers": []}, **kw) for b, s, lot, p, kw in bids],
        "bundles": [{"id": g, "supplier": s, "lots": list(ls), "discount": d} for g, s, ls, d in bundles],
    }


def contract_example() -> dict:
    return problem(
        [("S1", {"capacity": 300000}), ("S2", {"fixed_cost": "5000", "max_lots": 1})],
        [("L1", {"min_winners": 2, "max_share": "0.7"}), ("L2", {})],
        [("D1", "L1", "110000", 120000, True), ("D2", "L1", "310000", 80000, True),
         ("D3", "L2", "110000", 50000, False)],
        [("B1", "S1", "L1", "0.2550", {"tiers": [{"min_quantity": 100000, "unit_price": "0.2400"}]}),
         ("B2", "S2", "L1", "0.2700", {}),
         ("B3", "S1", "L2", "1.1000", {"regions": ["110000"], "capacity_use": 2})],
        [("X1", "S1", ["L1", "L2"], "0.03")],
    )


def o3(single: bool) -> dict:
    """DOMAIN.md O3: two regions of 100, A at 1.00 with capacity 150, B at 1.20."""
    return problem([("A", {"capacity": 150}), ("B", {})], [("L1", {})],
                   [("R1", "L1", "1", 100, single), ("R2", "L1", "2", 100, single)],
                   [("BA", "A", "L1", "1.00", {}), ("BB", "B", "L1", "1.20", {})])


def award_map(sol) -> dict:
    return {(a["bid"], a["demand"]): a["quantity"] for a in sol["awards"]}


def solved(p, backend="cbc", **opts) -> dict:
    sol = solve(p, dict(EXACT, backend=backend, **opts))
    assert sol["status"] == "optimal", sol["log"][-2000:]
    assert check_awards(p, sol["awards"]) == []
    return sol


# -- the contract and DOMAIN examples ------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_contract_worked_example(backend):
    p = contract_example()
    sol = solve(p, {"backend": backend})
    assert CONTRACT_KEYS <= set(sol)
    assert sol["schema"] == "jicai.award-solution/1"
    assert sol["status"] == "optimal"
    assert sol["objective"] == "107886.000000"
    assert sol["bound"] == "107886.000000"
    assert sol["gap"] == 0.0
    assert sol["backend"] == backend
    assert sol["problem_sha256"] == problem_sha256(p)
    assert sol["diagnosis"] is None
    assert sol["awards"][0] == {"bid": "B1", "supplier": "S1", "lot": "L1", "demand": "D1", "region": "110000",
                                "quantity": 120000, "unit_price": "0.2400", "cost": "28800.000000"}
    assert sol["awards"][1:] == [
        {"bid": "B2", "supplier": "S2", "lot": "L1", "demand": "D2", "region": "310000",
         "quantity": 80000, "unit_price": "0.2700", "cost": "21600.000000"},
        {"bid": "B3", "supplier": "S1", "lot": "L2", "demand": "D3", "region": "110000",
         "quantity": 50000, "unit_price": "1.1000", "cost": "55000.000000"},
    ]
    assert sol["discounts"] == [{"bundle": "X1", "supplier": "S1", "amount": "2514.000000"}]
    assert sol["fixed_costs"] == [{"supplier": "S2", "amount": "5000"}]
    total = (sum(Decimal(a["cost"]) for a in sol["awards"]) - sum(Decimal(d["amount"]) for d in sol["discounts"])
             + sum(Decimal(f["amount"]) for f in sol["fixed_costs"]))
    assert str(total.quantize(Decimal("0.000001"))) == sol["objective"]
    assert isinstance(sol["solve_seconds"], float) and isinstance(sol["log"], str) and sol["solver_version"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_domain_o3_single_source_220(backend):
    sol = solved(o3(True), backend)
    assert sol["objective"] == "220.000000"
    assert award_map(sol) in ({("BA", "R1"): 100, ("BB", "R2"): 100}, {("BA", "R2"): 100, ("BB", "R1"): 100})


@pytest.mark.parametrize("backend", BACKENDS)
def test_domain_o3_split_210(backend):
    sol = solved(o3(False), backend)
    assert sol["objective"] == "210.000000"
    per_bid = {}
    for a in sol["awards"]:
        per_bid[a["bid"]] = per_bid.get(a["bid"], 0) + a["quantity"]
    assert per_bid == {"BA": 150, "BB": 50}
    for unit in ("R1", "R2"):   # each unit sums exactly
        assert sum(Decimal(repr(a["quantity"])) for a in sol["awards"] if a["demand"] == unit) == 100


# -- one constraint family at a time --------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_capacity_counts_capacity_use(backend):
    # A is cheapest but each unit uses 2 of its 150 capacity: it can take R2 (60 -> 120) only.
    p = problem([("A", {"capacity": 150}), ("B", {})], [("L1", {})],
                [("R1", "L1", "1", 100, True), ("R2", "L1", "2", 60, True)],
                [("BA", "A", "L1", "1.00", {"capacity_use": 2}), ("BB", "B", "L1", "1.50", {})])
    sol = solved(p, backend)
    assert award_map(sol) == {("BB", "R1"): 100, ("BA", "R2"): 60}
    assert sol["objective"] == "210.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_quantity_on_a_split_unit(backend):
    p = problem([("A", {}), ("B", {})], [("L1", {})], [("R1", "L1", "1", 100, False)],
                [("BA", "A", "L1", "1", {"max_quantity": 30}), ("BB", "B", "L1", "2", {})])
    sol = solved(p, backend)
    assert award_map(sol) == {("BA", "R1"): 30, ("BB", "R1"): 70}
    assert sol["objective"] == "170.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_min_winners_forces_the_cheapest_second_winner(backend):
    # A is cheapest everywhere; two winners needed: B (not C) takes the unit where it costs least extra.
    p = problem([("A", {}), ("B", {}), ("C", {})], [("L1", {"min_winners": 2})],
                [("R1", "L1", "1", 100, True), ("R2", "L1", "2", 10, True)],
                [("BA", "A", "L1", "1.0", {}), ("BB", "B", "L1", "1.5", {}), ("BC", "C", "L1", "1.4", {"regions": ["1"]})])
    sol = solved(p, backend)
    assert award_map(sol) == {("BA", "R1"): 100, ("BB", "R2"): 10}
    assert sol["objective"] == "115.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_min_winners_on_a_split_unit_gives_the_second_winner_real_volume(backend):
    # one split unit, two winners required: B gets the least volume that counts as a win (1 unit)
    p = problem([("A", {}), ("B", {})], [("L1", {"min_winners": 2})], [("R1", "L1", "1", 100, False)],
                [("BA", "A", "L1", "1", {}), ("BB", "B", "L1", "3", {})])
    sol = solved(p, backend)
    assert award_map(sol) == {("BA", "R1"): 99, ("BB", "R1"): 1}
    assert sol["objective"] == "102.000000"
    sol = solved(p, backend, min_win_quantity=5)
    assert award_map(sol) == {("BA", "R1"): 95, ("BB", "R1"): 5}


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_winners_on_a_split_unit(backend):
    # capacities force a split; only two suppliers may win: the two cheapest that fit.
    p = problem([("A", {"capacity": 50}), ("B", {"capacity": 60}), ("C", {"capacity": 60})],
                [("L1", {"max_winners": 2})], [("R1", "L1", "1", 100, False)],
                [("BA", "A", "L1", "1.0", {}), ("BB", "B", "L1", "1.2", {}), ("BC", "C", "L1", "1.1", {})])
    sol = solved(p, backend)
    # A+C: 50 + 50*1.1 = 105 ; three winners would be cheaper: A 50, C 50 is already best with 2
    assert award_map(sol) == {("BA", "R1"): 50, ("BC", "R1"): 50}
    assert sol["objective"] == "105.000000"
    p["suppliers"][2]["capacity"] = 40      # now A+C cannot cover 100: B must be one of the two
    sol = solved(p, backend)
    assert award_map(sol) == {("BA", "R1"): 50, ("BB", "R1"): 50}
    assert sol["objective"] == "110.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_share(backend):
    # A is cheapest everywhere but may take at most half of the lot's 100: R1 (saves most) or R2+R3.
    p = problem([("A", {}), ("B", {}), ("C", {})], [("L1", {"max_share": "0.5"})],
                [("R1", "L1", "1", 50, True), ("R2", "L1", "2", 30, True), ("R3", "L1", "3", 20, True)],
                [("BA", "A", "L1", "1.0", {}), ("BB", "B", "L1", "2.0", {"regions": ["1"]}),
                 ("BC", "C", "L1", "1.5", {"regions": ["2", "3"]})])
    sol = solved(p, backend)
    assert award_map(sol) == {("BA", "R1"): 50, ("BC", "R2"): 30, ("BC", "R3"): 20}
    assert sol["objective"] == "125.000000"
    p["lots"][0]["max_share"] = None
    assert solved(p, backend)["objective"] == "100.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_lots(backend):
    # S1 cheapest in both lots but may win one: it keeps the lot where it saves most (L2).
    p = problem([("S1", {"max_lots": 1}), ("S2", {})], [("L1", {}), ("L2", {})],
                [("D1", "L1", "1", 100, True), ("D2", "L2", "1", 100, True)],
                [("A1", "S1", "L1", "1.0", {}), ("A2", "S1", "L2", "1.0", {}),
                 ("B1", "S2", "L1", "1.1", {}), ("B2", "S2", "L2", "1.3", {})])
    sol = solved(p, backend)
    assert award_map(sol) == {("B1", "D1"): 100, ("A2", "D2"): 100}
    assert sol["objective"] == "210.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_fixed_cost_paid_once_decides(backend):
    # S2 is cheaper per unit in both lots (saving 2 x 10) but costs 30 to bring in.
    p = problem([("S1", {}), ("S2", {"fixed_cost": "30"})], [("L1", {}), ("L2", {})],
                [("D1", "L1", "1", 100, True), ("D2", "L2", "1", 100, True)],
                [("A1", "S1", "L1", "1.0", {}), ("A2", "S1", "L2", "1.0", {}),
                 ("B1", "S2", "L1", "0.9", {}), ("B2", "S2", "L2", "0.9", {})])
    sol = solved(p, backend)
    assert sol["objective"] == "200.000000" and sol["fixed_costs"] == []
    p["suppliers"][1]["fixed_cost"] = "15.5"    # now bringing S2 in saves 4.5, and it takes both lots
    sol = solved(p, backend)
    assert award_map(sol) == {("B1", "D1"): 100, ("B2", "D2"): 100}
    assert sol["fixed_costs"] == [{"supplier": "S2", "amount": "15.5"}]
    assert sol["objective"] == "195.500000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_units_tier_reached_by_taking_more(backend):
    # A at 1.00, 0.80 from 100 units on its whole volume; B at 0.90.
    # A both: 110 x 0.8 = 88 < B both 99 < A D1 + B D2 = 60 + 45 = 105.
    p = problem([("A", {}), ("B", {})], [("L1", {})],
                [("D1", "L1", "1", 60, True), ("D2", "L1", "2", 50, True)],
                [("BA", "A", "L1", "1.00", {"tiers": [{"min_quantity": 100, "unit_price": "0.80"}]}),
                 ("BB", "B", "L1", "0.90", {})])
    sol = solved(p, backend)
    assert award_map(sol) == {("BA", "D1"): 60, ("BA", "D2"): 50}
    assert [a["unit_price"] for a in sol["awards"]] == ["0.80", "0.80"]
    assert sol["objective"] == "88.000000"
    p["bids"][0]["tiers"][0]["min_quantity"] = 111   # out of reach: B both
    sol = solved(p, backend)
    assert award_map(sol) == {("BB", "D1"): 60, ("BB", "D2"): 50}
    assert sol["objective"] == "99.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_split_volume_reaches_a_tier_exactly(backend):
    # A split unit of 100: A gets 0.5 from 70 units but can only take 80; B costs 0.9.
    p = problem([("A", {"capacity": 80}), ("B", {})], [("L1", {})], [("D1", "L1", "1", 100, False)],
                [("BA", "A", "L1", "1.0", {"tiers": [{"min_quantity": 70, "unit_price": "0.5"}]}),
                 ("BB", "B", "L1", "0.9", {})])
    sol = solved(p, backend)
    assert award_map(sol) == {("BA", "D1"): 80, ("BB", "D1"): 20}
    assert sol["objective"] == "58.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_bundle_discount_flips_an_award(backend):
    # Without the bundle S2 takes L2 (1.00 < 1.02); with 5 % off S1's cost in L1+L2 S1 takes both.
    p = problem([("S1", {}), ("S2", {})], [("L1", {}), ("L2", {})],
                [("D1", "L1", "1", 100, True), ("D2", "L2", "1", 100, True)],
                [("A1", "S1", "L1", "1.00", {}), ("A2", "S1", "L2", "1.02", {}),
                 ("B1", "S2", "L1", "1.10", {}), ("B2", "S2", "L2", "1.00", {})],
                [("G", "S1", ["L1", "L2"], "0.05")])
    sol = solved(p, backend)
    assert award_map(sol) == {("A1", "D1"): 100, ("A2", "D2"): 100}
    assert sol["discounts"] == [{"bundle": "G", "supplier": "S1", "amount": "10.100000"}]
    assert sol["objective"] == "191.900000"
    p["bundles"][0]["discount"] = "0.005"
    sol = solved(p, backend)
    assert award_map(sol) == {("A1", "D1"): 100, ("B2", "D2"): 100}
    assert sol["discounts"] == [] and sol["objective"] == "200.000000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_quantity_unit_and_institution(backend):
    p = problem([("A", {})], [("L1", {})], [("D1", "L1", "1", 10, True), ("D0", "L1", "2", 0, True)],
                [("BA", "A", "L1", "2.5", {})])
    p["demand"][0]["institution"] = "H-001"
    sol = solved(p, backend)
    assert sol["awards"] == [{"bid": "BA", "supplier": "A", "lot": "L1", "demand": "D1", "region": "1",
                              "institution": "H-001", "quantity": 10, "unit_price": "2.5", "cost": "25.000000"}]


# -- exhaustive search on random single-source problems ---------------------------------------------

def brute_force(p) -> Decimal | None:
    """Cheapest feasible single-source award by enumeration, with the contract's cost rules."""
    sup = {s["id"]: s for s in p["suppliers"]}
    lots = {lot["id"]: lot for lot in p["lots"]}
    bids = {b["id"]: b for b in p["bids"]}
    units = [d for d in p["demand"]]
    options = []
    for d in units:
        cov = [b["id"] for b in p["bids"] if b["lot"] == d["lot"] and (b["regions"] is None or d["region"] in b["regions"])]
        options.append(cov)
    best = None
    for choice in itertools.product(*options):
        vol = {}
        for d, b in zip(units, choice):
            vol[b] = vol.get(b, 0) + d["quantity"]
        wins = {}
        for b, v in vol.items():
            if v > 0:
                wins.setdefault(bids[b]["lot"], set()).add(bids[b]["supplier"])
        ok = True
        for s in sup.values():
            use = sum(v * bids[b]["capacity_use"] for b, v in vol.items() if bids[b]["supplier"] == s["id"])
            if s["capacity"] is not None and use > s["capacity"]:
                ok = False
            n_lots = sum(1 for w in wins.values() if s["id"] in w)
            if s["max_lots"] is not None and n_lots > s["max_lots"]:
                ok = False
        for b, v in vol.items():
            if bids[b]["max_quantity"] is not None and v > bids[b]["max_quantity"]:
                ok = False
        for lot in lots.values():
            n = len(wins.get(lot["id"], ()))
            if n < lot["min_winners"] or (lot["max_winners"] is not None and n > lot["max_winners"]):
                ok = False
            if lot["max_share"] is not None:
                total = sum(d["quantity"] for d in units if d["lot"] == lot["id"])
                for s in sup:
                    got = sum(v for b, v in vol.items() if bids[b]["supplier"] == s and bids[b]["lot"] == lot["id"])
                    if got > Decimal(lot["max_share"]) * total:
                        ok = False
        if not ok:
            continue
        cost_sl = {}
        total = Decimal(0)
        for b, v in vol.items():
            price = Decimal(bids[b]["unit_price"])
            for t in bids[b]["tiers"]:
                if v >= t["min_quantity"]:
                    price = Decimal(t["unit_price"])
            c = v * price
            total += c
            key = (bids[b]["supplier"], bids[b]["lot"])
            cost_sl[key] = cost_sl.get(key, 0) + c
        for g in p["bundles"]:
            if all(g["supplier"] in wins.get(lot, ()) for lot in g["lots"]):
                total -= (Decimal(g["discount"]) * sum(cost_sl.get((g["supplier"], lot), 0) for lot in g["lots"])
                          ).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        total += sum(Decimal(s["fixed_cost"]) for s in sup.values() if any(s["id"] in w for w in wins.values()))
        if best is None or total < best:
            best = total
    return best


def random_problem(rng: random.Random) -> dict:
    sups = [(f"S{i}", {"capacity": rng.choice([None, rng.randint(60, 250)]),
                       "fixed_cost": rng.choice(["0", "0", str(rng.randint(5, 40))]),
                       "max_lots": rng.choice([None, None, 1])}) for i in range(rng.randint(2, 3))]
    lots = [(f"L{i}", {"min_winners": rng.choice([1, 1, 2]), "max_winners": rng.choice([None, None, 1, 2]),
                       "max_share": rng.choice([None, None, "0.6", "0.8"])}) for i in range(rng.randint(1, 3))]
    demand = []
    for lot, _ in lots:
        for r in range(rng.randint(1, 3)):
            demand.append((f"{lot}-D{r}", lot, f"R{r}", rng.randint(1, 9) * 10, True))
    bids = []
    for lot, _ in lots:
        regions = sorted({d[2] for d in demand if d[1] == lot})
        for s, _ in sups:
            if rng.random() < 0.85:
                price = Decimal(rng.randint(80, 150)) / 100
                kw = {"capacity_use": rng.choice([1, 1, 2]), "max_quantity": rng.choice([None, None, 120])}
                if rng.random() < 0.5:
                    kw["regions"] = rng.sample(regions, rng.randint(1, len(regions)))
                if rng.random() < 0.4:
                    kw["tiers"] = [{"min_quantity": rng.randint(3, 10) * 10,
                                    "unit_price": str(price - Decimal(rng.randint(5, 20)) / 100)}]
                bids.append((f"B-{lot}-{s}", s, lot, str(price), kw))
    bundles = []
    if len(lots) > 1 and rng.random() < 0.6:
        bundles.append(("G", sups[0][0], [lots[0][0], lots[1][0]], rng.choice(["0.05", "0.1"])))
    return problem(sups, lots, demand, bids, bundles)


def test_random_problems_match_exhaustive_search_on_both_backends():
    rng = random.Random(20260423)
    checked = infeasible = 0
    while checked < 40:
        p = random_problem(rng)
        if not any(True for _ in p["bids"]):
            continue
        best = brute_force(p)
        for backend in BACKENDS:
            sol = solve(p, {"backend": backend, "gap": 0.0, "time_limit": 20})
            if best is None:
                assert sol["status"] == "infeasible", (backend, p)
                assert sol["diagnosis"]
            else:
                assert sol["status"] == "optimal", (backend, p, sol["log"][-1500:])
                assert Decimal(sol["objective"]) == best, (backend, p, sol["awards"], best)
                assert check_awards(p, sol["awards"]) == []
        checked += 1
        infeasible += best is None
    assert 0 < infeasible < checked   # both kinds were exercised


# -- backends, determinism, tie rule, options --------------------------------------------------------

def test_both_backends_agree_on_a_mixed_problem():
    p = contract_example()
    p["demand"].append({"id": "D4", "lot": "L2", "region": "310000", "quantity": 30000.5, "single_source": False})
    p["suppliers"].append({"id": "S3", "capacity": 20000, "fixed_cost": "100", "max_lots": None})
    p["bids"][2]["regions"] = None
    p["bids"].append({"id": "B4", "supplier": "S3", "lot": "L2", "regions": None, "unit_price": "1.05",
                      "capacity_use": 1, "max_quantity": 40000, "tiers": []})
    a, b = solved(p, "cbc"), solved(p, "highs")
    assert a["objective"] == b["objective"]
    assert a["awards"] == b["awards"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_input_same_awards(backend):
    p = o3(True)
    p["bids"].append({"id": "BC", "supplier": "B", "lot": "L1", "regions": None, "unit_price": "1.00",
                      "capacity_use": 1, "max_quantity": None, "tiers": []})
    p["bids"][1]["regions"] = None
    del p["bids"][1]            # B now bids 1.00 too: many equal-cost awards
    first = solved(p, backend)
    for _ in range(3):
        assert solved(p, backend)["awards"] == first["awards"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_tie_rule_prefers_the_earlier_listed_bid(backend):
    p = problem([("A", {}), ("B", {})], [("L1", {})], [("D1", "L1", "1", 100, True)],
                [("BA", "A", "L1", "1.00", {}), ("BB", "B", "L1", "1.00", {})])
    assert award_map(solved(p, backend)) == {("BA", "D1"): 100}
    p["bids"].reverse()
    assert award_map(solved(p, backend)) == {("BB", "D1"): 100}


def test_warm_start_from_a_draft():
    p = contract_example()
    draft = [{"bid": "B1", "demand": "D2", "quantity": 80000}, {"bid": "B2", "demand": "D1", "quantity": 120000},
             {"bid": "B3", "demand": "D3", "quantity": 50000}]
    sol = solve(p, {"warm_start": draft})
    assert sol["objective"] == "107886.000000"
    sol = solve(p, {"backend": "highs", "warm_start": {"awards": draft}})
    assert sol["objective"] == "107886.000000"
    with pytest.raises(ProblemError) as exc:
        solve(p, {"warm_start": [{"bid": "B9", "demand": "D1", "quantity": 1}]})
    assert [str(e) for e in exc.value.errors] == ['options.warm_start[0].bid: unknown bid "B9"']


@pytest.mark.parametrize("backend", BACKENDS)
def test_progress_callback(backend):
    # a problem big enough for the search to report solutions
    rng = random.Random(7)
    lots = [(f"L{i}", {"min_winners": 2, "max_share": "0.7"}) for i in range(6)]
    sups = [(f"S{i}", {"capacity": 9000}) for i in range(8)]
    demand = [(f"L{i}-{r}", f"L{i}", f"R{r}", rng.randint(5, 40) * 10, True) for i in range(6) for r in range(12)]
    bids = [(f"B{i}-{s}", f"S{s}", f"L{i}", f"{rng.uniform(1, 2):.4f}",
             {"tiers": [{"min_quantity": 800, "unit_price": "0.9000"}]} if rng.random() < 0.4 else {})
            for i in range(6) for s in range(8)]
    events = []
    sol = solve(problem(sups, lots, demand, bids), {"backend": backend, "on_progress": events.append})
    assert sol["status"] in ("optimal", "feasible")
    assert events and all(e["backend"] == backend for e in events)
    found = [e for e in events if e["event"] == "solution"]
    assert found and all(isinstance(e["incumbent"], float) and e["incumbent"] > 0 for e in found)


def test_progress_callback_errors_surface():
    def boom(_event):
        raise RuntimeError("stop")
    with pytest.raises(RuntimeError, match="stop"):
        solve(contract_example(), {"backend": "highs", "on_progress": boom})


def test_split_rounding_puts_the_remainder_on_the_largest_share():
    # three equal suppliers capped at 1/3 of 100: 33.333333 x 3 + remainder on the first largest
    p = problem([("A", {"capacity": 33.3333334}), ("B", {"capacity": 33.3333334}), ("C", {"capacity": 33.3333334})],
                [("L1", {})], [("D1", "L1", "1", 100, False)],
                [("BA", "A", "L1", "1", {}), ("BB", "B", "L1", "1", {}), ("BC", "C", "L1", "1", {})])
    sol = solved(p, "highs")
    qs = [Decimal(repr(a["quantity"])) for a in sol["awards"]]
    assert sum(qs) == 100
    assert all(abs(q - Decimal("33.333333")) <= Decimal("0.000002") for q in qs)
    assert sol["objective"] == "100.000000"


def test_inconsistent_winner_indicator_triggers_polish():
    p = copy.deepcopy(o3(False))
    p["suppliers"][1]["fixed_cost"] = "1"
    prep = prepare(p)
    model = build_model(prep)
    for v in model.prob.variables():
        v.varValue = 0.0
    # A takes 150 of the 200 (shares), B 50 but its winner indicator left at ~0
    model.x[0, 0, 0].varValue, model.x[0, 1, 0].varValue = 1.0, 0.5
    model.x[1, 1, 0].varValue = 0.5
    model.z[1, 0].varValue = 1e-9
    model.used[1].varValue = 1e-9
    awards = volumes_from_model(prep, model)
    assert inconsistent(prep, model, awards)
    model.z[1, 0].varValue = model.used[1].varValue = 1.0
    assert not inconsistent(prep, model, awards)


def test_check_awards_reports_a_draft_over_capacity():
    p = o3(True)
    draft = [{"bid": "BA", "demand": "R1", "quantity": 100}, {"bid": "BA", "demand": "R2", "quantity": 100}]
    assert check_awards(p, draft) == ["capacity:A"]
    assert check_awards(p, [{"bid": "BA", "demand": "R1", "quantity": 100}]) == ["demand:R2"]


def test_guard_tightens_a_limit_exceeded_within_solver_tolerance():
    from solver.award.backends import RunResult
    from solver.award.guard import solve_exact

    # A (capacity 60) may take one of the two units of 50 and 60 only; a "solver" first returns
    # both shares at 1 - 1e-3 for A on R2 (inside a tolerance, 110 > 60 once rounded), then a clean one.
    p = problem([("A", {"capacity": 60}), ("B", {})], [("L1", {})],
                [("R1", "L1", "1", 50, True), ("R2", "L1", "2", 60, True)],
                [("BA", "A", "L1", "1", {}), ("BB", "B", "L1", "2", {})])
    prep = prepare(p)
    model = build_model(prep)
    cap_row = model.prob.get_constraint_by_name(model.groups["capacity:A"][0])
    original = cap_row.constant
    answers = [{(0, 0): 1.0, (0, 1): 0.999, (1, 1): 0.001}, {(0, 1): 1.0, (1, 0): 1.0}]
    seen_constants = []

    def fake_run():
        seen_constants.append(cap_row.constant)
        values = answers.pop(0)
        for (b, u, _k), v in model.x.items():
            v.varValue = values.get((b, u), 0.0)
        return RunResult("optimal", 1.0, 0.5, 0.01, "", "test")

    log: list[str] = []
    res, awards, _ = solve_exact(prep, model, fake_run, log=log)
    assert {(a.bid, a.unit) for a in awards} == {(0, 1), (1, 0)}
    assert seen_constants[1] > seen_constants[0]          # the capacity row was lowered for the re-solve
    assert cap_row.constant == original                    # and restored afterwards
    assert res.bound == 0.5 and log and "capacity:A" in log[0]
