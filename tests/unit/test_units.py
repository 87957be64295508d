"""Unit normalisation, 规格 parsing and 差比价 in exact Decimal (DOMAIN.md P-2, U1–U6)."""
from __future__ import annotations

import csv
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from app.catalog.units import (
    DEFAULT_DIFF_PRICE,
    Quantity,
    Spec,
    canonical_unit,
    convert,
    diff_factor,
    parse_quantity,
    parse_spec,
    to_canonical,
    unit_comparable_price,
    unit_dimension,
    unit_price,
)
from app.core.errors import IncompatibleUnits, InvalidDiffPriceConfig, InvalidSpec

ROOT = Path(__file__).resolve().parents[2]
D = Decimal
STRENGTH = {"method": "strength", "strength_coeff": "1.7", "volume_coeff": "1.9"}
VOLUME = {"method": "volume", "strength_coeff": "1.7", "volume_coeff": "1.9"}


def assert_price(value: object, expected: str) -> None:
    """Exactly ``expected``, as a Decimal with 6 decimals (never a float)."""
    assert type(value) is Decimal
    assert value.as_tuple().exponent == -6
    assert value == D(expected)
    assert str(value) == expected


# --- U2 units ---------------------------------------------------------------------------------


def test_mass_units_are_equivalent():
    assert to_canonical(D("0.25"), "g") == Quantity(D(250), "mg")
    assert to_canonical(500, "μg") == Quantity(D("0.5"), "mg")
    for micro in ("μg", "µg", "ug", "mcg", "UG", "微克", "㎍"):
        assert convert(1000, micro, "mg") == 1, micro
    assert convert(1, "g", "μg") == D(1000000)
    assert convert("0.1", "克", "毫克") == 100
    assert convert(1, "mg", "g") == D("0.001")
    # 1 g, 1000 mg and 1,000,000 μg parse to the same strength.
    strengths = {parse_spec(t).strength for t in ("1g", "1000mg", "1000000μg", "1000000mcg")}
    assert strengths == {Quantity(D(1000), "mg")}


def test_activity_and_volume_units():
    assert convert(40, "万IU", "IU") == D(400000)
    assert convert(1, "万单位", "IU") == D(10000)
    assert convert(1, "万单位", "万IU") == 1
    assert convert(2, "L", "ml") == D(2000)
    assert convert(500, "mL", "升") == D("0.5")
    assert canonical_unit("g") == "mg"
    assert canonical_unit("万单位") == "IU"
    assert canonical_unit("L") == "ml"
    assert unit_dimension("mcg") == "mass"
    assert unit_dimension("IU") == "activity"
    assert unit_dimension("毫升") == "volume"


def test_mg_vs_iu_is_incompatible_never_guessed():
    with pytest.raises(IncompatibleUnits) as exc:
        convert(1, "mg", "IU")
    assert exc.value.code == "INCOMPATIBLE_UNITS"
    assert exc.value.params == {"unit_a": "mg", "unit_b": "IU"}
    with pytest.raises(IncompatibleUnits):
        convert(1, "ml", "mg")


def test_unknown_unit():
    with pytest.raises(InvalidSpec) as exc:
        canonical_unit("kg-ish")
    assert exc.value.code == "UNKNOWN_UNIT"
    assert exc.value.params == {"unit": "kg-ish"}


# --- 规格 parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("0.25g", "250", "mg"),
        ("10mg", "10", "mg"),
        ("2.5mg", "2.5", "mg"),
        ("0.075g", "75", "mg"),
        (".5mg", "0.5", "mg"),
        ("40万IU", "400000", "IU"),
        ("80万单位", "800000", "IU"),
        ("400U", "400", "IU"),
        ("0.5μg", "0.0005", "mg"),
        ("0.25 G", "250", "mg"),
        ("０.２５ｇ", "250", "mg"),  # full-width
        ("１０ｍｇ", "10", "mg"),
        ("10㎎", "10", "mg"),
        ("0.25克", "250", "mg"),
    ],
)
def test_parse_plain_strength(text, value, unit):
    spec = parse_spec(text)
    assert spec.strength_value == D(value)
    assert spec.strength_unit == unit
    assert spec.fill_volume_ml is None
    assert spec.concentration is None
    assert spec.text == text


