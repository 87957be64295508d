"""Product code checks (DOMAIN.md C1–C4) and the zh_CN PO fragment of the pure helpers."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from app.catalog.codes import (
    APPROVAL_NO_TYPES,
    CodeCheck,
    check_approval_no,
    check_benweima,
    check_nhsa_code,
    check_nhsa_consumable_code,
    check_nhsa_drug_code,
    enterprise_segment_matches,
    nhsa_code_kind,
    normalise_code,
    split_nhsa_consumable_code,
    split_nhsa_drug_code,
)
from app.core.errors import InvalidCode

ROOT = Path(__file__).resolve().parents[2]

# DOMAIN.md C1 [V]: 地喹氯铵含片 0.25 mg ×24 (汕头明治), ×24 (珠海同源), ×6.
DRUG_CODES = ("XA01ABD075A002010100483", "XA01ABD075A002010200594", "XA01ABD075A002010300483")
BENWEIMA = "86900483000019"
CONSUMABLE_27 = "C09100100000000211790000049"
CONSUMABLE_20 = CONSUMABLE_27[:20]
CONSUMABLE_15 = CONSUMABLE_27[:15]


def _ok(check: CodeCheck) -> None:
    assert check.ok, check.errors
    assert check.errors == ()


# --- C1 NHSA drug code ------------------------------------------------------------------------


@pytest.mark.parametrize("code", DRUG_CODES)
def test_domain_drug_codes_pass_strict(code):
    check = check_nhsa_drug_code(code, strict=True)
    _ok(check)
    assert check.code == code
    assert check.warnings == ()


def test_drug_code_is_normalised():
    check = check_nhsa_drug_code("  xa01abd075a002010100483 ")
    _ok(check)
    assert check.code == DRUG_CODES[0]
    full_width = "ＸＡ０１ＡＢＤ０７５Ａ００２０１０１００４８３"
    assert check_nhsa_drug_code(full_width).code == DRUG_CODES[0]


def test_chinese_medicine_code_uses_lenient_regex_only():
    # Z (中成药) codes have letters and digits in 2–6; the strict regex is for X codes only.
    check = check_nhsa_drug_code("ZA12B3C001A001010100001", strict=True)
    _ok(check)
    assert check.warnings == ()


def test_x_code_failing_strict_is_a_warning_unless_strict():
    code = "X1234AD075A002010100483"  # lenient: [A-Z0-9]{5} in 2–6; strict wants A01AB-like
    lenient = check_nhsa_drug_code(code)
    assert lenient.ok
    assert lenient.warning_codes == ("NHSA_DRUG_CODE_NOT_STRICT",)
    strict = check_nhsa_drug_code(code, strict=True)
    assert not strict.ok
    assert strict.error_codes == ("NHSA_DRUG_CODE_NOT_STRICT",)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "NHSA_DRUG_CODE_EMPTY"),
        (None, "NHSA_DRUG_CODE_EMPTY"),
        ("XA01ABD075A00201010048", "NHSA_DRUG_CODE_LENGTH"),
        ("XA01ABD075A0020101004830", "NHSA_DRUG_CODE_LENGTH"),
        ("YA01ABD075A002010100483", "NHSA_DRUG_CODE_FORMAT"),  # class must be X or Z
        ("XA01AB1075A002010100483", "NHSA_DRUG_CODE_FORMAT"),  # generic-name segment letter
        ("XA01ABD075A00201010048X", "NHSA_DRUG_CODE_FORMAT"),  # digits at the end
        ("XA01ABD075A002 10100483", "NHSA_DRUG_CODE_FORMAT"),
    ],
)
def test_bad_drug_codes(text, error):
    check = check_nhsa_drug_code(text)
    assert not check.ok
    assert check.error_codes == (error,)
    with pytest.raises(InvalidCode) as exc:
        check.raise_for_errors()
    assert exc.value.code == error


def test_length_error_has_parameters_and_message():
    check = check_nhsa_drug_code("XA01")
    (issue,) = check.errors
    assert issue.params == {"expected": 23, "actual": 4}
    assert issue.message == "The NHSA drug code must have 23 characters, not 4."


def test_split_drug_code_for_display():
    seg = split_nhsa_drug_code(DRUG_CODES[0])
    assert (seg.category, seg.classification, seg.generic_name, seg.dosage_form) == (
        "X",
        "A01AB",
        "D075",
        "A002",
    )
    assert (seg.specification, seg.package, seg.enterprise) == ("01", "01", "00483")
    assert seg.display() == "X A01AB D075 A002 01 01 00483"
    assert seg.display("-").replace("-", "") == DRUG_CODES[0]
    assert split_nhsa_drug_code(DRUG_CODES[2]).package == "03"
    with pytest.raises(InvalidCode):
        split_nhsa_drug_code("XA01")


def test_enterprise_segment_vs_benweima():
    assert enterprise_segment_matches(DRUG_CODES[0], BENWEIMA)
    assert not enterprise_segment_matches(DRUG_CODES[1], BENWEIMA)  # 00594 (珠海同源)
    assert check_nhsa_drug_code(DRUG_CODES[0], benweima=BENWEIMA).warnings == ()
    check = check_nhsa_drug_code(DRUG_CODES[1], benweima=BENWEIMA)
    assert check.ok  # a warning only [I]
    assert check.warning_codes == ("NHSA_CODE_ENTERPRISE_MISMATCH",)
    assert check.warnings[0].params == {"segment": "00594", "benweima_segment": "00483"}


def test_invalid_benweima_gives_no_enterprise_warning():
    assert check_nhsa_drug_code(DRUG_CODES[1], benweima="123").warnings == ()


# --- C2 NHSA consumable code ------------------------------------------------------------------


@pytest.mark.parametrize("code", [CONSUMABLE_27, CONSUMABLE_20, CONSUMABLE_15])
def test_consumable_code_levels(code):
    _ok(check_nhsa_consumable_code(code))


def test_consumable_prefix_rule():
    _ok(check_nhsa_consumable_code(CONSUMABLE_27, parent=CONSUMABLE_20))
    _ok(check_nhsa_consumable_code(CONSUMABLE_20, parent=CONSUMABLE_15))
    other_20 = CONSUMABLE_20[:-1] + "8"
    check = check_nhsa_consumable_code(CONSUMABLE_27, parent=other_20)
    assert check.error_codes == ("NHSA_CONSUMABLE_CODE_PREFIX",)
    assert check.errors[0].params == {"code": CONSUMABLE_27, "parent": other_20}


def test_consumable_length_restriction():
    check = check_nhsa_consumable_code(CONSUMABLE_20, lengths=(27,))
    assert check.error_codes == ("NHSA_CONSUMABLE_CODE_LENGTH",)
    assert check.errors[0].params == {"expected": "27", "actual": 20}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "NHSA_CONSUMABLE_CODE_EMPTY"),
        ("C0910010000000021179000004", "NHSA_CONSUMABLE_CODE_LENGTH"),  # 26
        ("C091001000000002117900000490", "NHSA_CONSUMABLE_CODE_LENGTH"),  # 28
        ("D09100100000000211790000049", "NHSA_CONSUMABLE_CODE_FORMAT"),
        ("C0910010000000021179000004A", "NHSA_CONSUMABLE_CODE_FORMAT"),
    ],
)
def test_bad_consumable_codes(text, error):
    assert check_nhsa_consumable_code(text).error_codes == (error,)


def test_split_consumable_code():
    seg = split_nhsa_consumable_code(CONSUMABLE_27)
    assert seg.display() == "C 09 10 01 000 00 000 21179 0000049"
    assert (seg.enterprise, seg.product) == ("21179", "0000049")
    assert split_nhsa_consumable_code(CONSUMABLE_15).display() == "C 09 10 01 000 00 000"
    assert split_nhsa_consumable_code(CONSUMABLE_20).enterprise == "21179"
    with pytest.raises(InvalidCode):
        split_nhsa_consumable_code("C123")


def test_check_nhsa_code_dispatches_on_kind():
    assert nhsa_code_kind(DRUG_CODES[0]) == "drug"
    assert nhsa_code_kind("z") == "drug"
    assert nhsa_code_kind(" c0910") == "consumable"
    assert nhsa_code_kind("86900483000019") is None
    _ok(check_nhsa_code(DRUG_CODES[0]))
    _ok(check_nhsa_code(CONSUMABLE_27.lower()))
    assert check_nhsa_code("C123").error_codes == ("NHSA_CONSUMABLE_CODE_LENGTH",)
    assert check_nhsa_code("XA01").error_codes == ("NHSA_DRUG_CODE_LENGTH",)
    assert check_nhsa_code(BENWEIMA).error_codes == ("NHSA_CODE_FORMAT",)
    assert check_nhsa_code(" ").error_codes == ("NHSA_CODE_EMPTY",)
    assert check_nhsa_code(DRUG_CODES[1], benweima=BENWEIMA).warning_codes == (
        "NHSA_CODE_ENTERPRISE_MISMATCH",
    )


# --- C3 本位码 ----------------------------------------------------------------------------------


def test_benweima_domain_example():
    check = check_benweima(BENWEIMA)
    _ok(check)
    assert check.warnings == ()
    assert check.code == BENWEIMA


def test_benweima_third_digit_warning():
    check = check_benweima("86800483000019")
    assert check.ok
    assert check.warning_codes == ("BENWEIMA_NOT_DRUG",)
    assert check.warnings[0].params["digit"] == "8"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "BENWEIMA_EMPTY"),
        ("8690048300001", "BENWEIMA_LENGTH"),
        ("869004830000190", "BENWEIMA_LENGTH"),
        ("87900483000019", "BENWEIMA_FORMAT"),
        ("8690048300001X", "BENWEIMA_FORMAT"),
    ],
)
def test_bad_benweima(text, error):
    assert check_benweima(text).error_codes == (error,)


def test_benweima_checksum_is_off_by_default():
    wrong_check_digit = BENWEIMA[:13] + "0"
    _ok(check_benweima(wrong_check_digit))
    # Opt-in: the DOMAIN example's last digit is its GS1 mod-10 check digit.
    _ok(check_benweima(BENWEIMA, checksum=True))
    check = check_benweima(wrong_check_digit, checksum=True)
    assert check.error_codes == ("BENWEIMA_CHECKSUM",)
    assert check.errors[0].params == {"code": wrong_check_digit, "actual": "0", "expected": "9"}


# --- C4 批准文号 --------------------------------------------------------------------------------


@pytest.mark.parametrize("letter", list("HZSJTF"))
def test_domestic_approval_numbers(letter):
    check = check_approval_no(f"国药准字{letter}20000001")
    _ok(check)
    assert check.warnings == ()


def test_domestic_approval_number_normalisation():
    assert check_approval_no(" 国药准字 h20000001 ").code == "国药准字H20000001"
    _ok(check_approval_no("国药准字Ｈ２００００００１"))


def test_legacy_b_number_is_a_warning():
    check = check_approval_no("国药准字B20000001")
    assert check.ok
    assert check.warning_codes == ("APPROVAL_NO_LEGACY",)


@pytest.mark.parametrize(
    "text",
    ["国药准字X20000001", "国药准字H2000000", "国药准字H200000011", "H20000001", "国药准H20000001"],
)
def test_bad_domestic_approval_numbers(text):
    check = check_approval_no(text, "domestic")
    assert check.error_codes == ("APPROVAL_NO_FORMAT",)


def test_import_numbers_are_not_checked_strictly():
    assert APPROVAL_NO_TYPES == ("domestic", "import", "hk_mo_tw")
    _ok(check_approval_no("H20150001", "import"))
    _ok(check_approval_no("国药准字HJ20150001", "import"))  # whatever the form, only presence
    _ok(check_approval_no("HC20150001", "hk_mo_tw"))
    assert check_approval_no("  ", "import").error_codes == ("APPROVAL_NO_EMPTY",)
    mismatch = check_approval_no("国药准字H20000001", "import")
    assert mismatch.ok
    assert mismatch.warning_codes == ("APPROVAL_NO_TYPE_MISMATCH",)


def test_unknown_approval_type_and_empty_domestic():
    assert check_approval_no("国药准字H20000001", "foreign").error_codes == ("APPROVAL_NO_TYPE",)
    assert check_approval_no(None).error_codes == ("APPROVAL_NO_EMPTY",)


def test_normalise_code():
    assert normalise_code(None) == ""
    assert normalise_code("\u3000ｘａ０１ ") == "XA01"


def test_code_check_is_immutable_and_comparable():
    a = check_nhsa_drug_code("XA01")
    b = check_nhsa_drug_code("XA01")
    assert a == b
    with pytest.raises(AttributeError):
        a.ok = True  # type: ignore[misc]


# --- zh_CN PO fragment ------------------------------------------------------------------------

HELPER_MODULES = (
    "app/core/errors.py",
    "app/orgs/uscc.py",
    "app/catalog/codes.py",
    "app/catalog/units.py",
    "app/regions/names.py",
    "app/catalog/dosage_forms.py",
    "app/catalog/pinyin.py",
)


def _extracted_msgids() -> set[str]:
    ids: set[str] = set()
    for module in HELPER_MODULES:
        for _lineno, message, _comments, _context in extract_from_file("python", ROOT / module):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_po_fragment_translates_every_message():
    with open(ROOT / "app/catalog/messages_zh_CN.po", "rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated = {m.id: m.string for m in catalog if m.id}
    extracted = _extracted_msgids()
    assert extracted, "no msgid found: extraction is broken"
    assert extracted <= set(translated), extracted - set(translated)
    for msgid, msgstr in translated.items():
        assert msgstr, msgid
        assert not catalog[msgid].fuzzy
        # Same placeholders, or interpolating the translation would fail.
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(
            re.findall(r"%\(\w+\)s", msgstr)
        ), msgid
