"""Options of :func:`solver.award.solve`, checked like input (errors by path ``options.<key>``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from solver.award.backends import BACKENDS
from solver.award.validate import got, is_number
from solver.errors import FieldError, ProblemError

#: Defaults follow DOMAIN.md O2 (``opt.time_limit_s = 60``, ``opt.mip_gap = 0.0001``).
DEFAULTS: dict[str, Any] = {
    "backend": "cbc",
    "time_limit": 60.0,
    "gap": 0.0001,
    "threads": 1,
    "warm_start": None,
    "on_progress": None,
    "min_win_quantity": 1.0,
    "strategy": "auto",
}


@dataclass(frozen=True)
class Options:
    backend: str
    time_limit: float | None
    gap: float
    threads: int
    warm_start: object | None
    on_progress: Callable[[dict], None] | None
    min_win_quantity: float
    strategy: str


def parse_options(options: dict | None) -> Options:
    """Merge ``options`` over :data:`DEFAULTS`; raise :class:`ProblemError` for a bad one.

    * ``backend``: ``"cbc"`` or ``"highs"``.
    * ``time_limit``: seconds (> 0) for the solve, or ``None`` for no limit.
    * ``gap``: relative MIP gap at which a run counts as optimal, 0 <= gap < 1.
    * ``threads``: solver threads (>= 1; CBC runs its repeatable parallel mode).
    * ``warm_start``: award lines (``bid``, ``demand``, ``quantity``) or a solution dict to start from.
    * ``on_progress``: callable receiving progress dicts (``backend``, ``run``, ``event``,
      ``seconds``, ``incumbent``, ``bound``, ``nodes``), from the solver's thread or callback.
    * ``min_win_quantity``: least split volume that makes a supplier count as winning a lot for
      ``min_winners`` and bundles (default 1 unit; see the README).
    * ``strategy``: ``"auto"`` (decompose large problems whose lots split into blocks),
      ``"full"`` (always one model) or ``"decompose"`` (always decompose when there are blocks).
    """
    raw = dict(DEFAULTS)
    errors: list[FieldError] = []
    if options is not None and not isinstance(options, dict):
        raise ProblemError([FieldError("options", f"must be an object, got {got(options)}")])
    for key, value in (options or {}).items():
        if key not in DEFAULTS:
            errors.append(FieldError(f"options.{key}", "unknown option"))
        else:
            raw[key] = value
    if raw["backend"] not in BACKENDS:
        errors.append(FieldError("options.backend", f"must be one of {', '.join(BACKENDS)}, got {got(raw['backend'])}"))
    tl = raw["time_limit"]
    if tl is not None and (not is_number(tl) or tl <= 0):
        errors.append(FieldError("options.time_limit", f"must be a positive number of seconds or null, got {got(tl)}"))
    g = raw["gap"]
    if g is None:
        raw["gap"] = g = 0.0
    if not is_number(g) or not 0 <= g < 1:
        errors.append(FieldError("options.gap", f"must be a number from 0 to below 1, got {got(g)}"))
    th = raw["threads"]
    if th is None:
        raw["threads"] = th = 1
    if not is_number(th) or th < 1 or not float(th).is_integer():
        errors.append(FieldError("options.threads", f"must be a positive integer, got {got(th)}"))
    if raw["on_progress"] is not None and not callable(raw["on_progress"]):
        errors.append(FieldError("options.on_progress", "must be callable"))
    mw = raw["min_win_quantity"]
    if not is_number(mw) or mw <= 0:
        errors.append(FieldError("options.min_win_quantity", f"must be a positive number, got {got(mw)}"))
    if raw["strategy"] not in ("auto", "full", "decompose"):
        errors.append(FieldError("options.strategy",
                                 f"must be one of auto, full, decompose, got {got(raw['strategy'])}"))
    if errors:
        raise ProblemError(errors)
    return Options(raw["backend"], None if tl is None else float(tl), float(g), int(th), raw["warm_start"],
                   raw["on_progress"], float(mw), raw["strategy"])
