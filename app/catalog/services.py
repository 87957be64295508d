"""The product catalog (产品目录): products and their codes, search, import and export, supplier proposals.

Procurement officers own the catalog (DOMAIN.md L1): they create, edit and retire products, disable
codes (a disabled code is kept with its history and points to its replacement, C2), import the catalog
from the canonical format of DOMAIN.md §12 (a) and export it. A supplier proposes its own products,
which an officer approves into the catalog. Services flush and never commit, and write an audit event
for every change; an import is all or nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from flask_babel import gettext, lazy_gettext
from sqlalchemy import case, func, or_, select, text, true

from app.audit.services import record
from app.auth import roles as R
from app.catalog.codes import split_nhsa_consumable_code, split_nhsa_drug_code
from app.catalog.dosage_forms import DosageFormEntry, default_dictionary, normalise_form_name
from app.catalog.models import DosageForm, Product, ProductCodeChange, ProductProposal
from app.catalog.validation import FieldIssue, ProductChecker, key_part
from app.core.db import utcnow
from app.core.errors import N_, DomainError
from app.extensions import db
from app.orgs.models import Organisation
from app.orgs.services import create_organisation
from app.spreadsheets import CellError, Limits, Notice, build_template, export_csv, export_table, read_table
from app.spreadsheets.specs import CATALOG

# Who reads the catalog, and who changes it (DOMAIN.md L1).
READER_ROLES = (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.INSTITUTION_USER, R.SUPPLIER_USER, R.PRICE_OFFICER)
EDITOR_ROLES = (R.PROCUREMENT_OFFICER,)
TEMPLATE_KIND = "catalog"
TEMPLATE_VERSION = 1
MAX_WARNINGS = 1000
_SQLITE_IMPORT_CACHE_KIB = -65536  # negative: KiB (64 MiB)
_STORE_BATCH = 4096  # new products handed to the writer at a time while the file is still being read


class CatalogError(DomainError):
    default_code = "CATALOG_ERROR"


class ProductInvalid(CatalogError):
    """A product's fields are wrong: ``issues`` names each bad field (the message is the first one's)."""

    default_code = "PRODUCT_INVALID"

    def __init__(self, issues: Sequence[FieldIssue]) -> None:
        self.issues = list(issues)
        first = self.issues[0]
        super().__init__(first.code, first.msgid, params=first.params)


MSG = {
    "NHSA_CODE_TAKEN": N_("The NHSA code %(code)s is already in the catalog."),
    "PRODUCT_EXISTS": N_("This manufacturer already has %(name)s %(dosage_form)s %(spec)s in the catalog."),
    "USCC_REQUIRED": N_("A unified social credit code is required (a foreign maker gives its foreign id and its agent's code)."),
    "USCC_REQUIRED_HINT": N_("Fill in the manufacturer's credit code; for a foreign maker without one, fill in 境外企业编号 and 代理人统一社会信用代码."),
    "AGENT_REQUIRED": N_("A foreign maker without a credit code needs its agent's credit code."),
    "NOT_A_SUPPLIER": N_("The credit code %(code)s belongs to %(name)s, which is not a manufacturer (supplier)."),
    "FOREIGN_ID_TAKEN": N_("The foreign maker id %(code)s belongs to %(name)s, which has another credit code."),
    "MAKER_HINT": N_("Check the manufacturer's credit code, or ask a platform administrator about the registered organisation."),
    "CODE_DISABLED": N_("The code %(code)s was disabled; it cannot be imported again."),
    "CODE_DISABLED_HINT": N_("Use its replacement code %(replacement)s."),
    "CODE_DISABLED_NO_REPLACEMENT_HINT": N_("Remove the row or ask a procurement officer."),
    "AMBIGUOUS_PRODUCT": N_("%(count)s catalog products have this generic name, dosage form, spec and manufacturer."),
    "AMBIGUOUS_PRODUCT_HINT": N_("Give the NHSA code to say which product the row is."),
    "DUPLICATE_PRODUCT": N_("This row is the same product as row %(row)s."),
    "DUPLICATE_PRODUCT_HINT": N_("A product may appear once per file: remove or correct one of the rows."),
    "NOT_ACTIVE": N_("The product is %(status)s; only an active product can be changed this way."),
    "NO_CODE": N_("The product has no NHSA code to disable."),
    "BAD_REPLACEMENT": N_("A product cannot replace itself, and its replacement must be an active product."),
    "NOT_PENDING": N_("This proposal was already reviewed."),
    "REJECT_NEEDS_NOTE": N_("Say why the proposal is rejected."),
    "NOT_OWN_SUPPLIER": N_("Only a supplier proposes products, and only its own."),
    "BAD_FORMAT": N_("Unknown export format %(format)s (xlsx or csv)."),
}


# --- small helpers ------------------------------------------------------------------------------------------

def dosage_form_lookup() -> Callable[[str], DosageFormEntry | None]:
    """The 剂型 dictionary: the shipped file (``dosage_forms.json``) plus the forms officers added to the table."""
    shipped = default_dictionary()
    added = {normalise_form_name(name): DosageFormEntry(name, group, cls)
             for name, group, cls in db.session.execute(
                 select(DosageForm.name, DosageForm.form_group, DosageForm.form_class))}

    def lookup(name: str) -> DosageFormEntry | None:
        return added.get(normalise_form_name(name)) or shipped.lookup(name)

    return lookup


def code_segments(code: str | None) -> str | None:
    """An NHSA code with its segments separated (C1/C2), or the code as is when it cannot be split."""
    if not code:
        return None
    try:
        return (split_nhsa_consumable_code(code) if code.startswith("C") else split_nhsa_drug_code(code)).display()
    except DomainError:
        return code


def _issue_text(issue: FieldIssue) -> str:
    text = gettext(issue.msgid)
    return text % dict(issue.params) if issue.params else text


def issue_texts(err: ProductInvalid) -> dict[str, list[str]]:
    """The problems of a refused product in the user's language, per field key."""
    out: dict[str, list[str]] = {}
    for issue in err.issues:
        out.setdefault(issue.key, []).append(_issue_text(issue))
    return out


