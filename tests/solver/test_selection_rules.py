"""Winner selection rules (中选规则, DOMAIN.md W1-W10) on small hand-made problems."""
from __future__ import annotations

import copy
import decimal
import hashlib
from decimal import Decimal

import pytest

from solver.canonical import problem_sha256
from solver.errors import ProblemError
from solver.selection import select

REGIONS = ["110000", "310000", "440000"]


def bid(bid_id: str, price: str, **extra) -> dict:
    return {"id": bid_id, "lot": "L1", "supplier": f"supplier {bid_id}", "unit_price": price, "excluded": None, **extra}


def problem(bids: list[dict], ruleset="nvbp-2", ceiling="10", form_class="oral_solid", draw_seed=None, **lot) -> dict:
    doc = {
        "schema": "jicai.selection-problem/1",
        "ruleset": ruleset,
        "regions": list(REGIONS),
        "lots": [{
            "id": "L1", "name": "test lot", "ceiling": ceiling, "form_class": form_class,
            "drug_class": lot.get("drug_class", "chemical"), "demand_basis": lot.get("demand_basis", "reported"),
            "demand": lot.get("demand", [{"region": r, "quantity": 1000} for r in REGIONS]),
        }],
        "bids": bids,
    }
    if draw_seed is not None:
        doc["draw_seed"] = draw_seed
    return doc


def run(doc: dict) -> tuple[dict, dict]:
    """(the lot's result, bid id -> bid result)."""
    result = select(doc)
    return result["lots"][0], {b["bid"]: b for b in result["bids"]}


def reasons(bids: dict) -> dict[str, str]:
    return {k: v["reason"] for k, v in bids.items()}


# --- W1-W3: validity and counting N -------------------------------------------------------------------------

FLUCONAZOLE = [  # batch-2 lot 11: 5 bids, 2 above the ceiling 0.3167, 3 winners
    bid("YZJ", "0.227917"), bid("KL", "0.249667"), bid("BT", "0.281667"), bid("SJZ", "1.8167"), bid("PFE", "16.27"),
]


def test_over_ceiling_bids_count_in_n_with_all_submitted():
    lot, bids = run(problem(copy.deepcopy(FLUCONAZOLE), ceiling="0.3167"))
    assert lot["bidders"] == 5 and lot["max_winners"] == 4
    assert lot["winners"] == ["YZJ", "KL", "BT"]
    assert bids["SJZ"] == {"bid": "SJZ", "outcome": "lost", "reason": "over_ceiling", "rank": None, "flags": []}
    assert bids["PFE"]["reason"] == "over_ceiling" and bids["PFE"]["rank"] is None
    assert [bids[b]["rank"] for b in ("YZJ", "KL", "BT")] == [1, 2, 3]


def test_valid_only_basis_counts_only_valid_bids():
    rs = {"preset": "nvbp-2", "n_count_basis": "valid_only"}
    lot, bids = run(problem(copy.deepcopy(FLUCONAZOLE), ruleset=rs, ceiling="0.3167"))
    assert lot["bidders"] == 3 and lot["max_winners"] == 2
    assert lot["winners"] == ["YZJ", "KL"]
    assert bids["BT"]["reason"] == "beyond_max_winners" and bids["BT"]["rank"] == 3


def test_price_equal_to_ceiling_is_valid():
    lot, bids = run(problem([bid("A", "0.30"), bid("B", "0.3167")], ceiling="0.3167"))
    assert bids["B"]["reason"] == "won" and lot["winners"] == ["A", "B"]


def test_excluded_bid_counts_as_submitted_but_cannot_win():
    bids_in = [bid("A", "1.00"), bid("B", "0.90", excluded="credit_barred"), bid("C", "1.10"), bid("D", "1.20")]
    lot, bids = run(problem(bids_in))
    assert lot["bidders"] == 4 and lot["max_winners"] == 3
    assert bids["B"] == {"bid": "B", "outcome": "lost", "reason": "excluded", "rank": None, "flags": []}
    assert lot["winners"] == ["A", "C", "D"] and lot["lowest_price"] == "1.00"
    lot, _ = run(problem(copy.deepcopy(bids_in), ruleset={"preset": "nvbp-2", "n_count_basis": "valid_only"}))
    assert lot["bidders"] == 3 and lot["max_winners"] == 2


