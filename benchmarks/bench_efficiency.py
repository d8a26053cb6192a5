r"""Efficient allocation: riskshare against the same problem written by hand.

For each size ``(n agents, m states)`` and each family

* ``shortfall``: expected shortfall with own levels ``α_i ~ U(0.05, 0.5)``;
* ``interval``: max-min expectation over interval sets
  ``lo = a P <= Q <= b P`` with ``a ~ U(0.5, 1)``, ``b ~ U(1, 2)`` per agent and state;
* ``entropic``: own priors (a storm-frequency tilt and noise around ``P``) and
  own tolerances ``γ_i ~ U(0.2, 1) v_i`` (``v_i`` the farm's insured value),

the welfare ``sum_i U_i(Y_i)`` is maximised over the sign-constrained menu of the
correlated farm losses of ``data.py`` (fixed seed) by

* riskshare: ``maximise_welfare`` including its certificate;
* CVXPY + Clarabel, written as a user would (shares, auxiliary variables, DCP atoms);
* ``scipy.optimize.linprog(method="highs")`` on the direct LP (not for entropic,
  which is not an LP).

Baselines get the data in millions of USD (in USD Clarabel stops early with a
wrong objective); their allocations are scored with riskshare's utilities against
riskshare's certified upper bound (``accuracy`` = relative gap). Every run is a
separate process (time limit, peak memory) with ``OPENBLAS_NUM_THREADS=1``: on a
machine shared with other work OpenBLAS's spinning threads slow small products
twenty-fold, and one thread is fair to every solver (HiGHS and Clarabel use their
own linear algebra). Usage::

    python benchmarks/bench_efficiency.py [--quick] [--sizes 10x1000,100x10000]
        [--families shortfall,interval,entropic] [--limit SECONDS] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from data import SEED, farm_losses  # noqa: E402

SIZES = [(10, 1_000), (100, 10_000), (1000, 100_000)]
FAMILIES = ["shortfall", "interval", "entropic"]
SOLVERS = ["riskshare", "cvxpy", "linprog"]
MONEY = 1e6          # baselines work in millions of USD
BLAS_THREADS = "1"   # numpy's BLAS threads in every run (see the module docstring)
SOLVER_BYTES = 300   # measured peak bytes per agent x state of the active-set method


# ----------------------------------------------------------------------------- problems
def parameters(family: str, n: int, m: int) -> dict:
    """The family's parameters and the aggregate (USD), from fixed seeds."""
    pool = farm_losses(n, m, seed=SEED)
    rng = np.random.default_rng(SEED + 1)
    out = {"X": pool.aggregate, "P": pool.probabilities}
    if family == "shortfall":
        out["level"] = rng.uniform(0.05, 0.5, n)
    elif family == "interval":
        out["lo"] = [pool.probabilities * rng.uniform(0.5, 1.0, m) for _ in range(n)]
        out["hi"] = [np.minimum(1.0, pool.probabilities * rng.uniform(1.0, 2.0, m))
                     for _ in range(n)]
    else:
        storm = pool.storm / max(pool.storm.max(), 1e-12)
        priors = []
        for _ in range(n):
            q = pool.probabilities * np.exp(rng.uniform(-0.5, 1.0) * storm)
            q *= rng.uniform(0.8, 1.2, m)
            priors.append(q / q.sum())
        out["prior"] = priors
        out["tolerance"] = rng.uniform(0.2, 1.0, n) * pool.values
    return out


def utilities(family: str, prm: dict, unit: float = 1.0):
    """riskshare utilities for the family (amounts divided by ``unit``)."""
    from riskshare.utilities import Entropic, Expectation, ExpectedShortfall, IntervalSet, MaxMin

    P = prm["P"]
    if family == "shortfall":
        return [ExpectedShortfall(a).bind(P) for a in prm["level"]]
    if family == "interval":
        return [MaxMin(Expectation(), IntervalSet(lo, hi)).bind(P)
                for lo, hi in zip(prm["lo"], prm["hi"], strict=True)]
    return [Entropic(g / unit, prior=q)
            for g, q in zip(prm["tolerance"], prm["prior"], strict=True)]


# ----------------------------------------------------------------------------- solvers
def solve_riskshare(family, prm):
    from riskshare import SignMenu
    from riskshare.efficiency import maximise_welfare

    us = utilities(family, prm)
    for key in ("prior", "lo", "hi"):      # the utilities hold their own validated copies
        prm.pop(key, None)
    start = time.perf_counter()
    r = maximise_welfare(us, SignMenu(prm["X"], len(us)))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "welfare": r.welfare, "upper_bound": r.upper_bound,
            "relative_gap": r.relative_gap, "scale": r.certificate.scale, "method": r.method,
            "status": r.status, "certified": r.certified, "iterations": r.iterations}


