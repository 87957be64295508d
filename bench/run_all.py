"""Run every benchmark (``bench/<name>/run.py``) or the one named, printing ``name: value unit`` lines.

Each benchmark measures its baseline in the same run and prints the ratio; targets are checked
here, never in the test suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def benchmarks() -> list[str]:
    return sorted(d for d in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, d, "run.py")))


def main(argv: list[str]) -> int:
    names = argv or benchmarks()
    unknown = [n for n in names if n not in benchmarks()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(benchmarks())}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, os.path.join(HERE, name, "run.py")], cwd=os.path.dirname(HERE))
        print(f"{name}.wall_time: {time.perf_counter() - started:.1f} s", flush=True)
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
