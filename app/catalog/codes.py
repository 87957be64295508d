"""Product code checks: NHSA drug and consumable codes, 本位码 and 批准文号 (DOMAIN.md C1–C4).

Each ``check_*`` function normalises its input (trim, full-width folded, upper-cased) and returns a
:class:`CodeCheck` instead of raising, so an importer can report every problem of a row; call
:meth:`CodeCheck.raise_for_errors` to turn the first error into an :class:`InvalidCode`.
Error and warning codes are stable strings (``NHSA_DRUG_CODE_FORMAT`` …). Lengths and formats are
enforced; segment positions are [I] and used for display only (DOMAIN.md §13).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import N_, InvalidCode, format_message

__all__ = [
    "APPROVAL_NO_TYPES",
    "CodeCheck",
    "CodeIssue",
    "ConsumableCodeSegments",
    "DrugCodeSegments",
    "InvalidCode",
    "check_approval_no",
    "check_benweima",
    "check_nhsa_code",
    "check_nhsa_consumable_code",
    "check_nhsa_drug_code",
    "enterprise_segment_matches",
    "normalise_code",
    "nhsa_code_kind",
    "split_nhsa_consumable_code",
    "split_nhsa_drug_code",
]

APPROVAL_NO_TYPES = ("domestic", "import", "hk_mo_tw")

# C1 regexes as DOMAIN.md gives them; strict applies to X (西药) codes only.
NHSA_DRUG_LENIENT_RE = re.compile(r"^[XZ][A-Z0-9]{5}[A-Z]\d{3}[A-Z]\d{3}\d{9}$")
NHSA_DRUG_STRICT_X_RE = re.compile(r"^X[A-Z]\d{2}[A-Z]{2}[A-Z]\d{3}[A-Z]\d{3}\d{9}$")
NHSA_DRUG_LENGTH = 23
NHSA_CONSUMABLE_LENGTHS = (15, 20, 27)
NHSA_CONSUMABLE_RES = {n: re.compile(rf"^C\d{{{n - 1}}}$") for n in NHSA_CONSUMABLE_LENGTHS}
BENWEIMA_RE = re.compile(r"^86\d{12}$")
BENWEIMA_LENGTH = 14
APPROVAL_NO_DOMESTIC_RE = re.compile(r"^国药准字[HZSJBTF]\d{8}$")

MSG = {
    "NHSA_CODE_EMPTY": N_("The NHSA code is empty."),
    "NHSA_CODE_FORMAT": N_(
        "The NHSA code %(code)s must start with X or Z (drug) or C (consumable)."
    ),
    "NHSA_DRUG_CODE_EMPTY": N_("The NHSA drug code is empty."),
    "NHSA_DRUG_CODE_LENGTH": N_(
        "The NHSA drug code must have %(expected)s characters, not %(actual)s."
    ),
    "NHSA_DRUG_CODE_FORMAT": N_("The NHSA drug code %(code)s does not have the NHSA format."),
    "NHSA_DRUG_CODE_NOT_STRICT": N_(
        "The NHSA drug code %(code)s does not follow the strict format of western-medicine codes."
    ),
    "NHSA_CODE_ENTERPRISE_MISMATCH": N_(
        "The enterprise segment %(segment)s of the NHSA code differs from digits 4–8 "
        "of the drug standard code (%(benweima_segment)s)."
    ),
    "NHSA_CONSUMABLE_CODE_EMPTY": N_("The NHSA consumable code is empty."),
    "NHSA_CONSUMABLE_CODE_LENGTH": N_(
        "The NHSA consumable code must have %(expected)s characters, not %(actual)s."
    ),
    "NHSA_CONSUMABLE_CODE_FORMAT": N_(
        "The NHSA consumable code %(code)s must be C followed by digits only."
    ),
    "NHSA_CONSUMABLE_CODE_PREFIX": N_(
        "The NHSA consumable code %(code)s does not start with %(parent)s."
    ),
    "BENWEIMA_EMPTY": N_("The drug standard code is empty."),
    "BENWEIMA_LENGTH": N_(
        "The drug standard code must have %(expected)s digits, not %(actual)s."
    ),
    "BENWEIMA_FORMAT": N_("The drug standard code %(code)s must be 14 digits starting with 86."),
    "BENWEIMA_NOT_DRUG": N_(
        "The third digit of the drug standard code %(code)s is %(digit)s, expected 9 (drug)."
    ),
    "BENWEIMA_CHECKSUM": N_(
        "The check digit of the drug standard code %(code)s is %(actual)s, expected %(expected)s."
    ),
    "APPROVAL_NO_EMPTY": N_("The approval number is empty."),
    "APPROVAL_NO_TYPE": N_(
        "Unknown approval number type %(type)s (domestic, import or hk_mo_tw)."
    ),
    "APPROVAL_NO_FORMAT": N_(
        "The approval number %(code)s must be 国药准字 followed by H, Z, S, J, B, T or F "
        "and 8 digits."
    ),
    "APPROVAL_NO_LEGACY": N_(
        "The approval number %(code)s is a legacy health-drug (B) number."
    ),
    "APPROVAL_NO_TYPE_MISMATCH": N_(
        "The approval number %(code)s looks domestic but its type is %(type)s."
    ),
}


@dataclass(frozen=True)
class CodeIssue:
    """One error or warning of a code check: a stable ``code``, a ``msgid`` and its ``params``."""

    code: str
    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def message(self) -> str:
        """The English message with its parameters filled in."""
        return format_message(self.msgid, self.params)


@dataclass(frozen=True)
class CodeCheck:
    """Result of a code check: ``ok`` iff there is no error; ``code`` is the normalised text."""

    ok: bool
    code: str
    errors: tuple[CodeIssue, ...] = ()
    warnings: tuple[CodeIssue, ...] = ()

    @property
    def error_codes(self) -> tuple[str, ...]:
        """The codes of the errors, in order."""
        return tuple(e.code for e in self.errors)

    @property
    def warning_codes(self) -> tuple[str, ...]:
        """The codes of the warnings, in order."""
        return tuple(w.code for w in self.warnings)

    def raise_for_errors(self) -> None:
        """Raise :class:`InvalidCode` for the first error, if any."""
        if self.errors:
            first = self.errors[0]
            raise InvalidCode(first.code, first.msgid, params=first.params)


def _issue(issue_code: str, /, **params: Any) -> CodeIssue:
    return CodeIssue(issue_code, MSG[issue_code], params)


def _result(
    code: str, errors: list[CodeIssue], warnings: list[CodeIssue] | None = None
) -> CodeCheck:
    return CodeCheck(not errors, code, tuple(errors), tuple(warnings or ()))


def normalise_code(text: str | None) -> str:
    """Return ``text`` trimmed, full-width characters folded to ASCII (NFKC) and upper-cased."""
    return unicodedata.normalize("NFKC", text or "").strip().upper()


# ---------------------------------------------------------------------------------------------
# C1 NHSA drug code (医保药品分类与代码)


@dataclass(frozen=True)
class DrugCodeSegments:
    """Segments of a 23-character NHSA drug code (positions [I], DOMAIN.md C1)."""

    category: str  # 1: X 西药 / Z 中成药
    classification: str  # 2–6
    generic_name: str  # 7–10
    dosage_form: str  # 11–14
    specification: str  # 15–16
    package: str  # 17–18
    enterprise: str  # 19–23, = 本位码 digits 4–8

    def display(self, sep: str = " ") -> str:
        """The code with its segments separated, e.g. ``X A01AB D075 A002 01 01 00483``."""
        return sep.join(
            (
                self.category,
                self.classification,
                self.generic_name,
                self.dosage_form,
                self.specification,
                self.package,
                self.enterprise,
            )
        )


def check_nhsa_drug_code(
    text: str | None, *, strict: bool = False, benweima: str | None = None
) -> CodeCheck:
    """Check an NHSA drug code (C1): 23 characters, lenient regex, strict regex for X codes.

    A code failing only the strict X regex gives ``NHSA_DRUG_CODE_NOT_STRICT`` as an error when
    ``strict`` is true, as a warning otherwise. With a valid ``benweima``, an enterprise segment
    (19–23) different from its digits 4–8 gives the warning ``NHSA_CODE_ENTERPRISE_MISMATCH``.
    """
    code = normalise_code(text)
    if not code:
        return _result(code, [_issue("NHSA_DRUG_CODE_EMPTY")])
    if len(code) != NHSA_DRUG_LENGTH:
        return _result(
            code,
            [_issue("NHSA_DRUG_CODE_LENGTH", expected=NHSA_DRUG_LENGTH, actual=len(code))],
        )
    if not NHSA_DRUG_LENIENT_RE.match(code):
        return _result(code, [_issue("NHSA_DRUG_CODE_FORMAT", code=code)])
    errors: list[CodeIssue] = []
    warnings: list[CodeIssue] = []
    if code.startswith("X") and not NHSA_DRUG_STRICT_X_RE.match(code):
        (errors if strict else warnings).append(_issue("NHSA_DRUG_CODE_NOT_STRICT", code=code))
    if benweima is not None:
        bwm = normalise_code(benweima)
        if BENWEIMA_RE.match(bwm) and not enterprise_segment_matches(code, bwm):
            warnings.append(
                _issue(
                    "NHSA_CODE_ENTERPRISE_MISMATCH",
                    segment=code[18:23],
                    benweima_segment=bwm[3:8],
                )
            )
    return _result(code, errors, warnings)


def split_nhsa_drug_code(text: str) -> DrugCodeSegments:
    """Split a (leniently) valid NHSA drug code into its display segments.

    Raises :class:`InvalidCode` if the code fails the lenient check.
    """
    check = check_nhsa_drug_code(text)
    check.raise_for_errors()
    c = check.code
    return DrugCodeSegments(c[0], c[1:6], c[6:10], c[10:14], c[14:16], c[16:18], c[18:23])


def enterprise_segment_matches(nhsa_drug_code: str, benweima: str) -> bool:
    """Return whether the NHSA code's enterprise segment (19–23) equals 本位码 digits 4–8."""
    return normalise_code(nhsa_drug_code)[18:23] == normalise_code(benweima)[3:8]


