"""Institutions' master data (app/orgs/institutions.py): spreadsheet import all or nothing, matched by
institution code; officers' pages to list, filter, edit, import; officers creating institution users."""
from __future__ import annotations

import codecs
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.core.errors import DomainError
from app.orgs import institutions as inst
from app.orgs.models import Organisation
from app.orgs.uscc import make_uscc
from app.spreadsheets import TemplateStampError
from tests.web.demand_builders import (  # noqa: F401 - fixtures
    csrf,
    error_cells,
    flashes,
    make_institution,
    xlsx,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

HEADERS = ("医疗机构代码", "名称", "级别", "省份", "医共体", "是否基层", "统一社会信用代码")
USCC_A = make_uscc("12110000400000001")
USCC_B = make_uscc("12320000400000002")
USCC_C = make_uscc("12440000400000003")


def sheet(rows) -> bytes:
    return xlsx(rows, HEADERS, title="医疗机构")


def _institutions(db):
    return {o.institution_code: o for o in db.session.scalars(
        select(Organisation).where(Organisation.kind == "medical_institution"))}


def _count(db):
    return db.session.scalar(select(func.count()).select_from(Organisation)
                             .where(Organisation.kind == "medical_institution"))


@pytest.fixture()
def officer(make_user):
    return make_user("procurement_officer")


def test_import_creates_institutions_with_their_master_data(db, officer):
    data = sheet([
        ["h1101", "北京协和医院", "三级甲等", "北京", "", "否", USCC_A],
        ["H3201", "某县人民医院", "二级", "320000", "某县医共体", "否", USCC_B],
        ["H4401", "某镇卫生院", "一级", "广东省", "某县医共体", "是", USCC_C],
        ["H6601", "兵团医院", "未定级", "新疆生产建设兵团", None, None, make_uscc("12660000400000004")],
    ])
    result = inst.import_institutions(data, "机构.xlsx", officer)
    assert result.ok and result.created == ["H1101", "H3201", "H4401", "H6601"] and result.updated == {}
    rows = _institutions(db)
    assert [(o.name, o.institution_level, o.region_code, o.medical_community, o.is_primary_care, o.uscc)
            for o in (rows["H1101"], rows["H3201"], rows["H4401"], rows["H6601"])] == [
        ("北京协和医院", "tertiary", "110000", None, False, USCC_A),
        ("某县人民医院", "secondary", "320000", "某县医共体", False, USCC_B),
        ("某镇卫生院", "primary", "440000", "某县医共体", True, USCC_C),
        ("兵团医院", "unrated", "660000", None, False, make_uscc("12660000400000004")),  # kept precise (§11)
    ]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "institution.import"))
    assert event.summary["created"] == ["H1101", "H3201", "H4401", "H6601"]
    assert event.summary["file_sha256"] == result.file_sha256 and event.summary["rows"] == 4


def test_import_updates_by_institution_code(db, officer, make_org):
    known = make_institution(make_org, "H1101", "110000", name="旧名称", community="旧医共体")
    old_uscc = known.uscc
    data = sheet([
        ["H1101", "北京协和医院", "三级", "110000", "", "是", ""],  # blank credit code keeps the stored one
        ["H3201", "某县人民医院", "二级", "江苏", "", "", USCC_B],
    ])
    result = inst.import_institutions(data, "update.xlsx", officer)
    assert result.created == ["H3201"]
    assert result.updated == {"H1101": {"name": ["旧名称", "北京协和医院"], "medical_community": ["旧医共体", None],
                                        "is_primary_care": [False, True]}}
    assert (known.name, known.medical_community, known.is_primary_care, known.uscc) == ("北京协和医院", None, True, old_uscc)
    again = inst.import_institutions(data, "update.xlsx", officer)
    assert again.created == [] and again.updated == {} and again.unchanged == ["H1101", "H3201"]


