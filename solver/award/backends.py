"""Solver backends behind one call, :func:`run`.

* ``cbc`` (default): the CBC binary bundled with PuLP, driven by ``pulp.COIN_CMD`` pointed at
  ``PULP_CBC_CMD.pulp_cbc_path`` (the same binary ``PULP_CBC_CMD`` runs, without its PuLP-4
  deprecation warning). Options: ``-sec`` (wall clock), ``-ratio`` (relative gap), ``-threads``
  (``100 + n`` for n > 1: CBC's repeatable parallel mode), ``-mips`` for a warm start. Its log
  goes to a file that is tailed during the run for progress, then parsed for the best bound.
* ``highs``: HiGHS in-process through highspy, as a subclass of ``pulp.HiGHS`` that loads the
  matrix in one call (``addCols``/``addRows`` with arrays), passes a warm start with
  ``setSolution``, captures the log with the logging callback and reports progress from the
  MIP callbacks (improving solution, periodic MIP log).

Both return a :class:`RunResult` in the model's own (scaled) objective units; nothing is printed.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable

import pulp

BACKENDS = ("cbc", "highs")

Progress = Callable[[dict], None]


@dataclass
class RunResult:
    status: str                 # optimal | feasible | infeasible | no_solution
    objective: float | None     # model units
    bound: float | None         # model units
    seconds: float
    log: str
    version: str
    stopped: str | None = None  # "time" or "nodes" when a limit ended the search


class BackendError(RuntimeError):
    """The solver could not be run or returned something unusable."""


def run(prob: pulp.LpProblem, *, backend: str, time_limit: float | None, gap: float | None,
        threads: int | None, warm_start: bool = False, on_progress: Progress | None = None,
        scale: float = 1.0, label: str = "solve", node_limit: int | None = None) -> RunResult:
    """Solve ``prob`` in place (variable values are set on it) and report how it ended.

    ``warm_start``: use the variables' current values as a starting solution. ``scale``: the
    model's objective scale, so progress reports are in currency. ``label`` names the run in
    progress reports (``solve``, ``polish``, ``diagnose``...). ``node_limit``: stop after that many
    branch-and-bound nodes (a limit that, unlike time, keeps the result reproducible).
    """
    if backend == "cbc":
        return _run_cbc(prob, time_limit, gap, threads, warm_start, on_progress, scale, label, node_limit)
    if backend == "highs":
        return _run_highs(prob, time_limit, gap, threads, warm_start, on_progress, scale, label, node_limit)
    raise BackendError(f"unknown backend {backend!r}")


# -- CBC --------------------------------------------------------------------------------------------

def cbc_path() -> str:
    path = getattr(pulp.PULP_CBC_CMD, "pulp_cbc_path", None)
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    found = shutil.which("cbc")
    if not found:
        raise BackendError("no CBC binary: neither PuLP's bundled cbc nor cbc on PATH")
    return found


_NUM = r"(-?[\d.]+(?:e[+-]?\d+)?|-?inf)"
_CBC_SOLUTION = re.compile(r"Cbc00(?:04|12)I Integer solution of " + _NUM + r" found .*\(([\d.]+) seconds\)")
_CBC_NODES = re.compile(r"Cbc0010I After (\d+) nodes, \d+ on tree, " + _NUM + r" best solution, best possible "
                        + _NUM + r" \(([\d.]+) seconds\)")
_CBC_PARTIAL = re.compile(r"best possible " + _NUM)
_CBC_EXIT_GAP = re.compile(r"Cbc0011I Exiting as integer gap of " + _NUM)
_CBC_LOWER = re.compile(r"^Lower bound:\s+" + _NUM, re.M)
_CBC_OBJ = re.compile(r"^Objective value:\s+" + _NUM, re.M)
_CBC_VERSION = re.compile(r"^Version:\s*(\S+)", re.M)


def _num(text: str) -> float:
    return float(text)


class _Tail(threading.Thread):
    """Follow CBC's log file and turn its progress lines into ``on_progress`` reports."""

    def __init__(self, path: str, emit: Callable[[str], None]):
        super().__init__(daemon=True)
        self.path, self.emit = path, emit
        self.done = threading.Event()

    def run(self) -> None:
        pos = 0
        buf = ""
        while True:
            finished = self.done.is_set()
            try:
                with open(self.path, encoding="utf-8", errors="replace") as fh:
                    fh.seek(pos)
                    chunk = fh.read()
                    pos = fh.tell()
            except OSError:
                chunk = ""
            buf += chunk
            *lines, buf = buf.split("\n")
            for line in lines:
                self.emit(line)
            if finished:
                if buf:
                    self.emit(buf)
                return
            self.done.wait(0.2)


