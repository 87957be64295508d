"""Medical institutions' master data (医疗机构主数据): spreadsheet import, edits, and their users.

Procurement officers (DOMAIN.md L1) import and maintain the institutions that report demand: their
institution code (医疗机构代码, the key an import matches on), name, level, province, 医共体 (county
medical community) and whether they are primary care (基层). An institution is an
:class:`~app.orgs.models.Organisation` of kind ``medical_institution``.

Import decisions (the DOMAIN is silent on them):

* The file is the master data: an existing institution (same code) takes the file's name, level,
  province, 医共体 and 是否基层; a blank 医共体 clears the membership, a blank 是否基层 means 否.
* 统一社会信用代码 is optional in the file, but an organisation must be identified by one (C5, the
  ``identified`` constraint of ``organisations``): it is required for an institution the platform does
  not know yet; blank for a known one keeps the stored code; a different valid one replaces it.
* The province is kept as precise as given: 660000 新疆生产建设兵团 stays 660000 here; a project folds
  it into 650000 unless its RuleSet says ``xpcc_separate`` (DOMAIN.md §11).
* All or nothing: any bad cell rejects the file and nothing is stored; a dry run checks and reports
  what would change without storing anything.

Officers may also create ``institution_user`` accounts in an institution (they are not the
hospital's organisation administrators): :func:`create_institution_user` is that one narrow path,
audited, and leaves :func:`app.auth.services._check_manage` untouched for everyone else.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import or_, select

from app.audit.services import record
from app.auth import roles as R
from app.core.errors import N_, DomainError, InvalidCode
from app.extensions import db
from app.orgs.models import INSTITUTION_LEVELS, Organisation
from app.orgs.uscc import normalise_uscc, validate_uscc
from app.regions.names import UnknownRegion, resolve_region
from app.spreadsheets import CellError, Choice, Column, ColumnType, Notice, SheetSpec, build_template, read_table

TEMPLATE_KIND = "institutions"
TEMPLATE_VERSION = 1

LEVEL_CHOICES = (
    Choice("tertiary", "三级", ("三级甲等", "三级乙等", "三级丙等", "三甲", "三乙", "三丙")),
    Choice("secondary", "二级", ("二级甲等", "二级乙等", "二级丙等", "二甲", "二乙", "二丙")),
    Choice("primary", "一级", ("一级甲等", "一级乙等", "一级丙等", "一甲", "一乙", "一丙")),
    Choice("unrated", "未定级", ("未评级", "无")),
)
LEVEL_LABELS = {c.value: c.zh for c in LEVEL_CHOICES}

INSTITUTIONS = SheetSpec(
    name="institutions",
    title_zh="医疗机构",
    title_en="Medical institutions",
    note_zh="按医疗机构代码匹配：已登记的机构按本表更新，未登记的机构新建（新建时须填统一社会信用代码）。",
    note_en="Matched by institution code: a registered institution is updated from this sheet, an unknown one is "
            "created (a new one needs its unified social credit code).",
    columns=(
        Column("institution_code", "医疗机构代码", "institution_code", ColumnType.CODE, required=True, upper=True,
               max_length=32, aliases=("机构代码", "医疗机构编码", "定点医疗机构代码"), example="H11010500001"),
        Column("name", "名称", "name", ColumnType.TEXT, required=True, max_length=200,
               aliases=("医疗机构名称", "机构名称"), example="北京某某医院"),
        Column("level", "级别", "level", ColumnType.ENUM, required=True, choices=LEVEL_CHOICES,
               aliases=("医院级别", "机构级别"), note_zh="三级/二级/一级/未定级", note_en="tertiary/secondary/primary/unrated"),
        Column("province", "省份", "province", ColumnType.TEXT, required=True, max_length=32,
               aliases=("省份代码", "province_code", "省份名称"), note_zh="6位区划代码或省份名称",
               note_en="6-digit code or province name", example="110000"),
        Column("medical_community", "医共体", "medical_community", ColumnType.TEXT, max_length=200,
               aliases=("所属医共体", "医共体名称"), note_zh="空白表示不属于医共体", note_en="blank: not in a 医共体"),
        Column("is_primary_care", "是否基层", "is_primary_care", ColumnType.BOOL, default=False,
               aliases=("基层医疗机构",), note_zh="是/否，默认否", note_en="是 (yes) / 否 (no), default 否"),
        Column("uscc", "统一社会信用代码", "uscc", ColumnType.CODE, upper=True, max_length=24,
               note_zh="新建机构必填 (C5)", note_en="required for a new institution (C5)"),
    ),
    unique=(("institution_code",), ("uscc",)),
)

# Fields an import or an edit sets, in display order.
MASTER_FIELDS = ("institution_code", "name", "institution_level", "region_code", "medical_community",
                 "is_primary_care", "uscc")


class InstitutionError(DomainError):
    default_code = "INSTITUTION_ERROR"


def _require_officer(actor) -> None:
    if actor is None or actor.role != R.PROCUREMENT_OFFICER:
        raise InstitutionError("INSTITUTION_EDIT_DENIED",
                               N_("Only procurement officers maintain the institutions' master data."))


def _fold_code(text: str | None) -> str | None:
    text = (text or "").strip().upper()
    return text or None


# --- reading ------------------------------------------------------------------------------------------

def list_institutions(*, region_code: str | None = None, level: str | None = None, q: str | None = None,
                      medical_community: str | None = None, limit: int = 500) -> list[Organisation]:
    """Medical institutions, by province then name, filtered by region, level, 医共体 and a name/code search."""
    query = select(Organisation).where(Organisation.kind == "medical_institution")
    if region_code:
        query = query.where(Organisation.region_code == region_code)
    if level:
        query = query.where(Organisation.institution_level == level)
    if medical_community:
        query = query.where(Organisation.medical_community == medical_community)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Organisation.name.like(like), Organisation.institution_code.like(like.upper()),
                                Organisation.uscc.like(like.upper())))
    query = query.order_by(Organisation.region_code, Organisation.name, Organisation.id).limit(limit)
    return db.session.scalars(query).all()


def get_institution(institution_id: int) -> Organisation | None:
    org = db.session.get(Organisation, institution_id)
    return org if org is not None and org.kind == "medical_institution" else None


def institution_users(institution: Organisation) -> list:
    from app.auth.models import User

    return db.session.scalars(select(User).where(User.org_id == institution.id).order_by(User.username)).all()


# --- edit one ------------------------------------------------------------------------------------------

def _check_region(value: str | None) -> str:
    if not value:
        raise InstitutionError("REGION_REQUIRED", N_("Choose the institution's province."))
    return resolve_region(value, xpcc_separate=True)  # UnknownRegion names the text


def update_institution(institution: Organisation, *, actor, **changes: Any) -> list[str]:
    """Change master data of one institution (any of :data:`MASTER_FIELDS` and ``active``); returns what changed."""
    _require_officer(actor)
    if institution.kind != "medical_institution":
        raise InstitutionError("NOT_AN_INSTITUTION", N_("This organisation is not a medical institution."))
    unknown = set(changes) - set(MASTER_FIELDS) - {"active"}
    if unknown:
        raise TypeError(f"unknown institution fields {sorted(unknown)}")
    values: dict[str, Any] = {}
    if "institution_code" in changes:
        code = _fold_code(changes["institution_code"])
        if not code or len(code) > 32:
            raise InstitutionError("INSTITUTION_CODE_INVALID",
                                   N_("The institution code must be 1 to 32 characters, got %(code)s."),
                                   params={"code": changes["institution_code"] or ""})
        clash = db.session.scalar(select(Organisation.id).where(Organisation.institution_code == code,
                                                                Organisation.id != institution.id))
        if clash is not None:
            raise InstitutionError("INSTITUTION_CODE_TAKEN",
                                   N_("Another institution already has the code %(code)s."), params={"code": code})
        values["institution_code"] = code
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name or len(name) > 200:
            raise InstitutionError("INSTITUTION_NAME_REQUIRED", N_("The institution needs a name (at most 200 characters)."))
        values["name"] = name
    if "institution_level" in changes:
        if changes["institution_level"] not in INSTITUTION_LEVELS:
            raise InstitutionError("UNKNOWN_LEVEL", N_("Unknown institution level %(level)s."),
                                   params={"level": changes["institution_level"]})
        values["institution_level"] = changes["institution_level"]
    if "region_code" in changes:
        values["region_code"] = _check_region(changes["region_code"])
    if "medical_community" in changes:
        values["medical_community"] = (changes["medical_community"] or "").strip() or None
    if "is_primary_care" in changes:
        values["is_primary_care"] = bool(changes["is_primary_care"])
    if "active" in changes:
        values["active"] = bool(changes["active"])
    if "uscc" in changes:
        if not (changes["uscc"] or "").strip():
            raise InstitutionError("USCC_REQUIRED", N_("An institution keeps its unified social credit code: it cannot be left empty."))
        uscc = normalise_uscc(changes["uscc"])
        validate_uscc(uscc)
        clash = db.session.scalar(select(Organisation).where(Organisation.uscc == uscc, Organisation.id != institution.id))
        if clash is not None:
            raise InstitutionError("USCC_TAKEN", N_("An organisation with the credit code %(uscc)s is already registered."),
                                   params={"uscc": uscc})
        values["uscc"] = uscc
    changed = {k: v for k, v in values.items() if getattr(institution, k) != v}
    if not changed:
        return []
    before = {k: getattr(institution, k) for k in changed}
    for key, value in changed.items():
        setattr(institution, key, value)
    db.session.flush()
    record("institution.update", institution, summary={"institution_code": institution.institution_code,
                                                       "before": before, "after": changed})
    return sorted(changed)


# --- users --------------------------------------------------------------------------------------------

def create_institution_user(*, actor, institution: Organisation, username: str, display_name: str, password: str,
                            email: str | None = None, is_org_admin: bool = False):
    """An officer creates an ``institution_user`` account in a medical institution.

    The officer is not the hospital's organisation administrator, so the general rule
    (``_check_manage``) would refuse it: this path allows exactly this role in exactly this kind of
    organisation, calls :func:`app.auth.services.create_user` as a trusted caller, makes the user
    choose a new password at first login, and records who created it.
    """
    from app.auth.services import create_user

    _require_officer(actor)
    if institution.kind != "medical_institution":
        raise InstitutionError("NOT_AN_INSTITUTION", N_("This organisation is not a medical institution."))
    if not institution.active:
        raise InstitutionError("INSTITUTION_INACTIVE", N_("The institution is deactivated: reactivate it before adding users."))
    user = create_user(actor=None, username=username, display_name=display_name, password=password,
                       role=R.INSTITUTION_USER, org=institution, email=email, is_org_admin=is_org_admin,
                       must_change_password=True)
    record("institution.user_create", user, summary={"username": user.username, "institution_id": institution.id,
                                                    "institution_code": institution.institution_code,
                                                    "org_admin": is_org_admin, "by_officer": actor.id})
    return user


# --- import -------------------------------------------------------------------------------------------

@dataclass
class InstitutionImport:
    """What an import did (or, for a dry run, would do); ``errors`` non-empty means nothing was stored."""

    filename: str
    file_sha256: str
    dry_run: bool
    created: list[str] = field(default_factory=list)  # institution codes
    updated: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> {field: [before, after]}
    unchanged: list[str] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _cell(key: str, error_code: str, msgid: str, hint: str | None = None, /, **params: Any) -> CellError:
    return CellError.for_key(key, error_code, lazy_gettext(msgid, **params),
                             lazy_gettext(hint, **params) if hint else None)


def import_institutions(data: bytes, filename: str, actor, dry_run: bool = False) -> InstitutionImport:
    """Import the institutions' master data from a spreadsheet (xlsx, xls, ods, csv), all or nothing.

    Rows are matched by institution code: new codes create institutions, known ones are updated. A
    file-level problem raises a :class:`~app.spreadsheets.SpreadsheetError`; cell problems come back in
    ``errors`` with sheet, row, column and what to do, and then nothing is stored. ``dry_run`` checks
    and reports without storing. One audit event records the import with every created code and
    every changed field.
    """
    _require_officer(actor)
    result = InstitutionImport(filename=filename, file_sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run)
    # Every organisation's identity, loaded once: codes and credit codes must stay unique.
    known = db.session.execute(select(Organisation.id, Organisation.kind, Organisation.institution_code,
                                      Organisation.uscc, Organisation.name)).all()
    by_code = {r.institution_code: r for r in known if r.institution_code}
    by_uscc = {r.uscc: r for r in known if r.uscc}
    resolved: dict[int, dict[str, Any]] = {}

    def validate(row: dict[str, Any], rownum: int) -> list[CellError]:
        errors: list[CellError] = []
        code = row["institution_code"]
        existing = by_code.get(code)
        if existing is not None and existing.kind != "medical_institution":
            errors.append(_cell("institution_code", "CODE_NOT_INSTITUTION",
                                N_("The code %(code)s belongs to %(name)s, which is not a medical institution."),
                                N_("Check the institution code."), code=code, name=existing.name))
        try:
            region = resolve_region(row["province"], xpcc_separate=True)
        except UnknownRegion:
            region = None
            errors.append(_cell("province", "UNKNOWN_REGION", N_("Unknown province: %(text)s."),
                                N_("Write a 6-digit region code such as 110000 or a province name such as 北京."),
                                text=row["province"]))
        uscc = row.get("uscc")
        if uscc:
            try:
                uscc = normalise_uscc(uscc)
                validate_uscc(uscc)
            except InvalidCode as err:
                errors.append(CellError.for_key("uscc", err.code, lazy_gettext(err.msgid, **err.params),
                                                lazy_gettext(N_("A unified social credit code has 18 characters and a check character (GB 32100-2015)."))))
            else:
                owner = by_uscc.get(uscc)
                if owner is not None and (existing is None or owner.id != existing.id):
                    errors.append(_cell("uscc", "USCC_TAKEN",
                                        N_("The credit code %(uscc)s is already registered to %(name)s."),
                                        N_("Each organisation has its own credit code: check this one."),
                                        uscc=uscc, name=owner.name))
        elif existing is None:
            errors.append(_cell("uscc", "USCC_REQUIRED_NEW",
                                N_("The institution %(code)s is not registered yet: its unified social credit code is required."),
                                N_("Fill in the 18-character unified social credit code of the new institution."),
                                code=code))
        if not errors:
            resolved[rownum] = {"region_code": region, "uscc": uscc or None}
        return errors

    parsed = read_table(data, filename, INSTITUTIONS, expect_stamp=(TEMPLATE_KIND, TEMPLATE_VERSION, None),
                        row_validator=validate)
    result.notices = list(parsed.notices)
    if not parsed.ok:
        result.errors = parsed.errors
        return result
    result.rows = len(parsed.rows)
    plan: list[tuple[int | None, dict[str, Any]]] = []
    for rownum, row in parsed.numbered_rows():
        code = row["institution_code"]
        values = {
            "institution_code": code,
            "name": row["name"].strip(),
            "institution_level": row["level"],
            "region_code": resolved[rownum]["region_code"],
            "medical_community": (row.get("medical_community") or "").strip() or None,
            "is_primary_care": bool(row.get("is_primary_care")),
        }
        if resolved[rownum]["uscc"]:
            values["uscc"] = resolved[rownum]["uscc"]
        existing = by_code.get(code)
        plan.append((existing.id if existing else None, values))
    orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_([oid for oid, _ in plan if oid is not None])))} if any(oid for oid, _ in plan) else {}
    for org_id, values in plan:
        code = values["institution_code"]
        if org_id is None:
            result.created.append(code)
            if not dry_run:
                db.session.add(Organisation(kind="medical_institution", **values))
            continue
        org = orgs[org_id]
        diff = {k: [getattr(org, k), v] for k, v in values.items() if getattr(org, k) != v}
        if not diff:
            result.unchanged.append(code)
            continue
        result.updated[code] = diff
        if not dry_run:
            for key, (_, value) in diff.items():
                setattr(org, key, value)
    if not dry_run and (result.created or result.updated):
        db.session.flush()
        record("institution.import", summary={"filename": filename, "file_sha256": result.file_sha256,
                                              "rows": result.rows, "created": result.created,
                                              "updated": result.updated, "unchanged": len(result.unchanged)})
    return result


def institutions_template(*, issued_at, institutions: list[Organisation] | None = None) -> bytes:
    """The import template (stamped ``institutions`` v1), optionally pre-filled with ``institutions``."""
    rows = [{"institution_code": o.institution_code, "name": o.name, "level": o.institution_level,
             "province": o.region_code, "medical_community": o.medical_community,
             "is_primary_care": o.is_primary_care, "uscc": o.uscc} for o in (institutions or [])]
    return build_template(INSTITUTIONS, kind=TEMPLATE_KIND, version=TEMPLATE_VERSION, issued_at=issued_at,
                          prefilled_rows=rows)


def level_label_zh(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "", "")


__all__ = ["INSTITUTIONS", "LEVEL_CHOICES", "InstitutionError", "InstitutionImport", "create_institution_user",
           "get_institution", "import_institutions", "institution_users", "institutions_template",
           "list_institutions", "update_institution"]