def solve_cvxpy(family, prm, limit):
    import cvxpy as cp

    X = prm["X"] / MONEY
    P = prm["P"]
    n = len(prm.get("level", prm.get("lo", prm.get("prior"))))
    m = X.size
    s = cp.Variable((n, m), nonneg=True)
    Y = cp.multiply(s, np.broadcast_to(X, (n, m)))
    if family == "shortfall":
        t = cp.Variable(n)
        short = cp.pos(cp.reshape(t, (n, 1), order="F") - Y) @ P
        objective = cp.sum(t - cp.multiply(1.0 / prm["level"], short))
    elif family == "interval":
        c = cp.Variable(n)
        lo, hi = np.array(prm["lo"]), np.array(prm["hi"])
        z = Y - cp.reshape(c, (n, 1), order="F")
        objective = cp.sum(c) + cp.sum(cp.multiply(lo, z)) - cp.sum(cp.multiply(hi - lo,
                                                                                 cp.pos(-z)))
    else:
        gam = prm["tolerance"] / MONEY
        logq = np.log(np.array(prm["prior"]))
        terms = [-gam[i] * cp.log_sum_exp(logq[i] - Y[i] / gam[i]) for i in range(n)]
        objective = cp.sum(cp.hstack(terms))
    problem = cp.Problem(cp.Maximize(objective), [cp.sum(s, axis=0) == 1])
    start = time.perf_counter()
    problem.solve(solver=cp.CLARABEL, time_limit=float(limit))
    seconds = time.perf_counter() - start
    return seconds, problem.status, None if s.value is None else s.value * prm["X"]