@pytest.mark.parametrize(
    "text",
    ["5ml:0.1g", "0.1g/5ml", "5ml：0.1g", "5ml∶0.1g", "５ｍｌ：０.１ｇ", "5 mL : 100 mg", "0.1g:5ml"],
)
def test_parse_fill_volume_and_content(text):
    spec = parse_spec(text)
    assert spec.strength_value == D(100)
    assert spec.strength_unit == "mg"
    assert spec.fill_volume_ml == D(5)
    assert spec.concentration == D(20)
    assert spec.concentration_unit == "mg/ml"


def test_parse_concentration_only_and_volume_only():
    conc = parse_spec("100mg/ml")
    assert conc.strength is None
    assert conc.concentration == D(100)
    assert conc.concentration_unit == "mg/ml"
    vol = parse_spec("250ml")
    assert vol.fill_volume_ml == D(250)
    assert vol.strength is None
    assert parse_spec("1L:5g").fill_volume_ml == D(1000)
    assert parse_spec("3ml:300单位").concentration == D(100)
    assert parse_spec("3ml:300单位").concentration_unit == "IU/ml"


def test_parse_pack_suffix():
    spec = parse_spec("20mg×7片")
    assert (spec.strength_value, spec.strength_unit) == (D(20), "mg")
    assert (spec.pack_qty, spec.min_unit) == (7, "片")
    assert parse_spec("0.25g*24粒").pack_qty == 24
    assert parse_spec("0.25gx24粒").min_unit == "粒"
    assert parse_spec("10mg×7片×2板/盒").pack_qty == 14
    assert parse_spec("5ml:0.1g×10支").min_unit == "支"
    assert parse_spec("10mg/片").min_unit == "片"
    assert parse_spec("10mg").pack_qty is None


def test_parse_equivalent_amount_in_brackets():
    spec = parse_spec("1g(100万单位)")
    assert spec.strength == Quantity(D(1000), "mg")
    assert spec.alt_strengths == (Quantity(D(1000000), "IU"),)
    assert parse_spec("1g（100万单位）") == Spec(
        strength_value=D(1000),
        strength_unit="mg",
        alt_strengths=(Quantity(D(1000000), "IU"),),
        text="1g（100万单位）",
    )


def test_parse_salt_basis_note_is_ignored():
    spec = parse_spec("20mg(按C33H35FN2O5计)")
    assert spec.strength == Quantity(D(20), "mg")
    assert spec.alt_strengths == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0.9%",
        "5mg/10mg",
        "10mg(5mg)",
        "10mg(5ml)",
        "250ml(12.5g)",
        "100mg/ml(1万IU)",
        "0mg",
        "abc",
        "5ml:10ml",
        "10mg(2片)",
        "20mg×",
        "20mg×7片×",
    ],
)
def test_unparseable_specs_raise(text):
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(text)
    assert exc.value.code == "SPEC_UNPARSEABLE"


def test_parse_quantity():
    assert parse_quantity("0.25g") == Quantity(D(250), "mg")
    assert parse_quantity(" 5 ml ") == Quantity(D(5), "ml")
    with pytest.raises(InvalidSpec):
        parse_quantity("5ml:0.1g")


def test_every_batch2_spec_parses_to_mg():
    for name in ("nvbp-batch2-bids.csv", "nvbp-batch2-volumes.csv"):
        with open(ROOT / "app/demo/data" / name, encoding="utf-8", newline="") as fh:
            specs = {row["spec"] for row in csv.DictReader(fh)}
        assert specs
        for text in specs:
            spec = parse_spec(text)
            assert spec.strength_unit == "mg", text
            assert spec.strength_value > 0


# --- U1 unit price ----------------------------------------------------------------------------


def test_unit_price_domain_example():
    assert_price(unit_price(D("6.60"), 7), "0.942857")  # 4+7 atorvastatin 20 mg × 7
    assert_price(unit_price("6.60", "7"), "0.942857")
    assert_price(unit_price(D("23.333333"), 1), "23.333333")
    assert_price(unit_price(D("1.055"), 1000), "0.001055")


