"""The 剂型 dictionary (DOMAIN.md §12) and pinyin initials for search."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.catalog import dosage_forms
from app.catalog.dosage_forms import (
    DEFAULT_PATH,
    FORM_CLASSES,
    default_dictionary,
    form_class,
    form_group,
    load_dictionary,
    lookup,
    require,
)
from app.catalog.pinyin import initials
from app.core.errors import UnknownDosageForm

# DOMAIN.md §12, verbatim.
DOMAIN_FORMS = {
    "片剂": "口服常释剂型",
    "薄膜衣片": "口服常释剂型",
    "分散片": "口服常释剂型",
    "胶囊剂": "口服常释剂型",
    "缓释片": "缓释控释剂型",
    "控释片": "缓释控释剂型",
    "缓释胶囊": "缓释控释剂型",
    "颗粒剂": "颗粒剂",
    "注射液": "注射剂",
    "注射剂": "注射剂",
    "滴眼剂": "滴眼剂",
}


@pytest.mark.parametrize(("name", "group"), sorted(DOMAIN_FORMS.items()))
def test_domain_forms(name, group):
    assert form_group(name) == group
    assert lookup(name).evidence == "domain"


@pytest.mark.parametrize(
    "name", ["注射用无菌粉末", "注射用浓溶液", "注射用紫杉醇（白蛋白结合型）", "注射用"]
)
def test_prefix_rule_for_injection_powders(name):
    assert form_group(name) == "注射剂"
    entry = lookup(name)
    assert entry.via_prefix
    assert entry.form_class == "small_volume_injection"


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("肠溶片", "口服常释剂型"),
        ("肠溶胶囊", "口服常释剂型"),
        ("软胶囊", "口服常释剂型"),
        ("硬胶囊", "口服常释剂型"),
        ("控释胶囊", "缓释控释剂型"),
        ("口崩片", "口崩片"),
        ("口腔崩解片", "口崩片"),
    ],
)
def test_added_forms_are_marked_for_review(name, group):
    entry = lookup(name)
    assert entry.form_group == group
    assert entry.evidence == "added"


def test_batch2_groups():
    # Batch-2 lots 铝碳酸镁咀嚼片 and 聚乙二醇口服散剂 are groups of their own.
    assert form_group("咀嚼片") == "咀嚼片"
    assert form_group("口服散剂") == "口服散剂"
    assert lookup("咀嚼片").evidence == "batch2"


def test_group_names_resolve_to_themselves():
    for group in default_dictionary().groups:
        assert form_group(group) == group


def test_form_classes():
    assert form_class("片剂") == "oral_solid"
    assert form_class("缓释片") == "oral_solid"
    assert form_class("颗粒剂") == "oral_solid"
    assert form_class("滴眼剂") == "other"
    assert form_class("注射液") == "small_volume_injection"
    assert form_class("注射液", Decimal("5")) == "small_volume_injection"
    assert form_class("注射液", Decimal("100")) == "large_volume_injection"
    assert form_class("注射液", "250") == "large_volume_injection"
    assert form_class("注射液", 99) == "small_volume_injection"
    assert form_class("片剂", Decimal("250")) == "oral_solid"  # volume matters for injections only
    assert form_class("注射用无菌粉末", 100) == "large_volume_injection"
    assert form_class("未知剂型") is None
    with pytest.raises(TypeError):
        form_class("注射液", 100.0)  # type: ignore[arg-type]


def test_names_are_normalised():
    assert form_group(" 片剂 ") == "口服常释剂型"
    assert form_group("缓释 胶囊") == "缓释控释剂型"


def test_unknown_forms():
    assert form_group("气雾剂") is None
    assert form_group("") is None
    assert form_group(None) is None
    assert lookup("气雾剂") is None
    with pytest.raises(UnknownDosageForm) as exc:
        require("气雾剂")
    assert exc.value.code == "UNKNOWN_DOSAGE_FORM"
    assert exc.value.name == "气雾剂"
    assert require("片剂").form_group == "口服常释剂型"


def test_shipped_file_is_consistent():
    d = load_dictionary()
    assert len(d) == len(json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))["forms"])
    assert d.large_volume_min_ml == Decimal(100)
    for entry in d:
        assert entry.form_class in FORM_CLASSES
        assert entry.form_group in d.groups
        assert entry.evidence in ("domain", "batch2", "added")
        assert not entry.via_prefix
    for group in d.groups.values():
        assert group.form_class in FORM_CLASSES
        assert group.evidence in ("domain", "batch2", "added")
    assert {e.name for e in d if e.evidence == "domain"} == set(DOMAIN_FORMS)


def test_officer_extended_file(tmp_path):
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["groups"].append({"name": "吸入剂", "form_class": "other", "evidence": "added"})
    data["forms"].append({"name": "吸入粉雾剂", "group": "吸入剂", "evidence": "added"})
    data["forms"].append({"name": "大容量注射液", "group": "注射剂", "form_class": "large_volume_injection"})
    path = tmp_path / "forms.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    d = load_dictionary(path)
    assert d.form_group("吸入粉雾剂") == "吸入剂"
    assert d.form_class("大容量注射液") == "large_volume_injection"
    assert d.form_group("片剂") == "口服常释剂型"
    # The shipped default is unchanged.
    assert form_group("吸入粉雾剂") is None


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"forms": [{"name": "片剂", "group": "不存在"}]}, "unknown group"),
        ({"forms": [{"name": "片剂", "group": "颗粒剂"}] * 2}, "duplicate form"),
        ({"groups": [{"name": "颗粒剂", "form_class": "granule"}]}, "unknown form_class"),
        ({"forms": [{"name": "", "group": "颗粒剂"}]}, "non-empty"),
        ({"prefixes": [{"prefix": "注射用", "group": "不存在"}]}, "unknown group"),
        ({"large_volume_injection_min_ml": "lots"}, "not a number"),
    ],
)
def test_malformed_files_are_rejected(tmp_path, patch, message):
    data = {"groups": [{"name": "颗粒剂", "form_class": "oral_solid"}], "forms": [], **patch}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_dictionary(path)


def test_default_dictionary_is_cached():
    assert dosage_forms.default_dictionary() is dosage_forms.default_dictionary()


# --- pinyin initials (app/catalog/pinyin.py) ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("阿托伐他汀", "atftt"),  # a tuo fa ta ting
        ("左西替利嗪", "zxtlq"),
        ("对乙酰氨基酚", "dyxajf"),
        ("地喹氯铵", "dkla"),
        ("头孢氨苄", "tbab"),
        ("重组人胰岛素", "czryds"),  # 重组 reads chong in context
        ("长春新碱", "ccxj"),  # 长春 reads chang in context
        ("维生素B12", "wssb12"),
        ("维生素Ｂ１２", "wssb12"),  # full-width folded
        ("Aspirin", "aspirin"),
        ("", ""),
        (None, ""),
    ],
)
def test_pinyin_initials(text, expected):
    assert initials(text) == expected
