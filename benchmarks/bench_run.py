"""Time the default run end to end: ``riskshare run --out DIR`` on the bundled Florida pool.

Target (issue 4): at most 10 s after install on 2 cores, for the whole command as a user
runs it (Python start-up and imports included). Each repetition runs the command in a
fresh process, reads the per-step timings the run writes into report.json, and times
``riskshare verify`` on the result. Printed: the wall-clock time of the command, the
median of every step over the repetitions, and whether the target is met.

Usage: ``python benchmarks/bench_run.py [--repeat 3] [--spec FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 10.0


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "riskshare", *args]


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return time.perf_counter() - start, proc


def one_run(spec: str | None, folder: Path, k: int) -> dict:
    """Run once in a fresh process; return wall-clock seconds and the step timings."""
    out = folder / f"run-{k}"
    args = ["run", *([spec] if spec else []), "--out", str(out), "--json"]
    wall, proc = _timed(_command(*args))
    if proc.returncode != 0:
        raise SystemExit(f"riskshare run failed ({proc.returncode}): {proc.stderr.strip()}")
    steps = json.loads(proc.stdout)["timings"]
    verify_wall, vproc = _timed(_command("verify", str(out), "--quiet"))
    if vproc.returncode != 0:
        raise SystemExit(f"riskshare verify failed: {vproc.stderr.strip()}")
    return {"wall": wall, "verify": verify_wall, "steps": steps}


def report(runs: list[dict]) -> bool:
    """Print the table; return whether the target is met."""
    names = list(runs[0]["steps"])
    width = max(len(s) for s in [*names, "start-up and imports (the rest)"])
    print(f"{'step':<{width}}  {'median s':>9}  {'min s':>7}  {'max s':>7}")
    for name in names:
        vals = [r["steps"].get(name, float("nan")) for r in runs]
        print(f"{name:<{width}}  {statistics.median(vals):9.3f}  {min(vals):7.3f}  "
              f"{max(vals):7.3f}")
    walls = [r["wall"] for r in runs]
    verifies = [r["verify"] for r in runs]
    accounted = statistics.median(
        sum(v for k, v in r["steps"].items() if "." not in k) for r in runs)
    print("-" * (width + 30))
    print(f"{'sum of top-level steps':<{width}}  {accounted:9.3f}")
    print(f"{'start-up and imports (the rest)':<{width}}  "
          f"{statistics.median(walls) - accounted:9.3f}")
    print(f"{'riskshare run (whole command)':<{width}}  {statistics.median(walls):9.3f}  "
          f"{min(walls):7.3f}  {max(walls):7.3f}")
    print(f"{'riskshare verify':<{width}}  {statistics.median(verifies):9.3f}  "
          f"{min(verifies):7.3f}  {max(verifies):7.3f}")
    ok = statistics.median(walls) <= TARGET_SECONDS
    print(f"\ntarget: whole command <= {TARGET_SECONDS:.0f} s on 2 cores "
          f"(this machine: {os.cpu_count()} cores): {'met' if ok else 'MISSED'} "
          f"(median {statistics.median(walls):.2f} s)")
    if not ok:
        slowest = max(names, key=lambda s: statistics.median(r["steps"].get(s, 0)
                                                                for r in runs))
        print(f"slowest step: {slowest}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spec", default=None, help="pool file (default: bundled Florida)")
    args, _ = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="riskshare-bench-") as tmp:
        runs = [one_run(args.spec, Path(tmp), k) for k in range(args.repeat)]
    return 0 if report(runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
