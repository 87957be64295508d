"""Lot decomposition for large problems: column generation over blocks of lots, coupled by capacity.

Why: a national problem is ~100 nearly independent lots. Each lot's own integrality gap (single-
source units against ``max_share``, tier thresholds) is small, but a branch-and-bound over the
whole model has to close all of them at once and its tree grows like their product. Solving lots
apart is fast; only supplier capacity (and rules that tie a supplier's lots together) couples them.

Blocks: lots joined by a supplier's fixed cost, ``max_lots`` or a bundle form one block (those
rules stay exact inside the block's model). Capacity is the only constraint between blocks.

Algorithm (Dantzig-Wolfe, with exact block MIPs as pricing):

1. Each block's MIP (its capacity rows kept, they are valid for it) at capacity prices 0. If the
   union of the block optima respects every capacity, it is optimal: done.
2. Else a master LP chooses a convex mix of block columns under the capacities shared between
   blocks (an expensive slack keeps it feasible); its capacity duals ``lambda`` price the blocks
   again (cost + lambda x capacity use); new columns enter. The Lagrangian bound
   ``sum_B bound_B(lambda) - sum_s lambda_s C_s`` is valid for any lambda >= 0; the best one is kept.
3. The award: blocks the master LP takes whole keep that column; the few it mixes are re-solved
   within the capacity the others leave, one by one (a feasible start) and then together (node
   limit, not time, so the result is reproducible). A master MIP over all columns is the fallback.

Deterministic: the path depends only on solver results (no clock) unless a time limit stops a
sub-solve, which is then reported (the run cannot end ``optimal``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

import pulp

from solver.award import backends
from solver.award.check import excess, violations
from solver.award.extract import Award, assemble, json_quantity
from solver.award.guard import solve_exact
from solver.award.model import Model, build_model, set_start
from solver.award.prepare import Prepared, prepare

MAX_ROUNDS = 40
MIN_VARIABLES = 2000      # "auto" decomposes models with at least this many share variables
REPAIR_NODES = 500       # node limit of the joint repair (a node limit keeps runs reproducible)


@dataclass
class Column:
    awards: list[Award]          # global indices
    cost: Decimal                # true cost of the block's award (its fixed costs and discounts included)
    use: dict[int, float]        # coupled supplier (global) -> capacity used
    key: tuple


@dataclass
class Block:
    lots: list[int]
    prep: Prepared
    model: Model
    bid_map: list[int]
    unit_map: list[int]
    sup_map: list[int]
    coupled: list[int] = field(default_factory=list)    # global coupled suppliers bidding here
    columns: list[Column] = field(default_factory=list)
    bound0: float | None = None                          # lower bound at zero prices
    priced_at: tuple | None = None
    bound: float | None = None


@dataclass
class Outcome:
    status: str                  # optimal | feasible | infeasible | none (could not decide)
    awards: list[Award] = field(default_factory=list)
    objective: Decimal | None = None
    bound: Decimal | None = None
    seconds: float = 0.0
    build_seconds: float = 0.0
    log: list[str] = field(default_factory=list)
    version: str = ""
    complete: bool = True


def blocks_of(prep: Prepared, relax: frozenset[str] = frozenset()) -> list[list[int]]:
    """Lots grouped by the rules that tie one supplier's lots together (not capacity)."""
    parent = list(range(len(prep.lots)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def join(lots) -> None:
        lots = list(lots)
        for other in lots[1:]:
            ra, rb = find(lots[0]), find(other)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

    for s in prep.suppliers:
        tied = s.fixed > 0 or (s.max_lots is not None and s.max_lots < len(s.lots) and "max_lots" not in relax)
        if tied:
            join(s.lots)
    for g in prep.bundles:
        if g.discount > 0:
            join(g.lots)
    groups: dict[int, list[int]] = {}
    for lot in range(len(prep.lots)):
        groups.setdefault(find(lot), []).append(lot)
    return [groups[k] for k in sorted(groups)]


def share_variables(prep: Prepared) -> int:
    return sum(len(b.units) * len(b.levels) for b in prep.bids)


def _sub_document(doc: dict, lot_ids: set[str]) -> dict:
    bids = [b for b in doc["bids"] if b["lot"] in lot_ids]
    sups = {b["supplier"] for b in bids}
    return {
        "schema": doc["schema"],
        "suppliers": [s for s in doc["suppliers"] if s["id"] in sups],
        "lots": [lot for lot in doc["lots"] if lot["id"] in lot_ids],
        "demand": [d for d in doc["demand"] if d["lot"] in lot_ids],
        "bids": bids,
        "bundles": [g for g in doc.get("bundles", []) or [] if g["supplier"] in sups and set(g["lots"]) <= lot_ids],
    }


def decompose(prep: Prepared, *, backend: str, gap: float, threads: int, time_limit: float | None,
              relax: frozenset[str], min_win_quantity: float, start: dict[tuple[int, int], float] | None,
              on_progress=None) -> Outcome:
    t0 = time.perf_counter()
    out = Outcome("none")
    deadline = None if time_limit is None else t0 + time_limit
    sub_gap = gap / 5.0

    def remaining(share: float = 1.0) -> float | None:
        if deadline is None:
            return None
        return max(1.0, (deadline - time.perf_counter()) * share)

    # -- blocks and their models ------------------------------------------------------------------
    bid_ix = {b.id: b.index for b in prep.bids}
    unit_ix = {u.id: u.index for u in prep.units}
    sup_ix = {s.id: s.index for s in prep.suppliers}
    blocks: list[Block] = []
    for lots in blocks_of(prep, relax):
        doc = _sub_document(prep.doc, {prep.lots[i].id for i in lots})
        sp = prepare(doc)
        model = build_model(sp, relax=relax, min_win_quantity=min_win_quantity)
        blocks.append(Block(lots, sp, model, [bid_ix[b.id] for b in sp.bids], [unit_ix[u.id] for u in sp.units],
                            [sup_ix[s.id] for s in sp.suppliers]))
    out.build_seconds = time.perf_counter() - t0
    cap_on = "capacity" not in relax
    in_blocks: dict[int, int] = {}
    for blk in blocks:
        for s in blk.sup_map:
            in_blocks[s] = in_blocks.get(s, 0) + 1
    coupled = sorted(s for s, n in in_blocks.items() if n > 1 and cap_on and prep.suppliers[s].capacity is not None)
    cset = set(coupled)
    for blk in blocks:
        blk.coupled = [s for s in blk.sup_map if s in cset]
    out.log.append(f"decompose: {len(blocks)} blocks, {len(coupled)} capacities shared between blocks")

    def column_from(blk: Block, awards_local: list[Award]) -> Column:
        awards = [Award(blk.bid_map[a.bid], blk.unit_map[a.unit], a.quantity, a.raw) for a in awards_local]
        _, _, _, cost = assemble(blk.prep, awards_local)
        use: dict[int, float] = {}
        for a in awards:
            bid = prep.bids[a.bid]
            if bid.supplier in cset:
                use[bid.supplier] = use.get(bid.supplier, 0.0) + bid.cap_use * float(a.quantity)
        key = tuple(sorted((a.bid, a.unit, str(a.quantity)) for a in awards))
        return Column(awards, cost, use, key)

    def add_column(blk: Block, col: Column) -> bool:
        if any(c.key == col.key for c in blk.columns):
            return False
        blk.columns.append(col)
        return True

    def price(blk: Block, lam: dict[int, float]) -> Column | None:
        """Solve the block at capacity prices ``lam``; sets ``blk.bound``; None if no answer."""
        local = {i: lam.get(g, 0.0) for i, g in enumerate(blk.sup_map)}
        blk.model.set_prices(local)
        res, awards_local, secs = solve_exact(
            blk.prep, blk.model,
            lambda: backends.run(blk.model.prob, backend=backend, time_limit=remaining(0.5), gap=sub_gap,
                                 threads=threads, warm_start=bool(blk.columns), scale=blk.model.obj_scale,
                                 label="block"),
            log=out.log)
        out.seconds += secs
        out.version = res.version
        if res.status == "infeasible":
            raise _Infeasible()
        if res.status not in ("optimal", "feasible"):
            out.complete = False
            blk.bound = None
            return None
        if res.status != "optimal":
            out.complete = False   # stopped by the time limit: not reproducible
        blk.bound = (res.bound if res.bound is not None else res.objective) / blk.model.obj_scale
        return column_from(blk, awards_local)

    def lagrangian(lam: dict[int, float]) -> float | None:
        if any(b.bound is None for b in blocks):
            return None
        return sum(b.bound for b in blocks) - sum(lam.get(s, 0.0) * prep.suppliers[s].capacity for s in coupled)

    try:
        # seed columns from the warm start, where it is a valid award of the block
        if start:
            for blk in blocks:
                local_ix = {g: i for i, g in enumerate(blk.bid_map)}
                local_u = {g: i for i, g in enumerate(blk.unit_map)}
                vols = {(local_ix[b], local_u[u]): Decimal(repr(q)) for (b, u), q in start.items()
                        if b in local_ix and u in local_u and q > 0}
                if vols and not violations(blk.prep, vols):
                    add_column(blk, column_from(blk, [Award(b, u, q, json_quantity(q)) for (b, u), q in vols.items()]))
        # 1. every block at zero prices
        for blk in blocks:
            col = price(blk, {})
            if col is None:
                out.log.append("decompose: a block ended without a solution")
                return out
            blk.bound0, blk.priced_at = blk.bound, ()
            add_column(blk, col)
            blk.columns.insert(0, blk.columns.pop(blk.columns.index(next(c for c in blk.columns if c.key == col.key))))
        best_lb = lagrangian({})
        first = [b.columns[0] for b in blocks]
        if all(sum(c.use.get(s, 0.0) for c in first) <= prep.suppliers[s].capacity * (1 + 1e-12) + 1e-9
               for s in coupled):
            done = _finish(out, prep, first, best_lb, gap)
            if done.objective is not None:
                out.log.append("decompose: block optima respect every shared capacity")
                return done
        # 2. column generation
        lam: dict[int, float] = {}
        master_lp = mix = None
        for rnd in range(MAX_ROUNDS):
            if deadline is not None and time.perf_counter() > t0 + 0.7 * time_limit:
                out.complete = False
                out.log.append("decompose: column generation stopped by the time budget")
                break
            try:
                master_lp, lam, mu, mix = _master_lp(prep, blocks, coupled, backend, threads, remaining(), out)
            except _NoMaster:
                out.complete = False
                out.log.append("decompose: the master LP ended without a solution")
                break
            new = 0
            for i, blk in enumerate(blocks):
                key = tuple(round(lam.get(s, 0.0), 15) for s in blk.coupled)
                if key == blk.priced_at:
                    continue
                if not any(lam.get(s, 0.0) > 0 for s in blk.coupled):
                    blk.bound, blk.priced_at = blk.bound0, key
                    continue
                col = price(blk, lam)
                blk.priced_at = key
                if col is None:
                    continue
                reduced = float(col.cost) + sum(lam.get(s, 0.0) * u for s, u in col.use.items()) - mu[i]
                if reduced < -1e-9 * max(1.0, abs(mu[i])) and add_column(blk, col):
                    new += 1
            lb = lagrangian(lam)
            if lb is not None and (best_lb is None or lb > best_lb):
                best_lb = lb
            out.log.append(f"decompose: round {rnd + 1} ({time.perf_counter() - t0:.1f} s): master LP {master_lp:.6f}, "
                           f"Lagrangian bound {lb if lb is None else round(lb, 6)}, {new} new columns")
            if on_progress is not None:
                on_progress({"backend": backend, "run": "decompose", "event": "progress", "seconds":
                             time.perf_counter() - t0, "incumbent": None, "bound": best_lb, "nodes": rnd + 1})
            if new == 0 or (best_lb is not None and master_lp - best_lb <= 0.01 * gap * abs(master_lp)):
                break
        # 3. one column per block: the master MIP, and the blocks the master LP left fractional
        #    solved together as one model within the capacity the other blocks leave
        chosen = _master_mip(prep, blocks, coupled, backend, threads, remaining(0.5), max(gap / 4, 1e-9), out)
        best = _finish(Outcome("none"), prep, chosen, best_lb, gap) if chosen is not None else None
        if best is not None:
            out.log.extend(best.log)
        out.log.append(f"decompose: master MIP {best.objective if best else None} ({time.perf_counter() - t0:.1f} s)")
        if mix is not None:
            mixed = _repair(prep, blocks, mix, backend, threads, remaining(), gap, relax, min_win_quantity, out)
            if mixed is not None:
                cand = _finish(Outcome("none"), prep, mixed, best_lb, gap)
                out.log.append(f"decompose: fractional blocks re-solved: {cand.objective} "
                               f"({time.perf_counter() - t0:.1f} s)")
                if cand.objective is not None and (best is None or best.objective is None
                                                   or cand.objective < best.objective):
                    best = cand
        if best is None or best.objective is None:
            out.log.append("decompose: no combination of block columns respects the capacities")
            return out
        out.awards, out.objective, out.bound = best.awards, best.objective, best.bound
        rel = (float((out.objective - out.bound) / abs(out.objective))
               if out.bound is not None and out.objective else 0.0)
        out.status = "optimal" if out.complete and out.bound is not None and rel <= gap else "feasible"
        return out
    except _Infeasible:
        out.status = "infeasible"
        out.log.append("decompose: a block is infeasible on its own")
        return out


class _Infeasible(Exception):
    pass


class _NoMaster(Exception):
    pass


def _residual_document(prep: Prepared, lots: set[str], used: dict[int, float]) -> dict:
    """The sub-problem of ``lots`` with each supplier's capacity less what ``used`` takes elsewhere."""
    doc = _sub_document(prep.doc, lots)
    by_id = {x.id: x.index for x in prep.suppliers}
    rows = []
    for srow in doc["suppliers"]:
        s = by_id[srow["id"]]
        if s in used and srow.get("capacity") is not None:
            srow = dict(srow, capacity=max(0.0, srow["capacity"] - used[s]))
        rows.append(srow)
    doc["suppliers"] = rows
    return doc


def _solve_document(prep, doc, backend, threads, time_limit, gap, relax, min_win_quantity, out, label,
                    start: list[Award] | None = None, node_limit: int | None = None):
    """Solve a sub-problem as one model; its award in global indices (None without one)."""
    sp = prepare(doc)
    model = build_model(sp, relax=relax, min_win_quantity=min_win_quantity)
    bid_ix = {b.id: b.index for b in prep.bids}
    unit_ix = {u.id: u.index for u in prep.units}
    if start:
        local_b = {b.id: b.index for b in sp.bids}
        local_u = {u.id: u.index for u in sp.units}
        set_start(sp, model, {(local_b[prep.bids[a.bid].id], local_u[prep.units[a.unit].id]): float(a.quantity)
                              for a in start})
    res, local, secs = solve_exact(
        sp, model, lambda: backends.run(model.prob, backend=backend, time_limit=time_limit, gap=gap,
                                        threads=threads, warm_start=bool(start), scale=model.obj_scale,
                                        label=label, node_limit=node_limit),
        log=out.log)
    out.seconds += secs
    if res.status not in ("optimal", "feasible"):
        if res.stopped == "time":
            out.complete = False
        return None, res.status
    if res.status != "optimal" and res.stopped != "nodes":
        out.complete = False
    return [Award(bid_ix[sp.bids[a.bid].id], unit_ix[sp.units[a.unit].id], a.quantity, a.raw) for a in local], \
        res.status


def _repair(prep, blocks, mix, backend, threads, time_limit, gap, relax, min_win_quantity, out) -> list[Column] | None:
    """Keep the blocks the master LP takes whole; solve the fractional ones within the capacity left.

    First one fractional block after the other (each within what the previous ones left: quick, and a
    feasible start), then all of them together as one model from that start.
    """
    t0 = time.perf_counter()
    fixed: dict[int, Column] = {}
    loose: list[int] = []
    for i, (blk, vals) in enumerate(zip(blocks, mix)):
        j = max(range(len(vals)), key=lambda k: vals[k])
        if vals[j] >= 1 - 1e-6:
            fixed[i] = blk.columns[j]
        else:
            loose.append(i)
    if not loose:
        return None
    used: dict[int, float] = {}
    for col in fixed.values():
        for s, u in col.use.items():
            used[s] = used.get(s, 0.0) + u
    # the gap that keeps the whole award within a quarter of ``gap``: the loose part is a small share
    part = sum(float(blocks[i].columns[0].cost) for i in loose)
    whole = sum(float(b.columns[0].cost) for b in blocks)
    gap = min(0.01, gap / 4 * (whole / part if part > 0 else 1.0))

    def left() -> float | None:
        return None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - t0))

    seq: list[Award] | None = []
    seq_used = dict(used)
    for i in loose:
        lots = {prep.lots[lot].id for lot in blocks[i].lots}
        got, _ = _solve_document(prep, _residual_document(prep, lots, seq_used), backend, threads, left(), gap,
                                 relax, min_win_quantity, out, "repair", node_limit=REPAIR_NODES)
        if got is None:
            seq = None
            break
        seq += got
        for a in got:
            bid = prep.bids[a.bid]
            seq_used[bid.supplier] = seq_used.get(bid.supplier, 0.0) + bid.cap_use * float(a.quantity)
    lots = {prep.lots[lot].id for i in loose for lot in blocks[i].lots}
    joint, status = _solve_document(prep, _residual_document(prep, lots, used), backend, threads, left(), gap,
                                    relax, min_win_quantity, out, "repair", start=seq, node_limit=REPAIR_NODES)
    out.log.append(f"decompose: {len(loose)} fractional blocks ({len(lots)} lots) re-solved: one by one "
                   f"{'done' if seq is not None else 'failed'}, together {status}")
    awards = joint if joint is not None else seq
    if awards is None:
        return None
    if joint is not None and seq is not None:
        if assemble(prep, seq)[3] < assemble(prep, joint)[3]:
            awards = seq
    result = [fixed.get(i) for i in range(len(blocks))]
    for k, i in enumerate(loose):
        result[i] = Column(awards if k == 0 else [], Decimal(0), {}, ())
    return result


