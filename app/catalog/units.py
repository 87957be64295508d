"""Unit normalisation, 规格 parsing and 差比价 (price ratios between specifications), DOMAIN.md U1–U6.

Everything is :class:`~decimal.Decimal` (P-2): floats are refused where money enters, exponents are
computed with ``ln``/``exp`` at 50 significant digits, and prices are quantized to
``price_decimals`` (6) with ``ROUND_HALF_UP``. Units are converted to a canonical unit per dimension
before any ratio: mass → ``mg``, activity → ``IU``, volume → ``ml`` (U2). Quantities of different
dimensions (mg vs IU) raise :class:`IncompatibleUnits`; nothing is guessed.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import Any

from app.core.errors import (
    N_,
    IncompatibleUnits,
    InvalidDiffPriceConfig,
    InvalidSpec,
)

__all__ = [
    "DEFAULT_DIFF_PRICE",
    "DIFF_PRICE_METHODS",
    "PRICE_DECIMALS",
    "IncompatibleUnits",
    "InvalidDiffPriceConfig",
    "InvalidSpec",
    "Quantity",
    "Spec",
    "canonical_unit",
    "convert",
    "diff_factor",
    "parse_quantity",
    "parse_spec",
    "to_canonical",
    "unit_comparable_price",
    "unit_dimension",
    "unit_price",
]

PRICE_DECIMALS = 6
#: Working precision of every intermediate result; far beyond the 18 digits stored.
WORK_PRECISION = 50
DIFF_PRICE_METHODS = ("strength", "volume", "injection", "daily_cost")
#: DOMAIN.md U3/U4 values, used for keys the RuleSet's ``diff_price`` block leaves out.
DEFAULT_DIFF_PRICE: Mapping[str, Any] = {
    "method": "strength",
    "strength_coeff": Decimal("1.7"),
    "volume_coeff": Decimal("1.9"),
}

MASS, ACTIVITY, VOLUME = "mass", "activity", "volume"
CANONICAL = {MASS: "mg", ACTIVITY: "IU", VOLUME: "ml"}

# Unit spelling (lower-cased) → (dimension, factor to the canonical unit). 单位 and U are taken as
# IU because DOMAIN.md U2 equates 万IU and 万单位.
_UNITS: dict[str, tuple[str, Decimal]] = {
    "g": (MASS, Decimal(1000)),
    "克": (MASS, Decimal(1000)),
    "mg": (MASS, Decimal(1)),
    "毫克": (MASS, Decimal(1)),
    "μg": (MASS, Decimal("0.001")),
    "ug": (MASS, Decimal("0.001")),
    "mcg": (MASS, Decimal("0.001")),
    "微克": (MASS, Decimal("0.001")),
    "iu": (ACTIVITY, Decimal(1)),
    "万iu": (ACTIVITY, Decimal(10000)),
    "单位": (ACTIVITY, Decimal(1)),
    "万单位": (ACTIVITY, Decimal(10000)),
    "国际单位": (ACTIVITY, Decimal(1)),
    "万国际单位": (ACTIVITY, Decimal(10000)),
    "u": (ACTIVITY, Decimal(1)),
    "万u": (ACTIVITY, Decimal(10000)),
    "ml": (VOLUME, Decimal(1)),
    "毫升": (VOLUME, Decimal(1)),
    "l": (VOLUME, Decimal(1000)),
    "升": (VOLUME, Decimal(1000)),
}

MSG_UNPARSEABLE = N_("Cannot read the specification %(text)s.")
MSG_UNKNOWN_UNIT = N_("Unknown unit %(unit)s.")
MSG_INCOMPATIBLE = N_("Cannot compare a quantity in %(unit_a)s with one in %(unit_b)s.")
MSG_MISSING_STRENGTH = N_("The specification %(text)s has no strength to compare.")
MSG_MISSING_FILL_VOLUME = N_("The specification %(text)s has no fill volume to compare.")
MSG_BAD_METHOD = N_("Unknown price-ratio method %(method)s.")
MSG_MISSING_PARAM = N_("The price-ratio method %(method)s needs the parameter %(field)s.")
MSG_BAD_PARAM = N_("The price-ratio parameter %(field)s must be a positive number, not %(value)s.")


def _fold(text: str) -> str:
    # NFKC folds full-width digits, letters and punctuation, ㎎/㎖ and the micro sign µ → μ.
    return unicodedata.normalize("NFKC", text)


def _clean(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (250.00 → 250, 1E+6 → 1000000)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


# ---------------------------------------------------------------------------------------------
# Units (U2)


def _unit_entry(unit: str) -> tuple[str, Decimal]:
    key = _fold(unit).strip().lower()
    try:
        return _UNITS[key]
    except KeyError:
        raise InvalidSpec("UNKNOWN_UNIT", MSG_UNKNOWN_UNIT, params={"unit": unit}) from None


def unit_dimension(unit: str) -> str:
    """Return ``"mass"``, ``"activity"`` or ``"volume"`` (:class:`InvalidSpec` if unknown)."""
    return _unit_entry(unit)[0]


def canonical_unit(unit: str) -> str:
    """Return the canonical unit of ``unit``'s dimension: ``mg``, ``IU`` or ``ml``."""
    return CANONICAL[unit_dimension(unit)]