def test_unit_price_rounds_half_up():
    assert_price(unit_price(D("0.0000025"), 1), "0.000003")
    assert_price(unit_price(D("0.0000035"), 1), "0.000004")
    banker = unit_price(D("0.0000025"), 1, rounding=ROUND_HALF_EVEN)
    assert banker == D("0.000002")
    assert unit_price(D("1"), 3, price_decimals=2) == D("0.33")


def test_unit_price_refuses_float_and_bad_quantities():
    with pytest.raises(TypeError):
        unit_price(6.60, 7)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        unit_price(D("6.60"), 7.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        unit_price(D("6.60"), True)  # type: ignore[arg-type]
    for qty in (0, -7, D("7.5"), "x"):
        with pytest.raises(ValueError):
            unit_price(D("6.60"), qty)
    with pytest.raises(ValueError):
        unit_price(D("-1"), 7)
    with pytest.raises(ValueError):
        unit_price(D("NaN"), 7)


# --- U3–U5 差比价 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bid", "price", "expected"),
    [
        ("20mg", "1.70", "1.000000"),  # 1.70 × 1.7^(−1)
        ("40mg", "2.89", "1.000000"),  # 2.89 / 1.7²
        ("5mg", "0.60", "1.020000"),  # 0.60 × 1.7
        ("10mg", "0.942857", "0.942857"),  # the representative itself
    ],
)
def test_strength_ratio_domain_examples(bid, price, expected):
    assert_price(unit_comparable_price(D(price), bid, "10mg", STRENGTH), expected)


def test_volume_ratio_domain_example():
    assert_price(unit_comparable_price(D("3.80"), "10ml", "5ml", VOLUME), "2.000000")
    assert_price(
        unit_comparable_price(D("3.80"), "10ml:0.2g", parse_spec("5ml:0.1g"), VOLUME), "2.000000"
    )


def test_strength_ratio_is_unit_independent():
    # 20 mg written as 0.02 g, 20000 μg: same result as the 20 mg tablet.
    for bid in ("0.02g", "20000μg", "20000mcg", "20mg"):
        assert_price(unit_comparable_price(D("1.70"), bid, "10mg", STRENGTH), "1.000000")
    assert_price(unit_comparable_price(D("1.70"), "20mg", "0.01g", STRENGTH), "1.000000")


def test_non_power_of_two_ratio_uses_ln_exp():
    # 1.7^log2(10/15) = 0.73315537464295585…, computed with ln/exp at 50 digits (the first 16
    # digits agree with an independent double-precision evaluation).
    factor = diff_factor(D(10) / D(15), D("1.7"))
    assert type(factor) is Decimal
    assert str(factor).startswith("0.7331553746429558")
    assert len(factor.as_tuple().digits) == 50
    assert_price(unit_comparable_price(D("1.00"), "15mg", "10mg", STRENGTH), "0.733155")
    # Three steps of 3 mg → 6 mg → 12 mg scale consistently: 1.7^log2(12/3) = 1.7².
    assert_price(unit_comparable_price(D("2.89"), "12mg", "3mg", STRENGTH), "1.000000")


def test_diff_factor_exact_powers():
    assert diff_factor(D(1), D("1.7")) == 1
    assert diff_factor(D(4), D("1.7")) == D("2.89")
    assert diff_factor(D("0.5"), D("2")) == D("0.5")
    with pytest.raises(ValueError):
        diff_factor(D(0), D("1.7"))


def test_alternative_strength_bridges_mass_and_activity():
    # The representative is stated in 万单位; the bid in g with its 万单位 equivalent.
    ucp = unit_comparable_price(D("2.00"), "1g(100万单位)", "50万单位", STRENGTH)
    assert_price(ucp, "1.176471")  # 2.00 / 1.7


def test_mg_vs_iu_strength_is_an_error():
    with pytest.raises(IncompatibleUnits) as exc:
        unit_comparable_price(D("1.00"), "10mg", "40万IU", STRENGTH)
    assert exc.value.code == "INCOMPATIBLE_UNITS"
    assert exc.value.params == {"unit_a": "mg", "unit_b": "IU"}


def test_missing_strength_or_volume():
    with pytest.raises(InvalidSpec) as exc:
        unit_comparable_price(D("1.00"), "250ml", "10mg", STRENGTH)
    assert exc.value.code == "SPEC_MISSING_STRENGTH"
    with pytest.raises(InvalidSpec) as exc:
        unit_comparable_price(D("1.00"), "10mg", "5ml", VOLUME)
    assert exc.value.code == "SPEC_MISSING_FILL_VOLUME"