def _finish(out: Outcome, prep: Prepared, chosen: list[Column], bound: float | None, gap: float) -> Outcome:
    vols = {(a.bid, a.unit): a.quantity for c in chosen for a in c.awards}
    broken = violations(prep, vols)
    if broken:   # solver tolerance let the pick exceed a capacity: give up, the full model decides
        out.log.append(f"decompose: picked columns break {broken[:5]}")
        return out
    out.awards = [a for c in chosen for a in c.awards]
    _, _, _, objective = assemble(prep, out.awards)
    out.objective = objective
    out.bound = min(objective, Decimal(repr(bound))) if bound is not None else None
    rel = float((objective - out.bound) / abs(objective)) if out.bound is not None and objective else 0.0
    out.status = "optimal" if out.complete and out.bound is not None and rel <= gap else "feasible"
    return out


def _master_lp(prep, blocks, coupled, backend, threads, time_limit, out):
    """Convex mix of columns under the shared capacities; returns (objective, lambda, mu)."""
    prob = pulp.LpProblem("master", pulp.LpMinimize)
    scale = 1.0 / max(1.0, max(float(c.cost) for b in blocks for c in b.columns))
    penalty = 10.0 * sum(max(float(c.cost) for c in b.columns) for b in blocks) * scale + 1.0
    theta = []
    obj = []
    for i, blk in enumerate(blocks):
        vs = [prob.add_variable(f"t{i}_{j}", 0.0) for j in range(len(blk.columns))]
        theta.append(vs)
        obj += [(v, float(c.cost) * scale) for v, c in zip(vs, blk.columns)]
    slack = {s: prob.add_variable(f"s{s}", 0.0) for s in coupled}
    obj += [(v, penalty) for v in slack.values()]
    prob.setObjective(pulp.LpAffineExpression(obj))
    for i, vs in enumerate(theta):
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0) for v in vs]), pulp.LpConstraintEQ,
                                             f"c{i}", 1.0))
    for s in coupled:
        cap = prep.suppliers[s].capacity or 1.0
        terms = [(v, c.use.get(s, 0.0) / cap) for blk, vs in zip(blocks, theta) for v, c in zip(vs, blk.columns)
                 if c.use.get(s, 0.0)]
        terms.append((slack[s], -1.0))
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"k{s}", 1.0))
    res = backends.run(prob, backend=backend, time_limit=time_limit, gap=None, threads=threads, label="master")
    out.seconds += res.seconds
    if res.status != "optimal":
        raise _NoMaster(res.status)
    cons = {c.name: c for c in prob.constraints()}
    mu = [(cons[f"c{i}"].pi or 0.0) / scale for i in range(len(blocks))]
    lam = {}
    for s in coupled:
        d = -(cons[f"k{s}"].pi or 0.0) / scale / (prep.suppliers[s].capacity or 1.0)
        if d > 0:
            lam[s] = d
    values = [[v.varValue or 0.0 for v in vs] for vs in theta]
    return res.objective / scale, lam, mu, values


