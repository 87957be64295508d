"""``python -m solver select`` and the purity of the library (no Flask, no SQLAlchemy)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from solver.canonical import problem_sha256

ROOT = Path(__file__).resolve().parents[2]

PROBLEM = {
    "schema": "jicai.selection-problem/1",
    "ruleset": "nvbp-2",
    "draw_seed": "2020-01-17 opening, witnessed",
    "regions": ["110000", "310000", "440000"],
    "lots": [
        {"id": "L1", "name": "阿比特龙口服常释剂型", "ceiling": "101.67", "form_class": "oral_solid",
         "drug_class": "chemical", "demand_basis": "reported",
         "demand": [{"region": "110000", "quantity": 584000}, {"region": "310000", "quantity": 610000},
                    {"region": "440000", "quantity": 596300}]},
    ],
    "bids": [
        {"id": "B1", "lot": "L1", "supplier": "正大天晴", "unit_price": "23.333333", "excluded": None,
         "tie_keys": {"reported_demand": 0, "provinces_supplied_hist": 0}, "region_preferences": ["440000", "310000"]},
        {"id": "B2", "lot": "L1", "supplier": "成都盛迪", "unit_price": "31.90", "excluded": None},
        {"id": "B3", "lot": "L1", "supplier": "江西山香", "unit_price": "35.80", "excluded": None},
        {"id": "B4", "lot": "L1", "supplier": "强生", "unit_price": "84.05", "excluded": None},
    ],
}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "solver", *args], cwd=ROOT, capture_output=True, text=True, encoding="utf-8",
        timeout=120,
    )


def write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_select_prints_the_result(tmp_path):
    proc = run_cli("select", str(write(tmp_path, PROBLEM)))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["schema"] == "jicai.selection-result/1"
    assert result["problem_sha256"] == problem_sha256(PROBLEM)
    (lot,) = result["lots"]
    assert lot["winners"] == ["B1", "B2", "B3"] and lot["committed_ratio"] == "0.7"
    # The contract's example allocation line and backup: B1 prefers 440000; 596,300 x 0.7 = 417,410.
    assert lot["allocation"][0] == {"bid": "B1", "primary_regions": ["440000"], "committed_quantity": 417410}
    assert {"region": "440000", "bid": "B2"} in lot["backups"]
    assert {"bid": "B4", "outcome": "lost", "reason": "beyond_max_winners", "rank": 4, "flags": []} in result["bids"]


def test_select_writes_the_output_file(tmp_path):
    out = tmp_path / "result.json"
    proc = run_cli("select", str(write(tmp_path, PROBLEM)), "-o", str(out))
    assert proc.returncode == 0 and proc.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["lots"][0]["status"] == "selected"


def test_select_invalid_input_exit_1_with_paths(tmp_path):
    doc = json.loads(json.dumps(PROBLEM))
    doc["bids"][3]["unit_price"] = "-1"
    doc["bids"][1]["lot"] = "L2"
    proc = run_cli("select", str(write(tmp_path, doc)))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        'bids[1].lot: unknown lot "L2"',
        'bids[3].unit_price: must be a positive decimal string, got "-1"',
    ]


def test_select_missing_draw_seed_exit_1(tmp_path):
    doc = json.loads(json.dumps(PROBLEM))
    del doc["draw_seed"]
    doc["bids"][2]["unit_price"] = "31.90"
    proc = run_cli("select", str(write(tmp_path, doc)))
    assert proc.returncode == 1
    assert proc.stderr.startswith('draw_seed: is required: bids "B2", "B3" of lot "L1"')


def test_select_unreadable_file_exit_1(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    proc = run_cli("select", str(bad))
    assert proc.returncode == 1 and proc.stderr.startswith("$: cannot read")


def test_importing_solver_loads_no_web_or_database_stack():
    code = (
        "import sys, solver, solver.selection, solver.rulesets, solver.cli\n"
        "solver.select\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_no_flask_or_sqlalchemy_import_in_selection_sources():
    for package in ("selection", "rulesets"):
        for path in (ROOT / "solver" / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "flask" not in text.lower() and "sqlalchemy" not in text.lower(), path
            assert "print(" not in text, path
