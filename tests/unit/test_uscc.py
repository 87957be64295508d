"""USCC (统一社会信用代码) checks, GB 32100-2015 as DOMAIN.md C5."""
from __future__ import annotations

import pytest

from app.core.errors import InvalidCode
from app.orgs.uscc import (
    USCC_CHARSET,
    USCC_WEIGHTS,
    is_valid_uscc,
    make_uscc,
    normalise_uscc,
    uscc_check_char,
    validate_uscc,
)

VALID = "91350100M000100Y43"
EDGE_ZERO = "911101080000000080"
WRONG_CHECK = "91350100M000100Y45"


def _weighted_sum(first17: str) -> int:
    return sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))


def test_charset_and_weights_are_the_standard_ones():
    assert USCC_CHARSET == "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert len(USCC_CHARSET) == 31
    assert not set("IOSVZ") & set(USCC_CHARSET)
    # GB 32100 weights are 3^i mod 31.
    assert USCC_WEIGHTS == tuple(pow(3, i, 31) for i in range(17))


def test_domain_example_valid():
    assert _weighted_sum(VALID[:17]) == 1640  # DOMAIN.md: Σ = 1640, mod 31 = 28, 31 − 28 = 3
    assert uscc_check_char(VALID[:17]) == "3"
    assert is_valid_uscc(VALID)
    validate_uscc(VALID)


def test_domain_edge_case_remainder_zero_gives_0():
    assert _weighted_sum(EDGE_ZERO[:17]) == 434 == 14 * 31
    assert uscc_check_char(EDGE_ZERO[:17]) == "0"
    assert is_valid_uscc(EDGE_ZERO)
    validate_uscc(EDGE_ZERO)


def test_domain_example_wrong_check_character():
    assert not is_valid_uscc(WRONG_CHECK)
    with pytest.raises(InvalidCode) as exc:
        validate_uscc(WRONG_CHECK)
    err = exc.value
    assert err.code == "USCC_CHECKSUM"
    assert err.params == {"actual": "5", "expected": "3"}
    assert "expected 3" in err.message
    assert isinstance(err, ValueError)


def test_lower_case_and_surrounding_spaces_are_normalised():
    assert normalise_uscc("  91350100m000100y43\t") == VALID
    assert is_valid_uscc(" 91350100m000100y43 ")
    validate_uscc("\u300091350100m000100y43\u3000")  # ideographic spaces


def test_full_width_characters_are_folded():
    full_width = "９１３５０１００Ｍ０００１００Ｙ４３"
    assert normalise_uscc(full_width) == VALID
    assert is_valid_uscc(full_width)


@pytest.mark.parametrize("bad_char", ["I", "O", "S", "V", "Z", "-", "中"])
def test_characters_outside_the_charset_are_a_format_error(bad_char):
    code = VALID[:8] + bad_char + VALID[9:]
    with pytest.raises(InvalidCode) as exc:
        validate_uscc(code)
    assert exc.value.code == "USCC_FORMAT"
    assert exc.value.params == {"char": bad_char}
    assert not is_valid_uscc(code)


def test_inner_space_is_not_removed():
    with pytest.raises(InvalidCode) as exc:
        validate_uscc("91350100 M000100Y43")
    assert exc.value.code == "USCC_FORMAT"


@pytest.mark.parametrize("code", [VALID[:17], VALID + "0", "9", ""])
def test_wrong_length_is_a_format_error(code):
    with pytest.raises(InvalidCode) as exc:
        validate_uscc(code)
    assert exc.value.code == "USCC_FORMAT"
    assert not is_valid_uscc(code)


def test_length_error_reports_lengths():
    with pytest.raises(InvalidCode) as exc:
        validate_uscc(VALID[:17])
    assert exc.value.params == {"expected": 18, "actual": 17}


def test_is_valid_uscc_never_raises_on_odd_input():
    assert is_valid_uscc(None) is False
    assert is_valid_uscc(913501001) is False  # type: ignore[arg-type]
    assert is_valid_uscc("   ") is False


def test_uscc_check_char_rejects_bad_prefix():
    with pytest.raises(InvalidCode) as exc:
        uscc_check_char("91350100M000100Y")  # 16 characters
    assert exc.value.code == "USCC_FORMAT"
    with pytest.raises(InvalidCode):
        uscc_check_char("91350100M000100YO")


def test_make_uscc_builds_valid_codes():
    assert make_uscc(VALID[:17]) == VALID
    assert make_uscc("91110108000000008") == EDGE_ZERO
    assert make_uscc("91350100m000100y4") == VALID  # normalised
    for i in range(200):
        code = make_uscc(f"9144030{i:04d}{USCC_CHARSET[i % 31]}ABCDE"[:17])
        assert len(code) == 18
        assert is_valid_uscc(code)


def test_every_single_character_change_of_the_check_is_detected():
    for ch in USCC_CHARSET:
        if ch != "3":
            assert not is_valid_uscc(VALID[:17] + ch)


def test_invalid_code_message_and_repr():
    with pytest.raises(InvalidCode) as exc:
        validate_uscc(WRONG_CHECK)
    assert str(exc.value) == exc.value.message
    assert exc.value.msgid.startswith("The check character")
    assert "USCC_CHECKSUM" in repr(exc.value)