@dataclass(frozen=True)
class Quantity:
    """An amount in a canonical unit (``mg``, ``IU`` or ``ml``)."""

    value: Decimal
    unit: str

    @property
    def dimension(self) -> str:
        """``"mass"``, ``"activity"`` or ``"volume"``."""
        return unit_dimension(self.unit)

    def __str__(self) -> str:
        return f"{self.value}{self.unit}"


def to_canonical(value: Decimal | int | str, unit: str) -> Quantity:
    """Return ``value`` ``unit`` as a :class:`Quantity` in its canonical unit (0.25 g → 250 mg)."""
    dimension, factor = _unit_entry(unit)
    with localcontext() as ctx:
        ctx.prec = WORK_PRECISION
        amount = _as_decimal(value, "value") * factor
    return Quantity(_clean(amount), CANONICAL[dimension])


def convert(value: Decimal | int | str, from_unit: str, to_unit: str) -> Decimal:
    """Convert ``value`` from ``from_unit`` to ``to_unit`` exactly.

    Units of different dimensions (mg ↔ IU) raise :class:`IncompatibleUnits`.
    """
    dim_from, f_from = _unit_entry(from_unit)
    dim_to, f_to = _unit_entry(to_unit)
    if dim_from != dim_to:
        raise IncompatibleUnits(
            "INCOMPATIBLE_UNITS", MSG_INCOMPATIBLE, params={"unit_a": from_unit, "unit_b": to_unit}
        )
    with localcontext() as ctx:
        ctx.prec = WORK_PRECISION
        return _clean(_as_decimal(value, "value") * f_from / f_to)


# ---------------------------------------------------------------------------------------------
# 规格 parsing


_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)"
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_QTY_RE = re.compile(rf"({_NUM})({_UNIT_ALT})", re.IGNORECASE)
_VOLUME_UNIT_RE = re.compile(r"(ml|l|毫升|升)", re.IGNORECASE)
_PACK_STEP_RE = re.compile(r"[×xX*](\d+)([\u4e00-\u9fff]?)")
_TAIL_PACK_UNIT_RE = re.compile(r"/([\u4e00-\u9fff]+)$")
_PER_UNIT_RE = re.compile(r"^(.+)/([\u4e00-\u9fff])$")
_PAREN_RE = re.compile(r"^(.+?)\(([^()]*)\)$")
_MULTIPLY = "×xX*"


