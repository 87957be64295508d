"""Validation of jicai.award-problem/1: every bad field reported by JSON path, nothing solved."""
from __future__ import annotations

import copy

import pytest

from solver.award import solve, validate_problem
from solver.errors import ProblemError


def base() -> dict:
    return {
        "schema": "jicai.award-problem/1",
        "name": "t",
        "currency": "CNY",
        "suppliers": [
            {"id": "S1", "capacity": 300000, "fixed_cost": "0", "max_lots": None},
            {"id": "S2", "capacity": None, "fixed_cost": "5000", "max_lots": 1},
        ],
        "lots": [
            {"id": "L1", "min_winners": 2, "max_winners": None, "max_share": "0.7"},
            {"id": "L2", "min_winners": 1, "max_winners": None, "max_share": None},
        ],
        "demand": [
            {"id": "D1", "lot": "L1", "region": "110000", "quantity": 120000, "single_source": True},
            {"id": "D2", "lot": "L1", "region": "310000", "quantity": 80000, "single_source": True},
            {"id": "D3", "lot": "L2", "region": "110000", "quantity": 50000, "single_source": False},
        ],
        "bids": [
            {"id": "B1", "supplier": "S1", "lot": "L1", "regions": None, "unit_price": "0.2550",
             "capacity_use": 1, "max_quantity": None,
             "tiers": [{"min_quantity": 100000, "unit_price": "0.2400"}]},
            {"id": "B2", "supplier": "S2", "lot": "L1", "regions": None, "unit_price": "0.2700",
             "capacity_use": 1, "max_quantity": None, "tiers": []},
            {"id": "B3", "supplier": "S1", "lot": "L2", "regions": ["110000"], "unit_price": "1.1000",
             "capacity_use": 2, "max_quantity": None, "tiers": []},
        ],
        "bundles": [{"id": "X1", "supplier": "S1", "lots": ["L1", "L2"], "discount": "0.03"}],
    }


def errors_of(problem) -> list[str]:
    with pytest.raises(ProblemError) as exc:
        validate_problem(problem)
    return [str(e) for e in exc.value.errors]


def test_valid_problem_passes():
    assert validate_problem(base()) is None


def test_optional_fields_take_their_defaults():
    p = base()
    for s in p["suppliers"]:
        del s["fixed_cost"], s["max_lots"], s["capacity"]
    for lot in p["lots"]:
        del lot["min_winners"], lot["max_winners"], lot["max_share"]
    for b in p["bids"]:
        del b["capacity_use"], b["max_quantity"], b["tiers"]
    del p["bundles"]
    assert validate_problem(p) is None


def test_contract_message_for_a_negative_price():
    p = base()
    p["bids"][1]["unit_price"] = "-3"
    assert errors_of(p) == ['bids[1].unit_price: must be a positive decimal, got "-3"']


def test_every_bad_field_is_reported_at_once():
    p = base()
    p["schema"] = "jicai.award-problem/2"
    p["suppliers"][0]["capacity"] = -1
    p["suppliers"][1]["fixed_cost"] = 5000            # a number, not a decimal string
    p["suppliers"][1]["max_lots"] = 1.5
    p["lots"][0]["max_share"] = "1.2"
    p["lots"][1]["min_winners"] = -1
    p["demand"][0]["quantity"] = "120000"
    p["demand"][1]["single_source"] = "yes"
    p["demand"][2]["lot"] = "L9"
    p["bids"][0]["unit_price"] = "0.25.0"
    p["bids"][0]["capacity_use"] = True
    p["bids"][1]["supplier"] = "S9"
    p["bids"][2]["regions"] = []
    p["bundles"][0]["discount"] = "abc"
    assert errors_of(p) == [
        'schema: must be "jicai.award-problem/1", got "jicai.award-problem/2"',
        "suppliers[0].capacity: must be null or a non-negative number, got -1",
        "suppliers[1].fixed_cost: must be a non-negative decimal, got 5000",
        "suppliers[1].max_lots: must be null or a non-negative integer, got 1.5",
        "lots[0].max_share: must be a decimal between 0 and 1, got \"1.2\"",
        "lots[1].min_winners: must be a non-negative integer, got -1",
        'demand[0].quantity: must be a non-negative number, got "120000"',
        'demand[1].single_source: must be true or false, got "yes"',
        'demand[2].lot: unknown lot "L9"',
        'bids[0].unit_price: must be a positive decimal, got "0.25.0"',
        "bids[0].capacity_use: must be a non-negative number, got true",
        'bids[1].supplier: unknown supplier "S9"',
        "bids[2].regions: must be null or a non-empty list of regions, got []",
        'bundles[0].discount: must be a decimal between 0 and 1, got "abc"',
    ]


def test_ids_unique_and_references_exist():
    p = base()
    p["suppliers"][1]["id"] = "S1"
    p["demand"][2]["id"] = "D1"
    p["bids"][2]["id"] = ""
    p["bundles"][0]["lots"] = ["L1", "L7"]
    errs = errors_of(p)
    assert 'suppliers[1].id: duplicate id "S1" (also suppliers[0])' in errs
    assert 'demand[2].id: duplicate id "D1" (also demand[0])' in errs
    assert 'bids[2].id: must be a non-empty string, got ""' in errs
    assert 'bundles[0].lots[1]: unknown lot "L7"' in errs