# ---------------------------------------------------------------------------------------------
# C2 NHSA consumable code (医保医用耗材分类与代码)


@dataclass(frozen=True)
class ConsumableCodeSegments:
    """Segments of an NHSA consumable code (lengths [S], positions [I], DOMAIN.md C2).

    ``enterprise`` is empty for a 15-character code, ``product`` for a 15- or 20-character one.
    """

    category: str  # 1: C
    level1: str  # 2–3
    level2: str  # 4–5
    level3: str  # 6–7
    generic_name: str  # 8–10 医保通用名
    material: str  # 11–12 材质
    feature: str  # 13–15 特征
    enterprise: str  # 16–20
    product: str  # 21–27 product / specification-model

    def display(self, sep: str = " ") -> str:
        """The code with its non-empty segments separated (``C 09 10 01 000 00 000 21179 …``)."""
        parts = (
            self.category,
            self.level1,
            self.level2,
            self.level3,
            self.generic_name,
            self.material,
            self.feature,
            self.enterprise,
            self.product,
        )
        return sep.join(p for p in parts if p)


def check_nhsa_consumable_code(
    text: str | None,
    *,
    lengths: tuple[int, ...] = NHSA_CONSUMABLE_LENGTHS,
    parent: str | None = None,
) -> CodeCheck:
    """Check an NHSA consumable code (C2): ``C`` + digits, 27, 20 or 15 characters.

    ``lengths`` restricts the accepted levels (e.g. ``(27,)``). With ``parent`` (a shorter code of
    the same product, e.g. its 20-character code), the code must start with it
    (``NHSA_CONSUMABLE_CODE_PREFIX``).
    """
    code = normalise_code(text)
    if not code:
        return _result(code, [_issue("NHSA_CONSUMABLE_CODE_EMPTY")])
    if len(code) not in lengths:
        expected = "/".join(str(n) for n in sorted(lengths, reverse=True))
        return _result(
            code, [_issue("NHSA_CONSUMABLE_CODE_LENGTH", expected=expected, actual=len(code))]
        )
    if not NHSA_CONSUMABLE_RES[len(code)].match(code):
        return _result(code, [_issue("NHSA_CONSUMABLE_CODE_FORMAT", code=code)])
    errors: list[CodeIssue] = []
    if parent is not None:
        parent_code = normalise_code(parent)
        if not code.startswith(parent_code):
            errors.append(_issue("NHSA_CONSUMABLE_CODE_PREFIX", code=code, parent=parent_code))
    return _result(code, errors)


