"""Region allocation draft (地区分配, DOMAIN.md V1 and V3) on small hand-made problems."""
from __future__ import annotations

from decimal import Decimal

from solver.selection import select


def problem(prices: list[str], regions: list[str], demand: dict[str, float] | None = None, ruleset="nvbp-2",
            prefs: dict[int, list[str]] | None = None, demand_basis="reported", drug_class="chemical") -> dict:
    prefs = prefs or {}
    bids = []
    for i, price in enumerate(prices):
        b = {"id": f"B{i + 1}", "lot": "L1", "supplier": f"S{i + 1}", "unit_price": price, "excluded": None}
        if i + 1 in prefs:
            b["region_preferences"] = prefs[i + 1]
        bids.append(b)
    return {
        "schema": "jicai.selection-problem/1",
        "ruleset": ruleset,
        "regions": regions,
        "lots": [{
            "id": "L1", "name": "lot", "ceiling": None, "form_class": "oral_solid", "drug_class": drug_class,
            "demand_basis": demand_basis,
            "demand": [{"region": r, "quantity": q} for r, q in (demand or {}).items()],
        }],
        "bids": bids,
    }


def lot_of(doc: dict) -> dict:
    return select(doc)["lots"][0]


def primaries(lot: dict) -> dict[str, list[str]]:
    return {a["bid"]: a["primary_regions"] for a in lot["allocation"]}


REGIONS_31 = [f"{i:02d}0000" for i in range(11, 42)]
CLOSE = ["1.00", "1.01", "1.02", "1.03", "1.04", "1.05", "1.06"]


def test_quota_table_used_for_31_regions():
    lot = lot_of(problem(CLOSE[:4], REGIONS_31))  # N = 4 -> 3 winners under nvbp-2
    assert [len(r) for r in primaries(lot).values()] == [11, 10, 10]
    lot = lot_of(problem(CLOSE[:6], REGIONS_31))  # N = 6 -> 4 winners: quotas 9/8/7/7
    assert [len(r) for r in primaries(lot).values()] == [9, 8, 7, 7]


def test_equal_round_robin_shares_without_a_fitting_quota_row():
    lot = lot_of(problem(CLOSE[:6], REGIONS_31, ruleset="nvbp-4"))  # nvbp-4: 6 bidders -> 4 winners, no table
    assert [len(r) for r in primaries(lot).values()] == [8, 8, 8, 7]
    lot = lot_of(problem(CLOSE[:4], [f"R{i}" for i in range(7)]))  # 7 regions: the 31-region table does not fit
    assert [len(r) for r in primaries(lot).values()] == [3, 2, 2]


def test_rank_one_picks_first_by_descending_demand_then_code():
    regions = ["110000", "120000", "130000", "140000"]
    demand = {"110000": 10, "120000": 40, "130000": 40}  # 140000 has zero demand and is still drafted
    lot = lot_of(problem(["1.00", "1.10", "1.20"], regions, demand))  # N = 3 -> 2 winners
    assert primaries(lot) == {"B1": ["120000", "110000"], "B2": ["130000", "140000"]}


def test_preferences_then_fallback_order():
    regions = ["110000", "120000", "130000", "140000", "150000"]
    demand = {"110000": 50, "120000": 40, "130000": 30, "140000": 20, "150000": 10}
    prefs = {1: ["150000"], 2: ["150000", "140000", "110000"]}
    lot = lot_of(problem(["1.00", "1.10", "1.20"], regions, demand, prefs=prefs))
    # Round 1: B1 takes 150000 (its preference); B2 finds 150000 taken and takes 140000.
    # Round 2: B1 falls back to the largest demand (110000); B2 wants 110000, taken, then falls back to 120000.
    # Round 3: B1 (quota 3 of 5) takes 130000.
    assert primaries(lot) == {"B1": ["150000", "110000", "130000"], "B2": ["140000", "120000"]}


def test_volume_desc_source_ignores_preferences():
    regions = ["110000", "120000"]
    doc = problem(["1.00"], regions, {"110000": 1, "120000": 2}, prefs={1: ["110000"]},
                  ruleset={"preset": "nvbp-2", "region_preference_source": "volume_desc"})
    assert primaries(lot_of(doc)) == {"B1": ["120000", "110000"]}


