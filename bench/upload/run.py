"""Upload benchmark: a 100,000-row × 10-column catalog file through the real catalog import.

Generates a catalog workbook in the canonical format (DOMAIN.md §12 (a): valid NHSA codes, credit codes,
dosage forms, 规格 …; openpyxl, write-only), then measures (best of N runs, interleaved):

* ``calamine_to_python``: a plain python-calamine parse (open + first sheet + ``to_python()``), the baseline;
* ``catalog_import_dry_run``: ``import_catalog(..., dry_run=True)``: the spreadsheet engine (size and zip-bomb
  checks, sheet pre-scan, calamine, headers, typed conversion) plus the catalog's row validator (codes C1–C5,
  剂型 dictionary, 规格, manufacturers, product matching), nothing stored;
* ``catalog_import``: the same import storing into an empty, migrated SQLite database (manufacturers
  registered, products bulk-inserted in one transaction, audit event) and committed;

and prints ``name: value unit`` lines and the ratios (target: parse + validate + store ≤ 3 × calamine).
The ``ratio_*`` lines without suffix are wall-clock ratios (the import stores on a second thread while it
reads, so its CPU time can exceed its wall time); ``*_cpu`` lines give process CPU time (both threads) and
``catalog_import_main_thread_cpu`` the main thread's alone. On a shared machine compare several runs.

Run: ``.venv/bin/python bench/upload/run.py [--rows 100000] [--repeat 3] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HEADERS = ["医保药品代码", "通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业", "统一社会信用代码",
           "批准文号", "是否过评"]
# (剂型, 规格 choices, smallest unit)
FORMS = [
    ("片剂", ["5mg", "10mg", "20mg", "40mg", "0.25g", "0.5g"], "片"),
    ("胶囊剂", ["0.1g", "0.25g", "150mg", "300mg"], "粒"),
    ("注射液", ["2ml:10mg", "5ml:0.1g", "1ml:40万IU", "10ml:0.5g"], "支"),
    ("颗粒剂", ["2g", "5g", "10g"], "袋"),
    ("缓释片", ["30mg", "60mg", "0.5g"], "片"),
]
NAME_CHARS = "阿托伐他汀钙瑞舒氨氯地平苯磺酸二甲双胍格列美脲头孢呋辛酯左氧氟沙星蒙脱石恩替卡韦氯吡格雷奥美拉唑"


def _makers(n: int) -> list[tuple[str, str]]:
    from app.orgs.uscc import make_uscc

    return [(f"某某制药有限公司{k}", make_uscc(f"913501{k:06d}00000"[:17])) for k in range(n)]


def generate(path: Path, rows: int, seed: int = 20250101) -> None:
    import openpyxl

    rnd = random.Random(seed)
    names = sorted({"".join(rnd.sample(NAME_CHARS, rnd.randint(3, 6))) + suffix
                    for suffix in ("片", "胶囊", "注射液", "") for _ in range(300)})
    makers = _makers(200)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("产品目录")
    ws.append(HEADERS)
    for i in range(rows):
        form, specs, unit = FORMS[i % len(FORMS)]
        maker, uscc = makers[i % len(makers)]
        ws.append([
            f"XC10AAA{i % 997:03d}A{i % 13:03d}{i:09d}",
            names[i % len(names)],
            form,
            specs[i % len(specs)],
            rnd.choice((6, 7, 10, 12, 14, 24, 28, 30, 48, 100)),
            unit,
            maker,
            uscc,
            f"国药准字H{20000000 + i % 5_000_000:08d}",
            "是" if i % 3 else "否",
        ])
    wb.save(path)


def calamine_plain(data: bytes):
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return wb.get_sheet_by_name(wb.sheet_names[0]).to_python()


def make_app(db_path: Path, instance: Path):
    from app import create_app

    os.environ["JICAI_INSTANCE_PATH"] = str(instance)
    return create_app({"DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": "bench", "TESTING": True})


def run_import(app, data: bytes, name: str, limits, *, dry_run: bool):
    from app.catalog.services import import_catalog
    from app.core.tx import transaction

    with app.app_context():
        c0, p0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        with transaction():
            result = import_catalog(data, name, dry_run=dry_run, limits=limits)
        wall, cpu, main = time.perf_counter() - c0, time.process_time() - p0, time.thread_time() - m0
    assert result.ok, [str(e) for e in result.errors[:5]]
    return wall, cpu, main, result


def count_products(app) -> int:
    from sqlalchemy import func, select

    from app.catalog.models import Product
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Product))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="directory to keep the generated workbook in")
    args = ap.parse_args(argv)

    from app.core.migrate import upgrade
    from app.spreadsheets import Limits

    tmp = tempfile.TemporaryDirectory()
    workdir = Path(args.keep) if args.keep else Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"catalog_{args.rows}x10.xlsx"
    t0 = time.perf_counter()
    if not path.exists():
        generate(path, args.rows)
    gen_s = time.perf_counter() - t0
    data = path.read_bytes()
    limits = Limits(max_rows=max(args.rows, 200_000), max_bytes=max(len(data) + 1, 20 * 1024 * 1024))

    # An empty migrated database, copied for each storing run (each then creates every product).
    scratch = Path(tempfile.mkdtemp(prefix="jicai-bench-"))
    empty = scratch / "empty.sqlite3"
    upgrade(f"sqlite:///{empty}")

    t_cal = cpu_cal = t_dry = cpu_dry = t_imp = cpu_imp = main_imp = float("inf")
    result = None
    for k in range(args.repeat):
        c0, p0 = time.perf_counter(), time.process_time()
        grid = calamine_plain(data)
        t_cal, cpu_cal = min(t_cal, time.perf_counter() - c0), min(cpu_cal, time.process_time() - p0)
        del grid
        db_path = scratch / f"run{k}.sqlite3"
        shutil.copy(empty, db_path)
        app = make_app(db_path, scratch / "instance")
        wall, cpu, _, _ = run_import(app, data, path.name, limits, dry_run=True)
        t_dry, cpu_dry = min(t_dry, wall), min(cpu_dry, cpu)
        wall, cpu, main, result = run_import(app, data, path.name, limits, dry_run=False)
        t_imp, cpu_imp, main_imp = min(t_imp, wall), min(cpu_imp, cpu), min(main_imp, main)
        assert count_products(app) == args.rows
        app.extensions["jicai.db"]["engine"].dispose()
        os.unlink(db_path)
    shutil.rmtree(scratch, ignore_errors=True)
    assert result is not None and result.created == args.rows

    print(f"rows: {args.rows} rows")
    print("columns: 10 columns")
    print(f"file_size: {len(data) / 1024 / 1024:.2f} MiB")
    print(f"generate_xlsx: {gen_s:.2f} s")
    print(f"manufacturers_registered: {result.manufacturers_created} organisations")
    print(f"calamine_to_python: {t_cal:.3f} s")
    print(f"calamine_to_python_cpu: {cpu_cal:.3f} s")
    print(f"catalog_import_dry_run: {t_dry:.3f} s")
    print(f"catalog_import_dry_run_cpu: {cpu_dry:.3f} s")
    print(f"catalog_import: {t_imp:.3f} s")
    print(f"catalog_import_cpu: {cpu_imp:.3f} s")
    print(f"catalog_import_main_thread_cpu: {main_imp:.3f} s")
    print(f"store_sqlite: {t_imp - t_dry:.3f} s")
    print(f"ratio_parse_validate: {t_dry / t_cal:.2f} x")
    print(f"ratio_parse_validate_store: {t_imp / t_cal:.2f} x")
    print(f"ratio_parse_validate_store_cpu: {cpu_imp / cpu_cal:.2f} x")
    print(f"ratio_parse_validate_store_main_thread_cpu: {main_imp / cpu_cal:.2f} x")
    print("target_ratio_parse_validate_store: 3.00 x")
    tmp.cleanup()
    return 0 if t_imp / t_cal <= 3.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
