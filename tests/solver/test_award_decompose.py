"""Lot decomposition (column generation over blocks of lots) against exhaustive search and the full model."""
from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest

from solver.award import check_awards, solve
from solver.award.check import parse_awards, violations
from solver.award.decompose import blocks_of
from solver.award.prepare import prepare


def problem(n_lots: int, rng: random.Random, cap_factor: float, extras: bool = False) -> dict:
    sups = [f"S{i}" for i in range(3)]
    demand, bids = [], []
    for li in range(n_lots):
        lot = f"L{li}"
        for r in range(2):
            demand.append({"id": f"{lot}-{r}", "lot": lot, "region": f"R{r}", "quantity": rng.randint(2, 9) * 10,
                           "single_source": True})
        for s in sups:
            price = Decimal(rng.randint(80, 150)) / 100
            tiers = []
            if rng.random() < 0.3:
                tiers = [{"min_quantity": 100, "unit_price": str(price - Decimal("0.10"))}]
            bids.append({"id": f"B-{lot}-{s}", "supplier": s, "lot": lot, "regions": None, "unit_price": str(price),
                         "capacity_use": 1, "max_quantity": None, "tiers": tiers})
    total = sum(d["quantity"] for d in demand)
    suppliers = [{"id": s, "capacity": int(total * cap_factor * rng.uniform(0.6, 1.2)), "fixed_cost": "0",
                  "max_lots": None} for s in sups]
    lots = [{"id": f"L{i}", "min_winners": 1, "max_winners": None, "max_share": rng.choice([None, "0.8"])}
            for i in range(n_lots)]
    bundles = []
    if extras:
        suppliers[1]["fixed_cost"] = "15"          # ties S1's lots into one block
        bundles = [{"id": "G", "supplier": "S2", "lots": ["L0", "L1"], "discount": "0.05"}]
    return {"schema": "jicai.award-problem/1", "name": "d", "currency": "CNY", "suppliers": suppliers,
            "lots": lots, "demand": demand, "bids": bids, "bundles": bundles}


def brute_force(p) -> Decimal | None:
    prep = prepare(p)
    bids = {b["id"]: b for b in p["bids"]}
    options = [[b["id"] for b in p["bids"] if b["lot"] == d["lot"]] for d in p["demand"]]
    best = None
    for choice in itertools.product(*options):
        awards = [{"bid": b, "demand": d["id"], "quantity": d["quantity"]} for d, b in zip(p["demand"], choice)]
        if violations(prep, parse_awards(prep, awards)):
            continue
        vol = {}
        for a in awards:
            vol[a["bid"]] = vol.get(a["bid"], 0) + a["quantity"]
        cost_sl, total = {}, Decimal(0)
        for b, v in vol.items():
            price = Decimal(bids[b]["unit_price"])
            for t in bids[b]["tiers"]:
                if v >= t["min_quantity"]:
                    price = Decimal(t["unit_price"])
            total += v * price
            key = (bids[b]["supplier"], bids[b]["lot"])
            cost_sl[key] = cost_sl.get(key, 0) + v * price
        winners = {bids[b]["supplier"] for b in vol}
        for g in p["bundles"]:
            if all((g["supplier"], lot) in cost_sl for lot in g["lots"]):
                total -= Decimal(g["discount"]) * sum(cost_sl[g["supplier"], lot] for lot in g["lots"])
        total += sum(Decimal(s["fixed_cost"]) for s in p["suppliers"] if s["id"] in winners)
        if best is None or total < best:
            best = total
    return best


_CASES: list[tuple[dict, Decimal | None]] = []


def coupled_cases() -> list[tuple[dict, Decimal | None]]:
    """Six 4-lot problems (capacity tight in every other one) with their exhaustive optimum."""
    if not _CASES:
        rng = random.Random(11)
        for case in range(6):
            p = problem(4, rng, cap_factor=0.45 if case % 2 else 0.9)
            _CASES.append((p, brute_force(p)))
    return _CASES


