"""Validation of selection problems: every bad field reported once, at its JSON path."""
from __future__ import annotations

import copy

import pytest

from solver.errors import ProblemError
from solver.selection import select

GOOD = {
    "schema": "jicai.selection-problem/1",
    "ruleset": "nvbp-2",
    "draw_seed": "seed",
    "regions": ["110000", "310000", "440000"],
    "lots": [
        {"id": "L1", "name": "阿比特龙口服常释剂型", "ceiling": "101.67", "form_class": "oral_solid",
         "drug_class": "chemical", "demand_basis": "reported",
         "demand": [{"region": "110000", "quantity": 584000}, {"region": "310000", "quantity": 610000}]},
    ],
    "bids": [
        {"id": "B1", "lot": "L1", "supplier": "正大天晴", "unit_price": "23.333333", "excluded": None,
         "tie_keys": {"reported_demand": 0, "provinces_supplied_hist": 0}, "region_preferences": ["440000"]},
        {"id": "B2", "lot": "L1", "supplier": "成都盛迪", "unit_price": "31.90", "excluded": None},
        {"id": "B3", "lot": "L1", "supplier": "江西山香", "unit_price": "35.80", "excluded": None},
        {"id": "B4", "lot": "L1", "supplier": "强生", "unit_price": "84.05", "excluded": None},
    ],
}


def errors_of(doc) -> list[str]:
    with pytest.raises(ProblemError) as err:
        select(doc)
    return [str(e) for e in err.value.errors]


def good() -> dict:
    return copy.deepcopy(GOOD)


def test_good_problem_is_accepted():
    assert select(good())["lots"][0]["status"] == "selected"


@pytest.mark.parametrize("price", ["-1", "0", "0.00", "1e3", " 1.2", "1,2", "", "abc"])
def test_unit_price_must_be_a_positive_decimal_string(price):
    doc = good()
    doc["bids"][3]["unit_price"] = price
    assert errors_of(doc) == [f'bids[3].unit_price: must be a positive decimal string, got "{price}"']


def test_unit_price_as_number_or_missing():
    doc = good()
    doc["bids"][1]["unit_price"] = 31.9
    del doc["bids"][2]["unit_price"]
    assert errors_of(doc) == [
        "bids[1].unit_price: must be a positive decimal string, got 31.9",
        "bids[2].unit_price: is required",
    ]


def test_every_bad_field_is_reported():
    doc = good()
    doc["schema"] = "jicai.selection-problem/2"
    doc["draw_seed"] = 7
    doc["lots"][0]["ceiling"] = 101.67
    doc["lots"][0]["form_class"] = "tablet"
    doc["lots"][0]["drug_class"] = None
    doc["lots"][0]["demand_basis"] = "guess"
    doc["lots"][0]["demand"][1]["quantity"] = -5
    doc["bids"][0]["excluded"] = "late"
    doc["bids"][0]["tie_keys"] = {"reported_demand": "many"}
    doc["bids"][1]["region_preferences"] = ["440000", "999999", "440000"]
    doc["bids"][2]["revival_accepted"] = "yes"
    assert errors_of(doc) == [
        'schema: must be "jicai.selection-problem/1", got "jicai.selection-problem/2"',
        "draw_seed: must be a non-empty string or null, got 7",
        "lots[0].ceiling: must be a positive decimal string or null, got 101.67",
        'lots[0].form_class: must be one of "oral_solid", "small_volume_injection", "large_volume_injection", "other", got "tablet"',
        'lots[0].drug_class: must be one of "chemical", "special_anti_infective", got null',
        'lots[0].demand_basis: must be one of "reported", "committed", got "guess"',
        "lots[0].demand[1].quantity: must be a non-negative number, got -5",
        'bids[0].excluded: must be null or one of "credit_barred", "ineligible_product", "incomplete", got "late"',
        'bids[0].tie_keys.reported_demand: must be a number or a decimal string, got "many"',
        'bids[1].region_preferences[1]: region "999999" is not in regions',
        'bids[1].region_preferences[2]: region "440000" is listed twice',
        'bids[2].revival_accepted: must be true, false or null, got "yes"',
    ]