def _master_mip(prep, blocks, coupled, backend, threads, time_limit, gap, out) -> list[Column] | None:
    prob = pulp.LpProblem("pick", pulp.LpMinimize)
    scale = 1000.0 / max(1.0, sum(float(b.columns[0].cost) for b in blocks))
    theta = []
    obj = []
    for i, blk in enumerate(blocks):
        vs = [prob.add_variable(f"t{i}_{j}", cat=pulp.LpBinary) for j in range(len(blk.columns))]
        theta.append(vs)
        obj += [(v, float(c.cost) * scale) for v, c in zip(vs, blk.columns)]
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0) for v in vs]), pulp.LpConstraintEQ,
                                             f"c{i}", 1.0))
    prob.setObjective(pulp.LpAffineExpression(obj))
    for s in coupled:
        cap = prep.suppliers[s].capacity or 1.0
        terms = [(v, c.use.get(s, 0.0) / cap) for blk, vs in zip(blocks, theta) for v, c in zip(vs, blk.columns)
                 if c.use.get(s, 0.0)]
        if terms:
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"k{s}", 1.0))
    for _attempt in range(4):
        res = backends.run(prob, backend=backend, time_limit=time_limit, gap=gap, threads=threads, label="master")
        out.seconds += res.seconds
        if res.status not in ("optimal", "feasible"):
            return None
        if res.status != "optimal":
            out.complete = False
        picked = [blk.columns[max(range(len(vs)), key=lambda j: vs[j].varValue or 0.0)]
                  for blk, vs in zip(blocks, theta)]
        over = excess(prep, {(a.bid, a.unit): a.quantity for c in picked for a in c.awards})
        if not over:
            return picked
        for name, rel in over.items():   # a capacity exceeded within tolerance: lower its row
            con = prob.get_constraint_by_name(f"k{next(x.index for x in prep.suppliers if x.id == name.split(':')[1])}")
            if con is None:
                return None
            con.constant += 2 * rel + 1e-9
    return None
