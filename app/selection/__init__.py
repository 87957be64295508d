"""Winner selection in the app (中选规则): the rule engine of ``solver/`` run on an opened project.

:mod:`app.selection.services` builds the ``jicai.selection-problem/1`` document from a project
(frozen RuleSet, regions, lots with frozen demand, the opened bids), runs :func:`solver.select`,
stores problem, hash, result and solver version in a :class:`app.bidding.models.SelectionRun`
and reads per-bid outcomes back from it. :mod:`app.selection.historical` records the published
2nd national batch as a historical opening of the demo project.
"""