def test_reason_precedence_excluded_over_ceiling_beyond_outside():
    bids_in = [
        bid("EXC", "20", excluded="incomplete"),  # excluded and over the ceiling: excluded comes first
        bid("OVER", "15"),
        bid("LO", "1.00"), bid("FAIL", "6.00"), bid("FAIL2", "7.00"),
    ]
    lot, bids = run(problem(bids_in, ceiling="10"))
    # N = 5 -> 4 slots; valid ranked LO, FAIL, FAIL2, all within the slots: both fail 1.8 x 1.00 and 0.5 x 10.
    assert lot["max_winners"] == 4
    assert reasons(bids) == {
        "EXC": "excluded", "OVER": "over_ceiling", "LO": "won", "FAIL": "outside_spread", "FAIL2": "outside_spread",
    }
    bids_in = [bid(f"B{i}", p) for i, p in enumerate(["1.00", "1.10", "6.00", "1.20", "1.30"])]
    lot, bids = run(problem(bids_in, ceiling="10"))
    # N = 5 -> 4 slots: 6.00 is 5th, beyond the slots (reported so even though it also fails the spread test).
    assert bids["B2"]["reason"] == "beyond_max_winners" and bids["B2"]["rank"] == 5


@pytest.mark.parametrize("n, slots", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 4), (6, 4), (7, 5), (8, 5), (9, 6), (10, 6), (14, 6)])
def test_w4_nvbp2_slots(n, slots):
    # Prices within 1.8x of the lowest: every shortlisted bid wins, so winners = slots.
    bids_in = [bid(f"B{i:02d}", f"{Decimal('1.00') + Decimal(i) / 100}") for i in range(n)]
    lot, bids = run(problem(bids_in))
    assert lot["bidders"] == n and lot["max_winners"] == slots and len(lot["winners"]) == slots
    assert sum(1 for b in bids.values() if b["reason"] == "beyond_max_winners") == n - slots


@pytest.mark.parametrize("preset, n, slots", [("nvbp-4", 8, 6), ("nvbp-4", 13, 10), ("nvbp-10", 10, 6), ("nvbp-10", 16, 10),
                                              ("nvbp-1ext", 7, 3), ("nvbp-4+7", 5, 1)])
def test_w4_other_tables(preset, n, slots):
    bids_in = [bid(f"B{i:02d}", f"{Decimal('1.00') + Decimal(i) / 100}") for i in range(n)]
    lot, _ = run(problem(bids_in, ruleset=preset, draw_seed="s"))
    assert lot["max_winners"] == slots and len(lot["winners"]) == slots


def test_same_manufacturer_counts_once():
    bids_in = [
        bid("A", "1.00", manufacturer="CMO-1"), bid("B", "1.01", manufacturer="CMO-1"),
        bid("C", "1.02", manufacturer="CMO-2"), bid("D", "1.03"),
    ]
    lot, _ = run(problem(copy.deepcopy(bids_in)))
    assert lot["bidders"] == 4 and lot["max_winners"] == 3
    lot, _ = run(problem(bids_in, ruleset={"preset": "nvbp-2", "count_same_manufacturer_as_one": True}))
    assert lot["bidders"] == 3 and lot["max_winners"] == 2


@pytest.mark.parametrize("b_count, rounding, slots", [(0, "floor", 6), (4, "floor", 4), (3, "floor", 5), (3, "ceil", 4),
                                                      (8, "floor", 4), (1, "half_up", 5)])
def test_b_licence_slot_cut(b_count, rounding, slots):
    # DOMAIN.md W3 example (nvbp-10): N = 10 -> 6 slots; 4 B-licence bidders -> X = 2 -> 4 slots; X <= 2.
    bids_in = [bid(f"B{i:02d}", f"{Decimal('1.00') + Decimal(i) / 100}", b_licence=i < b_count) for i in range(10)]
    rs = {"preset": "nvbp-10", "b_licence_slot_cut": True, "b_licence_rounding": rounding}
    lot, _ = run(problem(bids_in, ruleset=rs))
    assert lot["bidders"] == 10 and lot["max_winners"] == slots


