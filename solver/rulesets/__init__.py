"""RuleSet presets (规则集预设) and their resolution with overrides.

A RuleSet holds every parameter of a procurement project's rules (DOMAIN.md P-1 and section 13). The presets
live as data in ``presets.json`` (one file, every preset defines every field); this module loads them,
describes every field (:data:`RULESET_FIELDS`) and resolves a project's ruleset specification, a preset name
or ``{"preset": name, **overrides}``, into a complete, validated RuleSet.

Field names are dotted where DOMAIN.md groups them (``diff_price.strength_coeff``); in a RuleSet document the
groups are nested objects. Decimals are strings; tables are rows ``[min, max or null, value]``.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

from solver.errors import FieldError, ProblemError

__all__ = [
    "RULESET_FIELDS",
    "FieldSpec",
    "flatten",
    "load_presets",
    "preset_descriptions",
    "resolve_ruleset",
    "ruleset_errors",
    "table_lookup",
]

# A checker returns None when the value is acceptable, else the message (without the path).
Checker = Callable[[Any], "str | None"]

_DECIMAL_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ROUNDING_MODES = (
    "ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN", "ROUND_UP", "ROUND_DOWN", "ROUND_CEILING", "ROUND_FLOOR",
)


def _got(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_int(value: Any) -> bool:
    # JSON true/false parse as bool, a subclass of int: never accept them as counts.
    return isinstance(value, int) and not isinstance(value, bool)


def _decimal_of(value: Any) -> Decimal | None:
    """The Decimal of a plain decimal string (``"0.10"``), or None when it is not one."""
    if not isinstance(value, str) or not _DECIMAL_RE.match(value):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex already rules this out
        return None


def _decimal(nullable: bool = False, positive: bool = False, at_most_one: bool = False) -> Checker:
    what = "a positive decimal string" if positive else "a non-negative decimal string"
    if at_most_one:
        what += " not above 1"
    if nullable:
        what += " or null"

    def check(value: Any) -> str | None:
        if value is None and nullable:
            return None
        dec = _decimal_of(value)
        if dec is None or (positive and dec <= 0) or (at_most_one and dec > 1):
            return f"must be {what}, got {_got(value)}"
        return None

    return check


def _integer(minimum: int = 0, nullable: bool = False) -> Checker:
    def check(value: Any) -> str | None:
        if value is None and nullable:
            return None
        if not _is_int(value) or value < minimum:
            return f"must be an integer >= {minimum}{' or null' if nullable else ''}, got {_got(value)}"
        return None

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {_got(value)}"


def _enum(*choices: str) -> Checker:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(_got(c) for c in choices)}, got {_got(value)}"
        return None

    return check


def _enum_list(*choices: str, nonempty: bool = True) -> Checker:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or (nonempty and not value):
            return f"must be a {'non-empty ' if nonempty else ''}list of {', '.join(_got(c) for c in choices)}, got {_got(value)}"
        bad = [v for v in value if v not in choices]
        if bad or len(set(value)) != len(value):
            return f"must list distinct values among {', '.join(_got(c) for c in choices)}, got {_got(value)}"
        return None

    return check


def _date_or_null(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and _DATE_RE.match(value)):
        return None
    return f"must be a date YYYY-MM-DD or null, got {_got(value)}"


def _int_list(value: Any) -> str | None:
    if not isinstance(value, list) or not value or not all(_is_int(v) and v > 0 for v in value):
        return f"must be a non-empty list of positive integers, got {_got(value)}"
    return None


def _decimal_list_or_null(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(_decimal_of(v) is not None for v in value):
        return f"must be a list of decimal strings or null, got {_got(value)}"
    return None


def _decimal_map(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(_decimal_of(v) is not None for v in value.values()):
        return f"must be an object of decimal strings, got {_got(value)}"
    return None


def _tie_order(value: Any) -> str | None:
    # Ranking is by UCP first [V]; later keys are "<name>_desc", "<name>_asc" or the officer's draw.
    if not isinstance(value, list) or not value or value[0] != "ucp":
        return f'must be a list of tie-break keys starting with "ucp", got {_got(value)}'
    for key in value[1:]:
        if key == "officer_lot_draw":
            continue
        if not isinstance(key, str) or not re.match(r"^[a-z][a-z0-9_]*_(desc|asc)$", key):
            return f'keys after "ucp" must be "<name>_desc", "<name>_asc" or "officer_lot_draw", got {_got(key)}'
    if len(set(value)) != len(value) or "officer_lot_draw" in value[:-1]:
        return f'keys must be distinct and "officer_lot_draw" (if present) last, got {_got(value)}'
    return None


def _rows(value: Any, check_value: Callable[[Any], bool], value_what: str) -> str | None:
    """Check rows ``[min, max|null, value]`` covering 1, 2, 3, ... without gap, the last one open-ended."""
    shape = f"must be rows [min, max or null, {value_what}] from 1 upwards without gaps, the last max null"
    if not isinstance(value, list) or not value:
        return f"{shape}, got {_got(value)}"
    expected = 1
    for i, row in enumerate(value):
        if not (isinstance(row, list) and len(row) == 3 and _is_int(row[0]) and row[0] == expected):
            return f"{shape}, got {_got(value)}"
        last = i == len(value) - 1
        if last != (row[1] is None) or (not last and not (_is_int(row[1]) and row[1] >= row[0])):
            return f"{shape}, got {_got(value)}"
        if not check_value(row[2]):
            return f"{shape}, got {_got(value)}"
        if not last:
            expected = row[1] + 1
    return None


def _count_table(value: Any) -> str | None:
    return _rows(value, lambda v: _is_int(v) and v >= 1, "winners >= 1")


_DRUG_CLASSES = ("chemical", "special_anti_infective")


def _per_drug_class(check_rows: Checker) -> Checker:
    def check(value: Any) -> str | None:
        if not isinstance(value, dict) or set(value) != set(_DRUG_CLASSES):
            return f"must be an object with exactly the keys {', '.join(_got(c) for c in _DRUG_CLASSES)}, got {_got(value)}"
        for cls in _DRUG_CLASSES:
            message = check_rows(value[cls])
            if message:
                return f"{cls}: {message}"
        return None

    return check


def _ratio_rows(value: Any) -> str | None:
    return _rows(value, lambda v: (d := _decimal_of(v)) is not None and 0 < d <= 1, "ratio as a decimal string in (0, 1]")


def _years_rows(value: Any) -> str | None:
    return _rows(value, lambda v: _is_int(v) and v >= 1, "years >= 1")


def _quota_table(value: Any) -> str | None:
    # {"3": [11, 10, 10]}: for 3 winners, rank 1 holds 11 regions, ranks 2-3 hold 10 each.
    if not isinstance(value, dict):
        return f"must be an object mapping a winner count to its quotas, got {_got(value)}"
    for key, row in value.items():
        if not re.match(r"^[1-9][0-9]*$", key):
            return f"keys must be winner counts (\"1\", \"2\", ...), got {_got(key)}"
        if (
            not isinstance(row, list)
            or len(row) != int(key)
            or not all(_is_int(q) and q >= 0 for q in row)
            or any(a < b for a, b in zip(row, row[1:]))
        ):
            return f"{key}: must list {key} non-increasing quotas (integers >= 0), got {_got(row)}"
    return None


_CREDIT_LEVELS = (
    "2025:dishonest", "2025:seriously_dishonest", "2025:particularly_seriously_dishonest",
    "2020:general", "2020:moderate", "2020:serious", "2020:particularly_serious",
)


def _block_matrix(value: Any) -> str | None:
    # level -> list of blocks [products, scope]; an empty list is a warning only (R2).
    if not isinstance(value, dict) or set(value) != set(_CREDIT_LEVELS):
        return f"must be an object with exactly the keys {', '.join(_got(c) for c in _CREDIT_LEVELS)}, got {_got(value)}"
    for level, blocks in value.items():
        ok = isinstance(blocks, list) and all(
            isinstance(b, list) and len(b) == 2
            and b[0] in ("involved_products", "all_products") and b[1] in ("province", "national")
            for b in blocks
        )
        if not ok:
            return f'{level}: must be a list of ["involved_products"|"all_products", "province"|"national"], got {_got(blocks)}'
    return None


@dataclass(frozen=True)
class FieldSpec:
    """One RuleSet field: its dotted name, checker and where DOMAIN.md defines it."""

    name: str
    check: Checker
    source: str


def _spec(name: str, check: Checker, source: str) -> FieldSpec:
    return FieldSpec(name, check, source)


_SPREAD_RULES = ("ratio_or_cut_or_low", "ratio_or_low_with_revival", "anchor", "dual_anchor", "none")

#: Every RuleSet field, by dotted name, in presets.json order.
RULESET_FIELDS: dict[str, FieldSpec] = {
    s.name: s
    for s in [
        # Winner selection (section 4).
        _spec("spread_rule", _enum(*_SPREAD_RULES), "W5"),
        _spec("spread_multiplier", _decimal(positive=True), "W5"),
        _spec("cut_vs_ceiling", _decimal(positive=True), "W5"),
        _spec("low_price_exemption.oral_solid", _decimal(nullable=True, positive=True), "W5"),
        _spec("low_price_exemption.small_volume_injection", _decimal(nullable=True, positive=True), "W5, 13"),
        _spec("low_price_exemption.large_volume_injection", _decimal(nullable=True, positive=True), "W5, 13"),
        _spec("low_price_exemption.other", _decimal(nullable=True, positive=True), "W5"),
        _spec("spread_base", _enum("all_valid", "shortlisted"), "W5, 13"),
        _spec("n_count_basis", _enum("all_submitted", "valid_only"), "W3, 13"),
        _spec("max_winners_table", _count_table, "W4"),
        _spec("count_same_manufacturer_as_one", _boolean, "W3"),
        _spec("b_licence_slot_cut", _boolean, "W3"),
        _spec("b_licence_rounding", _enum("floor", "ceil", "half_up"), "W3, 13"),
        _spec("b_licence_max_cut", _integer(0), "W3"),
        _spec("tie_break_order", _tie_order, "W6, 13"),
        _spec("revival_price", _enum("highest_winning", "average_winning"), "W8"),
        _spec("revival_single_winner_multiplier", _decimal(positive=True), "W8"),
        _spec("revival_counts_toward_max", _boolean, "W8, 13"),
        _spec("revival_with_anchor", _boolean, "W9"),
        _spec("consortium_all_or_nothing", _boolean, "W8"),
        _spec("revival_reference", _enum("highest_winning", "average_winning"), "K2, 13"),
        _spec("revival_volume_share", _decimal(at_most_one=True), "K2, 13"),
        _spec("anchor_mean_factor", _decimal(positive=True), "W9"),
        _spec("anchor_cap_multiplier", _decimal(positive=True), "W9"),
        _spec("dual_anchor.enabled", _boolean, "W10"),
        _spec("dual_anchor.anchor_sd", _decimal(), "W10"),
        _spec("dual_anchor.floor_sd", _decimal(), "W10"),
        _spec("dual_anchor.reference_listed_revival", _boolean, "W10"),
        _spec("groups.enabled", _boolean, "K2"),
        _spec("groups.assignment_rule", _enum("cumulative_share"), "K2"),
        _spec("groups.a_cumulative_share", _decimal(positive=True, at_most_one=True), "K2, 13"),
        _spec("groups.per_group_max_winners", _integer(1, nullable=True), "K2"),
        _spec("ceiling.method", _enum("manual", "nvbp11"), "W1"),
        _spec("eligibility.require_consistency_evaluation", _boolean, "W2"),
        # Committed volume, regions, cycle (section 5).
        _spec("volume_ratio_table", _per_drug_class(_ratio_rows), "V1"),
        _spec("cycle_years_table", _per_drug_class(_years_rows), "V1, V4"),
        _spec("cycle_start", _date_or_null, "V4"),
        _spec("cycle_end", _date_or_null, "V4"),
        _spec("volume_rounding", _enum("per_institution_half_up"), "V1, 13"),
        _spec("min_report_vs_history", _decimal(nullable=True), "V1"),
        _spec("brand_demand", _boolean, "V2"),
        _spec("primary_care_any_brand", _boolean, "V2"),
        _spec("region_quota_table", _quota_table, "V3"),
        _spec("region_preference_source", _enum("supplier_submitted", "volume_desc"), "V3, 13"),
        _spec("region_preference_fallback", _enum("volume_desc"), "V3, 13"),
        _spec("backup_rule", _enum("next_in_rank"), "V3, 13"),
        _spec("single_winner_backup", _enum("none"), "V3, 13"),
        _spec("xpcc_separate", _boolean, "11, 13"),
        _spec("supply_failure.confirm_days", _integer(0), "V6, 13"),
        _spec("supply_failure.backup_price", _enum("own_winning"), "V6, 13"),
        # Award modes and the optimiser (section 8).
        _spec("award_mode_allowed", _enum_list("rule_draft", "optimised"), "O1"),
        _spec("opt.single_sourcing", _boolean, "O2"),
        _spec("opt.time_limit_s", _integer(1), "O2"),
        _spec("opt.mip_gap", _decimal(), "O2"),
        _spec("opt.bid_pool", _enum("rule_winners", "within_spread", "all_valid"), "O2"),
        # Money (P-2) and 差比价 (section 3).
        _spec("price_decimals", _integer(0), "P-2, 13"),
        _spec("rounding", _enum(*_ROUNDING_MODES), "P-2, 13"),
        _spec("diff_price.method", _enum("strength", "volume", "injection", "daily_cost"), "U5"),
        _spec("diff_price.strength_coeff", _decimal(positive=True), "U3"),
        _spec("diff_price.volume_coeff", _decimal(positive=True), "U4"),
        _spec("diff_price.pack_coeff", _decimal(positive=True), "U5, 13"),
        _spec("diff_price.pack_coeff_enabled", _boolean, "U5, 13"),
        _spec("diff_price.form_coeffs", _decimal_map, "U5, 13"),
        _spec("diff_price.paediatric_override", _boolean, "U5"),
        # Negotiation (section 7).
        _spec("negotiation_target", _enum("lowest_ucp", "median_ucp", "national_lowest_listed", "avg_cut_competitive"), "N2, 13"),
        _spec("negotiation_max_rounds", _integer(0), "N5, 13"),
        _spec("negotiation_non_accept_drops", _boolean, "N4, 13"),
        _spec("negotiation_invite", _enum("above_target"), "N3"),
        _spec("negotiation_min_bidders", _integer(1, nullable=True), "N1"),
        # Workflow (section 1).
        _spec("opening_requires_supervisor", _boolean, "L2, 13"),
        _spec("publish_requires_second_approval", _boolean, "L2, 13"),
        _spec("publicity_days", _integer(0), "L2, 13"),
        _spec("withdrawal_after_opening_is_breach", _boolean, "L2"),
        _spec("day_basis", _enum("calendar", "working_days"), "P-5"),
        _spec("renewal.caps", _enum_list("own_national_lowest_listed", "original_winning", nonempty=False), "V5"),
        _spec("renewal.winner_takes_all", _boolean, "V5"),
        _spec("renewal.cycle_months", _integer(1), "V5"),
        # Listed-price governance (section 9).
        _spec("nonsupply_cap_multiplier", _decimal(positive=True), "P3"),
        _spec("nonsupply_cap_basis.winner", _enum("own_winning", "highest_winning"), "P3, 13"),
        _spec("nonsupply_cap_basis.non_winner", _enum("own_winning", "highest_winning"), "P3, 13"),
        _spec("linkage_exclusions", _enum_list("listed", "vbp_agreement", "renewal", "negotiated", "temporary", nonempty=False), "P4, 13"),
        _spec("linkage_tolerance", _decimal(), "P4, 13"),
        _spec("linkage_deadline_days", _integer(1), "P4, 13"),
        _spec("red_multiplier", _decimal(positive=True), "P5, 13"),
        _spec("yellow_multiplier", _decimal(positive=True), "P5, 13"),
        _spec("abnormal_change_pct", _decimal(positive=True), "P5, 13"),
        _spec("abnormal_window_days", _integer(1), "P5, 13"),
        _spec("province_spread_ratio", _decimal(positive=True), "P5, 13"),
        _spec("low_price_warning", _decimal(nullable=True, positive=True), "P5"),
        _spec("inquiry_reply_days", _integer(1), "P6, 13"),
        _spec("rectify_days", _integer(1), "P6, 13"),
        _spec("max_future_days", _integer(0), "12b"),
        # Credit (section 10).
        _spec("credit.scheme", _enum("2020", "2025"), "R2"),
        _spec("credit.block_matrix", _block_matrix, "R2, 13"),
        _spec("credit.distributor_years", _int_list, "R2"),
        _spec("credit.particularly_serious_bribery_yuan", _decimal(positive=True), "R1"),
        _spec("credit.particularly_serious_tax_yuan", _decimal(positive=True), "R1"),
        _spec("payment.ratio_threshold", _decimal(positive=True), "R3, 13"),
        _spec("payment.transition_years", _integer(0), "R3, 13"),
        _spec("payment.schedule", _decimal_list_or_null, "R3"),
        # Codes (section 2).
        _spec("codes.enforce_lengths", _boolean, "C1-C2, 13"),
        _spec("codes.segments_display_only", _boolean, "C1-C2, 13"),
        _spec("codes.benweima_checksum", _boolean, "C3, 13"),
        _spec("codes.nhsa_benweima_mismatch", _enum("off", "warning", "error"), "C1"),
        _spec("codes.strict_approval_no_types", _enum_list("domestic", "import", "hk_mo_tw", nonempty=False), "C4"),
    ]
}

_GROUPS = frozenset(name.split(".", 1)[0] for name in RULESET_FIELDS if "." in name)


def flatten(ruleset: dict) -> dict[str, Any]:
    """Dotted field name -> value of a nested RuleSet (groups flattened, table values kept whole)."""
    flat: dict[str, Any] = {}
    for key, value in ruleset.items():
        if key in _GROUPS and isinstance(value, dict):
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[key] = value
    return flat


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for name in RULESET_FIELDS:
        value = copy.deepcopy(flat[name])
        if "." in name:
            group, sub = name.split(".", 1)
            nested.setdefault(group, {})[sub] = value
        else:
            nested[name] = value
    return nested


@lru_cache(maxsize=1)
def _presets_document() -> dict:
    text = resources.files(__package__).joinpath("presets.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_presets() -> dict[str, dict]:
    """Every preset of presets.json as name -> complete nested RuleSet (fresh copies, safe to mutate)."""
    return {name: copy.deepcopy(entry["fields"]) for name, entry in _presets_document()["presets"].items()}


def preset_descriptions() -> dict[str, str]:
    """Preset name -> one-line description (what the preset is and its evidence)."""
    return {name: entry["description"] for name, entry in _presets_document()["presets"].items()}


def _check_fields(flat: dict[str, Any], path: str) -> list[FieldError]:
    errors = []
    for name, value in flat.items():
        spec = RULESET_FIELDS.get(name)
        if spec is None:
            errors.append(FieldError(f"{path}.{name}", "unknown RuleSet field"))
            continue
        message = spec.check(value)
        if message:
            errors.append(FieldError(f"{path}.{name}", message))
    return errors


def ruleset_errors(ruleset: Any, path: str = "ruleset") -> list[FieldError]:
    """Every problem of a complete nested RuleSet: missing, unknown or ill-typed fields."""
    if not isinstance(ruleset, dict):
        return [FieldError(path, f"must be an object, got {_got(ruleset)}")]
    flat = flatten(ruleset)
    missing = [FieldError(f"{path}.{name}", "is required") for name in RULESET_FIELDS if name not in flat]
    return missing + _check_fields(flat, path)


def _flatten_overrides(overrides: dict, path: str) -> tuple[dict[str, Any], list[FieldError]]:
    """Overrides as dotted name -> value; a group may be given nested (partial) or by dotted names."""
    flat: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in overrides.items():
        if key in _GROUPS:
            if not isinstance(value, dict):
                errors.append(FieldError(f"{path}.{key}", f"must be an object of {key}.* fields, got {_got(value)}"))
                continue
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[key] = value
    return flat, errors


def resolve_ruleset(spec: Any, path: str = "ruleset") -> dict:
    """Resolve a ruleset specification into a complete nested RuleSet.

    ``spec`` is a preset name (``"nvbp-2"``) or ``{"preset": name, **overrides}``; overrides name RuleSet
    fields (nested group objects or dotted names) and replace table values whole. Raises
    :class:`ProblemError` with every bad field at its path (``ruleset.spread_multiplier``).
    """
    presets = load_presets()
    known = ", ".join(_got(n) for n in presets)
    if isinstance(spec, str):
        if spec not in presets:
            raise ProblemError([FieldError(path, f"unknown preset {_got(spec)}; presets: {known}")])
        return presets[spec]
    if not isinstance(spec, dict):
        raise ProblemError([FieldError(path, f"must be a preset name or an object with \"preset\", got {_got(spec)}")])
    name = spec.get("preset")
    errors: list[FieldError] = []
    if name is None:
        errors.append(FieldError(f"{path}.preset", "is required"))
    elif name not in presets:
        errors.append(FieldError(f"{path}.preset", f"unknown preset {_got(name)}; presets: {known}"))
    overrides, shape_errors = _flatten_overrides({k: v for k, v in spec.items() if k != "preset"}, path)
    errors += shape_errors + _check_fields(overrides, path)
    if errors:
        raise ProblemError(errors)
    flat = flatten(presets[name])
    flat.update(overrides)
    return _nest(flat)


def table_lookup(rows: list[list], n: int) -> Any:
    """Value of the row ``[min, max|null, value]`` whose range holds ``n`` (None when ``n`` is below 1)."""
    for low, high, value in rows:
        if n >= low and (high is None or n <= high):
            return value
    return None