def test_bad_rows_are_located_and_nothing_is_stored(db, officer, make_org):
    supplier = make_org("supplier", name="某药业", uscc=USCC_C)
    make_institution(make_org, "H0001", "110000")
    before = _count(db)
    data = sheet([
        ["H1101", "好医院", "三级", "北京", "", "否", USCC_A],        # row 2: fine
        ["H1102", "医院二", "特级", "北京", "", "否", USCC_B],         # row 3: no such level
        ["H1103", "医院三", "二级", "火星", "", "否", ""],             # row 4: unknown province, new without USCC
        ["H1104", "医院四", "二级", "北京", "", "也许", USCC_C],       # row 5: not 是/否, USCC of a supplier
        ["H1101", "医院五", "二级", "北京", "", "否", ""],             # row 6: code twice in the file
        ["H1106", "医院六", "二级", "北京", "", "否", "91110000600000000Y"],  # row 7: bad check character
    ])
    result = inst.import_institutions(data, "bad.xlsx", officer)
    assert not result.ok and result.created == []
    assert error_cells(result.errors) == [
        ("医疗机构", 3, "C", "not_in_list"),
        ("医疗机构", 4, "D", "UNKNOWN_REGION"),
        ("医疗机构", 4, "G", "USCC_REQUIRED_NEW"),
        ("医疗机构", 5, "F", "not_a_boolean"),
        ("医疗机构", 6, "A", "duplicate"),
        ("医疗机构", 7, "G", "USCC_CHECKSUM"),
    ]
    assert _count(db) == before  # all or nothing
    assert supplier.kind == "supplier"
    # The supplier's credit code is reported once the row's other cells are right.
    clash = inst.import_institutions(sheet([["H1104", "医院四", "二级", "北京", "", "否", USCC_C]]), "c.xlsx", officer)
    assert error_cells(clash.errors) == [("医疗机构", 2, "G", "USCC_TAKEN")]
    assert "某药业" in str(clash.errors[0].message)


def test_dry_run_reports_and_stores_nothing(db, officer):
    data = sheet([["H1101", "北京协和医院", "三级", "北京", "", "否", USCC_A]])
    result = inst.import_institutions(data, "d.xlsx", officer, dry_run=True)
    assert result.ok and result.dry_run and result.created == ["H1101"]
    assert _count(db) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "institution.import")) is None


def test_csv_in_gb18030_with_english_headers(db, officer):
    text = ("institution_code,name,level,province,medical_community,is_primary_care,uscc\n"
            f"H5101,成都某医院,二级,四川,,否,{USCC_A}\n")
    result = inst.import_institutions(codecs.encode(text, "gb18030"), "机构.csv", officer)
    assert result.ok and _institutions(db)["H5101"].name == "成都某医院"