# --- W5: the price-spread test -----------------------------------------------------------------------------

def test_abiraterone_worked_example():
    bids_in = [bid("ZDTQ", "23.333333"), bid("CDSD", "31.90"), bid("JXSX", "35.80"), bid("JNJ", "84.05")]
    lot, bids = run(problem(bids_in, ceiling="101.67"))
    assert lot["bidders"] == 4 and lot["max_winners"] == 3 and lot["lowest_price"] == "23.333333"
    assert lot["winners"] == ["ZDTQ", "CDSD", "JXSX"]
    assert bids["JNJ"]["reason"] == "beyond_max_winners" and bids["JNJ"]["rank"] == 4


def test_spread_multiplier_is_exact_decimal():
    # 1.8 x 23.333333 = 41.9999994 exactly: 41.9999994 passes, 41.9999995 (< 42.00) fails. No ceiling: no route (b).
    assert Decimal("1.8") * Decimal("23.333333") == Decimal("41.9999994")
    bids_in = [bid("LO", "23.333333"), bid("EDGE", "41.9999994"), bid("OVER", "41.9999995"), bid("FAR", "84.05")]
    lot, bids = run(problem(bids_in, ceiling=None))
    assert lot["max_winners"] == 3
    assert reasons(bids) == {"LO": "won", "EDGE": "won", "OVER": "outside_spread", "FAR": "beyond_max_winners"}


LEVOCETIRIZINE = [  # batch-2 lot 32, ceiling 0.82
    bid("JD", "0.0575"), bid("MS", "0.150714"), bid("HB", "0.222"), bid("YN", "0.238571"), bid("DR", "0.2875"),
    bid("QL", "0.35"), bid("TH", "0.4867"), bid("UCB", "4.2947"),
]


def test_levocetirizine_winners_by_route_b():
    lot, bids = run(problem(copy.deepcopy(LEVOCETIRIZINE), ceiling="0.82"))
    assert lot["bidders"] == 8 and lot["max_winners"] == 5
    assert lot["winners"] == ["JD", "MS", "HB", "YN", "DR"]
    assert bids["QL"]["reason"] == "beyond_max_winners" and bids["QL"]["rank"] == 6
    assert bids["UCB"]["reason"] == "over_ceiling"
    # 0.2875 is 5.0x the lowest: it passes only through route (b) (<= 0.41).
    assert Decimal("0.2875") > Decimal("1.8") * Decimal("0.0575") and Decimal("0.2875") <= Decimal("0.41")


def test_levocetirizine_without_route_b_only_the_lowest_wins():
    lot, bids = run(problem(copy.deepcopy(LEVOCETIRIZINE), ceiling="0.82", ruleset={"preset": "nvbp-2", "spread_rule": "ratio_or_low_with_revival"}))
    assert lot["winners"] == ["JD"]
    assert [bids[b]["reason"] for b in ("MS", "HB", "YN", "DR")] == ["outside_spread"] * 4


def test_low_price_exemption_per_form_class():
    bids_in = [bid("A", "0.02"), bid("B", "0.09")]  # 0.09 > 1.8 x 0.02 = 0.036 and > 0.5 x 0.15
    lot, _ = run(problem(copy.deepcopy(bids_in), ceiling="0.15", form_class="oral_solid"))
    assert lot["winners"] == ["A", "B"]  # route (c), 0.10 yuan for oral solids
    lot, bids = run(problem(copy.deepcopy(bids_in), ceiling="0.15", form_class="small_volume_injection"))
    assert lot["winners"] == ["A"] and bids["B"]["reason"] == "outside_spread"  # unset for injections
    rs = {"preset": "nvbp-2", "low_price_exemption": {"small_volume_injection": "0.09"}}
    lot, _ = run(problem(bids_in, ceiling="0.15", form_class="small_volume_injection", ruleset=rs))
    assert lot["winners"] == ["A", "B"]


