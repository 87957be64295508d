"""Award optimiser benchmark: ``solver.award`` (CBC and HiGHS) against a plain PuLP model on CBC.

    .venv/bin/python bench/award/run.py [--sizes 10,30,100] [--seed 1] [--time-limit 60]

For each size it generates a national-scale problem (``generate.py``) and prints ``name: value unit``
lines: model build time, solve time, status, relative gap and objective for ``solver.award`` on CBC
and on HiGHS, then the same for the plain formulation on CBC with the same time limit, measured in
the same run, and the ratios. The gap is always reported: a time alone says nothing when a run
stops at its limit. ``gap_vs_best_bound`` measures every objective against the best lower bound
any of the three runs proved.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import generate  # noqa: E402
import plain  # noqa: E402

from solver.award import solve  # noqa: E402


def line(name: str, value, unit: str = "") -> None:
    if isinstance(value, float):
        value = f"{value:.6g}"
    print(f"{name}: {value} {unit}".rstrip(), flush=True)


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.5f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,30,100")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=60.0, dest="time_limit")
    ap.add_argument("--gap", type=float, default=1e-4)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    line("machine.cpus", os.cpu_count(), "cores")
    line("settings.time_limit", args.time_limit, "s")
    line("settings.target_gap", pct(args.gap), "%")
    for size in [int(x) for x in args.sizes.split(",")]:
        problem = generate.generate(size, seed=args.seed)
        name = f"lots{size}"
        line(f"{name}.size", f"{len(problem['lots'])} lots, {len(problem['demand'])} demand units, "
             f"{len(problem['bids'])} bids, {len(problem['suppliers'])} suppliers")
        results = {}
        for backend in ("cbc", "highs"):
            t0 = time.perf_counter()
            sol = solve(problem, {"backend": backend, "time_limit": args.time_limit, "gap": args.gap})
            wall = time.perf_counter() - t0
            results[backend] = (float(sol["objective"]) if sol["objective"] else None,
                                float(sol["bound"]) if sol["bound"] else None)
            line(f"{name}.{backend}.build", sol["build_seconds"], "s")
            line(f"{name}.{backend}.solve", sol["solve_seconds"], "s")
            line(f"{name}.{backend}.wall", round(wall, 3), "s")
            line(f"{name}.{backend}.status", sol["status"])
            line(f"{name}.{backend}.gap", pct(sol["gap"]), "%")
            line(f"{name}.{backend}.objective", sol["objective"], problem["currency"])
        base = plain.solve(problem, time_limit=args.time_limit, gap=args.gap)
        results["plain"] = (base["objective"], base["bound"])
        line(f"{name}.plain_cbc.build", round(base["build"], 3), "s")
        line(f"{name}.plain_cbc.solve", round(base["solve"], 3), "s")
        line(f"{name}.plain_cbc.status", base["status"])
        line(f"{name}.plain_cbc.gap", pct(base["gap"]), "%")
        line(f"{name}.plain_cbc.objective", "n/a" if base["objective"] is None else f"{base['objective']:.6f}",
             problem["currency"])
        bounds = [b for _, b in results.values() if b is not None]
        best_bound = max(bounds) if bounds else None
        for key, (obj, _b) in results.items():
            g = (obj - best_bound) / obj if obj and best_bound is not None else None
            line(f"{name}.{'plain_cbc' if key == 'plain' else key}.gap_vs_best_bound", pct(g), "%")
        for key in ("cbc", "highs"):
            ours, theirs = results[key][0], results["plain"][0]
            if ours and theirs and best_bound is not None:
                g_ours = max((ours - best_bound) / ours, 1e-12)
                g_plain = (theirs - best_bound) / theirs
                line(f"{name}.ratio.plain_gap_over_{key}_gap", round(g_plain / g_ours, 1), "x")
                line(f"{name}.ratio.plain_cost_over_{key}_cost", round(theirs / ours, 6), "x")
    line("total.wall", round(time.perf_counter() - started, 1), "s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
