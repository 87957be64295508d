"""``python -m solver solve|check`` through a subprocess: exit codes 0/1/2, ``-o`` file, stderr."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXAMPLE = {
    "schema": "jicai.award-problem/1", "name": "2026 alliance round 1", "currency": "CNY",
    "suppliers": [{"id": "S1", "capacity": 300000, "fixed_cost": "0", "max_lots": None},
                  {"id": "S2", "capacity": None, "fixed_cost": "5000", "max_lots": 1}],
    "lots": [{"id": "L1", "min_winners": 2, "max_winners": None, "max_share": "0.7"},
             {"id": "L2", "min_winners": 1, "max_winners": None, "max_share": None}],
    "demand": [{"id": "D1", "lot": "L1", "region": "110000", "quantity": 120000, "single_source": True},
               {"id": "D2", "lot": "L1", "region": "310000", "quantity": 80000, "single_source": True},
               {"id": "D3", "lot": "L2", "region": "110000", "quantity": 50000, "single_source": False}],
    "bids": [{"id": "B1", "supplier": "S1", "lot": "L1", "regions": None, "unit_price": "0.2550", "capacity_use": 1,
              "max_quantity": None, "tiers": [{"min_quantity": 100000, "unit_price": "0.2400"}]},
             {"id": "B2", "supplier": "S2", "lot": "L1", "regions": None, "unit_price": "0.2700", "capacity_use": 1,
              "max_quantity": None, "tiers": []},
             {"id": "B3", "supplier": "S1", "lot": "L2", "regions": ["110000"], "unit_price": "1.1000",
              "capacity_use": 2, "max_quantity": None, "tiers": []}],
    "bundles": [{"id": "X1", "supplier": "S1", "lots": ["L1", "L2"], "discount": "0.03"}],
}

INFEASIBLE = {
    "schema": "jicai.award-problem/1", "name": "x", "currency": "CNY",
    "suppliers": [{"id": "S1", "capacity": 50}, {"id": "S2", "capacity": 40}],
    "lots": [{"id": "L1"}],
    "demand": [{"id": "D1", "lot": "L1", "region": "110000", "quantity": 100, "single_source": False}],
    "bids": [{"id": "B1", "supplier": "S1", "lot": "L1", "regions": None, "unit_price": "1.0"},
             {"id": "B2", "supplier": "S2", "lot": "L1", "regions": None, "unit_price": "1.2"}],
}


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "solver", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)


def write(tmp_path: Path, name: str, doc: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("backend", ["cbc", "highs"])
def test_solve_writes_the_solution_file_and_exits_0(tmp_path, backend):
    out = tmp_path / "solution.json"
    res = run("solve", write(tmp_path, "p.json", EXAMPLE), "--backend", backend, "--time-limit", "30",
              "--gap", "0", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""      # nothing printed, solver silenced
    sol = json.loads(out.read_text(encoding="utf-8"))
    assert sol["status"] == "optimal" and sol["objective"] == "107886.000000" and sol["backend"] == backend


def test_solve_to_stdout(tmp_path):
    res = run("solve", write(tmp_path, "p.json", EXAMPLE))
    assert res.returncode == 0
    assert json.loads(res.stdout)["objective"] == "107886.000000"


def test_infeasible_exits_2_with_the_diagnosis_in_the_file(tmp_path):
    out = tmp_path / "solution.json"
    res = run("solve", write(tmp_path, "p.json", INFEASIBLE), "-o", str(out))
    assert res.returncode == 2
    sol = json.loads(out.read_text(encoding="utf-8"))
    assert sol["status"] == "infeasible"
    assert sorted(sol["diagnosis"]) == ["capacity:S1", "capacity:S2", "demand:D1"]


def test_invalid_input_exits_1_with_every_error_on_stderr(tmp_path):
    bad = json.loads(json.dumps(EXAMPLE))
    bad["bids"][1]["unit_price"] = "-3"
    bad["demand"][0]["quantity"] = -5
    out = tmp_path / "solution.json"
    res = run("solve", write(tmp_path, "p.json", bad), "-o", str(out))
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        "demand[0].quantity: must be a non-negative number, got -5",
        'bids[1].unit_price: must be a positive decimal, got "-3"',
    ]
    assert not out.exists()


def test_check_exits_0_or_1(tmp_path):
    res = run("check", write(tmp_path, "ok.json", EXAMPLE))
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    bad = json.loads(json.dumps(EXAMPLE))
    bad["bids"][2]["regions"] = ["999999"]
    res = run("check", write(tmp_path, "bad.json", bad))
    assert res.returncode == 1
    assert res.stderr.splitlines() == ['bids[2].regions[0]: lot "L2" has no demand unit in region "999999"']


def test_unreadable_file_exits_1(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    res = run("solve", str(path))
    assert res.returncode == 1 and res.stderr.startswith("$: cannot read")