def test_spread_rule_none_ranks_only():
    bids_in = [bid("A", "1.00"), bid("B", "9.00")]
    lot, bids = run(problem(bids_in, ruleset="nvbp-1ext", ceiling=None))
    assert lot["winners"] == ["A", "B"]


# --- W6: ranking and tie-break -----------------------------------------------------------------------------

PARACETAMOL = [  # batch-2 lot 9, ceiling 0.10: N = 9 -> 6 slots, tie at 0.065 for slot 6
    ("HZ", "0.0333"), ("TD", "0.0345"), ("DA", "0.049167"), ("RF", "0.055"), ("TY", "0.0559"),
    ("JH", "0.065"), ("DB", "0.065"), ("ZD", "0.0764"), ("HH", "0.088"),
]


def paracetamol(keys: dict | None = None, **kw) -> dict:
    return problem([bid(i, p, **({"tie_keys": keys[i]} if keys and i in keys else {})) for i, p in PARACETAMOL],
                   ceiling="0.10", **kw)


def test_paracetamol_tie_decided_by_tie_keys():
    lot, bids = run(paracetamol({"JH": {"reported_demand": 120000}, "DB": {"reported_demand": 80000}}))
    assert lot["max_winners"] == 6 and lot["winners"][-1] == "JH"
    assert bids["JH"]["rank"] == 6 and bids["DB"]["rank"] == 7 and bids["DB"]["reason"] == "beyond_max_winners"
    # Reversed demand: the other bid takes slot 6.
    lot, bids = run(paracetamol({"JH": {"reported_demand": 1}, "DB": {"reported_demand": 2}}))
    assert lot["winners"][-1] == "DB" and bids["JH"]["reason"] == "beyond_max_winners"


def test_tie_falls_through_to_the_next_key_when_equal_or_missing():
    keys = {"JH": {"reported_demand": 5, "provinces_supplied_hist": 3},
            "DB": {"reported_demand": 5, "provinces_supplied_hist": 7}}
    lot, _ = run(paracetamol(keys))
    assert lot["winners"][-1] == "DB"
    # One bid lacks reported_demand: it counts as equal, provinces_supplied_hist decides.
    keys = {"JH": {"reported_demand": 99, "provinces_supplied_hist": 3}, "DB": {"provinces_supplied_hist": 7}}
    lot, _ = run(paracetamol(keys))
    assert lot["winners"][-1] == "DB"


def test_ascending_tie_key():
    rs = {"preset": "nvbp-2", "tie_break_order": ["ucp", "reported_demand_asc", "officer_lot_draw"]}
    lot, _ = run(paracetamol({"JH": {"reported_demand": 1}, "DB": {"reported_demand": 2}}, ruleset=rs))
    assert lot["winners"][-1] == "JH"


def test_paracetamol_tie_decided_by_the_draw():
    seed = "2020-01-17 opening, witnessed"
    digest = {i: hashlib.sha256(f"{seed}:{i}".encode("utf-8")).hexdigest() for i in ("JH", "DB")}
    expected = min(digest, key=digest.get)
    lot, bids = run(paracetamol(draw_seed=seed))
    assert lot["winners"][-1] == expected and bids[expected]["rank"] == 6
    # Another seed may reverse the draw; the outcome always follows SHA-256(seed:id) ascending.
    for other in ("seed-a", "seed-b", "seed-c", "seed-d"):
        d = {i: hashlib.sha256(f"{other}:{i}".encode("utf-8")).hexdigest() for i in ("JH", "DB")}
        lot, _ = run(paracetamol(draw_seed=other))
        assert lot["winners"][-1] == min(d, key=d.get)


def test_tie_reaching_the_draw_without_seed_is_a_problem_error():
    with pytest.raises(ProblemError) as err:
        select(paracetamol())
    assert [str(e) for e in err.value.errors] == [
        'draw_seed: is required: bids "JH", "DB" of lot "L1" are tied after every other tie-break key '
        "at unit price 0.065 (W6 officer_lot_draw)"
    ]


def test_no_seed_needed_when_no_tie_reaches_the_draw():
    lot, _ = run(paracetamol({"JH": {"reported_demand": 2}, "DB": {"reported_demand": 1}}))
    assert lot["status"] == "selected"