@dataclass(frozen=True)
class Spec:
    """A parsed 规格: strength per smallest unit, fill volume and pack (DOMAIN.md U2, §12 (a)).

    ``strength_value``/``strength_unit`` are canonical (``mg`` or ``IU``); ``alt_strengths`` keeps
    equivalent amounts in another dimension, e.g. the 100万单位 of ``1g(100万单位)``.
    ``concentration`` is content per ml in ``concentration_unit`` (``mg/ml`` or ``IU/ml``),
    quantized to 6 decimals; ``100mg/ml`` alone gives a concentration and no strength.
    ``pack_qty``/``min_unit`` come from a ``×7片`` suffix when the text has one.
    """

    strength_value: Decimal | None
    strength_unit: str | None
    fill_volume_ml: Decimal | None = None
    concentration: Decimal | None = None
    concentration_unit: str | None = None
    alt_strengths: tuple[Quantity, ...] = ()
    pack_qty: int | None = None
    min_unit: str | None = None
    text: str = ""

    @property
    def strength(self) -> Quantity | None:
        """The primary strength as a :class:`Quantity`, or ``None``."""
        if self.strength_value is None or self.strength_unit is None:
            return None
        return Quantity(self.strength_value, self.strength_unit)

    @property
    def strengths(self) -> tuple[Quantity, ...]:
        """The primary strength followed by the equivalent ``alt_strengths``."""
        primary = self.strength
        return ((primary,) if primary else ()) + self.alt_strengths


def _unparseable(text: str) -> InvalidSpec:
    return InvalidSpec("SPEC_UNPARSEABLE", MSG_UNPARSEABLE, params={"text": text})


def _quantity(token: str, text: str) -> Quantity | None:
    m = _QTY_RE.fullmatch(token)
    if not m:
        return None
    q = to_canonical(Decimal(m.group(1)), m.group(2))
    if q.value <= 0:
        raise _unparseable(text)
    return q


def parse_quantity(text: str) -> Quantity:
    """Parse one amount such as ``0.25g``, ``40万IU`` or ``5ml`` into canonical units."""
    token = re.sub(r"\s+", "", _fold(text or ""))
    q = _quantity(token, text)
    if q is None:
        raise _unparseable(text)
    return q


def _split_pack(s: str, text: str) -> tuple[str, int | None, str | None]:
    """Split ``20mg×7片×2板/盒`` into ``20mg``, 14 and ``片``."""
    i = next((k for k, ch in enumerate(s) if ch in _MULTIPLY), None)
    if i is None:
        return s, None, None
    head, tail = s[:i], s[i:]
    m = _TAIL_PACK_UNIT_RE.search(tail)
    if m:
        tail = tail[: m.start()]
    qty, min_unit, pos = 1, None, 0
    for step in _PACK_STEP_RE.finditer(tail):
        if step.start() != pos:
            raise _unparseable(text)
        qty *= int(step.group(1))
        min_unit = min_unit or step.group(2) or None
        pos = step.end()
    if pos != len(tail) or qty <= 0:
        raise _unparseable(text)
    return head, qty, min_unit


