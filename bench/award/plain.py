"""The baseline: a plain, textbook PuLP formulation of the benchmark problems, solved by CBC.

It covers what ``generate.py`` emits (single-source units, capacities, ``min_winners``,
``max_share``, all-units tiers) the way a first model is usually written: one binary per bid and
unit, aggregated big-M links between award and winner indicators, and tiers as big-M cost rows.
It exists only to measure ``solver.award`` against; the library never uses it.
"""
from __future__ import annotations

import os
import tempfile
import time
from decimal import Decimal

import pulp


def build(problem: dict) -> tuple[pulp.LpProblem, dict]:
    prob = pulp.LpProblem("plain", pulp.LpMinimize)
    units_by_lot: dict[str, list[dict]] = {}
    for d in problem["demand"]:
        units_by_lot.setdefault(d["lot"], []).append(d)
    lot_total = {lot: sum(d["quantity"] for d in units) for lot, units in units_by_lot.items()}
    x = {}
    by_unit: dict[str, list] = {}
    by_sup: dict[str, list] = {}
    by_sup_lot: dict[tuple[str, str], list] = {}
    cost_terms = []
    for bi, b in enumerate(problem["bids"]):
        units = units_by_lot.get(b["lot"], [])
        if b["regions"] is not None:
            units = [d for d in units if d["region"] in set(b["regions"])]
        vol = []
        for di, d in enumerate(units):
            v = prob.add_variable(f"x_{bi}_{di}", cat="Binary")
            x[b["id"], d["id"]] = v
            by_unit.setdefault(d["id"], []).append(v)
            vol.append((v, float(d["quantity"])))
            by_sup.setdefault(b["supplier"], []).append((v, float(d["quantity"]) * b.get("capacity_use", 1)))
            by_sup_lot.setdefault((b["supplier"], b["lot"]), []).append((v, float(d["quantity"])))
        volume = pulp.LpAffineExpression(vol)
        p0 = float(Decimal(b["unit_price"]))
        if not b.get("tiers"):
            cost_terms.append(p0 * volume)
            continue
        c = prob.add_variable(f"c_{bi}", lowBound=0)
        cost_terms.append(c)
        big_m = p0 * lot_total[b["lot"]]
        levels = [(0.0, p0)] + [(float(t["min_quantity"]), float(Decimal(t["unit_price"]))) for t in b["tiers"]]
        ts = []
        for k, (mq, p) in enumerate(levels):
            t = prob.add_variable(f"t_{bi}_{k}", cat="Binary")
            ts.append(t)
            prob += volume >= mq * t
            prob += c >= p * volume - big_m * (1 - t)
        prob += pulp.lpSum(ts) == 1
    prob += pulp.lpSum(cost_terms)
    for d in problem["demand"]:
        prob += pulp.lpSum(by_unit.get(d["id"], [])) == 1, f"demand_{len(prob._constraints)}"
    for s in problem["suppliers"]:
        if s.get("capacity") is not None and s["id"] in by_sup:
            prob += pulp.LpAffineExpression(by_sup[s["id"]]) <= s["capacity"]
    lots = {lot["id"]: lot for lot in problem["lots"]}
    for (s, lot), terms in by_sup_lot.items():
        z = prob.add_variable(f"z_{s}_{lot}", cat="Binary")
        n = len(terms)
        vars_ = [v for v, _ in terms]
        prob += pulp.lpSum(vars_) <= n * z
        prob += z <= pulp.lpSum(vars_)
        lots[lot].setdefault("_z", []).append(z)
        if lots[lot].get("max_share") is not None:
            prob += pulp.LpAffineExpression(terms) <= float(Decimal(lots[lot]["max_share"])) * lot_total[lot]
    for lot in lots.values():
        prob += pulp.lpSum(lot.get("_z", [])) >= lot.get("min_winners", 1)
        lot.pop("_z", None)
    return prob, x


def solve(problem: dict, time_limit: float = 60.0, gap: float = 1e-4) -> dict:
    """Build and solve; returns build/solve seconds, status, objective, bound and relative gap."""
    t0 = time.perf_counter()
    prob, _ = build(problem)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="plain-cbc-") as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        solver = pulp.COIN_CMD(path=pulp.PULP_CBC_CMD.pulp_cbc_path, msg=False, timeLimit=time_limit,
                               gapRel=gap, logPath=log_path)
        solver.tmpDir = tmp
        prob.solve(solver)
        t2 = time.perf_counter()
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            log = fh.read()
    objective = pulp.value(prob.objective) if prob.sol_status in (1, 2) else None
    bound = None
    for line in log.splitlines():
        if "best possible" in line:
            try:
                bound = float(line.split("best possible")[1].split(")")[0].strip(" ,"))
            except ValueError:
                pass
        if line.startswith("Lower bound:"):
            bound = float(line.split(":")[1])
    status = {1: "optimal", 2: "feasible"}.get(prob.sol_status, "no_solution")
    if status == "optimal" and bound is None:
        bound = objective
    rel = (objective - bound) / abs(objective) if objective and bound is not None else None
    return {"build": t1 - t0, "solve": t2 - t1, "status": status, "objective": objective, "bound": bound,
            "gap": rel}