def clean_decimal(value: Decimal | None) -> Decimal | None:
    """A stored Decimal without trailing zeros and without exponent notation (2.000000 → 2)."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


# --- create, edit, retire, disable a code --------------------------------------------------------------------

_PRODUCT_FIELDS = ("nhsa_code", "code_kind", "benweima", "approval_no", "approval_no_type", "generic_name",
                   "generic_name_initials", "dosage_form", "form_group", "spec", "strength_value", "strength_unit",
                   "fill_volume_ml", "pack_qty", "min_unit", "mah_name", "quality_tier")


def _checked(values: Mapping[str, Any], manufacturer: Organisation, *, exclude_id: int | None = None) -> dict[str, Any]:
    """Product column values of ``values`` or :class:`ProductInvalid`, unique codes and 四同 keys included."""
    clean, errors, _warnings = ProductChecker(dosage_form_lookup()).check(values, foreign_maker=manufacturer.uscc is None)
    if not errors:
        errors = _uniqueness_issues(clean, manufacturer.id, exclude_id)
    if errors:
        raise ProductInvalid(errors)
    return clean


def _uniqueness_issues(clean: Mapping[str, Any], manufacturer_id: int, exclude_id: int | None) -> list[FieldIssue]:
    others = Product.id != exclude_id if exclude_id is not None else true()
    if clean["nhsa_code"]:
        taken = db.session.scalar(select(Product.id).where(Product.nhsa_code == clean["nhsa_code"], others))
        if taken is not None:
            return [FieldIssue("nhsa_code", "NHSA_CODE_TAKEN", MSG["NHSA_CODE_TAKEN"], {"code": clean["nhsa_code"]})]
        return []
    same = db.session.execute(select(Product.dosage_form, Product.spec).where(
        Product.generic_name == clean["generic_name"], Product.manufacturer_id == manufacturer_id,
        Product.nhsa_code.is_(None), others)).all()
    wanted = (key_part(clean["dosage_form"]), key_part(clean["spec"]))
    if any((key_part(f), key_part(s)) == wanted for f, s in same):
        return [FieldIssue("generic_name", "PRODUCT_EXISTS", MSG["PRODUCT_EXISTS"],
                           {"name": clean["generic_name"], "dosage_form": clean["dosage_form"], "spec": clean["spec"]})]
    return []


def create_product(values: Mapping[str, Any], *, manufacturer: Organisation, actor=None) -> Product:
    """Add a product to the catalog; :class:`ProductInvalid` names every bad field (codes C1–C4, 剂型, 规格 …)."""
    clean = _checked(values, manufacturer)
    product = Product(manufacturer_id=manufacturer.id, status="active", **clean)
    db.session.add(product)
    db.session.flush()
    record("catalog.product_create", product, summary={"nhsa_code": product.nhsa_code, "generic_name": product.generic_name,
                                                        "spec": product.spec, "manufacturer_id": manufacturer.id})
    return product


def update_product(product: Product, values: Mapping[str, Any], *, manufacturer: Organisation | None = None,
                   actor=None) -> Product:
    """Change a product's fields; a changed NHSA code is kept in the code history (never lost, C2)."""
    if product.status == "disabled":
        raise CatalogError("NOT_ACTIVE", MSG["NOT_ACTIVE"], params={"status": product.status})
    manufacturer = manufacturer or product.manufacturer
    clean = _checked(values, manufacturer, exclude_id=product.id)
    changed = {k: v for k, v in clean.items() if getattr(product, k) != v}
    if manufacturer.id != product.manufacturer_id:
        changed["manufacturer_id"] = manufacturer.id
    old_code = product.nhsa_code
    for key, value in changed.items():
        setattr(product, key, value)
    if "nhsa_code" in changed and old_code:
        db.session.add(ProductCodeChange(product_id=product.id, kind="transcoded", old_code=old_code,
                                         new_code=product.nhsa_code, effective_date=utcnow().date(),
                                         note="edited"))
    db.session.flush()
    record("catalog.product_update", product, summary={"changed": sorted(changed), "nhsa_code": product.nhsa_code})
    return product


