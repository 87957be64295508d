"""Foundation promises: rollback on crash, self-hosted assets, a complete zh catalog, the CLI, org scoping."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import select

from app import create_app
from app.core.scope import may_read, scope_to_user
from app.execution.models import Contract
from app.orgs.models import Organisation

ROOT = Path(__file__).resolve().parents[2]


def test_a_crash_rolls_back_and_shows_the_500_page(app, db):
    crashing = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "x", "TESTING": False,
                           "PROPAGATE_EXCEPTIONS": False})
    crashing.extensions["jicai.db"].update(app.extensions["jicai.db"])  # same connection: the test's transaction

    @crashing.get("/boom")
    def boom():
        from app.orgs.services import create_organisation
        from app.orgs.uscc import make_uscc

        create_organisation(kind="supplier", name="半途而废制药", uscc=make_uscc("91110000BOOM0001X"))
        raise RuntimeError("crash after a write")

    response = crashing.test_client().get("/boom")
    assert response.status_code == 500
    assert "系统内部出错" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(Organisation).where(Organisation.name == "半途而废制药")) is None


def test_pages_load_no_asset_from_another_host(client, make_user, login):
    login(make_user("platform_admin"))
    for path in ("/", "/login", "/users", "/orgs/", "/audit/", "/inbox/"):
        html = client.get(path).get_data(as_text=True)
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", ref), f"{path} loads {ref} from another host"


def test_every_gettext_string_has_a_chinese_translation():
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}
    wanted = {msg for _, _, msg, _, _ in extract_from_dir(str(ROOT / "app"), method_map, keywords=keywords)}
    wanted = {m if isinstance(m, str) else m[0] for m in wanted if m}
    with open(ROOT / "app/translations/zh/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id and not m.fuzzy}
    missing = sorted(m for m in wanted if not translated.get(m))
    assert not missing, f"{len(missing)} strings lack a zh translation (run `make i18n`, then translate): {missing[:10]}"


def test_translation_placeholders_match():
    with open(ROOT / "app/translations/zh/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if message.id and message.string and isinstance(message.id, str):
            assert set(re.findall(r"%\((\w+)\)s", message.id)) == set(re.findall(r"%\((\w+)\)s", message.string)), message.id


def _flask(args, env, **kw):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, **kw)


def test_cli_migrates_and_creates_a_user(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "JICAI_INSTANCE_PATH": str(tmp_path),
           "SECRET_KEY": "cli-test"}
    assert _flask(["db", "upgrade"], env).returncode == 0
    assert _flask(["db", "check"], env).returncode == 0
    from app.core.tx import transaction
    from app.orgs.services import create_organisation

    cli_app = create_app({"DATABASE_URL": env["DATABASE_URL"], "SECRET_KEY": "cli-test"})
    with cli_app.app_context(), transaction():
        create_organisation(kind="procurement_authority", name="上海市医药集中招标采购事务管理所", uscc="91350100M000100Y43")
    cli_app.extensions["jicai.db"]["engine"].dispose()
    made = _flask(["users", "create", "--username", "zhang", "--role", "procurement_officer", "--org", "91350100M000100Y43",
                   "--password", "sh-officer-2026"], env)
    assert made.returncode == 0, made.stderr
    assert "created user zhang (procurement_officer)" in made.stdout
    refused = _flask(["users", "create", "--username", "li", "--role", "supplier_user", "--org", "91350100M000100Y43",
                      "--password", "supplier-2026x"], env)
    assert refused.returncode != 0
    assert "cannot belong to an organisation of this kind" in refused.stderr
    verify = _flask(["audit", "verify"], env)
    assert verify.returncode == 0 and "audit chain intact: 2 events" in verify.stdout


@pytest.fixture()
def two_contracts(db, make_org, make_user):
    award_owner = make_user("procurement_officer")
    supplier_a, supplier_b = make_org("supplier"), make_org("supplier")
    hospital = make_org("medical_institution")
    return supplier_a, supplier_b, hospital, award_owner


def test_org_scoping_limits_bound_roles_to_their_own_rows(db, make_user, two_contracts):
    supplier_a, supplier_b, hospital, officer = two_contracts
    rows = [Contract(contract_no=f"C{i}", award_id=1, lot_id=1, institution_id=hospital.id, supplier_org_id=s.id,
                     product_id=1, region_code="110000", cycle_start=date(2026, 1, 1), cycle_end=date(2026, 12, 31),
                     pack_price=Decimal("1"), unit_price=Decimal("0.1")) for i, s in enumerate((supplier_a, supplier_b))]
    user_a = make_user("supplier_user", org=supplier_a)
    hospital_user = make_user("institution_user", org=hospital)
    base = select(Contract)
    assert "supplier_org_id" in str(scope_to_user(base, Contract, user_a))
    assert str(scope_to_user(base, Contract, officer)) == str(base)
    assert may_read(rows[0], user_a) and not may_read(rows[1], user_a)
    assert may_read(rows[0], hospital_user) and may_read(rows[1], hospital_user)
    assert may_read(rows[1], officer)