def parse_spec(text: str) -> Spec:
    """Parse a 规格 text into a :class:`Spec` with canonical units.

    Accepted shapes (full-width characters and spaces allowed): ``0.25g``, ``10mg``, ``40万IU``,
    ``250ml``, ``5ml:0.1g`` (fill volume : content, either order), ``0.1g/5ml``, ``100mg/ml``
    (concentration only), ``1g(100万单位)`` (equivalent amount), ``20mg(按C33H35FN2O5计)`` (note,
    ignored), ``10mg/片``, and a pack suffix ``×7片`` / ``*24粒`` / ``×7片×2板/盒``.
    Anything else (compound 规格, percentages …) raises :class:`InvalidSpec` ``SPEC_UNPARSEABLE``.
    """
    if not isinstance(text, str):
        raise TypeError("spec text must be a str")
    s = re.sub(r"\s+", "", _fold(text).replace("∶", ":").replace("✕", "×"))
    if not s:
        raise _unparseable(text)
    head, pack_qty, min_unit = _split_pack(s, text)

    alt: tuple[Quantity, ...] = ()
    m = _PAREN_RE.match(head)
    if m:
        head, inner = m.group(1), m.group(2)
        alt_q = _quantity(inner, text)
        if alt_q is not None:
            alt = (alt_q,)
        elif "计" not in inner and re.search(r"\d", inner):
            # A bracket with digits that are not one amount is a compound 规格: do not guess.
            raise _unparseable(text)
    m = _PER_UNIT_RE.match(head)
    if m and m.group(2).lower() not in _UNITS:
        head, per_unit = m.group(1), m.group(2)
        min_unit = min_unit or per_unit

    strength: Quantity | None = None
    volume: Quantity | None = None
    concentration: Decimal | None = None
    single = _quantity(head, text)
    if single is not None:
        if single.dimension == VOLUME:
            volume = single
        else:
            strength = single
    else:
        parts = re.split(r"[:/]", head)
        if len(parts) != 2:
            raise _unparseable(text)
        a, b = parts
        qa = _quantity(a, text)
        if qa is None:
            raise _unparseable(text)
        if "/" in head and _VOLUME_UNIT_RE.fullmatch(b):
            # "100mg/ml": a concentration without a fill volume.
            if qa.dimension == VOLUME or alt:
                raise _unparseable(text)
            per_ml = to_canonical(1, b).value
            return Spec(
                strength_value=None,
                strength_unit=None,
                concentration=_clean(_quantize(qa.value / per_ml)),
                concentration_unit=f"{qa.unit}/ml",
                alt_strengths=alt,
                pack_qty=pack_qty,
                min_unit=min_unit,
                text=text,
            )
        qb = _quantity(b, text)
        if qb is None:
            raise _unparseable(text)
        dims = {qa.dimension, qb.dimension}
        if VOLUME not in dims or len(dims) != 2:
            raise _unparseable(text)
        volume, strength = (qa, qb) if qa.dimension == VOLUME else (qb, qa)
        with localcontext() as ctx:
            ctx.prec = WORK_PRECISION
            concentration = _clean(_quantize(strength.value / volume.value))

    # An equivalent amount must restate the strength in another dimension (1g(100万单位)).
    if alt and (strength is None or any(q.dimension in (VOLUME, strength.dimension) for q in alt)):
        raise _unparseable(text)
    return Spec(
        strength_value=strength.value if strength else None,
        strength_unit=strength.unit if strength else None,
        fill_volume_ml=volume.value if volume else None,
        concentration=concentration,
        concentration_unit=(
            f"{strength.unit}/ml" if strength and concentration is not None else None
        ),
        alt_strengths=alt,
        pack_qty=pack_qty,
        min_unit=min_unit,
        text=text,
    )


# ---------------------------------------------------------------------------------------------
# Prices (U1, U3–U6)