def test_tiers_must_ascend_in_quantity_and_descend_in_price():
    p = base()
    p["bids"][0]["tiers"] = [
        {"min_quantity": 100000, "unit_price": "0.2600"},   # not below unit_price 0.2550
        {"min_quantity": 100000, "unit_price": "0.2500"},   # same min_quantity
        {"min_quantity": 150000, "unit_price": "0.2500"},   # same price
    ]
    assert errors_of(p) == [
        'bids[0].tiers[0].unit_price: must be less than unit_price ("0.2550"), got "0.2600"',
        "bids[0].tiers[1].min_quantity: must be greater than tiers[0].min_quantity (100000), got 100000",
        'bids[0].tiers[2].unit_price: must be less than tiers[1].unit_price ("0.2500"), got "0.2500"',
    ]


def test_listed_regions_need_a_demand_unit_of_the_lot():
    p = base()
    p["bids"][2]["regions"] = ["110000", "310000", "110000"]
    assert errors_of(p) == [
        'bids[2].regions[1]: lot "L2" has no demand unit in region "310000"',
        'bids[2].regions[2]: region "110000" is listed twice',
    ]


def test_one_bid_per_supplier_per_demand_unit():
    p = base()
    p["bids"].append({"id": "B4", "supplier": "S1", "lot": "L1", "regions": ["310000"], "unit_price": "0.2"})
    assert errors_of(p) == [
        'bids[3].regions: supplier "S1" already has bid "B1" covering every region of lot "L1" (regions null)',
    ]
    q = base()
    q["bids"][0]["regions"] = ["110000"]
    q["bids"].append({"id": "B4", "supplier": "S1", "lot": "L1", "regions": ["310000", "110000"],
                      "unit_price": "0.2"})
    q["bids"].append({"id": "B5", "supplier": "S2", "lot": "L1", "regions": ["310000"], "unit_price": "0.2"})
    assert errors_of(q) == [
        'bids[3].regions: supplier "S1" already has bid "B1" covering region "110000" of lot "L1"',
        'bids[4].regions: supplier "S2" already has bid "B2" covering every region of lot "L1" (regions null)',
    ]
    # disjoint regions of one supplier are fine
    r = base()
    r["bids"][0]["regions"] = ["110000"]
    r["bids"].append({"id": "B4", "supplier": "S1", "lot": "L1", "regions": ["310000"], "unit_price": "0.2"})
    assert validate_problem(r) is None


def test_one_suppliers_bundles_must_not_share_a_lot():
    p = base()
    p["bundles"].append({"id": "X2", "supplier": "S1", "lots": ["L2"], "discount": "0.01"})
    p["bundles"].append({"id": "X3", "supplier": "S2", "lots": ["L1", "L1"], "discount": "0.01"})
    assert errors_of(p) == [
        'bundles[1].lots[0]: supplier "S1" already has bundle "X1" with lot "L2"',
        'bundles[2].lots[1]: lot "L1" is listed twice',
    ]


def test_structure_errors():
    assert [str(e) for e in pytest.raises(ProblemError, validate_problem, [1]).value.errors] == [
        "$: must be a JSON object, got [1]"]
    p = base()
    del p["lots"]
    p["demand"] = {"D1": 1}
    p["bids"][0] = "B1"
    errs = errors_of(p)
    assert errs[:3] == ["lots: is required", 'demand: must be a list, got {"D1": 1}', 'bids[0]: must be an object, got "B1"']


def test_uncovered_demand_is_valid_but_infeasible():
    p = base()
    p["demand"].append({"id": "D4", "lot": "L2", "region": "440000", "quantity": 10, "single_source": True})
    assert validate_problem(p) is None
    sol = solve(p)
    assert sol["status"] == "infeasible"
    assert sol["diagnosis"] == ["demand:D4"]


def test_unicode_ids_are_fine():
    p = copy.deepcopy(base())
    ren = {"S1": "供应商 甲/1", "S2": "供应商-乙 [2]"}
    for s in p["suppliers"]:
        s["id"] = ren[s["id"]]
    for b in p["bids"]:
        b["supplier"] = ren[b["supplier"]]
    p["bundles"][0]["supplier"] = ren["S1"]
    p["demand"][0]["id"] = "北京 D1 (首年)"
    assert validate_problem(p) is None
    sol = solve(p)
    assert sol["objective"] == "107886.000000"
    assert sol["awards"][0]["demand"] == "北京 D1 (首年)"
    assert sol["fixed_costs"] == [{"supplier": "供应商-乙 [2]", "amount": "5000"}]


def test_bad_options_are_reported_by_path():
    with pytest.raises(ProblemError) as exc:
        solve(base(), {"backend": "gurobi", "gap": 2, "time_limit": 0, "threads": 0, "colour": "red"})
    assert [str(e) for e in exc.value.errors] == [
        "options.colour: unknown option",
        'options.backend: must be one of cbc, highs, got "gurobi"',
        "options.time_limit: must be a positive number of seconds or null, got 0",
        "options.gap: must be a number from 0 to below 1, got 2",
        "options.threads: must be a positive integer, got 0",
    ]