def test_backups_next_in_rank_wrapping():
    lot = lot_of(problem(CLOSE[:4], REGIONS_31))
    order = lot["winners"]
    backup = {b["region"]: b["bid"] for b in lot["backups"]}
    assert set(backup) == set(REGIONS_31)
    for rank, bid in enumerate(order):
        for region in primaries(lot)[bid]:
            assert backup[region] == order[(rank + 1) % len(order)]
    assert [b["region"] for b in lot["backups"]] == sorted(REGIONS_31)


def test_single_winner_has_no_backups_and_holds_every_region():
    lot = lot_of(problem(["1.00"], REGIONS_31))
    assert lot["backups"] == [] and sorted(primaries(lot)["B1"]) == sorted(REGIONS_31)


def test_more_winners_than_regions():
    lot = lot_of(problem(CLOSE[:5], ["110000", "120000", "130000"]))  # N = 5 -> 4 winners, 3 regions
    assert [len(r) for r in primaries(lot).values()] == [1, 1, 1, 0]
    # Zero demand everywhere: picks go by region code; B4 holds no region but backs up B3's.
    assert primaries(lot) == {"B1": ["110000"], "B2": ["120000"], "B3": ["130000"], "B4": []}
    assert {b["region"]: b["bid"] for b in lot["backups"]} == {"110000": "B2", "120000": "B3", "130000": "B4"}
    assert lot["allocation"][3]["committed_quantity"] == 0


def test_committed_quantity_rounded_half_up_per_region():
    # 3 winners (N = 4): ratio 0.7. Each region 5 units -> 3.5 -> 4 per region, never round the total.
    regions = ["110000", "120000", "130000", "140000", "150000", "160000"]
    demand = {r: 5 for r in regions}
    lot = lot_of(problem(CLOSE[:4], regions, demand))
    assert lot["committed_ratio"] == "0.7"
    assert [a["committed_quantity"] for a in lot["allocation"]] == [8, 8, 8]
    assert Decimal(30) * Decimal("0.7") == 21  # what rounding the total would have given


def test_committed_ratio_by_winner_count_and_drug_class():
    regions = ["110000", "120000"]
    demand = {"110000": 596327, "120000": 0}
    # DOMAIN.md V1: afatinib 596,327 reported -> 298,163.5 with 1 winner (one region here, so 298,164; the
    # published ~298,170 / ~357,795 are sums of per-institution roundings, which the app does).
    lot = lot_of(problem(["1.00"], regions, demand))
    assert lot["committed_ratio"] == "0.5" and lot["allocation"][0]["committed_quantity"] == 298164
    lot = lot_of(problem(["1.00", "1.10"], regions, demand))
    assert lot["committed_ratio"] == "0.6"
    assert sum(a["committed_quantity"] for a in lot["allocation"]) == 357796  # 357,796.2 -> 357,796
    lot = lot_of(problem(["1.00", "1.10", "1.20", "1.30"], regions, demand, drug_class="special_anti_infective"))
    assert lot["committed_ratio"] == "0.5"  # 3 winners of a special anti-infective
    # Meropenem 7,286,887 (special anti-infective) x 0.3 = 2,186,066.1 with 1 winner, in one region.
    lot = lot_of(problem(["1.00"], ["110000"], {"110000": 7286887}, drug_class="special_anti_infective"))
    assert lot["committed_ratio"] == "0.3" and lot["allocation"][0]["committed_quantity"] == 2186066


def test_committed_basis_uses_ratio_one_and_float_quantities_exactly():
    regions = ["110000", "120000"]
    lot = lot_of(problem(["1.00"], regions, {"110000": 408800, "120000": 0.5}, demand_basis="committed"))
    assert lot["committed_ratio"] == "1"
    assert lot["allocation"][0]["committed_quantity"] == 408801  # 0.5 rounds half-up to 1


def test_revived_and_all_winners_are_drafted_in_rank_order():
    prices = ["1.00", "1.50", "1.70", "2.50", "3.00", "3.50", "4.00", "4.50"]
    doc = problem(prices, REGIONS_31, ruleset="nvbp-10")
    doc["bids"][3]["revival_accepted"] = True
    lot = lot_of(doc)
    assert lot["winners"] == ["B1", "B2", "B3", "B4"]
    assert [a["bid"] for a in lot["allocation"]] == lot["winners"]
    assert [len(a["primary_regions"]) for a in lot["allocation"]] == [8, 8, 8, 7]  # no nvbp-10 quota table
