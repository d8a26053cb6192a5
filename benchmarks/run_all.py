"""Run every benchmark of riskshare in turn (``make bench``).

Each benchmark prints its own table of ratios against the baseline its issue names.
Pass ``--quick`` to skip the largest sizes.
"""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["bench_efficiency.py", "bench_measures.py", "bench_run.py"]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        path = HERE / name
        print(f"\n=== {name} ===", flush=True)
        if not path.exists():
            print(f"missing: {path}")
            failed.append(name)
            continue
        start = time.perf_counter()
        saved = sys.argv
        sys.argv = [str(path), *sys.argv[1:]]
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (None, 0):
                failed.append(name)
        finally:
            sys.argv = saved
        print(f"--- {name}: {time.perf_counter() - start:.1f} s", flush=True)
    if failed:
        print("\nbenchmarks that failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