def retire_product(product: Product, *, actor=None, note: str | None = None) -> Product:
    """Take an active product out of the catalog (kept, never deleted: bids and contracts refer to it)."""
    if product.status != "active":
        raise CatalogError("NOT_ACTIVE", MSG["NOT_ACTIVE"], params={"status": product.status})
    product.status = "retired"
    db.session.flush()
    record("catalog.product_retire", product, summary={"nhsa_code": product.nhsa_code, "note": note})
    return product


def disable_code(product: Product, replaced_by: Product | None, effective_date: dt.date, note: str | None = None,
                 *, actor=None) -> ProductCodeChange:
    """Disable a product's code (停用): the product keeps its code and history and points to ``replaced_by``.

    The replacement's history records the transcode (转码, old code → new code) as well (DOMAIN.md C2).
    """
    if product.status == "disabled":
        raise CatalogError("NOT_ACTIVE", MSG["NOT_ACTIVE"], params={"status": product.status})
    if not product.nhsa_code:
        raise CatalogError("NO_CODE", MSG["NO_CODE"])
    if replaced_by is not None and (replaced_by.id == product.id or replaced_by.status != "active"):
        raise CatalogError("BAD_REPLACEMENT", MSG["BAD_REPLACEMENT"])
    new_code = replaced_by.nhsa_code if replaced_by is not None else None
    change = ProductCodeChange(product_id=product.id, kind="disabled", old_code=product.nhsa_code, new_code=new_code,
                               effective_date=effective_date, note=note or None)
    db.session.add(change)
    if replaced_by is not None:
        db.session.add(ProductCodeChange(product_id=replaced_by.id, kind="transcoded", old_code=product.nhsa_code,
                                         new_code=new_code, effective_date=effective_date, note=note or None))
    product.status = "disabled"
    product.replaced_by_id = replaced_by.id if replaced_by is not None else None
    db.session.flush()
    record("catalog.code_disable", product, summary={"code": product.nhsa_code, "replaced_by": new_code,
                                                     "effective_date": effective_date, "note": note})
    return change


def code_history(product: Product) -> list[ProductCodeChange]:
    return list(db.session.scalars(select(ProductCodeChange).where(ProductCodeChange.product_id == product.id)
                                   .order_by(ProductCodeChange.effective_date, ProductCodeChange.id)))


def replaced_products(product: Product) -> list[Product]:
    """The products whose disabled codes point to ``product``."""
    return list(db.session.scalars(select(Product).where(Product.replaced_by_id == product.id).order_by(Product.id)))


def manufacturers() -> list[Organisation]:
    """Organisations that may make catalog products (suppliers / MAH)."""
    return list(db.session.scalars(select(Organisation).where(Organisation.kind == "supplier", Organisation.active)
                                   .order_by(Organisation.name)))


# --- search ---------------------------------------------------------------------------------------------------

@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


_CODE_TERM = re.compile(r"[A-Z0-9]+")
_INITIALS_TERM = re.compile(r"[a-z0-9]*[a-z][a-z0-9]*")
_TRGM_ENGINES: dict[str, bool] = {}


