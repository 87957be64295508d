"""jicai award logic: a pure library (no Flask, no SQLAlchemy).

Two entry points, each fixed by a contract in ``shared/contracts``:

* :func:`solver.select` — the VBP rule engine and region draft (``selection-problem.md``);
* :func:`solver.solve` — the award optimiser (``award-problem.md``).

Both take parsed JSON (``dict``) and return JSON-ready ``dict`` results; both validate their
input first and raise :class:`solver.errors.ProblemError` listing every bad field by JSON path.
"""
from __future__ import annotations

__version__ = "0.1.0"

from solver.errors import ProblemError  # noqa: E402

__all__ = ["ProblemError", "__version__", "select", "solve"]


def select(problem: dict) -> dict:
    """Run the rule engine and region draft on a ``jicai.selection-problem/1`` document."""
    from solver.selection import select as _select

    return _select(problem)


def solve(problem: dict, options: dict | None = None) -> dict:
    """Solve a ``jicai.award-problem/1`` document; see ``solver.award``."""
    from solver.award import solve as _solve

    return _solve(problem, options)