def test_template_round_trip_and_foreign_templates(db, officer, make_org):
    import datetime as dt

    make_institution(make_org, "H1101", "110000", name="北京协和医院")
    data = inst.institutions_template(issued_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
                                      institutions=inst.list_institutions())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["医疗机构"]
    assert [c.value for c in ws[1]] == ["*医疗机构代码", "*名称", "*级别", "*省份", "医共体", "是否基层", "统一社会信用代码"]
    assert [c.value for c in ws[3]][:6] == ["H1101", "北京协和医院", "三级", "110000", None, "否"]
    ws["B3"] = "北京协和医院（东院）"
    buf = io.BytesIO()
    wb.save(buf)
    result = inst.import_institutions(buf.getvalue(), "template.xlsx", officer)
    assert result.updated == {"H1101": {"name": ["北京协和医院", "北京协和医院（东院）"]}}
    from app.spreadsheets import build_template
    from app.spreadsheets.specs import DEMAND

    other = build_template(DEMAND, kind="demand", version=1, project_code="X", issued_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    with pytest.raises(TemplateStampError):
        inst.import_institutions(other, "demand.xlsx", officer)


def test_only_officers_maintain_master_data(db, make_user, make_org):
    hospital = make_institution(make_org, "H1101")
    data = sheet([["H1101", "新名称", "三级", "北京", "", "否", ""]])
    for role in ("platform_admin", "supervisor", "institution_user", "price_officer"):
        actor = make_user(role)
        with pytest.raises(DomainError) as exc:
            inst.import_institutions(data, "x.xlsx", actor)
        assert exc.value.code == "INSTITUTION_EDIT_DENIED"
        with pytest.raises(DomainError):
            inst.update_institution(hospital, actor=actor, name="新名称")
    assert hospital.name != "新名称"


def test_update_institution_checks_and_audits(db, officer, make_org):
    a = make_institution(make_org, "H1101", "110000")
    make_institution(make_org, "H1102", "110000")
    with pytest.raises(DomainError) as exc:
        inst.update_institution(a, actor=officer, institution_code="h1102")
    assert exc.value.code == "INSTITUTION_CODE_TAKEN"
    with pytest.raises(DomainError) as exc:
        inst.update_institution(a, actor=officer, region_code="火星")
    assert exc.value.code == "UNKNOWN_REGION"
    with pytest.raises(DomainError) as exc:
        inst.update_institution(a, actor=officer, uscc="")
    assert exc.value.code == "USCC_REQUIRED"
    changed = inst.update_institution(a, actor=officer, region_code="上海", institution_level="secondary",
                                      medical_community=" 某医共体 ")
    assert changed == ["institution_level", "medical_community", "region_code"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "institution.update"))
    assert event.summary["after"] == {"region_code": "310000", "institution_level": "secondary", "medical_community": "某医共体"}
    assert inst.update_institution(a, actor=officer, region_code="310000") == []


def test_officers_create_institution_users_through_a_narrow_path(db, officer, make_user, make_org):
    from app.auth.services import AccessDenied, create_user

    hospital = make_institution(make_org, "H1101")
    user = inst.create_institution_user(actor=officer, institution=hospital, username="hosp1", display_name="张医生",
                                        password="initial-pass-1", is_org_admin=True)
    assert (user.role, user.org_id, user.must_change_password, user.is_org_admin) == ("institution_user", hospital.id, True, True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "institution.user_create"))
    assert event.summary["by_officer"] == officer.id and event.summary["institution_id"] == hospital.id
    supplier = make_org("supplier")
    with pytest.raises(DomainError) as exc:
        inst.create_institution_user(actor=officer, institution=supplier, username="x", display_name="x", password="pass-word-1")
    assert exc.value.code == "NOT_AN_INSTITUTION"
    with pytest.raises(DomainError) as exc:
        inst.create_institution_user(actor=make_user("supervisor"), institution=hospital, username="y", display_name="y",
                                     password="pass-word-1")
    assert exc.value.code == "INSTITUTION_EDIT_DENIED"
    # The general rule is unchanged: an officer is no administrator of the hospital's users.
    with pytest.raises(AccessDenied):
        create_user(actor=officer, username="z", display_name="z", password="pass-word-1", role="institution_user", org=hospital)


# --- pages -------------------------------------------------------------------------------------------

def test_list_filters_by_region_level_and_search(db, officer, make_org, browser):
    make_institution(make_org, "H1101", "110000", name="北京甲医院", level="tertiary")
    make_institution(make_org, "H1102", "110000", name="北京乙医院", level="secondary", community="朝阳医共体")
    make_institution(make_org, "H3201", "320000", name="南京医院")
    client = browser(officer)
    page = client.get("/institutions/?region=110000").get_data(as_text=True)
    assert "北京甲医院" in page and "北京乙医院" in page and "南京医院" not in page
    page = client.get("/institutions/?region=110000&level=secondary").get_data(as_text=True)
    assert "北京乙医院" in page and "北京甲医院" not in page
    page = client.get("/institutions/?q=h3201").get_data(as_text=True)
    assert "南京医院" in page and "北京甲医院" not in page
    page = client.get("/institutions/?community=朝阳医共体").get_data(as_text=True)
    assert "北京乙医院" in page and "北京甲医院" not in page