def trigram_search_available() -> bool:
    """Whether the database is PostgreSQL with ``pg_trgm`` installed (migration 0002); asked once per database."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return False
    key = engine.url.render_as_string(hide_password=True)
    if key not in _TRGM_ENGINES:
        found = db.session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
        _TRGM_ENGINES[key] = found is not None
    return _TRGM_ENGINES[key]


def _search_terms(q: str | None) -> list[str]:
    return [t for t in unicodedata.normalize("NFKC", q or "").split() if t][:5]


def _term_filter(term: str, trigram: bool):
    upper, lower = term.upper(), term.lower()
    conditions = [Product.generic_name.icontains(term, autoescape=True),
                  Organisation.name.icontains(term, autoescape=True),
                  Product.approval_no.contains(upper, autoescape=True)]
    if _CODE_TERM.fullmatch(upper):
        conditions += [Product.nhsa_code.startswith(upper, autoescape=True),
                       Product.benweima.startswith(upper, autoescape=True)]
    if _INITIALS_TERM.fullmatch(lower):
        conditions.append(Product.generic_name_initials.contains(lower, autoescape=True))
    if trigram and len(term) >= 2:
        # pg_trgm: names within the similarity threshold (a typo, a character left out) also match.
        conditions += [Product.generic_name.op("%")(term), Organisation.name.op("%")(term)]
    return or_(*conditions)


def search_products(q: str | None = None, *, page: int = 1, per_page: int = 50, status: str | None = None) -> Page:
    """Products matching every word of ``q`` by code prefix (NHSA code, 本位码), Chinese substring of the
    generic name, pinyin initials (``atftt`` → 阿托伐他汀), approval number or manufacturer name.

    Works on SQLite and PostgreSQL; on PostgreSQL with ``pg_trgm`` similar names match too and results are
    ranked by trigram similarity. Exact codes and names come first.
    """
    page = max(1, int(page or 1))
    per_page = max(1, min(int(per_page or 50), 500))
    trigram = trigram_search_available()
    terms = _search_terms(q)
    query = select(Product).join(Organisation, Product.manufacturer_id == Organisation.id)
    if status:
        query = query.where(Product.status == status)
    for term in terms:
        query = query.where(_term_filter(term, trigram))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    order: list = []
    if terms:
        first = terms[0]
        order.append(case((Product.nhsa_code == first.upper(), 0), (Product.generic_name == first, 1),
                          (Product.generic_name.startswith(first, autoescape=True), 2), else_=3))
        if trigram:
            order.append(func.greatest(func.similarity(Product.generic_name, first),
                                       func.similarity(Organisation.name, first)).desc())
    order += [Product.generic_name, Product.spec, Product.id]
    items = list(db.session.scalars(query.order_by(*order).offset((page - 1) * per_page).limit(per_page)))
    return Page(items, total or 0, page, per_page)


# --- import (DOMAIN.md §12 (a)) ------------------------------------------------------------------------------

@dataclass
class ImportResult:
    """What an import found and (unless ``dry_run`` or ``errors``) stored.

    ``errors`` and ``warnings`` are :class:`~app.spreadsheets.CellError` with sheet, Excel row, column letter
    and header; their messages render in the current language. Counts are what was (or, on a dry run or a
    refused file, would have been) stored.
    """

    filename: str
    sha256: str
    dry_run: bool
    sheet: str | None = None
    rows: int = 0
    created: int = 0
    updated: int = 0
    manufacturers_created: int = 0
    errors: list[CellError] = field(default_factory=list)
    warnings: list[CellError] = field(default_factory=list)
    warnings_total: int = 0
    notices: list[Notice] = field(default_factory=list)
    errors_truncated: bool = False
    stored: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


# Product columns written by the import, in the order of the rows it builds.
_IMPORT_KEYS = ("nhsa_code", "code_kind", "benweima", "approval_no", "approval_no_type", "generic_name",
                "generic_name_initials", "dosage_form", "form_group", "spec", "strength_value", "strength_unit",
                "fill_volume_ml", "pack_qty", "min_unit", "mah_name", "quality_tier")
_clean_tuple = itemgetter(*_IMPORT_KEYS)


@dataclass
class _NewMaker:
    name: str
    uscc: str | None
    foreign_id: str | None
    agent_uscc: str | None


class _CatalogImport:
    """One import: what the database already holds (read once), the row validator, then the bulk store.

    With ``stream`` (a storing import), new products are handed to a :class:`_ProductWriter` every
    ``_STORE_BATCH`` rows while the rest of the file is still being read and checked, as long as no row so far
    had an error; :meth:`store` writes the rest, :meth:`abort` undoes what was written.
    """

    def __init__(self, *, stream: bool = False) -> None:
        self.stream = stream
        self.writer: _ProductWriter | None = None
        self.failed = False  # a row had an error: nothing more is handed to the writer
        self.created = 0
        self.checker = ProductChecker(dosage_form_lookup())
        self.by_uscc: dict[str, tuple[int, str, str]] = {}
        self.by_foreign: dict[str, tuple[int, str, str, str | None]] = {}
        for org_id, uscc, foreign_id, kind, name in db.session.execute(
                select(Organisation.id, Organisation.uscc, Organisation.foreign_id, Organisation.kind, Organisation.name)):
            if uscc:
                self.by_uscc[uscc] = (org_id, kind, name)
            if foreign_id:
                self.by_foreign[foreign_id] = (org_id, kind, name, uscc)
        self.by_code: dict[str, tuple[int, str, int | None]] = {}
        self.by_key: dict[tuple, list[int]] = {}
        for pid, code, name, form, spec, maker, status, replaced_by in db.session.execute(
                select(Product.id, Product.nhsa_code, Product.generic_name, Product.dosage_form, Product.spec,
                       Product.manufacturer_id, Product.status, Product.replaced_by_id)):
            if code:
                self.by_code[code] = (pid, status, replaced_by)
            else:
                self.by_key.setdefault((name, key_part(form), key_part(spec), maker), []).append(pid)
        self.new_makers: dict[tuple[str, str], _NewMaker] = {}
        self.inserts: list[tuple[tuple, object]] = []  # (clean values, maker: org id or new-maker identity)
        self.updates: list[tuple[tuple, object, int]] = []  # (clean values, maker, product id)
        self.claimed: dict[int, int] = {}  # product id -> first row
        self.seen: dict[tuple, int] = {}  # 四同 key of a row without code -> first row
        self.warnings: list[tuple[int, FieldIssue]] = []
        self.warnings_total = 0
        self._key_parts: dict[str, str] = {}

    # -- validation (the engine's row_validator) --------------------------------------------------------------

    def key_part(self, text: str) -> str:
        try:
            return self._key_parts[text]
        except KeyError:
            part = self._key_parts[text] = key_part(text)
            return part

    def _maker(self, row: dict[str, Any]) -> tuple[object, bool, list[FieldIssue]]:
        """(org id or new-maker identity, foreign, problems) of the row's manufacturer (C5)."""
        uscc = row["manufacturer_uscc"]
        foreign_id = row["manufacturer_foreign_id"]
        agent = row["agent_uscc"]
        if uscc:
            issue = self.checker.uscc_issue("manufacturer_uscc", uscc)
            if issue is not None:
                return None, False, [issue]
            found = self.by_uscc.get(uscc)
            if found is not None:
                if found[1] != "supplier":
                    return None, False, [FieldIssue("manufacturer_uscc", "NOT_A_SUPPLIER", MSG["NOT_A_SUPPLIER"],
                                                    {"code": uscc, "name": found[2]}, MSG["MAKER_HINT"])]
                return found[0], False, []
            if foreign_id and foreign_id in self.by_foreign:
                other = self.by_foreign[foreign_id]
                return None, False, [FieldIssue("manufacturer_foreign_id", "FOREIGN_ID_TAKEN", MSG["FOREIGN_ID_TAKEN"],
                                                {"code": foreign_id, "name": other[2]}, MSG["MAKER_HINT"])]
            identity = ("uscc", uscc)
        elif foreign_id:
            if not agent:
                return None, True, [FieldIssue("agent_uscc", "USCC_REQUIRED", MSG["AGENT_REQUIRED"], {},
                                               MSG["USCC_REQUIRED_HINT"])]
            issue = self.checker.uscc_issue("agent_uscc", agent)
            if issue is not None:
                return None, True, [issue]
            found = self.by_foreign.get(foreign_id)
            if found is not None:
                if found[1] != "supplier":
                    return None, True, [FieldIssue("manufacturer_foreign_id", "NOT_A_SUPPLIER", MSG["NOT_A_SUPPLIER"],
                                                   {"code": foreign_id, "name": found[2]}, MSG["MAKER_HINT"])]
                return found[0], found[3] is None, []
            identity = ("foreign", foreign_id)
        else:
            return None, False, [FieldIssue("manufacturer_uscc", "USCC_REQUIRED", MSG["USCC_REQUIRED"], {},
                                            MSG["USCC_REQUIRED_HINT"])]
        if identity not in self.new_makers:
            self.new_makers[identity] = _NewMaker(row["manufacturer"], uscc, foreign_id, agent if not uscc else None)
        return identity, not uscc, []

    def validate(self, row: dict[str, Any], rownum: int) -> list[CellError]:
        maker, foreign, problems = self._maker(row)
        clean, errors, warnings = self.checker.check(row, foreign_maker=foreign, normalised=True)
        errors = problems + errors
        if warnings:
            self.warnings_total += len(warnings)
            if len(self.warnings) < MAX_WARNINGS:
                self.warnings.extend((rownum, w) for w in warnings)
        if not errors:
            errors = self._match(clean, maker, rownum)
        if errors:
            self.failed = True
            return [_cell_error(issue) for issue in errors]
        return []

    def _match(self, clean: dict[str, Any], maker: object, rownum: int) -> list[FieldIssue]:
        code = clean["nhsa_code"]
        target = None
        if code:
            hit = self.by_code.get(code)
            if hit is not None:
                if hit[1] == "disabled":
                    return [self._disabled(code, hit[2])]
                target = hit[0]
        key = None  # the 四同 key, only when needed: a row with a new code of a new maker has no use for it
        if target is None and type(maker) is int:
            key = (clean["generic_name"], self.key_part(clean["dosage_form"]), self.key_part(clean["spec"]), maker)
            ids = self.by_key.get(key)
            if ids:
                if len(ids) > 1:
                    return [FieldIssue("generic_name", "AMBIGUOUS_PRODUCT", MSG["AMBIGUOUS_PRODUCT"],
                                       {"count": len(ids)}, MSG["AMBIGUOUS_PRODUCT_HINT"])]
                target = ids[0]
        if not code:
            if key is None:
                key = (clean["generic_name"], self.key_part(clean["dosage_form"]), self.key_part(clean["spec"]), maker)
            first = self.seen.setdefault(key, rownum)
            if first != rownum:
                return [FieldIssue("generic_name", "DUPLICATE_PRODUCT", MSG["DUPLICATE_PRODUCT"], {"row": first},
                                   MSG["DUPLICATE_PRODUCT_HINT"])]
        if target is None:
            self.inserts.append((_clean_tuple(clean), maker))
            self.created += 1
            if self.stream and len(self.inserts) >= _STORE_BATCH and not self.failed:
                self._hand_over()
            return []
        first = self.claimed.setdefault(target, rownum)
        if first != rownum:
            return [FieldIssue("generic_name", "DUPLICATE_PRODUCT", MSG["DUPLICATE_PRODUCT"], {"row": first},
                               MSG["DUPLICATE_PRODUCT_HINT"])]
        self.updates.append((_clean_tuple(clean), maker, target))
        return []

    def _hand_over(self) -> None:
        if self.writer is None:
            self.writer = _ProductWriter(self)
        batch, self.inserts = self.inserts, []
        self.writer.insert(batch)

    def _disabled(self, code: str, replaced_by: int | None) -> FieldIssue:
        if self.writer is not None:
            self.writer.wait()  # the session's connection is the writer's until it is done
        replacement = db.session.scalar(select(Product.nhsa_code).where(Product.id == replaced_by)) if replaced_by else None
        if replacement:
            return FieldIssue("nhsa_code", "CODE_DISABLED", MSG["CODE_DISABLED"], {"code": code, "replacement": replacement},
                              MSG["CODE_DISABLED_HINT"])
        return FieldIssue("nhsa_code", "CODE_DISABLED", MSG["CODE_DISABLED"], {"code": code},
                          MSG["CODE_DISABLED_NO_REPLACEMENT_HINT"])

    # -- store ---------------------------------------------------------------------------------------------------

    def store(self) -> None:
        """Store what the file holds: the products not yet handed over, then the updates (see :class:`_ProductWriter`)."""
        writer = self.writer or _ProductWriter(self)
        self.writer = writer
        batch, self.inserts = self.inserts, []
        try:
            writer.insert(batch)
            writer.finish(self.updates)
        except BaseException:
            writer.abort()
            raise
        for obj in list(db.session.identity_map.values()):
            if isinstance(obj, Product):
                db.session.expire(obj)

    def abort(self) -> None:
        """Undo whatever was already written (a later row had an error, a dry run, or the read failed)."""
        if self.writer is not None:
            self.writer.abort()


