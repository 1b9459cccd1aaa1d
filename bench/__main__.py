"""`make bench`: run every benchmark in one go and print their tables (``python -m bench [names...]``).

Each benchmark compares against a baseline measured in the same run on the same machine (a constant endpoint,
pymerkle, ...), so the ratios hold even though absolute numbers vary between machines.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_ledger", "bench_scan", "bench_vault", "bench_checkout"]


def main(argv: list[str]) -> int:
    wanted = argv or [name for name in ORDER if (HERE / f"{name}.py").exists()]
    failures = 0
    print(f"# Sésame benchmarks — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n")
    for name in wanted:
        started = time.perf_counter()
        print(f"## {name}\n", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False)
        print(f"\n({name}: {time.perf_counter() - started:.0f} s, exit {result.returncode})\n", flush=True)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
