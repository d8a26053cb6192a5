"""μ-integrals of 10 mixed agents on the 1,610 Florida years: riskshare vs plain Monte Carlo.

Target (issue 3): the standard error of the surplus ``S = W* − Σ_i ∫U_i dμ``
at most 1e-4 of the expected aggregate loss, in at most 5 s on 2 cores.
``W*`` is certified by the efficiency solver, so the surplus's standard error
is that of ``Σ_i ∫U_i dμ`` (independent per-agent streams: root sum of squares).

Data: ten farms placed in Florida, annual losses from the bundled CLIMADA
hazard set (``riskshare.io.hazard``); synthetic correlated losses when the
loader is not available. Agents (the target set): four entropic (tolerances
0.5–2 × farm value), three max-min Gilboa–Schmeidler (expectation over
ε-contamination, interval probabilities, a density band), three expected
shortfall (levels 5 %, 10 %, 25 %). μ is uniform (κ = 0) on the
sign-constrained menu. A second set swaps two max-min agents for max-min
*entropic* ones (the paper's Example 1 under ambiguity), which have no
exact control variate here: it is printed too, to show where RQMC alone stands.

Plain Monte Carlo gets the same number of integrand evaluations per agent
(for agents riskshare integrates by quadrature or exactly: the RQMC budget),
draws independent Beta(1, n−1) shares and reports the sample standard error.

Run: ``.venv/bin/python benchmarks/bench_measures.py [--draws 4096]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from riskshare import SignMenu
from riskshare.measures import DirichletMeasure
from riskshare.utilities import (
    Contamination,
    DensityBand,
    Entropic,
    Expectation,
    ExpectedShortfall,
    IntervalSet,
    MaxMin,
)

TARGET_RELATIVE_SE = 1e-4
TARGET_SECONDS = 5.0
SITES = [  # (latitude, longitude, value in million USD)
    (25.8, -80.3, 2.0), (26.1, -80.2, 3.5), (26.7, -80.1, 1.5), (27.3, -80.4, 4.0),
    (27.9, -82.5, 2.5), (28.5, -81.4, 3.0), (29.2, -82.1, 1.8), (26.6, -81.9, 2.2),
    (25.5, -80.5, 5.0), (28.1, -80.6, 2.8),
]


def losses() -> tuple[np.ndarray, str]:
    """(10, 1610) positions (losses negative) and where they came from."""
    try:
        from riskshare.io.hazard import annual_losses, load_florida_hazard
    except ImportError:
        return _synthetic(), "synthetic (riskshare.io.hazard not available)"
    hazard = load_florida_hazard()
    L, _ = annual_losses(hazard, SITES)
    return -L.T, "CLIMADA Florida hazard, 1,610 simulated years"


def _synthetic() -> np.ndarray:
    rng = np.random.default_rng(0)
    storm = rng.random(1610) < 0.45
    values = np.array([s[2] for s in SITES])
    hit = (rng.random((10, 1610)) < 0.3) & storm
    return -np.minimum(values[:, None], values[:, None] * hit * rng.beta(0.6, 3, (10, 1610)))


def agents(P: np.ndarray, hard: bool = False) -> list:
    values = [s[2] for s in SITES]
    band = MaxMin(Expectation(), DensityBand(0.8, 1.5))
    interval = MaxMin(Expectation(), IntervalSet(0.5 * P, np.minimum(1.0, 2.0 * P)))
    if hard:
        band = MaxMin(Entropic(values[5]), Contamination(0.05))
        interval = MaxMin(Entropic(values[6]), IntervalSet(0.5 * P, np.minimum(1.0, 2.0 * P)))
    return [
        Entropic(0.5 * values[0]), Entropic(1.0 * values[1]), Entropic(1.5 * values[2]),
        Entropic(2.0 * values[3]),
        MaxMin(Expectation(), Contamination(0.1)), band, interval,
        ExpectedShortfall(0.05), ExpectedShortfall(0.10), ExpectedShortfall(0.25),
    ]


def plain_mc(measure, utility, agent, draws, seed):
    """Independent Beta(1, n−1) shares of the agent, sample mean and standard error."""
    rng = np.random.default_rng(seed)
    a, b = measure.marginal(agent)
    vals = []
    left = draws
    while left > 0:
        k = min(left, 2048)
        s = rng.beta(a, b, size=(k, a.size))
        vals.append(utility.value(measure.menu.allocation(s)))
        left -= k
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))


def run(X, P, scale, draws, seed, hard) -> bool:
    """Integrate one agent set both ways, print the table; whether the target was met."""
    n = X.shape[0]
    utilities = [u.bind(P) for u in agents(P, hard)]
    menu = SignMenu(X.sum(axis=0), n)
    measure = DirichletMeasure(menu, probabilities=P)
    ests, secs = [], []
    for i, u in enumerate(utilities):
        t0 = time.perf_counter()
        ests.append(measure.integral(u, i, draws, seed))
        secs.append(time.perf_counter() - t0)
    ours = float(sum(secs))

    t0 = time.perf_counter()
    mc = [plain_mc(measure, u, i, draws, seed + i) for i, u in enumerate(utilities)]
    theirs = time.perf_counter() - t0

    print(f"\n{'agent':<36} {'method':<11} {'∫U dμ':>10} {'SE riskshare':>12} {'s':>5} "
          f"{'SE plain MC':>11} {'|diff|/SE':>9}")
    for u, e, sec, (v, se) in zip(utilities, ests, secs, mc, strict=True):
        z = abs(e.value - v) / max(np.hypot(e.stderr, se), 1e-300)
        print(f"{_name(u):<36} {e.method:<11} {e.value:10.6f} {e.stderr:12.3e} {sec:5.2f} "
              f"{se:11.3e} {z:9.2f}")
    se_ours = float(np.sqrt(sum(e.stderr**2 for e in ests)))
    se_mc = float(np.sqrt(sum(se**2 for _, se in mc)))
    print(f"surplus SE / E|X|: riskshare {se_ours / scale:.3e} in {ours:.2f} s; "
          f"plain Monte Carlo {se_mc / scale:.3e} in {theirs:.2f} s "
          f"({draws} draws per agent); plain MC would need about "
          f"{draws * (se_mc / (TARGET_RELATIVE_SE * scale)) ** 2:.3g} draws per agent")
    return se_ours <= TARGET_RELATIVE_SE * scale and ours <= TARGET_SECONDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4096, help="RQMC evaluations per agent")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()

    X, source = losses()
    n, m = X.shape
    P = np.full(m, 1.0 / m)
    scale = float(-X.sum(axis=0).mean())
    print(f"data: {source}; n = {n} agents, m = {m} states, "
          f"{int(np.sum(X.sum(axis=0) != 0))} with a loss")
    print(f"expected aggregate loss E|X| = {scale:.6g}; target SE(S) <= "
          f"{TARGET_RELATIVE_SE * scale:.3g} in <= {TARGET_SECONDS:g} s")

    print("\n== target set: entropic, max-min (Gilboa–Schmeidler), expected shortfall")
    ok = run(X, P, scale, args.draws, args.seed, hard=False)
    print(f"target: {'met' if ok else 'MISSED'}")
    print("\n== harder set: two max-min agents with an entropic base")
    ok_hard = run(X, P, scale, args.draws, args.seed, hard=True)
    note = "missed (no exact control variate for max-min entropic; see docs/mechanism.md)"
    print(f"target: {'met' if ok_hard else note}")


def _name(u) -> str:
    d = u.describe()
    if "credal" in d:
        return f"max-min {d['base']['kind']} / {d['credal']['kind']}"
    params = {k: v for k, v in d.items() if k in ("tolerance", "level")}
    return f"{d['kind']} {params}"


if __name__ == "__main__":
    main()