def test_duplicate_ids_unknown_lot_and_supplier_bidding_twice():
    doc = good()
    doc["bids"][2]["id"] = "B1"
    doc["bids"][3]["lot"] = "L9"
    doc["bids"].append({"id": "B5", "lot": "L1", "supplier": "成都盛迪", "unit_price": "30", "excluded": None})
    doc["lots"].append(copy.deepcopy(doc["lots"][0]))
    assert errors_of(doc) == [
        'lots[1].id: duplicate id "L1" (first at lots[0])',
        'bids[2].id: duplicate id "B1" (first at bids[0])',
        'bids[3].lot: unknown lot "L9"',
        'bids[4].supplier: supplier "成都盛迪" already bids in lot "L1" (bids[1])',
    ]


def test_same_supplier_in_two_lots_is_fine():
    doc = good()
    doc["lots"].append({**copy.deepcopy(doc["lots"][0]), "id": "L2"})
    doc["bids"].append({"id": "B5", "lot": "L2", "supplier": "成都盛迪", "unit_price": "30", "excluded": None})
    assert [lot["lot"] for lot in select(doc)["lots"]] == ["L1", "L2"]


def test_regions_and_demand_regions():
    doc = good()
    doc["regions"] = ["110000", "310000", "440000", "310000", 5]
    doc["lots"][0]["demand"].append({"region": "999999", "quantity": 1})
    doc["lots"][0]["demand"].append({"region": "110000", "quantity": 1})
    assert errors_of(doc) == [
        'regions[3]: duplicate region "310000" (first at regions[1])',
        "regions[4]: must be a non-empty string, got 5",
        'lots[0].demand[2].region: region "999999" is not in regions',
        'lots[0].demand[3].region: duplicate region "110000" (first at lots[0].demand[0])',
    ]


def test_required_lists_and_unknown_fields():
    doc = good()
    del doc["regions"]
    doc["lots"] = []
    doc["extra"] = 1
    doc["bids"][0]["region_preference"] = ["110000"]  # misspelt optional field
    assert errors_of(doc) == [
        "extra: unknown field",
        "regions: is required",
        "lots: must be a non-empty list of lots, got []",
        "bids[0].region_preference: unknown field",
        'bids[0].lot: unknown lot "L1"',
        'bids[1].lot: unknown lot "L1"',
        'bids[2].lot: unknown lot "L1"',
        'bids[3].lot: unknown lot "L1"',
    ]


def test_tie_key_not_in_the_ruleset():
    doc = good()
    doc["bids"][1]["tie_keys"] = {"pilot_city_sales_volume": 3}
    assert errors_of(doc) == [
        'bids[1].tie_keys.pilot_city_sales_volume: not a tie-break key of the RuleSet '
        '(its keys: "reported_demand", "provinces_supplied_hist")'
    ]


def test_ruleset_errors_are_reported_with_the_others():
    doc = good()
    doc["ruleset"] = {"preset": "nvbp-2", "spread_multiplier": "x"}
    doc["bids"][0]["supplier"] = ""
    assert errors_of(doc) == [
        'ruleset.spread_multiplier: must be a positive decimal string, got "x"',
        'bids[0].supplier: must be a non-empty string, got ""',
    ]


def test_not_an_object():
    assert errors_of([1, 2]) == ["$: must be a JSON object, got [1, 2]"]


def test_draw_seed_error_only_when_a_tie_reaches_the_draw():
    doc = good()
    del doc["draw_seed"]
    assert select(doc)["lots"][0]["winners"] == ["B1", "B2", "B3"]  # no tie: no seed needed
    doc["bids"][2]["unit_price"] = "31.90"  # B2 and B3 tie, no tie keys
    assert errors_of(doc) == [
        'draw_seed: is required: bids "B2", "B3" of lot "L1" are tied after every other tie-break key '
        "at unit price 31.90 (W6 officer_lot_draw)"
    ]
    doc["draw_seed"] = "seed"
    assert select(doc)["lots"][0]["status"] == "selected"


def test_tie_beyond_the_slots_also_needs_the_seed_because_ranks_are_output():
    doc = good()
    del doc["draw_seed"]
    doc["bids"].append({"id": "B5", "lot": "L1", "supplier": "X", "unit_price": "84.05", "excluded": None})
    errors = errors_of(doc)
    assert len(errors) == 1 and errors[0].startswith('draw_seed: is required: bids "B4", "B5"')
