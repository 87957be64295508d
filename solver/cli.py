"""Command line of the solver library.

    python -m solver solve PROBLEM.json [--backend cbc|highs] [--time-limit S] [--gap G] [-o OUT.json]
    python -m solver check PROBLEM.json
    python -m solver select PROBLEM.json [-o RESULT.json]

Exit codes follow the contracts: 0 result, 1 invalid input or failure (errors on stderr as
``JSON-path: message``), 2 infeasible / no solution (``solve`` only).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from solver.errors import ProblemError


def _load(path: str) -> object:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _write(result: dict, out: str | None) -> None:
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")


def _report(err: ProblemError) -> int:
    for e in err.errors:
        print(str(e), file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m solver", description="jicai award logic")
    sub = parser.add_subparsers(dest="command", required=True)

    p_solve = sub.add_parser("solve", help="solve a jicai.award-problem/1 document")
    p_solve.add_argument("problem")
    p_solve.add_argument("--backend", choices=["cbc", "highs"], default="cbc")
    p_solve.add_argument("--time-limit", type=float, default=None, dest="time_limit")
    p_solve.add_argument("--gap", type=float, default=None)
    p_solve.add_argument("-o", "--output", default=None)

    p_check = sub.add_parser("check", help="validate a jicai.award-problem/1 document")
    p_check.add_argument("problem")

    p_select = sub.add_parser("select", help="run the rule engine on a jicai.selection-problem/1 document")
    p_select.add_argument("problem")
    p_select.add_argument("-o", "--output", default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        problem = _load(args.problem)
    except (OSError, json.JSONDecodeError) as exc:
        print(f"$: cannot read {args.problem}: {exc}", file=sys.stderr)
        return 1
    try:
        if args.command == "select":
            from solver.selection import select

            _write(select(problem), args.output)
            return 0
        if args.command == "check":
            from solver.award import validate_problem

            validate_problem(problem)
            return 0
        from solver.award import solve

        options = {"backend": args.backend}
        if args.time_limit is not None:
            options["time_limit"] = args.time_limit
        if args.gap is not None:
            options["gap"] = args.gap
        solution = solve(problem, options)
        _write(solution, args.output)
        return 0 if solution["status"] in ("optimal", "feasible") else 2
    except ProblemError as err:
        return _report(err)
    except Exception as exc:  # a solver failure is exit 1, never a traceback to the caller
        print(f"$: solver failure: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