def solve_linprog(family, prm, limit):
    from scipy import sparse
    from scipy.optimize import linprog

    X = prm["X"] / MONEY
    P = prm["P"]
    m = X.size
    if family == "shortfall":
        level = prm["level"]
        n = level.size
        weights = (P[None, :] / level[:, None]).ravel()
        lower_part = -np.ones(n)
    else:
        lo, hi = np.array(prm["lo"]), np.array(prm["hi"])
        n = lo.shape[0]
        weights = (hi - lo).ravel()
        lower_part = None
    k = n * m
    # variables: s (k), c (n), u (k); u >= c - s x, u >= 0
    if family == "shortfall":
        cost = np.concatenate([np.zeros(k), lower_part, weights])
    else:
        # max sum c + lo (s x - c) - (hi - lo) u  ->  min -(...)
        lo_flat = lo.ravel()
        cost = np.concatenate([-lo_flat * np.tile(X, n), -(1.0 - lo.sum(axis=1)), weights])
    idx = np.arange(k)
    A_ub = sparse.csr_matrix((np.concatenate([-np.tile(X, n), np.ones(k), -np.ones(k)]),
                              (np.concatenate([idx, idx, idx]),
                               np.concatenate([idx, k + idx // m, k + n + idx]))),
                             shape=(k, 2 * k + n))
    A_eq = sparse.csr_matrix((np.ones(k), (idx % m, idx)), shape=(m, 2 * k + n))
    bounds = [(0, None)] * k + [(None, None)] * n + [(0, None)] * k
    start = time.perf_counter()
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(k), A_eq=A_eq, b_eq=np.ones(m),
                  bounds=bounds, method="highs", options={"time_limit": float(limit)})
    seconds = time.perf_counter() - start
    Y = None if res.x is None else res.x[:k].reshape(n, m) * prm["X"]
    return seconds, res.message, Y


def score(family, prm, Y, reference) -> float | None:
    """Relative gap of a baseline allocation against riskshare's certified bound."""
    if Y is None or reference is None:
        return None
    us = utilities(family, prm)
    S = np.clip(Y / np.where(prm["X"] == 0, 1.0, prm["X"]), 0.0, None)
    S = S / np.where(S.sum(axis=0) > 0, S.sum(axis=0), 1.0)
    Y = S * prm["X"]
    W = sum(float(u.value(Y[i])) for i, u in enumerate(us))
    return (reference["upper_bound"] - W) / max(abs(reference["welfare"]), reference["scale"])


# ----------------------------------------------------------------------------- one job
def one(family, n, m, solver, limit, reference_json):
    prm = parameters(family, n, m)
    reference = json.loads(reference_json) if reference_json else None
    if solver == "riskshare":
        out = solve_riskshare(family, prm)
    else:
        solve = solve_cvxpy if solver == "cvxpy" else solve_linprog
        seconds, status, Y = solve(family, prm, limit)
        out = {"seconds": seconds, "status": str(status)[:60],
               "accuracy": score(family, prm, Y, reference)}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


def job(family, n, m, solver, limit, reference=None) -> dict:
    """Run one solve in a fresh process; a run past ``limit`` is reported as such."""
    cmd = [sys.executable, __file__, "--one", family, str(n), str(m), solver, str(limit),
           json.dumps(reference) if reference else ""]
    try:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": BLAS_THREADS,
               "OMP_NUM_THREADS": BLAS_THREADS}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit + 120, env=env)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "status": f"killed after {limit + 120:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"seconds": None, "status": "failed: " + done.stderr.strip()[-200:]}
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- report
def main(argv=None) -> int:
    global BLAS_THREADS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip (1000, 1e5)")
    parser.add_argument("--sizes", default=None, help="e.g. 10x1000,100x10000")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--limit", type=float, default=600.0, help="seconds per baseline run")
    parser.add_argument("--json", default=None, help="write the results to this file")
    parser.add_argument("--blas-threads", default="1",
                        help="OPENBLAS_NUM_THREADS of every run (default 1)")
    parser.add_argument("--one", nargs=6, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    BLAS_THREADS = str(args.blas_threads)
    if args.one:
        family, n, m, solver, limit, ref = args.one
        one(family, int(n), int(m), solver, float(limit), ref)
        return 0
    sizes = SIZES[:2] if args.quick else SIZES
    if args.sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    families = args.families.split(",")
    solvers = args.solvers.split(",")
    results = []
    for family in families:
        for n, m in sizes:
            row = {"family": family, "n": n, "m": m}
            if family == "interval" and SOLVER_BYTES * n * m > 6e9:
                row["riskshare"] = {"seconds": None, "status": f"not run: the active-set "
                                    f"method needs about {SOLVER_BYTES * n * m / 1e9:.0f} GB"}
            else:
                row["riskshare"] = job(family, n, m, "riskshare", args.limit)
            ref = row["riskshare"] if row["riskshare"].get("seconds") else None
            for solver in solvers[1:] if solvers[0] == "riskshare" else solvers:
                if solver == "linprog" and family == "entropic":
                    row[solver] = {"seconds": None, "status": "not an LP"}
                    continue
                if (n, m) == SIZES[-1]:
                    row[solver] = {"seconds": None,
                                   "status": "skipped: cannot finish in minutes"}
                    continue
                row[solver] = job(family, n, m, solver, args.limit, ref)
            results.append(row)
            print(_line(row), flush=True)
    print()
    print(_table(results))
    print(_slopes(results))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


def _fmt_time(entry) -> str:
    if not entry or entry.get("seconds") is None:
        return "-"
    return f"{entry['seconds']:.2f}"


def _line(row) -> str:
    parts = [f"{row['family']:9s} n={row['n']:<5d} m={row['m']:<7d}"]
    for solver in SOLVERS:
        entry = row.get(solver, {})
        parts.append(f"{solver}={_fmt_time(entry)}s [{entry.get('status', '')}]")
    return "  ".join(parts)


def _table(results) -> str:
    head = ("family     n     m        riskshare  gap      method  peakMB   cvxpy    "
            "ratio   acc      linprog  ratio   acc")
    lines = [head, "-" * len(head)]
    for row in results:
        rs = row["riskshare"]
        cells = [f"{row['family']:9s} {row['n']:<5d} {row['m']:<8d}",
                 f"{_fmt_time(rs):>9s}", f"{rs.get('relative_gap', float('nan')):8.1e}",
                 f"{rs.get('method', '-'):7s}", f"{rs.get('peak_mb', float('nan')):6.0f}"]
        for solver in ("cvxpy", "linprog"):
            entry = row.get(solver, {})
            cells.append(f"{_fmt_time(entry):>8s}")
            cells.append(_ratio(entry, rs))
            acc = entry.get("accuracy")
            cells.append(f"{acc:8.1e}" if acc is not None else "   -    ")
        lines.append(" ".join(cells))
    lines.append("ratio = baseline seconds / riskshare seconds ('>' when the baseline hit "
                 "its time limit); acc = baseline's relative gap to riskshare's bound")
    return "\n".join(lines)


def _ratio(entry, rs) -> str:
    if rs.get("seconds") is None:
        return "   -   "
    if entry.get("seconds") is None:
        return "   -   "
    prefix = ">" if "time" in str(entry.get("status", "")).lower() else " "
    return f"{prefix}{entry['seconds'] / rs['seconds']:6.1f}"


def _slopes(results) -> str:
    out = ["log-log slope of riskshare time against n*m:"]
    for family in sorted({r["family"] for r in results}):
        pts = [(r["n"] * r["m"], r["riskshare"]["seconds"]) for r in results
               if r["family"] == family and r["riskshare"].get("seconds")]
        if len(pts) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            out.append(f"  {family:9s} {np.polyfit(x, y, 1)[0]:.2f}  ({len(pts)} sizes)")
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