def _as_decimal(value: Any, name: str) -> Decimal:
    """Money and amounts enter as Decimal, int or decimal text; a float is refused (P-2)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(_fold(value).strip())
        except InvalidOperation:
            raise ValueError(f"{name} is not a number: {value!r}") from None
    else:
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{name} must be finite: {value!r}")
    return result


def _quantize(
    value: Decimal, decimals: int = PRICE_DECIMALS, rounding: str = ROUND_HALF_UP
) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = WORK_PRECISION
        return value.quantize(Decimal(1).scaleb(-decimals), rounding=rounding)


def unit_price(
    pack_price: Decimal | int | str,
    pack_qty: int | Decimal | str,
    *,
    price_decimals: int = PRICE_DECIMALS,
    rounding: str = ROUND_HALF_UP,
) -> Decimal:
    """Price per smallest unit (U1): ``pack_price / pack_qty``, quantized (6.60 / 7 → 0.942857)."""
    price = _as_decimal(pack_price, "pack_price")
    qty = _as_decimal(pack_qty, "pack_qty")
    if price < 0:
        raise ValueError(f"pack_price must not be negative: {pack_price!r}")
    if qty <= 0 or qty != qty.to_integral_value():
        raise ValueError(f"pack_qty must be a positive whole number: {pack_qty!r}")
    with localcontext() as ctx:
        ctx.prec = WORK_PRECISION
        return _quantize(price / qty, price_decimals, rounding)


def _exact_log2(ratio: Fraction) -> int | None:
    """Return k when ``ratio`` is exactly 2**k, else ``None``."""
    num, den = ratio.numerator, ratio.denominator
    if den == 1 and num & (num - 1) == 0:
        return num.bit_length() - 1
    if num == 1 and den & (den - 1) == 0:
        return -(den.bit_length() - 1)
    return None


def diff_factor(ratio: Decimal, coeff: Decimal) -> Decimal:
    """Return ``coeff ** log2(ratio)`` at 50 significant digits (not quantized).

    ``ratio`` is representative / bid amount. Exact powers of two (the usual case: 5, 10, 20,
    40 mg) use integer powers so the result is exact up to one division.
    """
    ratio = _as_decimal(ratio, "ratio")
    coeff = _as_decimal(coeff, "coeff")
    if ratio <= 0 or coeff <= 0:
        raise ValueError("ratio and coeff must be positive")
    with localcontext() as ctx:
        ctx.prec = WORK_PRECISION
        k = _exact_log2(Fraction(ratio))
        if k is not None:
            return coeff**k if k >= 0 else 1 / coeff ** (-k)
        return (coeff.ln() * ratio.ln() / Decimal(2).ln()).exp()


def _apply_ratio(
    price: Decimal, bid_amount: Decimal, rep_amount: Decimal, coeff: Decimal
) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = WORK_PRECISION
        k = _exact_log2(Fraction(rep_amount) / Fraction(bid_amount))
        if k is not None and k < 0:
            # Divide once instead of multiplying by a rounded reciprocal: 1.70 / 1.7 is exactly 1.
            return price / coeff ** (-k)
        return price * diff_factor(rep_amount / bid_amount, coeff)


def _cfg(config: Any, key: str) -> Any:
    if isinstance(config, Mapping):
        value = config.get(key)
    else:
        value = getattr(config, key, None)
    return DEFAULT_DIFF_PRICE.get(key) if value is None else value


def _cfg_decimal(config: Any, key: str, method: str) -> Decimal:
    value = _cfg(config, key)
    if value is None:
        raise InvalidDiffPriceConfig(
            "DIFF_PRICE_CONFIG", MSG_MISSING_PARAM, params={"method": method, "field": key}
        )
    # RuleSet JSON may hold 1.7 as a float; repr() gives its shortest exact text (P-2).
    if isinstance(value, float):
        value = repr(value)
    try:
        result = _as_decimal(value, key)
    except (TypeError, ValueError):
        result = None
    if result is None or result < 0 or (result == 0 and key.endswith("_coeff")):
        raise InvalidDiffPriceConfig(
            "DIFF_PRICE_CONFIG", MSG_BAD_PARAM, params={"field": key, "value": value}
        )
    return result


def _as_spec(spec: Spec | str) -> Spec:
    return spec if isinstance(spec, Spec) else parse_spec(spec)


def _common_strength(bid: Spec, rep: Spec) -> tuple[Decimal, Decimal]:
    for spec in (bid, rep):
        if not spec.strengths:
            raise InvalidSpec(
                "SPEC_MISSING_STRENGTH", MSG_MISSING_STRENGTH, params={"text": spec.text}
            )
    for qb in bid.strengths:
        for qr in rep.strengths:
            if qb.unit == qr.unit:
                return qb.value, qr.value
    raise IncompatibleUnits(
        "INCOMPATIBLE_UNITS",
        MSG_INCOMPATIBLE,
        params={"unit_a": bid.strength_unit, "unit_b": rep.strength_unit},
    )


def _volumes(bid: Spec, rep: Spec) -> tuple[Decimal, Decimal]:
    for spec in (bid, rep):
        if spec.fill_volume_ml is None:
            raise InvalidSpec(
                "SPEC_MISSING_FILL_VOLUME", MSG_MISSING_FILL_VOLUME, params={"text": spec.text}
            )
    return bid.fill_volume_ml, rep.fill_volume_ml  # type: ignore[return-value]


def _daily_units(bid: Spec, config: Any, method: str) -> Decimal:
    dose = _cfg(config, "daily_dose")
    if dose is None:
        raise InvalidDiffPriceConfig(
            "DIFF_PRICE_CONFIG",
            MSG_MISSING_PARAM,
            params={"method": method, "field": "daily_dose"},
        )
    dose_q = dose if isinstance(dose, Quantity) else parse_quantity(str(dose))
    for q in bid.strengths:
        if q.unit == dose_q.unit:
            with localcontext() as ctx:
                ctx.prec = WORK_PRECISION
                return dose_q.value / q.value
    if not bid.strengths:
        raise InvalidSpec("SPEC_MISSING_STRENGTH", MSG_MISSING_STRENGTH, params={"text": bid.text})
    raise IncompatibleUnits(
        "INCOMPATIBLE_UNITS",
        MSG_INCOMPATIBLE,
        params={"unit_a": bid.strength_unit, "unit_b": dose_q.unit},
    )


def unit_comparable_price(
    unit_price: Decimal | int | str,
    bid_spec: Spec | str,
    rep_spec: Spec | str,
    ruleset_diff_price: Mapping[str, Any] | Any,
    *,
    price_decimals: int = PRICE_DECIMALS,
    rounding: str = ROUND_HALF_UP,
    units_per_daily_dose: Decimal | int | str | None = None,
) -> Decimal:
    """Unit comparable price (单位可比价, UCP) of a bid at the representative spec (U3–U6).

    ``ruleset_diff_price`` is the RuleSet's ``diff_price`` block (mapping or object); missing keys
    take :data:`DEFAULT_DIFF_PRICE`. Methods:

    - ``strength``: ``unit_price × strength_coeff ^ log2(rep strength / bid strength)`` (U3);
    - ``volume``: the same on fill volume with ``volume_coeff`` (U4);
    - ``injection``: the strength step applied to the price less ``injection_fixed_cost``, which
      is added back after it (U5, [S]/[I] reading; the parameter is required);
    - ``daily_cost``: 日平均治疗费用, ``unit_price × units per daily dose``, the units being
      ``units_per_daily_dose`` or ``daily_dose`` (e.g. ``"20mg"``) / bid strength; ``rep_spec`` is
      not used.

    ``pack_coeff``, ``form_coeffs`` and ``paediatric_override`` are off (DOMAIN.md U5) and ignored.
    Specs may be given as text. Returns a Decimal quantized to ``price_decimals``.
    """
    price = _as_decimal(unit_price, "unit_price")
    method = _cfg(ruleset_diff_price, "method")
    if method not in DIFF_PRICE_METHODS:
        raise InvalidDiffPriceConfig(
            "DIFF_PRICE_CONFIG", MSG_BAD_METHOD, params={"method": method}
        )
    bid = _as_spec(bid_spec)

    if method == "daily_cost":
        if units_per_daily_dose is not None:
            units = _as_decimal(units_per_daily_dose, "units_per_daily_dose")
        else:
            units = _daily_units(bid, ruleset_diff_price, method)
        with localcontext() as ctx:
            ctx.prec = WORK_PRECISION
            return _quantize(price * units, price_decimals, rounding)

    rep = _as_spec(rep_spec)
    if method == "volume":
        coeff = _cfg_decimal(ruleset_diff_price, "volume_coeff", method)
        bid_amount, rep_amount = _volumes(bid, rep)
        result = _apply_ratio(price, bid_amount, rep_amount, coeff)
    else:
        coeff = _cfg_decimal(ruleset_diff_price, "strength_coeff", method)
        bid_amount, rep_amount = _common_strength(bid, rep)
        if method == "injection":
            fixed = _cfg_decimal(ruleset_diff_price, "injection_fixed_cost", method)
            with localcontext() as ctx:
                ctx.prec = WORK_PRECISION
                result = _apply_ratio(price - fixed, bid_amount, rep_amount, coeff) + fixed
        else:
            result = _apply_ratio(price, bid_amount, rep_amount, coeff)
    return _quantize(result, price_decimals, rounding)