def test_import_page_stores_reports_and_marks_errors(db, officer, browser, zh_catalog):
    client = browser(officer)
    good = sheet([["H1101", "北京协和医院", "三级", "北京", "", "否", USCC_A]])
    response = client.post("/institutions/import", data={"csrf_token": csrf(client, "/institutions/import"),
                                                         "file": (io.BytesIO(good), "机构.xlsx"), "dry_run": "y"},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and _count(db) == 0
    assert "校验通过：将新建 1 家" in flashes(response.get_data(as_text=True))[0]
    response = client.post("/institutions/import", data={"csrf_token": csrf(client, "/institutions/import"),
                                                         "file": (io.BytesIO(good), "机构.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and _count(db) == 1
    bad = sheet([["H1102", "医院", "三级", "火星", "", "否", USCC_B]])
    response = client.post("/institutions/import", data={"csrf_token": csrf(client, "/institutions/import"),
                                                         "file": (io.BytesIO(bad), "bad.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<code>D2</code>" in html and "未知省份：火星。" in html
    response = client.post("/institutions/import", data={"csrf_token": csrf(client, "/institutions/import"),
                                                         "file": (io.BytesIO(bad), "bad.xlsx"), "error_report": "y"},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert openpyxl.load_workbook(io.BytesIO(response.data))["医疗机构"]["D2"].comment is not None
    response = client.post("/institutions/import", data={"csrf_token": csrf(client, "/institutions/import"),
                                                         "file": (io.BytesIO(b"not a spreadsheet"), "x.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code in (415, 422) and _count(db) == 1


def test_edit_page_saves_for_officers_only(db, officer, make_user, make_org, browser):
    hospital = make_institution(make_org, "H1101", "110000", name="旧名称")
    url = f"/institutions/{hospital.id}"
    client = browser(officer)
    form = {"csrf_token": csrf(client, url), "institution_code": "H1101", "name": "新名称", "institution_level": "secondary",
            "region_code": "310000", "medical_community": "", "uscc": hospital.uscc, "active": "y"}
    response = client.post(url, data=form)
    assert response.status_code == 302
    db.session.refresh(hospital)
    assert (hospital.name, hospital.region_code, hospital.institution_level) == ("新名称", "310000", "secondary")
    bad = dict(form, uscc="91110000600000000Y")
    assert client.post(url, data=bad).status_code == 422
    supervisor = browser(make_user("supervisor"))
    assert supervisor.get(url).status_code == 200
    assert supervisor.post(url, data=dict(form, csrf_token=csrf(supervisor, url))).status_code == 403
    assert browser(make_user("institution_user", org=hospital)).get(url).status_code == 403
    assert browser(officer).get(f"/institutions/{make_org('supplier').id}").status_code == 404


def test_create_user_page(db, officer, make_org, browser):
    hospital = make_institution(make_org, "H1101")
    url = f"/institutions/{hospital.id}/users/new"
    client = browser(officer)
    response = client.post(url, data={"csrf_token": csrf(client, url), "username": "hosp-a", "display_name": "李护士",
                                      "password": "first-pass-9"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "hosp-a"))
    assert user.org_id == hospital.id and user.role == "institution_user"
    response = client.post(url, data={"csrf_token": csrf(client, url), "username": "hosp-a", "display_name": "重复",
                                      "password": "first-pass-9"})
    assert response.status_code == 422


def test_institution_template_download(db, officer, make_org, browser):
    make_institution(make_org, "H1101", "110000", name="北京医院")
    make_institution(make_org, "H3201", "320000", name="南京医院")
    response = browser(officer).get("/institutions/template?prefill=1&region=320000")
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.data))["医疗机构"]
    assert ws["A3"].value == "H3201" and ws["A4"].value is None
