"""The award MILP in PuLP.

Variables (all named from input positions, never from ids):

* ``x{b}_{u}_{k}`` in [0, 1]: share of demand unit ``u`` awarded to bid ``b`` at price level ``k``
  (level 0 = ``unit_price``, level k = the k-th tier). Binary when the unit is single-source, so
  single-sourcing is integrality, not a row (``single_source:D`` only exists as a row in the
  feasibility model used for diagnosis, where it is an explicit selector constraint).
* ``t{b}_{k}`` binary: bid ``b`` is priced at level ``k`` (tiered bids only).
* ``z{s}_{l}`` binary: supplier ``s`` wins lot ``l`` (only where a rule needs it).
* ``y{s}`` binary: supplier ``s`` wins anything (pays its fixed cost).
* ``w{g}`` binary and ``d{g}`` >= 0: bundle ``g`` met, and its discount amount.

Formulation choices (what makes it tight):

* All-units tiers use the disaggregated multiple-choice form: one share variable per level and
  ``x[b,u,k] <= t[b,k]`` per unit, ``m_k t[b,k] <= V[b,k] <= min(U_b, m_{k+1}) t[b,k]``,
  ``sum_k t[b,k] <= z`` (or 1). The LP relaxation then cannot price a fraction of a unit at the
  cheapest tier without reaching the tier's quantity (a big-M price row can).
* Winner links are disaggregated (``x[b,u,k] <= z[s,l]``) and only built where a rule uses ``z``:
  ``min_winners`` implied by ``max_share`` and full awarding (``ceil(1/max_share)`` winners) is
  dropped, rows that can never bind (a cap above everything the supplier covers) are dropped, and
  shares that can never be positive (a single-source unit larger than the bid's volume bound) are
  not created.
* A supplier counts as winning a lot only with real volume: ``z[s,l] <= sum c_u x[b,u,k]`` with
  ``c_u = 1`` for single-source units and ``q_u / min(m, q_u)`` for split units (``m`` =
  ``min_win_quantity``, default 1 unit), so ``min_winners`` and bundles cannot be met by a
  winner without volume; the upper links make any volume count.
* Rows are normalised (right-hand side 1) and the objective is scaled; the returned figures are
  recomputed from the awards in ``extract.py``.

Every contract constraint is a group of rows under its contract name (``demand:D``,
``capacity:S``, ...); ``Model.groups`` maps each name to its internal row names.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pulp

from solver.award.prepare import Prepared, implied_winners

FAMILIES = ("demand", "single_source", "capacity", "max_quantity", "min_winners", "max_winners",
            "max_share", "max_lots")

_EPS = 1e-9


@dataclass
class Model:
    prob: pulp.LpProblem
    prep: Prepared
    x: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    t: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    z: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    used: dict[int, pulp.LpVariable] = field(default_factory=dict)
    w: dict[int, pulp.LpVariable] = field(default_factory=dict)
    disc: dict[int, pulp.LpVariable] = field(default_factory=dict)
    sel: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    slack: dict[str, list[pulp.LpVariable]] = field(default_factory=dict)
    levels: dict[int, list[int]] = field(default_factory=dict)   # bid -> active level numbers
    obj_scale: float = 1.0
    binaries: list[pulp.LpVariable] = field(default_factory=list)
    cost: dict[pulp.LpVariable, float] = field(default_factory=dict)   # objective terms, in currency
    use: dict[int, list[tuple[pulp.LpVariable, float]]] = field(default_factory=dict)  # supplier -> capacity use

    def set_prices(self, penalty: dict[int, float]) -> None:
        """Objective = cost + sum over suppliers of ``penalty[s]`` x capacity used (Lagrangian pricing)."""
        coef = dict(self.cost)
        for s, lam in penalty.items():
            if lam:
                for v, c in self.use.get(s, []):
                    coef[v] = coef.get(v, 0.0) + lam * c
        self.prob.setObjective(pulp.LpAffineExpression([(v, c * self.obj_scale) for v, c in coef.items()]))

    def share(self, b: int, u: int) -> float:
        """Solved share of unit ``u`` on bid ``b`` (all levels)."""
        return sum((self.x[b, u, k].varValue or 0.0) for k in self.levels.get(b, [0]) if (b, u, k) in self.x)


class _Builder:
    def __init__(self, prep: Prepared, *, relax: frozenset[str], costs: bool, explicit: bool,
                 keep: frozenset[str] | None, elastic: frozenset[str], min_win_q: float,
                 tie_break: bool) -> None:
        self.prep = prep
        self.relax = relax
        self.costs = costs
        self.explicit = explicit
        self.keep = keep
        self.elastic = elastic
        self.min_win_q = min_win_q
        self.tie_break = tie_break
        self.prob = pulp.LpProblem("award", pulp.LpMinimize)
        self.m = Model(self.prob, prep)
        self.rows = 0
        self.slack_terms: list[tuple[pulp.LpVariable, float]] = []
        self._nil: pulp.LpVariable | None = None

    # -- helpers --------------------------------------------------------------------------------
    def want(self, family: str, name: str) -> bool:
        return family not in self.relax and (self.keep is None or name in self.keep)

    def var(self, name: str, lo: float = 0.0, hi: float | None = None, binary: bool = False) -> pulp.LpVariable:
        if binary:
            v = self.prob.add_variable(name, cat=pulp.LpBinary)
            self.m.binaries.append(v)
        else:
            v = self.prob.add_variable(name, lowBound=lo, upBound=hi)
        return v

    def nil(self) -> pulp.LpVariable:
        """A variable fixed at 0, to keep rows that have no other term."""
        if self._nil is None:
            self._nil = self.var("nil", 0.0, 0.0)
        return self._nil

    def row(self, terms: list[tuple[pulp.LpVariable, float]], sense: int, rhs: float,
            name: str | None = None) -> None:
        """Add ``sum terms (sense) rhs``, normalised; under contract ``name`` if given."""
        norm = abs(rhs) if abs(rhs) > _EPS else max((abs(c) for _, c in terms), default=1.0) or 1.0
        terms = [(v, c / norm) for v, c in terms if c != 0]
        rhs = rhs / norm
        if name is not None and name in self.elastic:
            if sense in (pulp.LpConstraintGE, pulp.LpConstraintEQ):
                e = self.var(f"eu{self.rows}")
                terms.append((e, 1.0))
                self.m.slack.setdefault(name, []).append(e)
                self.slack_terms.append((e, 1.0))
            if sense in (pulp.LpConstraintLE, pulp.LpConstraintEQ):
                e = self.var(f"eo{self.rows}")
                terms.append((e, -1.0))
                self.m.slack.setdefault(name, []).append(e)
                self.slack_terms.append((e, 1.0))
        if not terms:
            terms = [(self.nil(), 1.0)]
        rname = f"r{self.rows}"
        self.rows += 1
        self.prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, rname, rhs))
        if name is not None:
            self.m.groups.setdefault(name, []).append(rname)

    # -- the model ------------------------------------------------------------------------------
    def build(self) -> Model:
        p, m = self.prep, self.m
        LE, GE, EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
        split_all = "single_source" in self.relax
        if self.explicit:
            split_all = True   # single-sourcing becomes the selector rows below

        # bid volume bounds under the active rules (tightening only in the optimisation model)
        upper: dict[int, float] = {}
        for bid in p.bids:
            ub = bid.cover
            if not self.explicit:
                if bid.max_q is not None and "max_quantity" not in self.relax:
                    ub = min(ub, bid.max_q)
                cap = p.suppliers[bid.supplier].capacity
                if cap is not None and bid.cap_use > 0 and "capacity" not in self.relax:
                    ub = min(ub, cap / bid.cap_use)
                share = p.lots[bid.lot].share
                if share is not None and "max_share" not in self.relax:
                    ub = min(ub, float(share) * p.lots[bid.lot].total)
            upper[bid.index] = max(ub, 0.0)

        # price levels: level k is usable only if its min_quantity can be reached
        hi: dict[tuple[int, int], float] = {}
        for bid in p.bids:
            if not self.costs:
                act = [0]
            else:
                act = [k for k, lv in enumerate(bid.levels) if lv.min_q <= upper[bid.index] * (1 + 1e-12) + _EPS]
            m.levels[bid.index] = act
            for j, k in enumerate(act):
                nxt = bid.levels[act[j + 1]].min_q if j + 1 < len(act) else float("inf")
                hi[bid.index, k] = min(upper[bid.index], nxt)

        # share variables
        binary_unit = {u.index: (u.single and not split_all) for u in p.units}
        unit_terms: dict[int, list[tuple[pulp.LpVariable, float]]] = {}
        for bid in p.bids:
            b = bid.index
            for u in bid.units:
                unit = p.units[u]
                if unit.q <= 0:
                    continue
                for k in m.levels[b]:
                    if binary_unit[u] and unit.q > hi[b, k] * (1 + 1e-9) + 1e-9:
                        continue   # a single-source unit larger than this level can hold
                    v = self.var(f"x{b}_{u}_{k}", 0.0, 1.0, binary=binary_unit[u])
                    m.x[b, u, k] = v
                    unit_terms.setdefault(u, []).append((v, 1.0))

        def bid_terms(b: int, scale_by_q: bool = True) -> list[tuple[pulp.LpVariable, float]]:
            out = []
            for u in p.bids[b].units:
                for k in m.levels[b]:
                    v = m.x.get((b, u, k))
                    if v is not None:
                        out.append((v, p.units[u].q if scale_by_q else 1.0))
            return out

        # demand:D (units nobody covers are the caller's: they make the problem infeasible)
        for unit in p.units:
            if unit.q <= 0 or not unit.bids:
                continue
            name = f"demand:{unit.id}"
            if self.want("demand", name):
                self.row(unit_terms.get(unit.index, []), EQ, 1.0, name)

        # single_source:D as explicit selectors (feasibility model only)
        if self.explicit:
            for unit in p.units:
                name = f"single_source:{unit.id}"
                if not unit.single or unit.q <= 0 or len(unit.bids) < 2 or not self.want("single_source", name):
                    continue
                sels = []
                for b in unit.bids:
                    a = self.var(f"a{b}_{unit.index}", binary=True)
                    m.sel[b, unit.index] = a
                    sels.append((a, 1.0))
                    terms = [(m.x[b, unit.index, k], 1.0) for k in m.levels[b] if (b, unit.index, k) in m.x]
                    if terms:
                        self.row(terms + [(a, -1.0)], LE, 0.0)
                self.row(sels, LE, 1.0, name)

        # capacity:S
        for s in p.suppliers:
            name = f"capacity:{s.id}"
            if s.capacity is None or not self.want("capacity", name):
                continue
            terms = []
            for lot in s.lots:
                for b in p.by_sup_lot[s.index, lot]:
                    cu = p.bids[b].cap_use
                    terms += [(v, c * cu) for v, c in bid_terms(b)]
            if sum(c for _, c in terms) <= s.capacity * (1 + 1e-12):
                continue   # can never bind
            self.row(terms, LE, s.capacity, name)

        # max_quantity:B
        for bid in p.bids:
            name = f"max_quantity:{bid.id}"
            if bid.max_q is None or bid.cover <= bid.max_q or not self.want("max_quantity", name):
                continue
            self.row(bid_terms(bid.index), LE, bid.max_q, name)

        # max_share:S:L
        for lot in p.lots:
            if lot.share is None:
                continue
            cap = float(lot.share) * lot.total
            for s in lot.suppliers:
                name = f"max_share:{p.suppliers[s].id}:{lot.id}"
                if p.sup_lot_cover(s, lot.index) <= cap * (1 + 1e-12) or not self.want("max_share", name):
                    continue
                terms = []
                for b in p.by_sup_lot[s, lot.index]:
                    terms += bid_terms(b)
                self.row(terms, LE, cap, name)

        # which rules need winner variables
        need_z: set[tuple[int, int]] = set()
        lower_link: set[tuple[int, int]] = set()
        min_rows: list[tuple[str, int, int]] = []
        max_rows: list[tuple[str, int, int]] = []
        lots_rows: list[tuple[str, int, int]] = []
        for lot in p.lots:
            name = f"min_winners:{lot.id}"
            floor = 0 if self.explicit else implied_winners(lot, "max_share" not in self.relax)
            if lot.min_winners > floor and lot.min_winners > 0 and self.want("min_winners", name):
                min_rows.append((name, lot.index, lot.min_winners))
                need_z.update((s, lot.index) for s in lot.suppliers)
                lower_link.update((s, lot.index) for s in lot.suppliers)
            name = f"max_winners:{lot.id}"
            if (lot.max_winners is not None and lot.max_winners < len(lot.suppliers)
                    and self.want("max_winners", name)):
                max_rows.append((name, lot.index, lot.max_winners))
                need_z.update((s, lot.index) for s in lot.suppliers)
        for s in p.suppliers:
            name = f"max_lots:{s.id}"
            if s.max_lots is not None and s.max_lots < len(s.lots) and self.want("max_lots", name):
                lots_rows.append((name, s.index, s.max_lots))
                need_z.update((s.index, lot) for lot in s.lots)
            if self.costs and s.fixed > 0:
                need_z.update((s.index, lot) for lot in s.lots)
        bundles = []
        if self.costs:
            for g in p.bundles:
                if g.discount <= 0 or any((g.supplier, lot) not in p.by_sup_lot for lot in g.lots):
                    continue   # never met, or worth nothing
                bundles.append(g)
                need_z.update((g.supplier, lot) for lot in g.lots)
                lower_link.update((g.supplier, lot) for lot in g.lots)

        # tier structure
        tiered = {b for b, act in m.levels.items() if len(act) > 1}
        for b in sorted(tiered):
            bid = p.bids[b]
            for k in m.levels[b]:
                t = self.var(f"t{b}_{k}", binary=True)
                m.t[b, k] = t
                vol = []
                for u in bid.units:
                    v = m.x.get((b, u, k))
                    if v is not None:
                        self.row([(v, 1.0), (t, -1.0)], LE, 0.0)
                        vol.append((v, p.units[u].q))
                mk = bid.levels[k].min_q
                if mk > 0:
                    self.row(vol + [(t, -mk)], GE, 0.0)
                if hi[b, k] < sum(c for _, c in vol) * (1 - 1e-12):
                    self.row(vol + [(t, -hi[b, k])], LE, 0.0)
            if (bid.supplier, bid.lot) not in need_z:
                self.row([(m.t[b, k], 1.0) for k in m.levels[b]], LE, 1.0)

        # winner variables and links
        for (s, lot) in sorted(need_z):
            z = self.var(f"z{s}_{lot}", binary=True)
            m.z[s, lot] = z
            terms_all = []
            for b in p.by_sup_lot[s, lot]:
                if b in tiered:
                    self.row([(m.t[b, k], 1.0) for k in m.levels[b]] + [(z, -1.0)], LE, 0.0)
                else:
                    for v, _ in bid_terms(b, scale_by_q=False):
                        self.row([(v, 1.0), (z, -1.0)], LE, 0.0)
                for u in p.bids[b].units:
                    unit = p.units[u]
                    if unit.q <= 0:
                        continue
                    c = 1.0 if binary_unit[u] else unit.q / min(self.min_win_q, unit.q)
                    for k in m.levels[b]:
                        v = m.x.get((b, u, k))
                        if v is not None:
                            terms_all.append((v, c))
            if not terms_all:
                z.upBound = 0
            elif (s, lot) in lower_link:
                self.row(terms_all + [(z, -1.0)], GE, 0.0)

        for name, lot, n in min_rows:
            self.row([(m.z[s, lot], 1.0) for s in p.lots[lot].suppliers], GE, float(n), name)
        for name, lot, n in max_rows:
            self.row([(m.z[s, lot], 1.0) for s in p.lots[lot].suppliers], LE, float(n), name)
        for name, s, n in lots_rows:
            self.row([(m.z[s, lot], 1.0) for lot in p.suppliers[s].lots], LE, float(n), name)

        if not self.costs:
            if self.slack_terms:
                self.prob.setObjective(pulp.LpAffineExpression(self.slack_terms))
            return m

        # objective: tier-priced volume + fixed costs - bundle discounts (+ tie-break)
        obj: dict[pulp.LpVariable, float] = {}
        cost_of_bid: dict[int, list[tuple[pulp.LpVariable, float]]] = {}
        for (b, u, k), v in m.x.items():
            c = float(p.bids[b].levels[k].price) * p.units[u].q
            obj[v] = c
            cost_of_bid.setdefault(b, []).append((v, c))
        for s in p.suppliers:
            if s.fixed > 0 and s.lots:
                y = self.var(f"y{s.index}", binary=True)
                m.used[s.index] = y
                for lot in s.lots:
                    self.row([(m.z[s.index, lot], 1.0), (y, -1.0)], LE, 0.0)
                obj[y] = float(s.fixed)
        for g in bundles:
            w = self.var(f"w{g.index}", binary=True)
            d = self.var(f"d{g.index}", 0.0)
            m.w[g.index], m.disc[g.index] = w, d
            for lot in g.lots:
                self.row([(w, 1.0), (m.z[g.supplier, lot], -1.0)], LE, 0.0)
            frac = float(g.discount)
            terms = []
            big_m = 0.0
            for lot in g.lots:
                for b in p.by_sup_lot[g.supplier, lot]:
                    terms += [(v, -frac * c) for v, c in cost_of_bid.get(b, [])]
                    big_m += float(p.bids[b].levels[0].price) * upper[b]
            self.row([(d, 1.0)] + terms, LE, 0.0)
            self.row([(d, 1.0), (w, -frac * big_m)], LE, 0.0)
            obj[d] = -1.0
        top = max((abs(c) for c in obj.values()), default=1.0) or 1.0
        m.obj_scale = 1000.0 / top
        if self.tie_break:
            ranks = sum(max(len(u.bids) - 1, 0) for u in p.units if u.q > 0)
            if ranks:
                tau = float(p.resolution) / (4.0 * ranks)
                for (b, u, k), v in m.x.items():
                    r = p.units[u].bids.index(b)
                    if r:
                        obj[v] += tau * r
        m.cost = obj
        for (b, u, k), v in m.x.items():
            bid = p.bids[b]
            if p.suppliers[bid.supplier].capacity is not None:
                m.use.setdefault(bid.supplier, []).append((v, bid.cap_use * p.units[u].q))
        self.prob.setObjective(pulp.LpAffineExpression([(v, c * m.obj_scale) for v, c in obj.items()]))
        return m


def build_model(prep: Prepared, *, relax: frozenset[str] = frozenset(), min_win_quantity: float = 1.0,
                tie_break: bool = True) -> Model:
    """The optimisation model (costs, tiers, bundles) with the families in ``relax`` left out."""
    return _Builder(prep, relax=relax, costs=True, explicit=False, keep=None, elastic=frozenset(),
                    min_win_q=min_win_quantity, tie_break=tie_break).build()


def build_feasibility(prep: Prepared, *, keep: frozenset[str] | None = None,
                      elastic: frozenset[str] = frozenset(), min_win_quantity: float = 1.0) -> Model:
    """The constraint system alone, every contract constraint an explicit named row group.

    Only groups named in ``keep`` are built (all when ``None``); groups in ``elastic`` get
    non-negative slacks and the objective is their sum.
    """
    return _Builder(prep, relax=frozenset(), costs=False, explicit=True, keep=keep, elastic=elastic,
                    min_win_q=min_win_quantity, tie_break=False).build()


def set_start(prep: Prepared, model: Model, volumes: dict[tuple[int, int], float]) -> None:
    """Set start values on ``model`` for the award ``volumes`` ((bid, unit) -> quantity)."""
    p, m = prep, model
    for v in m.prob.variables():
        v.setInitialValue(0.0)
    totals: dict[int, float] = {}
    for (b, u), q in volumes.items():
        totals[b] = totals.get(b, 0.0) + q
    wins: set[tuple[int, int]] = set()
    for (b, u), q in volumes.items():
        if q <= 0:
            continue
        bid = p.bids[b]
        act = m.levels[b]
        level = max((k for k in act if bid.levels[k].min_q <= totals[b] + 1e-9), default=act[0])
        var = m.x.get((b, u, level))
        if var is None:   # this level cannot hold the unit: fall back to any level that can
            cands = [k for k in act if (b, u, k) in m.x]
            if not cands:
                continue
            level = cands[0]
            var = m.x[b, u, level]
        var.setInitialValue(min(1.0, q / p.units[u].q))
        if (b, level) in m.t:
            m.t[b, level].setInitialValue(1.0)
        if (b, u) in m.sel:
            m.sel[b, u].setInitialValue(1.0)
        wins.add((bid.supplier, bid.lot))
    for key, z in m.z.items():
        z.setInitialValue(1.0 if key in wins else 0.0)
    winners = {s for s, _ in wins}
    for s, y in m.used.items():
        y.setInitialValue(1.0 if s in winners else 0.0)
    for g_index, w in m.w.items():
        g = p.bundles[g_index]
        met = all((g.supplier, lot) in wins for lot in g.lots)
        w.setInitialValue(1.0 if met else 0.0)
        amount = 0.0
        if met:
            for (b, u, k), v in m.x.items():
                bid = p.bids[b]
                if bid.supplier == g.supplier and bid.lot in g.lots and v.varValue:
                    amount += float(bid.levels[k].price) * p.units[u].q * v.varValue
        m.disc[g_index].setInitialValue(float(g.discount) * amount)


def fix_integers(model: Model) -> None:
    """Fix every binary at its rounded solved value (for the polishing LP)."""
    for v in model.binaries:
        val = round(v.varValue or 0.0)
        v.lowBound = v.upBound = val
        v.varValue = float(val)



def tighten(model: Model, name: str, relative: float) -> bool:
    """Lower the right-hand side of the (normalised, ``<=``) rows of contract constraint ``name``.

    Used when a solution, once its shares are rounded to the award, exceeds a limit that the solver
    accepted within its feasibility or integrality tolerance. Returns False if there is no such row.
    """
    rows = model.groups.get(name, [])
    done = False
    for r in rows:
        con = model.prob.get_constraint_by_name(r)
        if con is not None and con.sense == pulp.LpConstraintLE:
            con.constant += relative * max(1.0, abs(con.constant))
            done = True
    return done