class _ProductWriter:
    """Writes an import's products into the current transaction while the main thread reads the next rows.

    Everything goes into one SAVEPOINT of the caller's transaction: new manufacturers through
    :func:`create_organisation` (with their audit events), then the products through the driver, no per-row ORM
    work. :meth:`finish` releases the savepoint; :meth:`abort` rolls it back, so an import whose error is found
    after earlier rows were written stores nothing, and the caller's transaction is left as it was.

    On SQLite each batch of new products is one ``INSERT … SELECT … FROM json_each(?)`` statement run on a
    second thread: SQLite works through the whole batch without the GIL, on the second core, while the main
    thread converts and checks the next rows. (The driver's ``executemany`` takes the GIL back after every row;
    on a thread, next to a main thread that holds it for its 5 ms switch interval at a time, it would crawl.)
    The main thread never uses the connection while a batch is being written: it calls :meth:`wait` first. Other
    databases, and a batch with a NUL character (which SQLite's JSON functions cut off), go through
    ``executemany`` on the main thread.
    """

    def __init__(self, job: _CatalogImport) -> None:
        self.job = job
        self.makers: dict[object, int] = {}
        self.futures: list[Future] = []
        self.error: BaseException | None = None
        self.savepoint = db.session.begin_nested()
        self.open = True
        conn = self.conn = db.session.connection()
        dialect = conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        table = Product.__table__
        columns = (*_IMPORT_KEYS, "manufacturer_id")
        # Only the columns whose type converts values (ExactDecimal: a scaled integer on SQLite) go through
        # their bind processor, remembered per value; the rest reach the driver as they are.
        self.processors = [(i, _memo(proc)) for i, name in enumerate(_IMPORT_KEYS)
                           if (proc := table.c[name].type.bind_processor(dialect)) is not None]
        now_proc = table.c.updated_at.type.bind_processor(dialect)
        self.now = now_proc(utcnow()) if now_proc else utcnow()
        names = ", ".join((*columns, "status", "created_at", "updated_at"))
        self.insert_sql = f"INSERT INTO products ({names}) VALUES ({', '.join([mark] * (len(columns) + 3))})"
        sets = ", ".join(f"{name} = {mark}" for name in (*columns, "updated_at"))
        self.update_sql = f"UPDATE products SET {sets} WHERE id = {mark}"
        self.pool: ThreadPoolExecutor | None = None
        self.json_sql = ""
        # SQLite: a page cache big enough for the indexes being written (default 2 MiB spills dirty pages to
        # the WAL again and again during a 100,000-row insert); restored afterwards for this pooled connection.
        self.cache = conn.exec_driver_sql("PRAGMA cache_size").scalar() if dialect.name == "sqlite" else None
        if self.cache is not None:
            conn.exec_driver_sql(f"PRAGMA cache_size = {_SQLITE_IMPORT_CACHE_KIB}")
            if sqlite3.sqlite_version_info >= (3, 38, 0):  # JSON functions built in
                values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
                self.json_sql = f"INSERT INTO products ({names}) SELECT {values}, ?, ?, ? FROM json_each(?)"
                self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-store")

    def _register_makers(self) -> None:
        """Create the new manufacturers seen so far (in the order they appeared) that do not exist yet."""
        new = [(identity, maker) for identity, maker in self.job.new_makers.items() if identity not in self.makers]
        if not new:
            return
        self.wait()
        for identity, maker in new:
            org = create_organisation(kind="supplier", name=maker.name, uscc=maker.uscc, foreign_id=maker.foreign_id,
                                      agent_uscc=maker.agent_uscc)
            self.makers[identity] = org.id

    def _bound(self, values: tuple, maker: object) -> list:
        out = list(values)
        for i, proc in self.processors:
            v = out[i]
            if v is not None:
                out[i] = proc(v)
        out.append(maker if type(maker) is int else self.makers[maker])
        return out

    def insert(self, batch: list[tuple[tuple, object]]) -> None:
        """Insert new products ((clean values, maker) pairs): on the writer thread when there is one."""
        if self.error is not None:
            raise self.error
        if not batch:
            return
        self._register_makers()
        bound = self._bound
        rows = [bound(values, maker) for values, maker in batch]
        if self.pool is not None:
            payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), check_circular=False,
                                 allow_nan=False)
            if "\\u0000" not in payload:
                self.futures.append(self.pool.submit(self.conn.exec_driver_sql, self.json_sql,
                                                     ("active", self.now, self.now, payload)))
                return
            self.wait()
            if self.error is not None:
                raise self.error
        now = self.now
        self.conn.exec_driver_sql(self.insert_sql, [(*row, "active", now, now) for row in rows])

    def wait(self) -> None:
        """Wait until every batch handed over is written; remember the first failure (raised by :meth:`finish`)."""
        futures, self.futures = self.futures, []
        for future in futures:
            try:
                future.result()
            except BaseException as exc:
                if self.error is None:
                    self.error = exc

    def finish(self, updates: list[tuple[tuple, object, int]]) -> None:
        """Write the updates, wait for the writer, release the savepoint: everything is in the transaction."""
        self.wait()
        if self.error is not None:
            raise self.error
        if updates:
            self._register_makers()
            now = self.now
            rows = [(*self._bound(values, maker), now, pid) for values, maker, pid in updates]
            self.conn.exec_driver_sql(self.update_sql, rows)
        self._register_makers()  # makers of rows that only updated products
        self.savepoint.commit()
        self._close()

    def abort(self) -> None:
        """Roll back everything this import wrote (no-op once finished)."""
        if not self.open:
            return
        self.wait()
        try:
            if self.savepoint.is_active:
                self.savepoint.rollback()
        finally:
            self._close()

    def _close(self) -> None:
        self.open = False
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
        if self.cache is not None:
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(self.cache)}")
            self.cache = None


