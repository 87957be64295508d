"""The award optimiser: ``jicai.award-problem/1`` in, ``jicai.award-solution/1`` out.

A pipeline of pure steps (``shared/contracts/award-problem.md``)::

    validate_problem -> prepare -> build_model -> backends.run -> (polish) -> extract
                                                      \\-> infeasible: diagnose

* :func:`solve` - the contract's entry point.
* :func:`validate_problem` - every invalid field by JSON path (``ProblemError``).
* :func:`rule_costs` - cost of each constraint family (objective with it - without it).
* :func:`check_awards` - the contract constraints an award (e.g. the rule draft) violates.

No output is printed; solver logs are returned in the solution's ``log``.
"""
from __future__ import annotations

from solver.award.check import check_awards
from solver.award.model import FAMILIES
from solver.award.options import DEFAULTS
from solver.award.pipeline import SOLUTION_SCHEMA, solve
from solver.award.rule_costs import rule_costs
from solver.award.validate import validate_problem

__all__ = ["DEFAULTS", "FAMILIES", "SOLUTION_SCHEMA", "check_awards", "rule_costs", "solve", "validate_problem"]