def _run_cbc(prob, time_limit, gap, threads, warm_start, on_progress, scale, label, node_limit) -> RunResult:
    path = cbc_path()
    errors: list[BaseException] = []

    def emit(line: str) -> None:
        if on_progress is None or errors:
            return
        report = None
        m = _CBC_SOLUTION.search(line)
        if m:
            report = {"event": "solution", "incumbent": _num(m.group(1)) / scale, "bound": None,
                      "seconds": float(m.group(2))}
        m = _CBC_NODES.search(line)
        if m:
            report = {"event": "progress", "nodes": int(m.group(1)), "incumbent": _num(m.group(2)) / scale,
                      "bound": _num(m.group(3)) / scale, "seconds": float(m.group(4))}
            if abs(report["incumbent"]) >= 1e49:
                report["incumbent"] = None
        if report is not None:
            report.update(backend="cbc", run=label)
            try:
                on_progress(report)
            except BaseException as exc:  # re-raised after the solve, never lost in the thread
                errors.append(exc)

    with tempfile.TemporaryDirectory(prefix="jicai-cbc-") as tmp:
        log_path = os.path.join(tmp, "cbc.log")
        open(log_path, "w").close()
        solver = pulp.COIN_CMD(
            path=path, msg=False, timeLimit=time_limit, gapRel=gap,
            threads=(100 + threads) if threads and threads > 1 else None,
            warmStart=warm_start, logPath=log_path, keepFiles=False, maxNodes=node_limit,
        )
        solver.tmpDir = tmp
        tail = _Tail(log_path, emit)
        tail.start()
        t0 = time.perf_counter()
        try:
            prob.solve(solver)
        except pulp.PulpSolverError as exc:
            raise BackendError(f"CBC failed: {exc}") from exc
        finally:
            seconds = time.perf_counter() - t0
            tail.done.set()
            tail.join()
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            log = fh.read()
    if errors:
        raise errors[0]

    st, sol = prob.status, prob.sol_status
    if st == pulp.LpStatusOptimal and sol == pulp.LpSolutionOptimal:
        status = "optimal"
    elif st == pulp.LpStatusOptimal:
        status = "feasible"
    elif st == pulp.LpStatusInfeasible:
        status = "infeasible"
    elif st == pulp.LpStatusNotSolved:
        status = "no_solution"
    else:
        raise BackendError(f"CBC ended with status {pulp.LpStatus.get(st, st)}")

    objective = bound = None
    if status in ("optimal", "feasible"):
        objective = pulp.value(prob.objective) if prob.objective is not None else 0.0
        m = _CBC_LOWER.search(log)
        if m:
            bound = _num(m.group(1))
        else:
            m_exit = _CBC_EXIT_GAP.findall(log)
            partial = _CBC_PARTIAL.findall(log)
            if status == "optimal" and m_exit:
                bound = objective - _num(m_exit[-1])
            elif status == "optimal":
                bound = objective
            elif partial:
                bound = _num(partial[-1])
        if bound is not None and objective is not None and bound > objective:
            bound = objective
    m = _CBC_VERSION.search(log)
    version = f"CBC {m.group(1) if m else 'unknown'}"
    stopped = "time" if "Exiting on maximum time" in log else "nodes" if "Exiting on maximum nodes" in log else None
    return RunResult(status, objective, bound, seconds, log, version, stopped)


# -- HiGHS --------------------------------------------------------------------------------------------