def test_tie_break_order_without_draw_falls_back_to_bid_id():
    # 4+7 has no officer draw: remaining ties are ordered by bid id so the result stays deterministic.
    lot, bids = run(problem([bid("Z", "1.00"), bid("A", "1.00")], ruleset="nvbp-4+7"))
    assert lot["winners"] == ["A"] and bids["Z"]["rank"] == 2


# --- W8 revival, W9 anchor, W10 dual anchor ----------------------------------------------------------------

REVIVAL = ["1.00", "1.50", "1.70", "2.50", "3.00", "3.50", "4.00", "4.50"]


def test_revival_example():
    accepted = {"B3": True, "B4": False, "B5": True}
    bids_in = [bid(f"B{i}", p, revival_accepted=accepted.get(f"B{i}")) for i, p in enumerate(REVIVAL)]
    lot, bids = run(problem(bids_in, ruleset="nvbp-10", ceiling=None))
    assert lot["bidders"] == 8 and lot["max_winners"] == 5
    assert lot["winners"] == ["B0", "B1", "B2", "B3"]
    assert bids["B3"] == {"bid": "B3", "outcome": "won", "reason": "revived", "rank": 4, "flags": []}
    assert bids["B4"]["reason"] == "outside_spread"
    assert bids["B5"]["reason"] == "beyond_max_winners"  # revival counts toward the max: only slots 1-5


def test_revival_not_counting_toward_max():
    bids_in = [bid(f"B{i}", p, revival_accepted=i in (3, 5)) for i, p in enumerate(REVIVAL)]
    rs = {"preset": "nvbp-10", "revival_counts_toward_max": False}
    lot, bids = run(problem(bids_in, ruleset=rs, ceiling=None))
    assert lot["winners"] == ["B0", "B1", "B2", "B3", "B5"]
    assert bids["B5"]["reason"] == "revived" and bids["B4"]["reason"] == "outside_spread"


def test_no_revival_under_nvbp2():
    bids_in = [bid(f"B{i}", p, revival_accepted=True) for i, p in enumerate(REVIVAL)]
    lot, bids = run(problem(bids_in, ruleset="nvbp-2", ceiling=None))
    assert lot["winners"] == ["B0", "B1", "B2"]
    assert bids["B3"]["reason"] == "outside_spread"


def test_anchor_example():
    # Shortlisted 1.00 2.00 2.20 2.40 3.00: mean 2.12, anchor 1.06, cap 1.908. Three bids above the ceiling
    # make N = 8 so nvbp-10's table (used by nvbp-11) gives the 5 slots of the example.
    prices = ["1.00", "2.00", "2.20", "2.40", "3.00", "4.00", "4.10", "4.20"]
    lot, bids = run(problem([bid(f"B{i}", p) for i, p in enumerate(prices)], ruleset="nvbp-11", ceiling="3.50"))
    assert lot["bidders"] == 8 and lot["max_winners"] == 5
    assert lot["winners"] == ["B0"]
    assert bids["B0"]["flags"] == ["cost_explanation_required"] and bids["B0"]["reason"] == "won"
    assert [bids[f"B{i}"]["reason"] for i in range(1, 5)] == ["outside_spread"] * 4
    assert all(bids[f"B{i}"]["flags"] == [] for i in range(1, 8))


def test_anchor_is_the_lowest_when_bids_are_close():
    # mean 1.10 -> half 0.55 < lo 1.00: anchor = 1.00, cap 1.80; nobody is below the anchor.
    prices = ["1.00", "1.10", "1.20", "5.00", "5.00", "5.00", "5.00", "5.00"]
    lot, bids = run(problem([bid(f"B{i}", p) for i, p in enumerate(prices)], ruleset="nvbp-11", ceiling="2.00"))
    assert lot["max_winners"] == 5 and lot["winners"] == ["B0", "B1", "B2"]
    assert all(b["flags"] == [] for b in bids.values())


