"""RuleSet presets (规则集预设): completeness, derived presets, section-13 defaults and override validation."""
from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources

import pytest

from solver.errors import ProblemError
from solver.rulesets import (
    RULESET_FIELDS,
    flatten,
    load_presets,
    preset_descriptions,
    resolve_ruleset,
    ruleset_errors,
    table_lookup,
)

PRESET_NAMES = {
    "nvbp-4+7", "nvbp-1ext", "nvbp-2", "nvbp-4", "nvbp-10", "nvbp-11", "nvbp-12-draft",
    "nvbp-consumable-draft", "alliance-default",
}

# DOMAIN.md W4, N = 1..16 (the last column holds for every N >= 16).
W4_TABLE = {
    "nvbp-1ext": [1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
    "nvbp-2": [1, 2, 2, 3, 4, 4, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6],
    "nvbp-4": [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10, 10, 10, 10],
    "nvbp-10": [1, 2, 2, 3, 3, 3, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10],
}


def test_presets_are_exactly_the_domain_presets():
    presets = load_presets()
    assert set(presets) == PRESET_NAMES
    assert set(preset_descriptions()) == PRESET_NAMES
    assert all(preset_descriptions().values())


@pytest.mark.parametrize("name", sorted(PRESET_NAMES))
def test_every_preset_is_complete_and_valid(name):
    preset = load_presets()[name]
    assert set(flatten(preset)) == set(RULESET_FIELDS)
    assert ruleset_errors(preset) == []


def test_all_presets_define_the_same_field_set():
    field_sets = {name: frozenset(flatten(p)) for name, p in load_presets().items()}
    assert len(set(field_sets.values())) == 1


def test_presets_file_is_one_data_file_with_string_decimals():
    doc = json.loads(resources.files("solver.rulesets").joinpath("presets.json").read_text(encoding="utf-8"))
    assert set(doc["presets"]) == PRESET_NAMES

    def floats(value):
        if isinstance(value, float):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from floats(v)
        elif isinstance(value, list):
            for v in value:
                yield from floats(v)

    assert list(floats(doc)) == []  # decimals are strings (DOMAIN.md P-2)


def test_derived_presets():
    p = load_presets()
    alliance, nvbp4 = flatten(p["alliance-default"]), flatten(p["nvbp-4"])
    assert alliance["award_mode_allowed"] == ["rule_draft", "optimised"]
    assert nvbp4["award_mode_allowed"] == ["rule_draft"]
    assert {k: v for k, v in alliance.items() if k != "award_mode_allowed"} == {
        k: v for k, v in nvbp4.items() if k != "award_mode_allowed"
    }
    assert p["nvbp-11"]["max_winners_table"] == p["nvbp-10"]["max_winners_table"]
    assert p["nvbp-12-draft"]["max_winners_table"] == p["nvbp-10"]["max_winners_table"]
    assert p["nvbp-consumable-draft"]["max_winners_table"] == p["nvbp-4"]["max_winners_table"]


@pytest.mark.parametrize("name", sorted(W4_TABLE))
def test_max_winners_tables_match_domain_w4(name):
    rows = load_presets()[name]["max_winners_table"]
    expected = W4_TABLE[name]
    for n in range(1, 41):
        assert table_lookup(rows, n) == expected[min(n, 16) - 1], n
    assert table_lookup(rows, 0) is None


def test_four_plus_seven_always_one_winner_with_its_own_tie_keys():
    rs = load_presets()["nvbp-4+7"]
    assert all(table_lookup(rs["max_winners_table"], n) == 1 for n in range(1, 30))
    assert rs["tie_break_order"] == ["ucp", "pilot_city_sales_coverage_desc", "pilot_city_sales_volume_desc"]
    assert rs["negotiation_min_bidders"] == 3 and rs["negotiation_non_accept_drops"] is True
    assert rs["negotiation_target"] == "avg_cut_competitive"
    assert table_lookup(rs["cycle_years_table"]["chemical"], 3) == 1


def test_spread_rules_per_preset():
    p = load_presets()
    assert {n: p[n]["spread_rule"] for n in PRESET_NAMES} == {
        "nvbp-4+7": "none", "nvbp-1ext": "none", "nvbp-2": "ratio_or_cut_or_low", "nvbp-4": "ratio_or_cut_or_low",
        "nvbp-10": "ratio_or_low_with_revival", "nvbp-11": "anchor", "nvbp-12-draft": "dual_anchor",
        "nvbp-consumable-draft": "ratio_or_cut_or_low", "alliance-default": "ratio_or_cut_or_low",
    }
    assert p["nvbp-12-draft"]["dual_anchor"]["enabled"] is False


def test_section_13_defaults_in_every_preset():
    for name, preset in load_presets().items():
        f = flatten(preset)
        assert f["spread_multiplier"] == "1.8" and f["cut_vs_ceiling"] == "0.5"
        assert f["spread_base"] == "all_valid" and f["n_count_basis"] == "all_submitted"
        assert f["b_licence_rounding"] == "floor" and f["revival_counts_toward_max"] is True
        assert f["count_same_manufacturer_as_one"] is False and f["b_licence_slot_cut"] is False
        assert f["low_price_exemption.small_volume_injection"] is None
        assert f["low_price_exemption.large_volume_injection"] is None
        assert f["volume_rounding"] == "per_institution_half_up"
        assert f["region_preference_source"] == "supplier_submitted" and f["region_preference_fallback"] == "volume_desc"
        assert f["backup_rule"] == "next_in_rank" and f["single_winner_backup"] == "none"
        assert f["supply_failure.confirm_days"] == 3 and f["supply_failure.backup_price"] == "own_winning"
        assert f["groups.a_cumulative_share"] == "0.8" and f["revival_reference"] == "highest_winning"
        assert Decimal(f["revival_volume_share"]) == 0
        assert f["negotiation_max_rounds"] == 2
        assert f["nonsupply_cap_basis.winner"] == "own_winning"
        assert f["nonsupply_cap_basis.non_winner"] == "highest_winning"
        assert f["linkage_deadline_days"] == 30 and Decimal(f["linkage_tolerance"]) == 0
        assert f["linkage_exclusions"] == ["vbp_agreement", "negotiated", "temporary"]
        assert (f["red_multiplier"], f["yellow_multiplier"], f["abnormal_change_pct"]) == ("1.5", "1.2", "0.20")
        assert f["abnormal_window_days"] == 30 and f["province_spread_ratio"] == "2.0"
        assert f["low_price_warning"] is None
        assert (f["inquiry_reply_days"], f["rectify_days"]) == (10, 30)
        assert f["payment.ratio_threshold"] == "2.0" and f["payment.transition_years"] == 3
        assert f["diff_price.pack_coeff"] == "1.95" and f["diff_price.pack_coeff_enabled"] is False
        assert f["diff_price.form_coeffs"] == {}
        assert (f["diff_price.strength_coeff"], f["diff_price.volume_coeff"]) == ("1.7", "1.9")
        assert f["codes.benweima_checksum"] is False and f["codes.enforce_lengths"] is True
        assert f["xpcc_separate"] is False
        assert f["publicity_days"] == 3 and f["publish_requires_second_approval"] is True
        assert f["opening_requires_supervisor"] is True
        assert f["price_decimals"] == 6 and f["rounding"] == "ROUND_HALF_UP"
        assert f["anchor_mean_factor"] == "0.5" and f["anchor_cap_multiplier"] == "1.8"
        if name != "nvbp-4+7":
            assert f["tie_break_order"] == ["ucp", "reported_demand_desc", "provinces_supplied_hist_desc", "officer_lot_draw"]
            assert f["negotiation_target"] == "lowest_ucp" and f["negotiation_non_accept_drops"] is False
        if name != "alliance-default":
            assert f["award_mode_allowed"] == ["rule_draft"]


def test_volume_ratio_and_cycle_tables_follow_v1():
    rs = load_presets()["nvbp-4"]
    chem, anti = rs["volume_ratio_table"]["chemical"], rs["volume_ratio_table"]["special_anti_infective"]
    assert [table_lookup(chem, w) for w in (1, 2, 3, 4, 9)] == ["0.5", "0.6", "0.7", "0.8", "0.8"]
    assert [table_lookup(anti, w) for w in (1, 2, 3, 6)] == ["0.3", "0.4", "0.5", "0.5"]
    cycle = rs["cycle_years_table"]["chemical"]
    assert [table_lookup(cycle, w) for w in (1, 2, 3, 4)] == [1, 1, 2, 3]


def test_nvbp2_region_quota_table():
    quota = load_presets()["nvbp-2"]["region_quota_table"]
    assert set(quota) == {"1", "2", "3", "4", "5", "6"}
    for winners, row in quota.items():
        assert len(row) == int(winners) and sum(row) == 31
    assert quota["3"] == [11, 10, 10]
    assert all(load_presets()[n]["region_quota_table"] == {} for n in PRESET_NAMES - {"nvbp-2"})


def test_resolve_by_name_returns_a_fresh_copy():
    rs = resolve_ruleset("nvbp-2")
    assert rs == load_presets()["nvbp-2"]
    rs["spread_multiplier"] = "9"
    rs["diff_price"]["strength_coeff"] = "9"
    assert resolve_ruleset("nvbp-2")["spread_multiplier"] == "1.8"
    assert resolve_ruleset("nvbp-2")["diff_price"]["strength_coeff"] == "1.7"


def test_resolve_with_overrides_nested_and_dotted():
    rs = resolve_ruleset({
        "preset": "nvbp-4", "spread_multiplier": "2.0", "diff_price": {"strength_coeff": "1.6"},
        "low_price_exemption.small_volume_injection": "0.50",
        "max_winners_table": [[1, 2, 1], [3, None, 2]],
    })
    assert rs["spread_multiplier"] == "2.0"
    assert rs["diff_price"]["strength_coeff"] == "1.6" and rs["diff_price"]["volume_coeff"] == "1.9"
    assert rs["low_price_exemption"] == {
        "oral_solid": "0.10", "small_volume_injection": "0.50", "large_volume_injection": None, "other": None,
    }
    assert rs["max_winners_table"] == [[1, 2, 1], [3, None, 2]]
    assert set(flatten(rs)) == set(RULESET_FIELDS)


def _errors(spec):
    with pytest.raises(ProblemError) as err:
        resolve_ruleset(spec)
    return {e.path: e.message for e in err.value.errors}


def test_unknown_preset():
    errors = _errors("nvbp-99")
    assert set(errors) == {"ruleset"} and errors["ruleset"].startswith('unknown preset "nvbp-99"; presets: ')
    assert _errors({"preset": "x"})["ruleset.preset"].startswith('unknown preset "x"')
    assert _errors({"spread_multiplier": "1.8"}) == {"ruleset.preset": "is required"}
    assert "ruleset" in _errors(42)


def test_override_errors_name_every_bad_field():
    errors = _errors({
        "preset": "nvbp-2",
        "spread_multiplier": 1.8,
        "spread_rule": "median",
        "n_count_basis": "everyone",
        "diff_price": {"strength_coeff": "-1"},
        "dual_anchor": "on",
        "no_such_field": True,
        "max_winners_table": [[1, 1, 1], [3, None, 2]],
        "tie_break_order": ["reported_demand_desc", "ucp"],
        "publicity_days": True,
        "region_quota_table": {"2": [16]},
        "volume_ratio_table": {"chemical": [[1, None, "1.5"]]},
        "cycle_end": "31/12/2027",
    })
    assert errors["ruleset.spread_multiplier"] == "must be a positive decimal string, got 1.8"
    assert errors["ruleset.spread_rule"].startswith('must be one of "ratio_or_cut_or_low"')
    assert errors["ruleset.spread_rule"].endswith('got "median"')
    assert errors["ruleset.n_count_basis"] == 'must be one of "all_submitted", "valid_only", got "everyone"'
    assert errors["ruleset.diff_price.strength_coeff"] == 'must be a positive decimal string, got "-1"'
    assert errors["ruleset.dual_anchor"].startswith("must be an object of dual_anchor.* fields")
    assert errors["ruleset.no_such_field"] == "unknown RuleSet field"
    assert errors["ruleset.max_winners_table"].startswith("must be rows [min, max or null, winners >= 1]")
    assert errors["ruleset.tie_break_order"].startswith('must be a list of tie-break keys starting with "ucp"')
    assert errors["ruleset.publicity_days"] == "must be an integer >= 0, got true"
    assert errors["ruleset.region_quota_table"].startswith("2: must list 2 non-increasing quotas")
    assert errors["ruleset.volume_ratio_table"].startswith("must be an object with exactly the keys")
    assert errors["ruleset.cycle_end"] == 'must be a date YYYY-MM-DD or null, got "31/12/2027"'
    assert len(errors) == 12  # one error per bad field, nothing else


def test_ratio_table_values_must_be_ratios():
    table = {"chemical": [[1, None, "1.5"]], "special_anti_infective": [[1, None, "0.5"]]}
    errors = _errors({"preset": "nvbp-2", "volume_ratio_table": table})
    assert errors["ruleset.volume_ratio_table"].startswith("chemical: must be rows [min, max or null, ratio")


def test_unknown_group_member_and_dotted_unknown():
    errors = _errors({"preset": "nvbp-2", "diff_price": {"nope": "1"}, "credit.nope": 1})
    assert errors == {
        "ruleset.diff_price.nope": "unknown RuleSet field",
        "ruleset.credit.nope": "unknown RuleSet field",
    }


def test_ruleset_errors_reports_missing_fields():
    preset = load_presets()["nvbp-2"]
    del preset["spread_rule"]
    del preset["diff_price"]["method"]
    assert {e.path for e in ruleset_errors(preset)} == {"ruleset.spread_rule", "ruleset.diff_price.method"}
