"""The solve pipeline: prepared problem -> model -> backend -> polish -> extract / diagnose."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

import pulp

from solver import __version__ as _solver_version
from solver.award import backends
from solver.award.check import parse_awards
from solver.award.decompose import MIN_VARIABLES, blocks_of, decompose, share_variables
from solver.award.diagnose import diagnose
from solver.award.extract import Award, assemble, inconsistent, money, volumes_from_model
from solver.award.guard import solve_exact
from solver.award.model import build_model, fix_integers, set_start
from solver.award.options import Options, parse_options
from solver.award.prepare import Prepared, prepare
from solver.award.validate import validate_problem
from solver.canonical import problem_sha256

SOLUTION_SCHEMA = "jicai.award-solution/1"
LOG_LIMIT = 100_000


def _truncate(text: str) -> str:
    if len(text) <= LOG_LIMIT:
        return text
    head = LOG_LIMIT // 5
    return text[:head] + "\n[... log truncated ...]\n" + text[-(LOG_LIMIT - head):]


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _start_volumes(prep: Prepared, warm: object) -> dict[tuple[int, int], float]:
    vols = parse_awards(prep, warm, path="options.warm_start")
    return {k: float(v) for k, v in vols.items()}


@dataclass
class _Run:
    """Where a solve stands: the best award found, a lower bound, and what it took."""

    status: str = "no_solution"
    awards: list[Award] = field(default_factory=list)
    objective: Decimal | None = None
    bound: Decimal | None = None
    seconds: float = 0.0
    build_seconds: float = 0.0
    logs: list[str] = field(default_factory=list)
    version: str = "unknown"

    def offer(self, awards: list[Award], objective: Decimal) -> None:
        if self.objective is None or objective < self.objective:
            self.awards, self.objective = awards, objective

    def bound_at_least(self, value: Decimal | None) -> None:
        if value is not None and (self.bound is None or value > self.bound):
            self.bound = value


def _use_decomposition(prep: Prepared, opts: Options, relax: frozenset[str]) -> bool:
    if opts.strategy == "full":
        return False
    if len(blocks_of(prep, relax)) < 2:
        return False
    return opts.strategy == "decompose" or share_variables(prep) >= MIN_VARIABLES


def _full_model(prep: Prepared, opts: Options, run: _Run, relax: frozenset[str],
                start: dict[tuple[int, int], float] | None, time_limit: float | None) -> None:
    """Solve the whole model with the backend (warm-started from ``start``) and fold it into ``run``."""
    t0 = time.perf_counter()
    model = build_model(prep, relax=relax, min_win_quantity=opts.min_win_quantity)
    if start:
        set_start(prep, model, start)
    run.build_seconds += time.perf_counter() - t0
    seconds = 0.0

    def main() -> backends.RunResult:
        return backends.run(model.prob, backend=opts.backend, time_limit=time_limit, gap=opts.gap,
                            threads=opts.threads, warm_start=bool(start), on_progress=opts.on_progress,
                            scale=model.obj_scale, label="solve")

    def read() -> list[Award]:
        nonlocal seconds
        awards = volumes_from_model(prep, model)
        if inconsistent(prep, model, awards):
            # a share left at integrality tolerance: fix the integers, re-solve the LP, re-read
            saved = [(v, v.lowBound, v.upBound) for v in model.binaries]
            fix_integers(model)
            pol = backends.run(model.prob, backend=opts.backend, time_limit=time_limit, gap=None,
                               threads=opts.threads, scale=model.obj_scale, label="polish")
            seconds += pol.seconds
            run.logs.append("[polish]\n" + pol.log)
            if pol.status in ("optimal", "feasible"):
                awards = volumes_from_model(prep, model)
            for v, lo, hi in saved:
                v.lowBound, v.upBound = lo, hi
        return awards

    res, awards, spent = solve_exact(prep, model, main, read, run.logs)
    run.seconds += spent + seconds
    run.version = res.version
    run.logs.append(res.log)
    if res.status in ("optimal", "feasible"):
        objective = assemble(prep, awards)[3]
        run.offer(awards, objective)
        if res.bound is not None:
            run.bound_at_least(_decimal(res.bound / model.obj_scale))
        elif res.status == "optimal":
            run.bound_at_least(objective)
        run.status = "optimal" if res.status == "optimal" else "feasible"
    elif res.status == "infeasible" and run.objective is None:
        run.status = "infeasible"
    else:
        if res.bound is not None:
            run.bound_at_least(_decimal(res.bound / model.obj_scale))
        if run.objective is not None:
            run.status = "feasible"


def solve_prepared(prep: Prepared, opts: Options, *, sha: str = "", relax: frozenset[str] = frozenset(),
                   start: dict[tuple[int, int], float] | None = None) -> tuple[dict, list[Award]]:
    """Solve an already validated and prepared problem; returns the solution and its awards."""
    t0 = time.perf_counter()
    if start is None and opts.warm_start is not None:
        start = _start_volumes(prep, opts.warm_start)
    run = _Run()

    if prep.uncovered:
        run.status = "infeasible"
    elif _use_decomposition(prep, opts, relax):
        dec = decompose(prep, backend=opts.backend, gap=opts.gap, threads=opts.threads, time_limit=opts.time_limit,
                        relax=relax, min_win_quantity=opts.min_win_quantity, start=start,
                        on_progress=opts.on_progress)
        run.seconds += dec.seconds
        run.build_seconds += dec.build_seconds
        run.logs.append("\n".join(dec.log))
        run.version = dec.version or run.version
        if dec.status == "infeasible":
            run.status = "infeasible"
        else:
            if dec.objective is not None:
                run.offer(dec.awards, dec.objective)
                run.bound_at_least(dec.bound)
                run.status = dec.status
                if opts.on_progress is not None:
                    opts.on_progress({"backend": opts.backend, "run": "decompose", "event": "solution",
                                      "seconds": time.perf_counter() - t0, "incumbent": float(dec.objective),
                                      "bound": None if dec.bound is None else float(dec.bound), "nodes": None})
            left = None if opts.time_limit is None else opts.time_limit - (time.perf_counter() - t0)
            if run.status != "optimal" and (left is None or left > 1.0):
                # not proven within the gap: the whole model, from the decomposition's award
                warm = {(a.bid, a.unit): float(a.quantity) for a in run.awards} or start
                _full_model(prep, opts, run, relax, warm, left)
    else:
        _full_model(prep, opts, run, relax, start, opts.time_limit)
    return _solution(prep, opts, run, sha), run.awards


def _rel_gap(objective: Decimal, bound: Decimal) -> float:
    return float((objective - bound) / abs(objective)) if objective else 0.0


def _solution(prep: Prepared, opts: Options, run: _Run, sha: str) -> dict:
    solution: dict = {
        "schema": SOLUTION_SCHEMA, "status": run.status, "objective": None, "bound": None, "gap": None,
        "backend": opts.backend, "solve_seconds": 0.0, "problem_sha256": sha,
        "awards": [], "discounts": [], "fixed_costs": [], "diagnosis": None,
    }
    if run.status in ("optimal", "feasible") and run.objective is not None:
        lines, discounts, fixed, objective = assemble(prep, run.awards)
        bound = objective if run.bound is None else min(objective, run.bound)
        solution.update(awards=lines, discounts=discounts, fixed_costs=fixed, objective=str(objective),
                        bound=money(bound), gap=round(max(_rel_gap(objective, bound), 0.0), 12))
    elif run.bound is not None:
        solution["bound"] = money(run.bound)
    if run.status == "infeasible":
        diag = diagnose(prep, backend=opts.backend, time_limit=opts.time_limit, threads=opts.threads,
                        min_win_quantity=opts.min_win_quantity, on_progress=opts.on_progress)
        run.seconds += diag.seconds
        run.logs.append("\n".join(diag.log))
        solution["diagnosis"] = diag.names
    solution["solve_seconds"] = round(run.seconds, 3)
    solution["build_seconds"] = round(run.build_seconds, 3)
    solution["solver_version"] = f"jicai solver {_solver_version} (award/1); PuLP {pulp.__version__}; {run.version}"
    solution["log"] = _truncate("\n".join(x for x in run.logs if x))
    return solution


def solve(problem: dict, options: dict | None = None) -> dict:
    """Solve a ``jicai.award-problem/1`` document; return the ``jicai.award-solution/1`` dict.

    Raises :class:`~solver.errors.ProblemError` for invalid input or options (nothing solved);
    an infeasible problem is a solution with ``status`` ``infeasible`` and a ``diagnosis``.
    """
    opts = parse_options(options)
    validate_problem(problem)
    prep = prepare(problem)
    solution, _ = solve_prepared(prep, opts, sha=problem_sha256(problem))
    return solution