def test_anchor_with_revival_configured():
    prices = ["1.00", "2.00", "2.20", "2.40", "3.00", "4.00", "4.10", "4.20"]
    bids_in = [bid(f"B{i}", p, revival_accepted=i == 1) for i, p in enumerate(prices)]
    lot, bids = run(problem(bids_in, ruleset={"preset": "nvbp-11", "revival_with_anchor": True}, ceiling="3.50"))
    assert lot["winners"] == ["B0", "B1"] and bids["B1"]["reason"] == "revived"


def test_dual_anchor_is_refused():
    with pytest.raises(ProblemError) as err:
        select(problem([bid("A", "1.00")], ruleset="nvbp-12-draft"))
    (error,) = err.value.errors
    assert error.path == "ruleset.spread_rule" and "dual_anchor.enabled = false" in error.message
    with pytest.raises(ProblemError) as err:
        select(problem([bid("A", "1.00")], ruleset={"preset": "nvbp-12-draft", "dual_anchor": {"enabled": True}}))
    assert err.value.errors[0].path == "ruleset.spread_rule" and "not implemented" in err.value.errors[0].message


# --- failed lots and the result shape ----------------------------------------------------------------------

def test_failed_lot_when_every_bid_is_over_the_ceiling_or_excluded():
    lot, bids = run(problem([bid("A", "11"), bid("B", "1", excluded="ineligible_product")], ceiling="10"))
    assert lot == {
        "lot": "L1", "status": "failed", "bidders": 2, "max_winners": 2, "lowest_price": None, "winners": [],
        "committed_ratio": None, "allocation": [], "backups": [],
    }
    assert reasons(bids) == {"A": "over_ceiling", "B": "excluded"}
    assert all(b["outcome"] == "lost" and b["rank"] is None for b in bids.values())


def test_failed_lot_without_bids():
    lot, bids = run(problem([]))
    assert lot["status"] == "failed" and lot["bidders"] == 0 and lot["max_winners"] == 0 and bids == {}


def test_result_shape_and_determinism():
    doc = problem([bid("B2", "1.20"), bid("B1", "1.00"), bid("B3", "9.00")], draw_seed="x")
    original = copy.deepcopy(doc)
    result = select(doc)
    assert doc == original  # the input is not modified
    assert set(result) == {"schema", "problem_sha256", "lots", "bids"}
    assert result["schema"] == "jicai.selection-result/1"
    assert result["problem_sha256"] == problem_sha256(doc)
    assert [b["bid"] for b in result["bids"]] == ["B2", "B1", "B3"]  # every bid once, in input order
    assert all(set(b) == {"bid", "outcome", "reason", "rank", "flags"} for b in result["bids"])
    assert set(result["lots"][0]) == {
        "lot", "status", "bidders", "max_winners", "lowest_price", "winners", "committed_ratio", "allocation", "backups",
    }
    assert select(copy.deepcopy(doc)) == result


def test_several_lots_are_independent():
    doc = problem([bid("A", "1.00"), bid("B", "1.50")])
    doc["lots"].append({**copy.deepcopy(doc["lots"][0]), "id": "L2"})
    doc["bids"] += [
        {"id": "C", "lot": "L2", "supplier": "supplier A", "unit_price": "2.00", "excluded": None},
        {"id": "D", "lot": "L2", "supplier": "supplier D", "unit_price": "11.00", "excluded": None},
    ]
    result = select(doc)
    lots = {lot["lot"]: lot for lot in result["lots"]}
    assert lots["L1"]["winners"] == ["A", "B"] and lots["L2"]["winners"] == ["C"]
    assert {b["bid"]: b["rank"] for b in result["bids"]} == {"A": 1, "B": 2, "C": 1, "D": None}


def test_exact_whatever_the_callers_decimal_context():
    bids_in = [bid("LO", "23.333333"), bid("EDGE", "41.9999994"), bid("OVER", "41.9999995"), bid("FAR", "84.05")]
    with decimal.localcontext(prec=4):
        lot, bids = run(problem(bids_in, ceiling=None))
    assert reasons(bids) == {"LO": "won", "EDGE": "won", "OVER": "outside_spread", "FAR": "beyond_max_winners"}
