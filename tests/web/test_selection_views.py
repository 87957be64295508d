"""Winner selection pages and command: the officer runs the engine (CSRF, tie-break values, draw seed), results
per lot with a reason in Chinese for every bid, suppliers see their own bids only, run history with hashes."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.bidding.models import SelectionRun
from app.projects.models import ProcurementProject
from tests.web.conftest import assert_po_fragment_complete, page_csrf_token
from tests.web.selection_builders import build_opened_project

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("zh_catalog", "fast_passwords")


def _text(response) -> str:
    return response.get_data(as_text=True)


def _flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash[^"]*" role="status">([^<]*)</div>', html)


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# Every reason of the contract in one lot (nvbp-2, ceiling 1.0, N = 6 → 4 slots, lowest 0.30):
# 0.30 and 0.40 win; 0.56 and 0.57 are within the slots but above 1.8 × 0.30, 0.5 × 1.0 and 0.10;
# 0.58 is 5th; 1.20 is above the ceiling.
SIX = {"甲药业": [(1, "0.30")], "乙药业": [(1, "0.40")], "丙药业": [(1, "0.56")], "丁药业": [(1, "0.57")],
       "戊药业": [(1, "0.58")], "己药业": [(1, "1.20")]}


def test_the_po_fragment_translates_every_msgid_of_the_piece():
    assert_po_fragment_complete("selection", "Winner selection")  # with its navigation entry


def test_the_officer_runs_the_selection_and_reads_every_reason_in_chinese(db, browser, make_user, make_org):
    built = build_opened_project(make_user, make_org, ceilings={1: "1.0", 2: "0.5"}, bids=SIX,
                                 demand=[(1, "110000", "1000"), (1, "440000", "3000"), (2, "310000", "10")])
    client = browser(built.officer)
    pid = built.project.id
    page = client.get(f"/selection/projects/{pid}")
    assert page.status_code == 200 and "尚未运行中选规则。" in _text(page)
    assert f'href="/selection/projects/{pid}/run"' in _text(page)
    form = client.get(f"/selection/projects/{pid}/run")
    assert form.status_code == 200 and "没有同价并列的有效报价。" in _text(form)

    # A POST without the CSRF token changes nothing.
    assert client.post(f"/selection/projects/{pid}/run", data={"demand_basis": "reported"}).status_code == 400
    assert db.session.scalar(select(SelectionRun.id)) is None

    token = page_csrf_token(client, f"/selection/projects/{pid}/run")
    response = client.post(f"/selection/projects/{pid}/run", data={"csrf_token": token, "demand_basis": "reported",
                                                                    "draw_seed": ""})
    assert response.status_code == 302
    run = db.session.scalar(select(SelectionRun).where(SelectionRun.project_id == pid))
    assert response.location == f"/selection/projects/{pid}?run={run.id}"
    html = _text(client.get(response.location))
    assert f"中选运行 #{run.id} 已保存，问题 SHA-256 为 {run.problem_sha256}。" in _flashes(html)
    text = _plain(html)
    assert run.problem_sha256 in text and run.solver_version in text
    # One reason per bid, in Chinese, with the figures that decide it (exact decimals).
    assert "6 家企业申报，最多 4 家中选；最低有效报价 0.3 元；最高有效申报价 1 元。" in text
    assert "排名第 2（6 家申报，4 个入围名额），通过价差规则：不高于最低价 × 1.8 = 0.54 元或最高有效申报价 × 0.5 = 0.5 元。" in text
    assert ("未通过价差规则 排名第 3，在 4 个入围名额之内，但 0.56 元高于价差规则的全部条件："
            "最低价 × 1.8 = 0.54 元、最高有效申报价 × 0.5 = 0.5 元、低价豁免线 0.1 元。") in text
    assert "未进入入围名额 排名第 5：6 家企业申报，最多 4 家中选，未进入入围名额。" in text
    assert "超出最高有效申报价 单位可比价 1.2 元高于最高有效申报价 1 元，超出最高有效申报价。" in text
    assert "流标（无有效报价）" in text  # lot 2 had no bid
    # The region draft: the two winners, the lowest first, with backups and committed quantities.
    assert "供应地区分配" in text and "新疆（含兵团）" in text and "约定采购比例 0.6" in text


def test_a_tie_needs_the_officers_decision_or_the_draw(db, browser, make_user, make_org):
    built = build_opened_project(make_user, make_org, ceilings={1: "1"},
                                 bids={"甲药业": [(1, "0.30")], "乙药业": [(1, "0.40")], "丙药业": [(1, "0.40")]},
                                 demand=[(1, "110000", "10")])
    client = browser(built.officer)
    pid = built.project.id
    yi, bing = built.bids[("乙药业", 1)], built.bids[("丙药业", 1)]
    form = _text(client.get(f"/selection/projects/{pid}/run"))
    assert f'name="tie-{yi.id}-reported_demand"' in form and f'name="tie-{bing.id}-provinces_supplied_hist"' in form
    token = page_csrf_token(client, f"/selection/projects/{pid}/run")

    refused = client.post(f"/selection/projects/{pid}/run", data={"csrf_token": token, "demand_basis": "reported"})
    assert refused.status_code == 422
    assert any(f.startswith("按全部同价排序依据排序后仍有报价并列") for f in _flashes(_text(refused)))
    assert db.session.scalar(select(SelectionRun.id)) is None

    bad = client.post(f"/selection/projects/{pid}/run", data={"csrf_token": token, "demand_basis": "reported",
                                                              f"tie-{bing.id}-reported_demand": "很多"})
    assert bad.status_code == 422 and f"报价 {bing.id} 的排序依据取值 很多 不是数字。" in _flashes(_text(bad))

    decided = client.post(f"/selection/projects/{pid}/run", data={
        "csrf_token": token, "demand_basis": "reported", f"tie-{yi.id}-reported_demand": "0",
        f"tie-{bing.id}-reported_demand": "2"})
    assert decided.status_code == 302
    run = db.session.scalar(select(SelectionRun).where(SelectionRun.project_id == pid))
    keys = {b["id"]: b["tie_keys"] for b in run.problem["bids"]}
    assert keys[str(bing.id)]["reported_demand"] == 2 and keys[str(yi.id)]["reported_demand"] == 0
    assert {b["bid"]: b["reason"] for b in run.result["bids"]}[str(bing.id)] == "won"

    drawn = client.post(f"/selection/projects/{pid}/run", data={"csrf_token": token, "demand_basis": "reported",
                                                                "draw_seed": "2030-01-16 开标现场抽签"})
    assert drawn.status_code == 302
    latest = db.session.scalars(select(SelectionRun).order_by(SelectionRun.id.desc())).first()
    assert latest.problem["draw_seed"] == "2030-01-16 开标现场抽签"
    history = _plain(_text(client.get(f"/selection/projects/{pid}/runs")))
    assert run.problem_sha256 in history and latest.problem_sha256 in history and "2030-01-16 开标现场抽签" in history


def test_suppliers_see_only_their_own_outcomes(db, browser, make_user, make_org):
    built = build_opened_project(make_user, make_org, ceilings={1: "1.0"}, bids=SIX, demand=[(1, "110000", "1000")])
    pid = built.project.id
    yi_user = make_user("supplier_user", org=built.suppliers["乙药业"])
    client = browser(yi_user)
    before = client.get(f"/selection/projects/{pid}")
    assert before.status_code == 200 and "尚未运行中选规则。" in _text(before)
    assert 'href="/selection/projects/' + str(pid) + '/run"' not in _text(before)

    from app.selection.services import run_selection

    run_selection(built.project, actor=built.officer)
    text = _plain(_text(browser(yi_user).get(f"/selection/projects/{pid}")))
    assert "您在中选运行" in text and "0.4" in text and "中选" in text
    assert "排名第 2（6 家申报，4 个入围名额），通过价差规则。" in text  # no other bid's price in the explanation
    for other in ("0.56", "0.57", "0.58", "1.2", "甲药业", "丙药业", "0.54"):
        assert other not in text, other

    bing_user = make_user("supplier_user", org=built.suppliers["丙药业"])
    text = _plain(_text(browser(bing_user).get(f"/selection/projects/{pid}")))
    assert "未通过价差规则" in text and "排名第 3，在 4 个入围名额之内，但报价未通过价差规则。" in text and "0.3 " not in text

    nobody = make_user("supplier_user")
    assert "本次运行中没有您的报价。" in _text(browser(nobody).get(f"/selection/projects/{pid}"))
    client = browser(yi_user)
    for path in (f"/selection/projects/{pid}/runs", f"/selection/projects/{pid}/run",
                 f"/selection/projects/{pid}/download?part=problem"):
        assert client.get(path).status_code == 403, path
    assert browser(make_user("institution_user")).get(f"/selection/projects/{pid}").status_code == 403


def test_supervisors_read_and_verify_but_do_not_run(db, browser, make_user, make_org):
    from app.selection.services import run_selection

    built = build_opened_project(make_user, make_org, ceilings={1: "1.0"}, bids=SIX, demand=[(1, "110000", "1000")])
    run = run_selection(built.project, actor=built.officer)
    pid = built.project.id
    client = browser(make_user("supervisor", org=built.officer.org))
    assert client.get(f"/selection/projects/{pid}/run").status_code == 403
    results = _plain(_text(client.get(f"/selection/projects/{pid}")))
    assert "甲药业" in results and "己药业" in results and run.problem_sha256 in results
    problem = client.get(f"/selection/projects/{pid}/download?run={run.id}&part=problem")
    assert problem.status_code == 200 and problem.mimetype == "application/json"
    # The downloaded file hashes to the stored problem_sha256: anyone can re-run and compare.
    assert hashlib.sha256(problem.data).hexdigest() == run.problem_sha256
    assert "attachment" in problem.headers["Content-Disposition"]
    import json

    import solver

    assert solver.select(json.loads(problem.data)) == json.loads(
        client.get(f"/selection/projects/{pid}/download?run={run.id}&part=result").data)
    assert client.get(f"/selection/projects/{pid}/download?run={run.id}&part=secrets").status_code == 404
    assert client.get(f"/selection/projects/{pid}?run=999999").status_code == 404
    index = _text(client.get("/selection/"))
    assert built.project.code in index and f"#{run.id}" in index


def test_before_the_opening_the_officer_is_sent_back(db, browser, make_user, make_org):
    built = build_opened_project(make_user, make_org, ceilings={1: "1.0"}, bids=SIX, demand=[(1, "110000", "1")],
                                 open_it=False)
    client = browser(built.officer)
    pid = built.project.id
    response = client.get(f"/selection/projects/{pid}/run")
    assert response.status_code == 302 and response.location == f"/selection/projects/{pid}"
    html = _text(client.get(response.location))
    assert any(f.startswith("中选规则只能在已开标、议价或评审阶段运行（项目处于“") for f in _flashes(html))
    assert built.project.code not in _text(client.get("/selection/"))  # not opened yet: not listed


def test_the_command_line_runs_the_same_service(app, db, make_user, make_org):
    built = build_opened_project(make_user, make_org, ceilings={1: "1"}, code="SEL-CLI",
                                 bids={"甲药业": [(1, "0.30")], "乙药业": [(1, "0.40")], "丙药业": [(1, "0.40")]},
                                 demand=[(1, "110000", "10")])
    db.session.commit()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["selection", "run", "sel-cli"])
    assert refused.exit_code == 1 and "draw" in refused.output
    bing = built.bids[("丙药业", 1)].id
    result = runner.invoke(args=["selection", "run", "SEL-CLI", "--tie-key", f"{bing}:reported_demand=1",
                                 "--as", built.officer.username])
    assert result.exit_code == 0, result.output
    run = db.session.scalar(select(SelectionRun).where(SelectionRun.project_id == built.project.id))
    assert f"selection run #{run.id} of SEL-CLI" in result.output and run.problem_sha256 in result.output
    assert run.created_by_id == built.officer.id
    seeded = runner.invoke(args=["selection", "run", "SEL-CLI", "--draw-seed", "cli seed"])
    assert seeded.exit_code == 0, seeded.output
    latest = db.session.scalars(select(SelectionRun).order_by(SelectionRun.id.desc())).first()
    assert latest.problem["draw_seed"] == "cli seed" and latest.created_by_id is None
    assert runner.invoke(args=["selection", "run", "NOPE"]).exit_code == 1
    assert runner.invoke(args=["selection", "run", "SEL-CLI", "--tie-key", "oops"]).exit_code == 2


def test_batch2_pages_after_the_import(db, browser):
    """The demo as a user meets it: import, the paracetamol tie on the form, results and a supplier's own view."""
    from app.auth.models import User
    from app.demo.seed import seed_demo
    from app.selection.historical import import_published_batch2

    seed_demo()
    users = {u.username: u for u in db.session.scalars(select(User))}
    project = import_published_batch2(actor=users["officer"])
    client = browser(users["officer"])
    pid = project.id
    form = _text(client.get(f"/selection/projects/{pid}/run"))
    assert "品种 9 对乙酰氨基酚口服常释剂型，单位可比价 0.065 元" in form
    tie = re.findall(r'name="tie-(\d+)-reported_demand"', form)
    names = re.findall(r"<td>([^<]+)</td>\s*<td><input", form)
    assert len(tie) == 2 and set(names) == {"河北冀衡（集团）药业有限公司", "东北制药"}
    hebei = tie[names.index("河北冀衡（集团）药业有限公司")]
    token = page_csrf_token(client, f"/selection/projects/{pid}/run")
    response = client.post(f"/selection/projects/{pid}/run", data={
        "csrf_token": token, "demand_basis": "committed", f"tie-{hebei}-reported_demand": "1"})
    assert response.status_code == 302
    text = _plain(_text(client.get(response.location)))
    assert "华润赛科药业有限责任公司 0.483571 超出最高有效申报价" in text
    assert "重庆圣华曦 0.4929 中选 排名第 3（4 家申报，3 个入围名额），通过价差规则：不高于最高有效申报价 × 0.5 = 0.612 元。" in text
    assert "东北制药 0.065 未进入入围名额" in text and "未通过价差规则" in text
    assert "碳酸氢钠口服常释剂型 流标（无有效报价）" in text
    assert "约定采购比例 1。" in text

    supplier = _plain(_text(browser(users["supplier"]).get(f"/selection/projects/{pid}")))
    assert "阿比特龙口服常释剂型 23.333333 中选" in supplier
    assert "成都盛迪" not in supplier and "31.9" not in supplier
    assert db.session.scalar(select(ProcurementProject.state).where(ProcurementProject.id == pid)) == "opened"