def _memo(processor: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """``processor`` remembering its results (a 规格's strength repeats on thousands of rows)."""
    if processor is None:
        return None
    seen: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            out = seen[value] = processor(value)
            return out

    return process


def _cell_error(issue: FieldIssue, **where: Any) -> CellError:
    message = lazy_gettext(issue.msgid, **issue.params) if issue.params else lazy_gettext(issue.msgid)
    hint = None
    if issue.hint is not None:
        hint = lazy_gettext(issue.hint, **issue.params) if "%(" in issue.hint else lazy_gettext(issue.hint)
    error = CellError.for_key(issue.key, issue.code, message, hint)
    return error.completed(**where) if where else error


def import_catalog(data: bytes, filename: str, *, actor=None, dry_run: bool = False,
                   limits: Limits | None = None) -> ImportResult:
    """Import a catalog file (.xlsx/.xls/.ods/.csv, DOMAIN.md §12 (a)): all rows or nothing.

    Every row is checked (codes C1–C5, the 剂型 dictionary, 规格 U2, pack quantity); a manufacturer is matched
    by its credit code (a foreign maker by its foreign id) and registered when new; a product is matched by
    its NHSA code, else by (generic name, dosage form, spec, manufacturer), and updated, or else created.
    With any error nothing is stored and ``errors`` says where; ``dry_run`` checks without storing. A file
    rejected as a whole raises :class:`~app.spreadsheets.SpreadsheetError` (its ``http_status`` suggests 4xx).
    """
    result = ImportResult(filename=filename, sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run)
    job = _CatalogImport(stream=not dry_run)  # a storing import writes while it reads (see _ProductWriter)
    kwargs = {"limits": limits} if limits is not None else {}
    try:
        table = read_table(data, filename, CATALOG, expect_stamp=(TEMPLATE_KIND, TEMPLATE_VERSION, None),
                           row_validator=job.validate, **kwargs)
    except BaseException:
        job.abort()
        raise
    result.sheet = table.sheet
    result.notices = list(table.notices)
    result.errors = list(table.errors)
    result.errors_truncated = table.errors_truncated
    result.rows = len(table.rows) if table.ok else table.data_row_count
    result.warnings = [_cell_error(issue, sheet=table.sheet, row=rownum, column=table.columns.get(issue.key),
                                   header=None, value=None) for rownum, issue in job.warnings]
    result.warnings_total = job.warnings_total
    result.created = job.created
    result.updated = len(job.updates)
    result.manufacturers_created = len(job.new_makers)
    if not table.ok or dry_run:
        job.abort()  # rows written before the first error are rolled back (a dry run writes nothing)
        return result
    job.store()
    result.stored = True
    record("catalog.import", object_type="Catalog", summary={
        "filename": filename, "sha256": result.sha256, "sheet": table.sheet, "rows": result.rows,
        "created": result.created, "updated": result.updated, "manufacturers_created": result.manufacturers_created,
        "warnings": result.warnings_total})
    return result


def catalog_template() -> bytes:
    """The downloadable catalog template (DOMAIN.md §12 (a)), stamped with its kind and version."""
    return build_template(CATALOG, kind=TEMPLATE_KIND, version=TEMPLATE_VERSION, issued_at=utcnow())


# --- export ----------------------------------------------------------------------------------------------------

def _status_label(status: str) -> str:
    return {"active": gettext("Active"), "retired": gettext("Retired"), "disabled": gettext("Code disabled")}.get(status, status)


def export_catalog(fmt: str = "xlsx") -> bytes:
    """The whole catalog in the canonical format (Chinese and English header rows, importable again), plus
    each product's status; ``fmt`` is ``xlsx`` or ``csv``."""
    if fmt not in ("xlsx", "csv"):
        raise CatalogError("BAD_FORMAT", MSG["BAD_FORMAT"], params={"format": fmt})
    headers = [(c.zh, c.en) for c in CATALOG.columns] + [("状态", "status")]
    query = (select(Product, Organisation.name, Organisation.uscc, Organisation.foreign_id, Organisation.agent_uscc)
             .join(Organisation, Product.manufacturer_id == Organisation.id).order_by(Product.id))

    def rows() -> Iterable[list]:
        for p, maker, uscc, foreign_id, agent in db.session.execute(query):
            flags = {flag: p.quality_tier == tier for flag, tier in
                     (("originator", "originator"), ("reference_listed", "reference"),
                      ("consistency_evaluated", "consistency_evaluated"))}
            values = {"nhsa_code": p.nhsa_code, "benweima": p.benweima, "generic_name": p.generic_name,
                      "dosage_form": p.dosage_form, "spec": p.spec, "fill_volume_ml": clean_decimal(p.fill_volume_ml),
                      "pack_qty": p.pack_qty, "min_unit": p.min_unit, "manufacturer": maker, "manufacturer_uscc": uscc,
                      "mah": p.mah_name, "approval_no": p.approval_no, **flags,
                      "manufacturer_foreign_id": foreign_id if not uscc else None,
                      "agent_uscc": agent if not uscc else None}
            yield [values[c.key] for c in CATALOG.columns] + [_status_label(p.status)]

    if fmt == "csv":
        return export_csv(headers, rows())
    return export_table(headers, rows(), sheet_title=CATALOG.sheet_title)


# --- supplier proposals ----------------------------------------------------------------------------------------

def _payload_values(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A stored proposal payload (JSON: text, int, bool) as the values a product check reads."""
    values = dict(payload)
    if values.get("fill_volume_ml") not in (None, ""):
        values["fill_volume_ml"] = Decimal(str(values["fill_volume_ml"]))
    else:
        values["fill_volume_ml"] = None
    return values


def propose_product(supplier_org: Organisation, payload: Mapping[str, Any], actor) -> ProductProposal:
    """A supplier proposes one of its own products (it is the manufacturer); checked now, reviewed by an officer."""
    if supplier_org.kind != "supplier" or actor is None or actor.org_id != supplier_org.id:
        raise CatalogError("NOT_OWN_SUPPLIER", MSG["NOT_OWN_SUPPLIER"])
    stored = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in payload.items() if v not in (None, "")}
    _checked(_payload_values(stored), supplier_org)
    proposal = ProductProposal(supplier_org_id=supplier_org.id, payload=stored, status="pending",
                               submitted_by_id=actor.id)
    db.session.add(proposal)
    db.session.flush()
    record("catalog.proposal_submit", proposal, summary={"supplier_org_id": supplier_org.id,
                                                         "generic_name": stored.get("generic_name"),
                                                         "nhsa_code": stored.get("nhsa_code")})
    return proposal


def review_proposal(proposal: ProductProposal, approve: bool, actor, note: str | None = None) -> ProductProposal:
    """Approve a pending proposal into the catalog (checked again against today's catalog) or reject it."""
    if proposal.status != "pending":
        raise CatalogError("NOT_PENDING", MSG["NOT_PENDING"])
    note = (note or "").strip() or None
    if approve:
        supplier = db.session.get(Organisation, proposal.supplier_org_id)
        product = create_product(_payload_values(proposal.payload), manufacturer=supplier, actor=actor)
        proposal.product_id = product.id
        proposal.status = "approved"
    else:
        if note is None:
            raise CatalogError("REJECT_NEEDS_NOTE", MSG["REJECT_NEEDS_NOTE"])
        proposal.status = "rejected"
    proposal.reviewed_by_id = actor.id if actor is not None else None
    proposal.reviewed_at = utcnow()
    proposal.review_note = note
    db.session.flush()
    record("catalog.proposal_review", proposal, summary={"status": proposal.status, "product_id": proposal.product_id,
                                                         "note": note})
    return proposal


def list_proposals(user, *, status: str | None = None) -> list[ProductProposal]:
    """Proposals ``user`` may read: a supplier its own organisation's, officers and supervisors all."""
    query = select(ProductProposal).order_by(ProductProposal.submitted_at.desc(), ProductProposal.id.desc())
    if user.role == R.SUPPLIER_USER:
        query = query.where(ProductProposal.supplier_org_id == user.org_id)
    elif user.role not in (R.PROCUREMENT_OFFICER, R.SUPERVISOR):
        return []
    if status:
        query = query.where(ProductProposal.status == status)
    return list(db.session.scalars(query.limit(500)))


def may_read_proposal(user, proposal: ProductProposal) -> bool:
    if user.role in (R.PROCUREMENT_OFFICER, R.SUPERVISOR):
        return True
    return user.role == R.SUPPLIER_USER and proposal.supplier_org_id == user.org_id