def _run_highs(prob, time_limit, gap, threads, warm_start, on_progress, scale, label, node_limit) -> RunResult:
    try:
        import highspy
        import numpy as np
    except ImportError as exc:  # pragma: no cover - highspy is a dependency
        raise BackendError(f"HiGHS backend unavailable: {exc}") from exc

    log: list[str] = []
    errors: list[BaseException] = []

    def report(kind: str, e) -> None:
        if on_progress is None or errors:
            return
        out = e.data_out
        inc = out.mip_primal_bound if kind == "progress" else out.objective_function_value
        rep = {"backend": "highs", "run": label, "event": kind, "seconds": float(out.running_time),
               "incumbent": None if abs(inc) >= 1e30 else inc / scale,
               "bound": None if abs(out.mip_dual_bound) >= 1e30 else out.mip_dual_bound / scale,
               "nodes": int(out.mip_node_count)}
        try:
            on_progress(rep)
        except BaseException as exc:
            errors.append(exc)
            e.interrupt()

    class _HiGHS(pulp.HiGHS):
        def actualSolve(self, lp):  # noqa: N802 - PuLP's name
            self.createAndConfigureSolver(lp)
            h = lp.solverModel
            h.setOptionValue("output_flag", True)
            h.setOptionValue("log_to_console", False)
            h.cbLogging += lambda e: log.append(e.message)
            if on_progress is not None:
                h.cbMipImprovingSolution += lambda e: report("solution", e)
                h.cbMipLogging += lambda e: report("progress", e)
            cols = self.buildSolverModel(lp)
            if warm_start:
                vals = np.array([float(v.varValue or 0.0) for v in cols], dtype=np.float64)
                h.setSolution(len(cols), np.arange(len(cols), dtype=np.int32), vals)
            h.run()
            return cols

        def buildSolverModel(self, lp):  # noqa: N802 - PuLP's name
            h = lp.solverModel
            inf = highspy.kHighsInf
            cols = lp.variables()
            index = {id(v): i for i, v in enumerate(cols)}
            obj = lp.objective or {}
            cost = np.array([float(obj.get(v, 0.0)) for v in cols], dtype=np.float64)
            lo = np.array([-inf if v.lowBound is None else float(v.lowBound) for v in cols], dtype=np.float64)
            hi = np.array([inf if v.upBound is None else float(v.upBound) for v in cols], dtype=np.float64)
            h.addCols(len(cols), cost, lo, hi, 0, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32),
                      np.zeros(0, dtype=np.float64))
            ints = np.array([i for i, v in enumerate(cols) if v.cat == pulp.LpInteger], dtype=np.int32)
            if len(ints):
                h.changeColsIntegrality(len(ints), ints,
                                        np.array([highspy.HighsVarType.kInteger] * len(ints)))
            rlo, rhi, starts, idx, val = [], [], [], [], []
            for con in lp.constraints():
                starts.append(len(idx))
                for v, c in con.items():
                    if c != 0:
                        idx.append(index[id(v)])
                        val.append(c)
                lb, ub = con.getLb(), con.getUb()
                rlo.append(-inf if lb is None else lb)
                rhi.append(inf if ub is None else ub)
            if rlo:
                h.addRows(len(rlo), np.array(rlo, dtype=np.float64), np.array(rhi, dtype=np.float64), len(idx),
                          np.array(starts, dtype=np.int32), np.array(idx, dtype=np.int32),
                          np.array(val, dtype=np.float64))
            return cols

    extra = {"mip_max_nodes": int(node_limit)} if node_limit else {}
    solver = _HiGHS(mip=True, msg=False, gapRel=gap, timeLimit=time_limit,
                    threads=threads if threads and threads > 1 else None, **extra)
    t0 = time.perf_counter()
    cols = solver.actualSolve(prob)
    seconds = time.perf_counter() - t0
    h = prob.solverModel
    if errors:
        raise errors[0]
    ms = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    has_solution = int(info.primal_solution_status) == 2
    if ms in (S.kOptimal, S.kModelEmpty):   # empty: nothing to decide, trivially optimal
        status = "optimal"
    elif ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
        status = "infeasible"
    elif ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit, S.kSolutionLimit, S.kObjectiveBound,
                S.kObjectiveTarget, S.kUnknown):
        status = "feasible" if has_solution else "no_solution"
    else:
        raise BackendError(f"HiGHS ended with model status {h.modelStatusToString(ms)}")
    objective = bound = None
    if status in ("optimal", "feasible"):
        values = h.getSolution().col_value
        for v, val in zip(cols, values):
            v.varValue = val
        objective = float(info.objective_function_value) if ms != S.kModelEmpty else 0.0
        is_mip = any(v.cat == pulp.LpInteger for v in cols)
        bound = float(info.mip_dual_bound) if is_mip and ms != S.kModelEmpty else objective
        if abs(bound) >= 1e30:
            bound = None
        elif bound > objective:
            bound = objective
        if not is_mip:   # an LP: row duals, with PuLP's sign convention (as CBC reports them)
            for con, d in zip(prob.constraints(), h.getSolution().row_dual):
                con.pi = float(d)
        prob.assignStatus(pulp.LpStatusOptimal,
                          pulp.LpSolutionOptimal if status == "optimal" else pulp.LpSolutionIntegerFeasible)
    else:
        prob.assignStatus(pulp.LpStatusInfeasible if status == "infeasible" else pulp.LpStatusNotSolved)
    version = f"HiGHS {h.version()}"
    stopped = "time" if ms == S.kTimeLimit else "nodes" if ms == S.kSolutionLimit else None
    h.clear()
    return RunResult(status, objective, bound, seconds, "".join(log), version, stopped)