def split_nhsa_consumable_code(text: str) -> ConsumableCodeSegments:
    """Split a valid 15-, 20- or 27-character consumable code into its display segments.

    Raises :class:`InvalidCode` if the code is not valid.
    """
    check = check_nhsa_consumable_code(text)
    check.raise_for_errors()
    c = check.code
    return ConsumableCodeSegments(
        c[0], c[1:3], c[3:5], c[5:7], c[7:10], c[10:12], c[12:15], c[15:20], c[20:27]
    )


# ---------------------------------------------------------------------------------------------
# Either kind


def nhsa_code_kind(text: str | None) -> str | None:
    """Return ``"drug"`` (X/Z…), ``"consumable"`` (C…) or ``None`` from the first character."""
    code = normalise_code(text)
    if code[:1] in ("X", "Z"):
        return "drug"
    if code[:1] == "C":
        return "consumable"
    return None


def check_nhsa_code(
    text: str | None, *, strict: bool = False, benweima: str | None = None
) -> CodeCheck:
    """Check a code of the 医保药品代码/医保耗材代码 column: a drug (C1) or a consumable (C2) code."""
    code = normalise_code(text)
    if not code:
        return _result(code, [_issue("NHSA_CODE_EMPTY")])
    kind = nhsa_code_kind(code)
    if kind == "drug":
        return check_nhsa_drug_code(code, strict=strict, benweima=benweima)
    if kind == "consumable":
        return check_nhsa_consumable_code(code)
    return _result(code, [_issue("NHSA_CODE_FORMAT", code=code)])