def test_injection_method_adds_fixed_cost_after_the_strength_step():
    cfg = {**STRENGTH, "method": "injection", "injection_fixed_cost": "0.30"}
    # (2.00 − 0.30) / 1.7 + 0.30
    assert_price(unit_comparable_price(D("2.00"), "20mg", "10mg", cfg), "1.300000")
    assert_price(unit_comparable_price(D("2.00"), "10mg", "10mg", cfg), "2.000000")
    with pytest.raises(InvalidDiffPriceConfig) as exc:
        unit_comparable_price(D("2.00"), "20mg", "10mg", {"method": "injection"})
    assert exc.value.code == "DIFF_PRICE_CONFIG"
    assert exc.value.params == {"method": "injection", "field": "injection_fixed_cost"}


def test_daily_cost_method():
    cfg = {"method": "daily_cost", "daily_dose": "20mg"}
    # 10 mg tablets, 2 a day, 0.50 each.
    assert_price(unit_comparable_price(D("0.50"), "10mg", "20mg", cfg), "1.000000")
    assert_price(
        unit_comparable_price(
            D("0.35"), "5mg", "20mg", {"method": "daily_cost"}, units_per_daily_dose=3
        ),
        "1.050000",
    )
    with pytest.raises(InvalidDiffPriceConfig):
        unit_comparable_price(D("0.50"), "10mg", "20mg", {"method": "daily_cost"})
    with pytest.raises(IncompatibleUnits):
        unit_comparable_price(
            D("0.50"), "10mg", "20mg", {"method": "daily_cost", "daily_dose": "1万IU"}
        )


def test_ruleset_defaults_floats_and_bad_config():
    assert DEFAULT_DIFF_PRICE["strength_coeff"] == D("1.7")
    # Missing keys take DOMAIN values; a JSON float coefficient is read through repr (P-2).
    assert_price(unit_comparable_price(D("0.60"), "5mg", "10mg", {}), "1.020000")
    assert_price(
        unit_comparable_price(D("0.60"), "5mg", "10mg", {"strength_coeff": 1.7}), "1.020000"
    )

    class DiffPrice:  # an attribute-style RuleSet block
        method = "volume"
        volume_coeff = D("1.9")

    assert_price(unit_comparable_price(D("3.80"), "10ml", "5ml", DiffPrice()), "2.000000")
    with pytest.raises(InvalidDiffPriceConfig) as exc:
        unit_comparable_price(D("1"), "5mg", "10mg", {"method": "guess"})
    assert exc.value.params == {"method": "guess"}
    for bad in ("0", "-1.7", "abc"):
        with pytest.raises(InvalidDiffPriceConfig):
            unit_comparable_price(D("1"), "5mg", "10mg", {"strength_coeff": bad})


def test_ucp_refuses_float_price():
    with pytest.raises(TypeError):
        unit_comparable_price(1.70, "20mg", "10mg", STRENGTH)  # type: ignore[arg-type]


def test_no_float_anywhere_in_results():
    results = [
        unit_price(D("6.60"), 7),
        unit_comparable_price(D("1.70"), "20mg", "10mg", STRENGTH),
        unit_comparable_price(D("1.00"), "15mg", "10mg", STRENGTH),
        unit_comparable_price(D("3.80"), "10ml", "5ml", VOLUME),
        unit_comparable_price("0.6", "5mg", "10mg", STRENGTH, price_decimals=6),
    ]
    for value in results:
        assert type(value) is Decimal
        assert value.as_tuple().exponent == -6
    spec = parse_spec("5ml:0.1g×10支")
    for value in (spec.strength_value, spec.fill_volume_ml, spec.concentration):
        assert type(value) is Decimal
    assert type(spec.pack_qty) is int


def test_price_decimals_parameter():
    assert unit_comparable_price(D("0.60"), "5mg", "10mg", STRENGTH, price_decimals=2) == D("1.02")
    two = unit_comparable_price(D("0.60"), "5mg", "10mg", STRENGTH, price_decimals=2)
    assert two.as_tuple().exponent == -2