def test_blocks_follow_fixed_costs_max_lots_and_bundles():
    rng = random.Random(1)
    p = problem(4, rng, 1.0)
    assert blocks_of(prepare(p)) == [[0], [1], [2], [3]]
    p = problem(4, rng, 1.0, extras=True)
    assert blocks_of(prepare(p)) == [[0, 1, 2, 3]]          # S1's fixed cost spans every lot
    p["suppliers"][1]["fixed_cost"] = "0"
    p["suppliers"][0]["max_lots"] = 2
    p["bundles"] = []
    assert blocks_of(prepare(p)) == [[0, 1, 2, 3]]
    p["suppliers"][0]["max_lots"] = None
    p["bundles"] = [{"id": "G", "supplier": "S2", "lots": ["L1", "L3"], "discount": "0.05"}]
    assert blocks_of(prepare(p)) == [[0], [1, 3], [2]]


@pytest.mark.parametrize("backend", ["cbc", "highs"])
def test_decomposition_matches_exhaustive_search_when_capacity_couples_lots(backend):
    coupled = 0
    for case, (p, best) in enumerate(coupled_cases()):
        sol = solve(p, {"backend": backend, "strategy": "decompose", "gap": 1e-7, "time_limit": 30})
        if best is None:
            assert sol["status"] == "infeasible"
            continue
        assert sol["status"] in ("optimal", "feasible")
        assert Decimal(sol["objective"]) == best, (case, sol["log"][-3000:])
        assert check_awards(p, sol["awards"]) == []
        assert Decimal(sol["bound"]) <= best
        coupled += "column generation" in sol["log"] or "round 1" in sol["log"]
    assert coupled >= 1    # capacity made the block optima clash at least once


def test_independent_blocks_are_solved_apart_and_proven():
    rng = random.Random(5)
    p = problem(5, rng, cap_factor=5.0)     # capacities never bind
    full = solve(p, {"strategy": "full", "gap": 0})
    dec = solve(p, {"strategy": "decompose", "gap": 1e-6})
    assert dec["status"] == "optimal"
    assert "block optima respect every shared capacity" in dec["log"]
    assert dec["objective"] == full["objective"]
    assert dec["awards"] == full["awards"]


def test_decomposition_with_fixed_costs_and_bundles_inside_blocks():
    rng = random.Random(3)
    for _ in range(3):
        p = problem(3, rng, cap_factor=0.6, extras=True)
        p["suppliers"][1]["fixed_cost"] = "0"                   # keep several blocks
        best = brute_force(p)
        sol = solve(p, {"backend": "highs", "strategy": "decompose", "gap": 1e-7, "time_limit": 30})
        if best is None:
            assert sol["status"] == "infeasible"
        else:
            assert Decimal(sol["objective"]) == best


def test_decomposition_is_deterministic():
    rng = random.Random(11)
    p = problem(4, rng, cap_factor=0.45)
    runs = [solve(p, {"backend": "highs", "strategy": "decompose"}) for _ in range(2)]
    assert runs[0]["awards"] == runs[1]["awards"]
    assert runs[0]["objective"] == runs[1]["objective"]


@pytest.mark.parametrize("backend", ["cbc", "highs"])
def test_decomposition_awards_are_feasible_and_its_bound_is_valid(backend):
    from solver.award.decompose import decompose

    seen = 0
    for p, best in coupled_cases():
        out = decompose(prepare(p), backend=backend, gap=1e-6, threads=1, time_limit=30, relax=frozenset(),
                        min_win_quantity=1.0, start=None)
        if best is None:
            assert out.status in ("infeasible", "none")
            continue
        assert out.status != "infeasible"
        if out.bound is not None:
            assert out.bound <= best + Decimal("0.000001")     # a valid lower bound
        if out.objective is not None:
            seen += 1
            awards = [{"bid": p["bids"][a.bid]["id"], "demand": p["demand"][a.unit]["id"],
                       "quantity": a.raw} for a in out.awards]
            assert check_awards(p, awards) == []
            assert out.objective >= best
            if out.status == "optimal":
                assert out.objective == best
    assert seen >= 3