# ---------------------------------------------------------------------------------------------
# C3 药品本位码


def _gs1_check_digit(body: str) -> str:
    # GS1 mod 10: weights 3, 1, 3 … from the rightmost body digit.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def check_benweima(text: str | None, *, checksum: bool = False) -> CodeCheck:
    """Check a 药品本位码 (C3): 14 digits matching ``^86\\d{12}$``.

    A 3rd digit other than 9 (drug) is a warning (``BENWEIMA_NOT_DRUG``). The check digit is
    [I] and ``benweima_checksum`` is off by default; ``checksum=True`` tests it as a GS1 mod-10
    digit, the one algorithm consistent with the DOMAIN.md example (``86900483000019``).
    """
    code = normalise_code(text)
    if not code:
        return _result(code, [_issue("BENWEIMA_EMPTY")])
    if len(code) != BENWEIMA_LENGTH:
        return _result(
            code, [_issue("BENWEIMA_LENGTH", expected=BENWEIMA_LENGTH, actual=len(code))]
        )
    if not BENWEIMA_RE.match(code):
        return _result(code, [_issue("BENWEIMA_FORMAT", code=code)])
    errors: list[CodeIssue] = []
    warnings: list[CodeIssue] = []
    if code[2] != "9":
        warnings.append(_issue("BENWEIMA_NOT_DRUG", code=code, digit=code[2]))
    if checksum:
        expected = _gs1_check_digit(code[:13])
        if code[13] != expected:
            errors.append(
                _issue("BENWEIMA_CHECKSUM", code=code, actual=code[13], expected=expected)
            )
    return _result(code, errors, warnings)


# ---------------------------------------------------------------------------------------------
# C4 批准文号 / 注册证号


def check_approval_no(text: str | None, approval_no_type: str = "domestic") -> CodeCheck:
    """Check a 批准文号 or import registration number (C4).

    ``domestic`` numbers must match ``^国药准字[HZSJBTF]\\d{8}$`` (whitespace inside is removed,
    e.g. ``国药准字 H20000001``); ``B`` (legacy 保健药品) is accepted with a warning. ``import``
    and ``hk_mo_tw`` numbers (进口药品注册证号/医药产品注册证号) are only required to be present;
    one that looks like a domestic number gets the warning ``APPROVAL_NO_TYPE_MISMATCH``.
    """
    # Whitespace carries no meaning in a Chinese registration number; printed forms often add one.
    code = "".join(normalise_code(text).split())
    if approval_no_type not in APPROVAL_NO_TYPES:
        return _result(code, [_issue("APPROVAL_NO_TYPE", type=approval_no_type)])
    if not code:
        return _result(code, [_issue("APPROVAL_NO_EMPTY")])
    if approval_no_type != "domestic":
        warnings = []
        if APPROVAL_NO_DOMESTIC_RE.match(code):
            warnings.append(_issue("APPROVAL_NO_TYPE_MISMATCH", code=code, type=approval_no_type))
        return _result(code, [], warnings)
    if not APPROVAL_NO_DOMESTIC_RE.match(code):
        return _result(code, [_issue("APPROVAL_NO_FORMAT", code=code)])
    warnings = [_issue("APPROVAL_NO_LEGACY", code=code)] if code[4] == "B" else []
    return _result(code, [], warnings)
