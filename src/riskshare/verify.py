r"""Re-check a finished run from its files alone (``riskshare verify DIR``).

Notation (spec §1-10): agents ``i = 1..n``, scenarios ``ω = 1..m``, reference
probability ``P``, positions ``X_i``, aggregate ``X = Σ_i X_i``, efficient
allocation ``Y*``, utilities ``U_i``, welfare ``W = Σ_i U_i(Y*_i)``,
supergradients ``Q_i`` (the certificate), reference measure ``μ``, surplus
``S = W - Σ_i ∫U_i dμ``, bids ``b_i``, cash ``t_i``, receipts
``r_i = Y*_i - X_i + t_i`` and collateral ``C_i``.

This module is written apart from the code that produced the run: it does not
import the mechanism, the game, its checks or the efficiency solvers. It reads
``report.json``, ``allocation.csv``, the certificate and the spec copy,
rebuilds the pool and the utilities from the spec copy (through
:mod:`riskshare.io` and :mod:`riskshare.utilities`), and recomputes

* the allocation: in the menu (its own membership test) and summing to ``X``;
* the values ``U_i(X_i)``, ``U_i(Y*_i)`` and the welfare;
* the certificate: each ``Q_i`` a probability vector with finite penalty, and the
  weak-duality bound ``Σ_i α_i(Q_i) + max_{Z in menu} Σ_i <Q_i, Z_i>`` by its own
  per-block maximisation (spec §4);
* the μ-integrals by plain Monte Carlo with its own sampler (agreement within
  five combined standard errors);
* the identities of spec §7, §9 and §10: surplus, payoffs ``∫U_i dμ + S/n``,
  bids ``S(n-1)/n``, cash ``payoff - U_i(Y*_i)`` summing to zero, collateral
  ``max(0, max_ω -r_i(ω))`` rounded up to the settlement unit;
* the auction's public tie-break record and any settlement records;
* the run's own bookkeeping: every file report.json lists is there, the SHA-256
  of each copied input, the efficiency summary (gap, relative gap, certified,
  uniqueness against its ties), each agent's gain from pooling and utility
  description, the standard errors of the surplus and the payoffs, and the
  members' table of report.md (re-formatted here and compared as text);
* that every check the run reported passed, and ``all_checks_passed`` says so.

What it cannot see: a run whose files were all rewritten consistently (digests
included) verifies; nothing here is signed.

Names. A check that re-checks, from the files, the same fact as one of the run's
own checks (report.json ``checks``, written by :mod:`riskshare.checks`) carries
that check's name (``allocation-in-menu``, ``mu-integrals``, ``lipschitz[k]``,
``cash-balance``, ...); the others are checks only verify makes. docs/cli.md
lists them all.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import RunDirectoryError

__all__ = ["VerifyCheck", "Verification", "RunFiles", "read_run", "verify_run", "listed_files"]

#: relative tolerance on amounts recomputed with the same arithmetic (money / scale)
AMOUNT_RTOL = 1e-10
#: number of standard errors allowed between two estimates of an integral
SIGMAS = 5.0
#: relative gap of the efficiency certificate that every run must meet (issue 2)
GAP_RTOL = 1e-7
#: Monte Carlo draws per agent for the independent μ-integrals
MU_DRAWS = 4096
_CHUNK = 512


@dataclass(frozen=True)
class VerifyCheck:
    """One recomputed fact: ``passed`` when ``value <= tolerance``."""

    name: str
    passed: bool
    value: float
    tolerance: float
    detail: str = ""


@dataclass(frozen=True)
class Verification:
    """All checks of one run directory."""

    directory: str
    checks: tuple[VerifyCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> tuple[VerifyCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def to_dict(self) -> dict:
        return {"directory": self.directory, "passed": self.passed,
                "checks": {c.name: {"passed": c.passed, "value": _finite(c.value),
                                    "tolerance": _finite(c.tolerance), "detail": c.detail}
                           for c in self.checks}}


def _finite(x: float):
    return float(x) if math.isfinite(float(x)) else None


def _check(name: str, value: float, tolerance: float, detail: str = "") -> VerifyCheck:
    value = float(value)
    ok = bool(math.isfinite(value) and value <= tolerance)
    return VerifyCheck(name, ok, value, float(tolerance), detail)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, eq=False)
class RunFiles:
    """The numbers of a run directory, read with this module's own parser.

    Attributes
    ----------
    directory : Path
    report : dict
        report.json.
    names : tuple of str
    probabilities : ndarray (m,)
    positions, allocation, share, indemnity, receipt : ndarray (n, m)
        Columns of allocation.csv (``share`` is NaN where ``X(ω) = 0``).
    state_names : tuple of str or None
    supergradients : ndarray (n, m) or None
    """

    directory: Path
    report: dict
    names: tuple[str, ...]
    probabilities: np.ndarray
    positions: np.ndarray
    allocation: np.ndarray
    share: np.ndarray
    indemnity: np.ndarray
    receipt: np.ndarray
    state_names: tuple[str, ...] | None
    supergradients: np.ndarray | None

    def agent_values(self, key: str) -> np.ndarray:
        """A per-agent number of report.json as an (n,) array (``None`` -> NaN)."""
        return np.array([np.nan if a.get(key) is None else float(a[key])
                         for a in self.report["agents"]])


def read_run(directory) -> RunFiles:
    """Read a run directory.

    Raises
    ------
    RunDirectoryError
        A file is missing or not in the format riskshare writes.
    """
    d = Path(directory)
    if not d.is_dir():
        raise RunDirectoryError("DIR", str(d), "a directory written by `riskshare run`",
                                "give the --out directory of a finished run")
    report = _read_report(d)
    names = tuple(report["pool"]["agents"])
    m = int(report["pool"]["m"])
    cols = _read_allocation(d / "allocation.csv", names, m)
    Q = _read_matrix(d / report["files"]["supergradients"], names, m) \
        if report.get("files", {}).get("supergradients") else None
    return RunFiles(directory=d, report=report, names=names, supergradients=Q, **cols)


def _read_report(d: Path) -> dict:
    path = d / "report.json"
    if not path.is_file():
        raise RunDirectoryError("report.json", str(path), "the run's report.json",
                                "give the --out directory of a finished `riskshare run`")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirectoryError("report.json", type(exc).__name__, "valid JSON",
                                "the file is damaged; run again") from exc
    if not isinstance(report, dict) or report.get("format") != "riskshare-run":
        raise RunDirectoryError("report.json.format", report.get("format")
                                if isinstance(report, dict) else type(report).__name__,
                                "'riskshare-run'", "give a directory written by `riskshare run`")
    return report


def _float(text: str, path: Path, line: int, column: str) -> float:
    try:
        return float(text) if text != "" else math.nan
    except ValueError:
        raise RunDirectoryError(f"{path.name}:{line}.{column}", text, "a number",
                                "the file was altered; run again") from None


def _read_allocation(path: Path, names: tuple[str, ...], m: int) -> dict:
    if not path.is_file():
        raise RunDirectoryError("allocation.csv", str(path), "the run's allocation.csv",
                                "run again: the file is missing")
    n = len(names)
    index = {s: i for i, s in enumerate(names)}
    cols = {k: np.full((n, m), np.nan) for k in
            ("position", "share", "allocation", "indemnity", "receipt")}
    P = np.full(m, np.nan)
    seen = np.zeros((n, m), dtype=bool)
    state_names: list[str] = [""] * m
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(cols) | {"scenario", "agent", "probability"}
        missing -= set(reader.fieldnames or ())
        if missing:
            raise RunDirectoryError("allocation.csv", sorted(missing), "all columns present",
                                    "the file was altered; run again")
        for line, row in enumerate(reader, start=2):
            w, i = _row_key(row, index, m, path, line)
            if seen[i, w]:
                raise RunDirectoryError(f"allocation.csv:{line}", (w, names[i]),
                                        "one row per scenario and agent", "remove the duplicate")
            seen[i, w] = True
            P[w] = _float(row["probability"], path, line, "probability")
            for k in cols:
                cols[k][i, w] = _float(row[k], path, line, k)
            state_names[w] = row.get("scenario_name") or ""
    if not seen.all():
        i, w = np.argwhere(~seen)[0]
        raise RunDirectoryError("allocation.csv", f"no row for scenario {w}, {names[i]}",
                                "one row per scenario and agent", "run again")
    return {"probabilities": P, "positions": cols["position"], "share": cols["share"],
            "allocation": cols["allocation"], "indemnity": cols["indemnity"],
            "receipt": cols["receipt"],
            "state_names": tuple(state_names) if any(state_names) else None}


def _row_key(row: dict, index: dict, m: int, path: Path, line: int) -> tuple[int, int]:
    try:
        w = int(row["scenario"])
    except (TypeError, ValueError):
        w = -1
    if not 0 <= w < m or row["agent"] not in index:
        raise RunDirectoryError(f"allocation.csv:{line}", (row["scenario"], row["agent"]),
                                f"scenario 0..{m - 1} and an agent of report.json",
                                "the file was altered; run again")
    return w, index[row["agent"]]


def _read_matrix(path: Path, names: tuple[str, ...], m: int) -> np.ndarray:
    if not path.is_file():
        raise RunDirectoryError(path.name, str(path), "the certificate file named in report.json",
                                "run again: the file is missing")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if header[1: 1 + len(names)] != list(names):
            raise RunDirectoryError(path.name, header[:4], "scenario and one column per agent",
                                    "the file was altered; run again")
        A = np.full((len(names), m), np.nan)
        for line, row in enumerate(reader, start=2):
            w = int(row[0])
            A[:, w] = [_float(x, path, line, "value") for x in row[1: 1 + len(names)]]
    return A


# --------------------------------------------------------------------------- verifying


def verify_run(directory, draws: int = MU_DRAWS) -> Verification:
    """Re-check a run directory; see the module docstring for what is recomputed.

    Raises
    ------
    RunDirectoryError
        The directory cannot be read (missing or damaged files).
    RiskshareInputError
        The spec copy no longer loads.
    """
    from .io import load_spec

    run = read_run(directory)
    spec = load_spec(run.directory / run.report["files"]["spec"])
    ctx = _Context(run, spec)
    checks = [
        _check_files_present(ctx),
        _check_input_digests(ctx),
        _check_inputs(ctx),
        _check_columns(ctx),
        _check_sums(ctx),
        _check_menu(ctx),
        _check_values(ctx, "standalone", "standalone", ctx.U_X, "U_i(X_i)"),
        _check_values(ctx, "at-efficient", "at_efficient", ctx.U_Y, "U_i(Y*_i)"),
        _check_gain(ctx),
        _check_descriptions(ctx),
        _check_welfare(ctx),
        *_check_certificate(ctx),
        *_check_efficient_summary(ctx),
        _check_mu_integrals(ctx, draws),
        *_check_schedules(ctx, draws),
        _check_surplus(ctx),
        _check_surplus_stderr(ctx),
        *_check_payoffs(ctx, draws),
        _check_payoff_stderr(ctx),
        _check_cash(ctx),
        _check_cash_sum(ctx),
        *_check_collateral(ctx),
        *_check_auction(ctx),
        *_check_priors(ctx),
        *_check_settlements(ctx),
        _check_report_md(ctx),
    ]
    checks = [c for c in checks if c is not None]
    checks.append(_check_reported(ctx, {c.name for c in checks}))
    return Verification(str(run.directory), tuple(checks))


class _Context:
    """Shared recomputations: values of every agent, tolerances."""

    def __init__(self, run: RunFiles, spec):
        self.run, self.spec = run, spec
        self.report = run.report
        self.n, self.m = run.positions.shape
        self.X = run.positions
        self.Y = run.allocation
        self.P = run.probabilities
        self.aggregate = self.X.sum(axis=0)
        self.scale = max(1.0, float(np.max(np.abs(self.X))),
                         float(np.max(np.abs(self.aggregate))))
        self.tol = AMOUNT_RTOL * self.scale * max(1, self.n)
        self.utilities = spec.utilities
        self.U_X = np.array([float(u.value(x)) for u, x in zip(spec.utilities, self.X,
                                                                strict=True)])
        self.U_Y = np.array([float(u.value(y)) for u, y in zip(spec.utilities, self.Y,
                                                                strict=True)])
        self.W = float(self.U_Y.sum())
        self.I = _numbers(a["mu_integral"]["value"] for a in self.report["agents"])
        self.I_se = _numbers(a["mu_integral"]["stderr"] for a in self.report["agents"])
        self.S = float(self.report["surplus"]["value"])
        self.cash = run.agent_values("cash")


def _numbers(values) -> np.ndarray:
    """Numbers of report.json as a float array (``null`` -> NaN)."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _check_inputs(ctx: _Context) -> VerifyCheck:
    pool = ctx.spec.pool
    if tuple(pool.names) != ctx.run.names or pool.positions.shape != ctx.X.shape:
        return VerifyCheck("inputs-match-spec", False, math.inf, 0.0,
                           "agents or shape of the spec copy differ from allocation.csv")
    dx = float(np.max(np.abs(pool.positions - ctx.X)))
    dp = float(np.max(np.abs(pool.probabilities - ctx.P)))
    return _check("inputs-match-spec", max(dx / ctx.scale, dp), 1e-12,
                  "positions and probabilities of allocation.csv equal the spec copy's")


def _check_columns(ctx: _Context) -> VerifyCheck:
    run = ctx.run
    d_ind = np.max(np.abs(run.indemnity - (ctx.Y - ctx.X)))
    d_rec = np.max(np.abs(run.receipt - (ctx.Y - ctx.X + ctx.cash[:, None])))
    nz = ctx.aggregate != 0
    share = ctx.Y[:, nz] / ctx.aggregate[nz]
    d_share = np.max(np.abs(run.share[:, nz] - share), initial=0.0) * ctx.scale
    blank = np.all(np.isnan(run.share[:, ~nz]))
    value = max(d_ind, d_rec, d_share) if blank else math.inf
    return _check("allocation-columns", value, ctx.tol,
                  "indemnity = Y* - X, receipt = indemnity + cash, share = Y*/X")


def _check_sums(ctx: _Context) -> VerifyCheck:
    d = float(np.max(np.abs(ctx.Y.sum(axis=0) - ctx.aggregate)))
    p = abs(float(ctx.P.sum()) - 1.0) * ctx.scale
    return _check("allocation-sums-to-aggregate", max(d, p), ctx.tol,
                  "Σ_i Y*_i(ω) = X(ω) in every scenario; probabilities sum to 1")


def _check_menu(ctx: _Context) -> VerifyCheck:
    kind = ctx.spec.menu.kind
    if kind == "sign":
        value = _sign_violation(ctx.Y, ctx.aggregate)
    elif kind == "comonotone":
        value = _comonotone_violation(ctx.Y, ctx.aggregate)
    else:
        items = np.asarray(ctx.spec.menu.items)
        value = float(np.min(np.max(np.abs(items - ctx.Y), axis=(1, 2))))
    return _check("allocation-in-menu", value, ctx.tol, f"{kind} menu, own membership test")


def _sign_violation(Y: np.ndarray, X: np.ndarray) -> float:
    lo = np.minimum(0.0, X)
    hi = np.maximum(0.0, X)
    below = np.max(lo - Y, initial=0.0)
    above = np.max(Y - hi, initial=0.0)
    return float(max(below, above, 0.0))


def _levels(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Sorted distinct values of X and 0, each state's index into them, index of 0."""
    values = np.unique(np.concatenate([X, [0.0]]))
    return values, np.searchsorted(values, X), int(np.searchsorted(values, 0.0))


def _comonotone_violation(Y: np.ndarray, X: np.ndarray) -> float:
    values, where, zero = _levels(X)
    worst = 0.0
    f = np.zeros((Y.shape[0], values.size))
    for k in range(values.size):
        states = np.flatnonzero(where == k)
        if k == zero:
            worst = max(worst, float(np.max(np.abs(Y[:, states]), initial=0.0)))
            continue
        if states.size:
            block = Y[:, states]
            worst = max(worst, float(np.max(block.max(axis=1) - block.min(axis=1))))
            f[:, k] = block[:, 0]
    known = np.zeros(values.size, dtype=bool)
    known[np.unique(where)] = True
    known[zero] = True
    g = f[:, known]
    worst = max(worst, float(np.max(-np.diff(g, axis=1), initial=0.0)))
    return worst


def _check_values(ctx: _Context, name: str, key: str, recomputed: np.ndarray,
                  what: str) -> VerifyCheck:
    """The per-agent field ``key`` of report.json against its recomputation."""
    reported = ctx.run.agent_values(key)
    d = float(np.max(np.abs(reported - recomputed)))
    return _check(name, d, ctx.tol,
                  f"{what} (report.json agents[].{key}) recomputed from the spec copy's "
                  "utilities")


def _check_welfare(ctx: _Context) -> VerifyCheck:
    d = abs(float(ctx.report["efficient"]["welfare"]) - ctx.W)
    return _check("welfare", d, ctx.tol, "W = Σ_i U_i(Y*_i)")


# ----------------------------------------------------------------------- certificate


def _check_certificate(ctx: _Context) -> list[VerifyCheck]:
    Q = ctx.run.supergradients
    eff = ctx.report["efficient"]
    if ctx.spec.menu.kind == "finite":
        return [_finite_optimality(ctx)]
    if Q is None:
        return [VerifyCheck("efficiency-certificate", False, math.inf, 0.0,
                            "report.json names no supergradients file")]
    simplex = max(float(np.max(-Q, initial=0.0)), float(np.max(np.abs(Q.sum(axis=1) - 1))))
    penalties = np.array([float(u.penalty(q, y)) for u, q, y in
                          zip(ctx.utilities, Q, ctx.Y, strict=True)])
    bound = float(penalties.sum()) + _menu_max(ctx.spec.menu.kind, Q, ctx.aggregate)
    gap = bound - ctx.W
    gap_tol = _gap_tolerance(eff, ctx)
    return [
        _check("certificate-priors", simplex, 1e-9,
               "each supergradient Q_i is a probability vector"),
        _check("certificate-penalties-finite", 0.0 if np.all(np.isfinite(penalties))
               else math.inf, 0.0, "each Q_i lies in the domain of the agent's penalty"),
        _check("efficiency-certificate", gap, gap_tol,
               f"weak-duality bound Σα_i(Q_i) + max_Z Σ<Q_i,Z_i> = {bound:.12g} "
               f"minus W = {ctx.W:.12g}"),
        _check("certificate-bound-reported", abs(bound - float(eff["upper_bound"])),
               max(gap_tol, ctx.tol), "reported upper bound equals the recomputed one"),
        _check("certificate-bound-valid", max(0.0, ctx.W - bound), ctx.tol,
               "the bound is not below the welfare it certifies"),
    ]


def _gap_tolerance(eff: dict, ctx: _Context) -> float:
    """``GAP_RTOL`` (or a looser tolerance the run declares) times the problem's money scale."""
    declared = eff.get("tolerance")
    base = max(GAP_RTOL, float(declared) if isinstance(declared, (int, float)) else 0.0)
    priors = [ctx.P] + [np.asarray(u.prior_vector(), dtype=float) for u in ctx.utilities]
    scale = max(float(q @ np.abs(ctx.aggregate)) for q in priors)
    return base * max(1.0, abs(ctx.W), scale) + ctx.tol


def _menu_max(kind: str, Q: np.ndarray, X: np.ndarray) -> float:
    """``max_{Z in menu} Σ_i <Q_i, Z_i>``: the best agent takes each whole block."""
    if kind == "sign":
        return float(np.sum(np.max(Q * X, axis=0)))
    values, where, zero = _levels(X)
    mass = np.zeros((Q.shape[0], values.size))
    np.add.at(mass.T, where, Q.T)
    below = np.cumsum(mass, axis=1)                      # Q_i(X <= values[k])
    above = np.cumsum(mass[:, ::-1], axis=1)[:, ::-1]    # Q_i(X >= values[k])
    width = np.diff(values)
    total = 0.0
    for k in range(values.size - 1):
        if k < zero:   # loss layer [values[k], values[k+1]] paid where X <= values[k]
            total += float(np.max(-width[k] * below[:, k]))
        else:          # gain layer paid where X >= values[k+1]
            total += float(np.max(width[k] * above[:, k + 1]))
    return total


def _finite_optimality(ctx: _Context) -> VerifyCheck:
    items = np.asarray(ctx.spec.menu.items)
    W = sum(np.asarray(u.value(items[:, i, :])) for i, u in enumerate(ctx.utilities))
    best = float(np.max(W))
    return _check("efficiency-certificate", best - ctx.W, ctx.tol,
                  f"finite menu: the chosen item's welfare against all {items.shape[0]} items")


# -------------------------------------------------------------------------- integrals


def _check_mu_integrals(ctx: _Context, draws: int) -> VerifyCheck:
    settings = ctx.spec.settings
    if ctx.spec.menu.kind == "finite":
        return _finite_mu(ctx, settings)
    rng = np.random.default_rng(int(settings.seed) + 7919)
    conc, blocks = _block_concentration(ctx, settings)
    worst, detail = 0.0, []
    for i, u in enumerate(ctx.utilities):
        est, se = _mc_integral(u, i, conc, blocks, ctx.aggregate, rng, draws)
        z = abs(est - ctx.I[i]) / max(math.hypot(se, ctx.I_se[i]), ctx.tol)
        worst = max(worst, z)
        detail.append(f"{ctx.run.names[i]}: {est:.6g}±{se:.2g}")
    return _check("mu-integrals", worst, SIGMAS,
                  f"independent Monte Carlo, {draws} draws per agent, in standard errors; "
                  + "; ".join(detail))


def _finite_mu(ctx: _Context, settings) -> VerifyCheck:
    items = np.asarray(ctx.spec.menu.items)
    k = items.shape[0]
    w = np.full(k, 1.0 / k) if settings.mu_weights is None else np.asarray(settings.mu_weights)
    w = w / w.sum()
    exact = np.array([float(w @ np.asarray(u.value(items[:, i, :])))
                      for i, u in enumerate(ctx.utilities)])
    d = float(np.max(np.abs(exact - ctx.I) - SIGMAS * ctx.I_se))
    return _check("mu-integrals", max(d, 0.0), ctx.tol, "finite menu: exact weighted sums")


def _block_concentration(ctx: _Context, settings) -> tuple[np.ndarray, dict]:
    """Dirichlet parameters (n, B) of μ per block, and the block layout."""
    X = ctx.aggregate
    if ctx.spec.menu.kind == "sign":
        states = np.flatnonzero(X != 0)
        blocks = {"kind": "sign", "states": states}
        centre = _centre(settings, ctx, states)
    else:
        values, where, zero = _levels(X)
        blocks = {"kind": "comonotone", "values": values, "where": where, "zero": zero}
        B = values.size - 1
        centre = _centre(settings, ctx, None, B)
    return 1.0 + float(settings.mu_kappa) * centre, blocks


def _centre(settings, ctx: _Context, states, B: int | None = None) -> np.ndarray:
    """Centre shares (n, B) of μ: given shares, equal shares, or the status quo.

    The status quo ``X_i(ω)/X(ω)`` is used on the sign menu when every one of
    these shares lies in [0, 1]; otherwise, and on layers, equal shares.
    """
    n = ctx.n
    size = states.size if states is not None else B
    c = settings.mu_centre
    equal = np.full((n, size), 1.0 / n)
    if float(settings.mu_kappa) == 0.0:
        return np.zeros((n, size))
    if not isinstance(c, str):
        c = np.asarray(c, dtype=float)
        return c / c.sum(axis=0) if c.ndim == 2 else np.repeat((c / c.sum())[:, None], size, 1)
    if c == "equal" or states is None:
        return equal
    sq = ctx.X[:, states] / ctx.aggregate[states]
    if sq.size and (sq.min() < -1e-12 or sq.max() > 1 + 1e-12):
        return equal
    return np.clip(sq, 0.0, 1.0)


def _mc_integral(u, i: int, conc: np.ndarray, blocks: dict, X: np.ndarray,
                 rng: np.random.Generator, draws: int) -> tuple[float, float]:
    a = conc[i]
    b = conc.sum(axis=0) - a
    total, total_sq, done = 0.0, 0.0, 0
    while done < draws:
        k = min(_CHUNK, draws - done)
        s = rng.beta(a, b, size=(k, a.size))
        vals = np.asarray(u.value(_own_allocation(s, blocks, X)), dtype=float)
        total += float(vals.sum())
        total_sq += float((vals ** 2).sum())
        done += k
    mean = total / draws
    var = max(total_sq / draws - mean ** 2, 0.0) * draws / max(draws - 1, 1)
    return mean, math.sqrt(var / draws)


def _own_allocation(s: np.ndarray, blocks: dict, X: np.ndarray) -> np.ndarray:
    """One agent's payoffs (k, m) from its shares of each block (k, B)."""
    Y = np.zeros((s.shape[0], X.size))
    if blocks["kind"] == "sign":
        Y[:, blocks["states"]] = s * X[blocks["states"]]
        return Y
    values, where, zero = blocks["values"], blocks["where"], blocks["zero"]
    width = np.diff(values)
    paid = s * width                                  # (k, B): layer k spans values[k..k+1]
    f = np.zeros((s.shape[0], values.size))
    if zero > 0:                                      # loss side: f(v_k) = -Σ_{l>=k, l<zero}
        f[:, :zero] = -np.cumsum(paid[:, :zero][:, ::-1], axis=1)[:, ::-1]
    if zero < values.size - 1:                        # gain side
        f[:, zero + 1:] = np.cumsum(paid[:, zero:], axis=1)
    return f[:, where]


# -------------------------------------------------------------------------- schedules


def _check_schedules(ctx: _Context, draws: int) -> list[VerifyCheck]:
    """Re-evaluate every posted schedule from its JSON with this module's own code.

    ``p(Y) = c + Σ_j a_j U_j(Y_j) + Σ_l b_l d(Y, Z_l) [+ item price]`` on allocations
    drawn from μ by this module's own joint sampler (or every item of a finite menu).
    """
    paths = ctx.report.get("files", {}).get("schedules") or []
    files = [_inside(ctx.run.directory, p) for p in paths]
    if not paths or any(f is None or not f.is_file() for f in files):
        return []       # no schedules, or one missing (files-present names it)
    bodies = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    Y, weights = _joint_sample(ctx, min(int(draws), 512))
    U = np.stack([np.asarray(u.value(Y[:, j, :]), dtype=float)
                  for j, u in enumerate(ctx.utilities)], axis=1)
    prices = np.array([_price(b, Y, U, ctx) for b in bodies])
    order = [ctx.run.names.index(s) for s in ctx.report["order"]]
    eps = float(ctx.report["settings"].get("epsilon", 0.0))
    return [
        *_schedule_lipschitz(ctx, bodies),
        *_schedule_normalised(ctx, bodies, prices, weights),
        _chooser(ctx, bodies, prices, U, order, eps),
        _stage_payments(ctx, bodies, order),
    ]


def _joint_sample(ctx: _Context, k: int,
                  rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Allocations (k, n, m) drawn from μ jointly (from ``rng``, by default a stream of
    the run's seed), or all items with their weights."""
    if ctx.spec.menu.kind == "finite":
        items = np.asarray(ctx.spec.menu.items, dtype=float)
        w = ctx.spec.settings.mu_weights
        w = np.full(items.shape[0], 1.0 / items.shape[0]) if w is None else np.asarray(w)
        return items, w / w.sum()
    if rng is None:
        rng = np.random.default_rng(int(ctx.spec.settings.seed) + 104729)
    conc, blocks = _block_concentration(ctx, ctx.spec.settings)
    G = rng.gamma(conc[None, :, :], size=(k, *conc.shape))
    S = G / np.where(G.sum(axis=1, keepdims=True) > 0, G.sum(axis=1, keepdims=True), 1.0)
    Y = np.stack([_own_allocation(S[:, i, :], blocks, ctx.aggregate)
                  for i in range(ctx.n)], axis=1)
    return Y, None


def _price(body: dict, Y: np.ndarray, U: np.ndarray, ctx: _Context,
           items=None) -> np.ndarray:
    """``p`` at each allocation of ``Y`` (k, n, m), with ``U`` (k, n) the agents' values.

    ``items`` (k,) are the menu items the allocations are (finite menus: for the
    price per item); default all items in order.
    """
    p = np.full(Y.shape[0], float(body["constant"]))
    for t in body.get("utility_terms") or ():
        p = p + float(t["coefficient"]) * U[:, int(t["agent"])]
    for t in body.get("distance_terms") or ():
        p = p + float(t["coefficient"]) * _distance(Y, np.asarray(t["anchor"]), body["metric"],
                                                    ctx.P)
    if body.get("item_prices") is not None:
        prices = np.asarray(body["item_prices"], dtype=float)
        p = p + (prices if items is None else prices[np.asarray(items)])
    return p


def _chosen_item(ctx: _Context) -> list[int] | None:
    """Index of the item Y* is, on a finite menu (else None)."""
    if ctx.spec.menu.kind != "finite":
        return None
    items = np.asarray(ctx.spec.menu.items, dtype=float)
    return [int(np.argmin(np.max(np.abs(items - ctx.Y), axis=(1, 2))))]


def _distance(Y: np.ndarray, Z: np.ndarray, metric: str, P: np.ndarray) -> np.ndarray:
    diff = np.abs(Y - Z)
    if metric == "sup":
        return diff.max(axis=-1).sum(axis=-1)
    return (diff @ P).sum(axis=-1)


def _schedule_lipschitz(ctx: _Context, bodies: list[dict]) -> list[VerifyCheck]:
    """``lipschitz[k]``: the Lipschitz bound of ``p_k`` from its terms against the cap."""
    cap = ctx.report.get("lipschitz_cap")
    out = []
    for k, b in enumerate(bodies, start=1):
        bound = _lipschitz_bound(ctx, b)
        if cap is None:
            out.append(_check(f"lipschitz[{k}]", 0.0, 0.0,
                              f"no cap in force (finite menu); bound of p_{k} {bound:.6g}"))
            continue
        out.append(_check(f"lipschitz[{k}]", bound, float(cap) * (1 + 1e-12),
                          f"max_j |a_j| L_j + Σ|b_l| of p_{k} (schedules/stage-{k}.json) "
                          "within the cap L"))
    return out


def _lipschitz_bound(ctx: _Context, body: dict) -> float:
    coef = np.zeros(ctx.n)
    for t in body.get("utility_terms") or ():
        coef[int(t["agent"])] += float(t["coefficient"])
    lips = [1.0 if body["metric"] == "sup" else float(u.lipschitz("l1", ctx.P))
            for u in ctx.utilities]
    bound = max((abs(a) * L for a, L in zip(coef, lips, strict=True)), default=0.0)
    return bound + sum(abs(float(t["coefficient"])) for t in body.get("distance_terms") or ())


def _schedule_normalised(ctx, bodies, prices, weights) -> list[VerifyCheck]:
    """``normalisation[k]``: ``|∫ p_k dμ|`` (money) within its allowance."""
    out = []
    for k, (b, p) in enumerate(zip(bodies, prices, strict=True), start=1):
        if weights is not None:
            mean, se = float(weights @ p), 0.0
        else:
            mean, se = float(p.mean()), float(p.std(ddof=1) / math.sqrt(p.size))
        allowed = SIGMAS * math.hypot(se, float(b.get("constant_stderr") or 0.0)) + ctx.tol
        out.append(_check(f"normalisation[{k}]", abs(mean), allowed,
                          f"|∫ p_{k} dμ| on verify's own sample of μ ({SIGMAS:g} combined "
                          "standard errors of the sample and of the schedule's constant)"))
    return out


def _chooser(ctx, bodies, prices, U, order, eps: float) -> VerifyCheck:
    chooser = order[-1]
    payoff = U[:, chooser] - prices[-1]
    if eps == 0.0:
        spread = float(payoff.max() - payoff.min())
        return _check("chooser-indifference", spread, ctx.tol,
                      f"U_chooser - p_{len(bodies)} is constant over {payoff.size} draws")
    Ystar = ctx.Y[None, :, :]
    U_star = ctx.U_Y[None, :]
    at_star = float(ctx.U_Y[chooser]
                    - _price(bodies[-1], Ystar, U_star, ctx, _chosen_item(ctx))[0])
    return _check("choice", float(payoff.max()) - at_star, ctx.tol,
                  "with ε > 0 no drawn allocation beats Y* for the chooser")


def _stage_payments(ctx, bodies, order) -> VerifyCheck:
    """Stage payoffs from the posted schedules at Y*, in multiples of their allowance."""
    Ystar = ctx.Y[None, :, :]
    U_star = ctx.U_Y[None, :]
    chosen = _chosen_item(ctx)
    p = [0.0] + [float(_price(b, Ystar, U_star, ctx, chosen)[0]) for b in bodies] + [0.0]
    se = [0.0] + [float(b.get("constant_stderr") or 0.0) for b in bodies] + [0.0]
    stage = ctx.run.agent_values("stage_payoff")
    worst = 0.0
    for k, agent in enumerate(order, start=1):
        expect = ctx.U_Y[agent] + p[k] - p[k - 1]
        allowed = ctx.tol + SIGMAS * (se[k] + se[k - 1])
        worst = max(worst, abs(stage[agent] - expect) / allowed)
    return _check("stage-payments", worst, 1.0,
                  "stage payoff = U_k(Y*_k) + p_k(Y*) - p_{k-1}(Y*) from the posted schedules "
                  "(in units of the allowance)")


# -------------------------------------------------------------------------- identities


def _check_surplus(ctx: _Context) -> VerifyCheck:
    d = abs(ctx.S - (ctx.W - float(ctx.I.sum())))
    return _check("surplus", d, ctx.tol, "S = W - Σ_i ∫U_i dμ")


def _check_payoffs(ctx: _Context, draws: int) -> list[VerifyCheck]:
    """Spec §7 and §9 payoffs. With ε > 0 the first mover gives up, and the chooser
    receives, ``ε ∫ d(·, Y*) dμ`` (the perturbation's term), estimated here on this
    module's own sample of μ (exact on a finite menu); the tolerance adds
    ``SIGMAS`` standard errors of that estimate times ε."""
    payoff = ctx.run.agent_values("payoff")
    stage = ctx.run.agent_values("stage_payoff")
    order = [ctx.run.names.index(s) for s in ctx.report["order"]]
    first, chooser = order[0], order[-1]
    eps = float(ctx.report["settings"].get("epsilon", 0.0))
    shift, allowed = 0.0, ctx.tol
    if eps:
        d, se = _mean_distance_to_star(ctx, draws)
        shift, allowed = eps * d, ctx.tol + SIGMAS * eps * se
    expect_stage = ctx.I.copy()
    expect_stage[first] = ctx.W - float(ctx.I[order[1:]].sum())
    expect_stage[first] -= shift
    expect_stage[chooser] += shift
    term = " (ε ∫d(·,Y*)dμ moved from the first mover to the chooser)" if eps else ""
    checks = [_check("payoffs-spec7", float(np.max(np.abs(stage - expect_stage))), allowed,
                     "first mover W - Σ_{k>=2} ∫U_k dμ, every later player ∫U_k dμ" + term)]
    if ctx.report.get("auction"):
        expect = ctx.I + ctx.S / ctx.n
        expect[first] -= shift
        expect[chooser] += shift
        checks.append(_check("payoffs-spec9", float(np.max(np.abs(payoff - expect))), allowed,
                             "payoff_i = ∫U_i dμ + S/n" + term))
    else:
        checks.append(_check("payoffs-fixed-order", float(np.max(np.abs(payoff - stage))),
                             ctx.tol, "fixed order: payoff = stage payoff"))
    return checks


def _mean_distance_to_star(ctx: _Context, draws: int) -> tuple[float, float]:
    """``∫ d(·, Y*) dμ`` and its standard error: the run's metric on a convex menu
    (16,384 joint draws at least, in chunks, from a stream of its own), the discrete
    distance (1 off ``Y*``) on a finite menu (exact)."""
    if ctx.spec.menu.kind == "finite":
        Y, weights = _joint_sample(ctx, 1)
        off = (np.max(np.abs(Y - ctx.Y), axis=(1, 2)) > 0).astype(float)
        return float(weights @ off), 0.0
    metric = str(ctx.report["settings"].get("metric", "sup"))
    rng = np.random.default_rng(int(ctx.spec.settings.seed) + 15485863)
    total, total_sq, done, want = 0.0, 0.0, 0, max(int(draws), 16384)
    while done < want:
        k = min(_CHUNK, want - done)
        d = _distance(_joint_sample(ctx, k, rng)[0], ctx.Y, metric, ctx.P)
        total, total_sq, done = total + float(d.sum()), total_sq + float(d @ d), done + k
    mean = total / done
    var = max(total_sq / done - mean ** 2, 0.0) * done / max(done - 1, 1)
    return mean, math.sqrt(var / done)


def _check_cash(ctx: _Context) -> VerifyCheck:
    payoff = ctx.run.agent_values("payoff")
    d = float(np.max(np.abs(ctx.cash - (payoff - ctx.U_Y))))
    return _check("cash", d, ctx.tol, "t_i = payoff_i - U_i(Y*_i)")


def _check_cash_sum(ctx: _Context) -> VerifyCheck:
    return _check("cash-balance", abs(float(ctx.cash.sum())), ctx.tol, "Σ_i t_i = 0")


def _check_collateral(ctx: _Context) -> list[VerifyCheck]:
    """Collateral covers the most each member can owe, rounded up by less than one unit.

    A missing (NaN) collateral fails both checks.
    """
    unit = float(ctx.report["settings"]["settlement_unit"])
    receipts = ctx.Y - ctx.X + ctx.cash[:, None]
    need = np.maximum(0.0, np.max(-receipts, axis=1))
    reported = ctx.run.agent_values("collateral")
    short = float(np.max(np.maximum(need - reported, 0.0)))
    over = float(np.max(np.maximum(reported - need, 0.0)))
    return [
        _check("collateral-covers", short, ctx.tol, "collateral_i >= max(0, max_ω -r_i(ω))"),
        _check("collateral-rounding", over, unit + ctx.tol,
               f"collateral exceeds the most owed by less than one settlement unit ({unit:g})"),
    ]


def _check_auction(ctx: _Context) -> list[VerifyCheck]:
    auction = ctx.report.get("auction")
    if not auction:
        return []
    n = ctx.n
    bids = np.array([auction["bids"][s] for s in ctx.run.names], dtype=float)
    expect = ctx.S * (n - 1) / n
    winner = auction["winner"]
    top = float(bids.max())
    rules = max(abs(top - bids[ctx.run.names.index(winner)]),
                abs(float(auction["payment"]) - top),
                abs(float(auction["rebate_each"]) - top / (n - 1)),
                0.0 if ctx.report["order"][0] == winner else math.inf)
    return [
        _check("bids", float(np.max(np.abs(bids - expect))), ctx.tol, "b_i = S(n-1)/n"),
        _check("auction-rules", rules, ctx.tol,
               "highest bid wins, pays its bid, rebate = bid/(n-1), winner moves first"),
        _tie_break(auction),
    ]


def _tie_break(auction: dict) -> VerifyCheck:
    from .auction import verify_tie_break

    record = auction.get("tie_break")
    try:
        index = verify_tie_break(record)
    except (ValueError, TypeError, KeyError) as exc:
        return VerifyCheck("tie-break", False, math.inf, 0.0, f"record does not replay: {exc}")
    winner_ok = auction["tied"][index] == auction["winner"]
    return _check("tie-break", 0.0 if winner_ok else math.inf, 0.0,
                  f"commit-reveal draw replays to index {index} of {len(auction['tied'])} tied")


def _check_priors(ctx: _Context) -> list[VerifyCheck]:
    out = []
    for i, a in enumerate(ctx.report["agents"]):
        rel = a.get("worst_case_prior")
        if not rel:
            continue
        Q = _read_prior(ctx.run.directory / rel, ctx.m)
        bad = max(float(np.max(-Q, initial=0.0)), abs(float(Q.sum()) - 1.0))
        fresh = np.asarray(ctx.utilities[i].worst_case_prior(ctx.Y[i]), dtype=float)
        bad = max(bad, float(np.max(np.abs(fresh - Q))))
        bad = bad if np.all(np.isfinite(Q)) else math.inf
        out.append(_check(f"worst-case-prior[{a['name']}]", bad, 1e-9,
                          f"{rel}: a probability vector, equal to the prior the utility "
                          "picks at Y*_i"))
    return out


def _read_prior(path: Path, m: int) -> np.ndarray:
    if not path.is_file():
        return np.full(m, np.nan)
    Q = np.full(m, np.nan)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            Q[int(row["scenario"])] = float(row["worst_case_prior"])
    return Q


def _check_settlements(ctx: _Context) -> list[VerifyCheck]:
    folder = ctx.run.directory / "settlements"
    records = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not records:
        return []
    from .settlement import SettlementRecord, replay, settlement_plan

    plan = settlement_plan(ctx.X, ctx.Y, ctx.cash, ctx.run.names,
                           unit=float(ctx.report["settings"]["settlement_unit"]),
                           money=ctx.report["money"]["unit"], state_names=ctx.run.state_names)
    out = []
    for path in records:
        try:
            record = replay(SettlementRecord.from_json(path.read_text(encoding="utf-8")), plan)
            total = abs(sum(record.payments_units))
            owed = max(-p - c for p, c in zip(record.payments_units, record.collateral_units,
                                              strict=True))
            out.append(_check(f"settlement[{path.name}]", max(total, owed, 0), 0.0,
                              "replays; payments sum to zero cents; none above collateral"))
        except ValueError as exc:
            out.append(VerifyCheck(f"settlement[{path.name}]", False, math.inf, 0.0, str(exc)))
    return out


def _within(value, tolerance) -> bool:
    """``value <= tolerance``; a ``null`` tolerance is an infinite one (JSON has no inf)."""
    if value is None:
        return False
    return tolerance is None or float(value) <= float(tolerance)


def _check_reported(ctx: _Context, recomputed: set[str]) -> VerifyCheck:
    """Every check of report.json passed, ``all_checks_passed`` says so, and there are
    checks at all (every run has them); ``recomputed`` are the names verify checked anew."""
    reported = ctx.report.get("checks")
    if not isinstance(reported, dict) or not reported:
        return VerifyCheck("reported-checks-passed", False, math.inf, 0.0,
                           "report.json lists no checks (every run writes its checks)")
    failed = [k for k, c in reported.items() if c.get("passed") is not True]
    wrong = [k for k, c in reported.items()
             if c.get("passed") is True and not _within(c.get("value"), c.get("tolerance"))]
    flag = ctx.report.get("all_checks_passed")
    flag_wrong = flag is not (not failed)
    again = sum(k in recomputed for k in reported)
    detail = (f"{len(reported)} checks reported, {again} of them recomputed here under the "
              "same name")
    if failed:
        detail += "; failed: " + ", ".join(failed)
    if wrong:
        detail += "; marked passed but value > tolerance: " + ", ".join(wrong)
    if flag_wrong:
        detail += (f"; all_checks_passed is {flag!r} but {len(failed)} of the "
                   f"{len(reported)} checks failed")
    return _check("reported-checks-passed", len(failed) + len(wrong) + int(flag_wrong), 0,
                  detail)


# ------------------------------------------------------------------------- bookkeeping
#
# The run's own summary numbers: checked against their definitions in the writer
# (report/_document.py, report/_markdown.py, mechanism.py), recomputed here with
# this module's own code from the numbers the other checks have already verified.

#: keys of report.json ``files`` every run has
REQUIRED_FILES = ("spec", "inputs_sha256", "allocation", "report")
#: relative tolerance of numbers recomputed by the same formula (rounding only)
FORMULA_RTOL = 1e-9


def _inside(directory: Path, rel) -> Path | None:
    """``directory / rel`` for a relative path that stays inside ``directory``, else None."""
    if not isinstance(rel, str) or not rel:
        return None
    path = Path(rel)
    if path.is_absolute() or ".." in path.parts:
        return None
    return directory / path


def listed_files(report: dict) -> list:
    """Every path that report.json ``files`` names (inputs by the keys of their digests)."""
    out = []
    for value in (report.get("files") or {}).values():
        if isinstance(value, dict):
            out += list(value)
        elif isinstance(value, list):
            out += value
        else:
            out.append(value)
    return out


def _check_files_present(ctx: _Context) -> VerifyCheck:
    files = ctx.report.get("files") or {}
    absent = [f"files.{k} not listed" for k in REQUIRED_FILES if not files.get(k)]
    d = ctx.run.directory
    missing = [str(rel) for rel in listed_files(ctx.report)
               if (path := _inside(d, rel)) is None or not path.is_file()]
    problems = absent + missing
    detail = f"every one of the {len(listed_files(ctx.report))} files report.json lists is there"
    if problems:
        detail += "; missing: " + ", ".join(problems[:5])
        detail += f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    return _check("files-present", len(problems), 0, detail)


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _check_input_digests(ctx: _Context) -> VerifyCheck:
    files = ctx.report.get("files") or {}
    digests = files.get("inputs_sha256")
    if not isinstance(digests, dict) or files.get("spec") not in digests:
        return VerifyCheck("inputs-sha256", False, math.inf, 0.0,
                           "report.json gives no SHA-256 of the spec copy (files.inputs_sha256)")
    bad = []
    for rel, want in digests.items():
        path = _inside(ctx.run.directory, rel)
        if path is None or not rel.startswith("inputs/") or not path.is_file():
            bad.append(f"{rel} (missing)")
        elif _sha256(path) != str(want).lower():
            bad.append(f"{rel} (digest differs)")
    detail = (f"SHA-256 of the {len(digests)} copied input file(s) under inputs/ recomputed "
              "and compared with files.inputs_sha256")
    return _check("inputs-sha256", len(bad), 0,
                  detail + ("; " + ", ".join(bad) if bad else ""))


def _check_gain(ctx: _Context) -> VerifyCheck:
    """``gain_from_pooling = payoff - U_i(X_i)`` (the writer's definition)."""
    gain = ctx.run.agent_values("gain_from_pooling")
    payoff = ctx.run.agent_values("payoff")
    d = float(np.max(np.abs(gain - (payoff - ctx.U_X))))
    return _check("gain-from-pooling", d, ctx.tol,
                  "gain_from_pooling_i = payoff_i - U_i(X_i), with U_i(X_i) recomputed from "
                  "the spec copy's utilities")


def _plain(obj):
    """A description as JSON reads it back: lists for sequences and arrays, plain numbers,
    ``None`` for a non-finite float (report.json is strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).hex()
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def _check_descriptions(ctx: _Context) -> VerifyCheck:
    wrong = []
    for a, u in zip(ctx.report["agents"], ctx.utilities, strict=True):
        own = _plain(u.bind(ctx.P).describe())
        if own != a.get("utility"):
            wrong.append(a["name"])
    detail = "agents[].utility equals describe() of the utility rebuilt from inputs/"
    return _check("utility-descriptions", len(wrong), 0,
                  detail + ("; differs for " + ", ".join(wrong) if wrong else ""))


def _check_efficient_summary(ctx: _Context) -> list[VerifyCheck]:
    eff = ctx.report["efficient"]
    return [_efficient_gap(ctx, eff), _efficient_relative_gap(ctx, eff),
            _efficient_certified(eff), _efficient_uniqueness(ctx, eff)]


def _efficient_gap(ctx: _Context, eff: dict) -> VerifyCheck:
    numbers = [eff.get(k) for k in ("gap", "upper_bound", "welfare")]
    if any(not isinstance(x, (int, float)) for x in numbers):
        return VerifyCheck("efficient-gap", False, math.inf, 0.0,
                           "efficient.gap, upper_bound or welfare is missing")
    gap, upper, welfare = (float(x) for x in numbers)
    allowed = 1e-12 * max(1.0, abs(upper), abs(welfare))
    return _check("efficient-gap", abs(gap - (upper - welfare)), allowed,
                  "efficient.gap = upper_bound - welfare (rounding only)")


def _welfare_scale(ctx: _Context) -> float:
    """``max_i w_i E_Pbar|X|`` with unit weights; finite menus ``max_k Σ_i E_{P_i}|Z_i|``
    (docs/efficiency.md, "Relative gap and scale")."""
    priors = np.array([np.asarray(u.prior_vector(), dtype=float) for u in ctx.utilities])
    if ctx.spec.menu.kind == "finite":
        items = np.abs(np.asarray(ctx.spec.menu.items, dtype=float))
        return float(np.max((items * priors[None]).sum(axis=(1, 2)), initial=0.0))
    return float(priors.mean(axis=0) @ np.abs(ctx.aggregate))


def _efficient_relative_gap(ctx: _Context, eff: dict) -> VerifyCheck:
    rel, gap, welfare = eff.get("relative_gap"), eff.get("gap"), eff.get("welfare")
    name = "efficient-relative-gap"
    if rel is None:
        return VerifyCheck(name, True, 0.0, FORMULA_RTOL, "no relative gap reported")
    if not isinstance(gap, (int, float)) or not isinstance(welfare, (int, float)):
        return VerifyCheck(name, False, math.inf, FORMULA_RTOL, "efficient.gap or welfare missing")
    scale = _welfare_scale(ctx)
    denominator = max(abs(float(welfare)), scale)
    if denominator > 0:
        own = float(gap) / denominator
    else:
        own = 0.0 if gap <= 0 else math.inf
    rel = float(rel)
    value = 0.0 if rel == own else abs(rel - own) / max(abs(own), 1e-300)
    return _check(name, value, FORMULA_RTOL,
                  f"relative_gap = gap / max(|welfare|, scale), scale = {scale:.6g} recomputed "
                  f"(unit welfare weights): {own:.6g} against {rel:.6g} reported")


def _efficient_certified(eff: dict) -> VerifyCheck:
    certified, rel, tol = eff.get("certified"), eff.get("relative_gap"), eff.get("tolerance")
    if not isinstance(certified, bool) or not isinstance(tol, (int, float)):
        return VerifyCheck("efficient-certified", False, math.inf, 0.0,
                           "efficient.certified (true/false) or efficient.tolerance missing")
    expect = rel is not None and float(rel) <= float(tol)
    return _check("efficient-certified", 0.0 if certified == expect else math.inf, 0.0,
                  f"certified = (relative_gap <= tolerance {float(tol):g}): {certified} "
                  f"reported, {expect} expected")


def _efficient_uniqueness(ctx: _Context, eff: dict) -> VerifyCheck:
    kind, ties = eff.get("uniqueness"), eff.get("ties")
    ties = [] if ties is None else ties
    problems = []
    if kind not in ("point", "up to cash", "face"):
        problems.append(f"uniqueness {kind!r} is not point, up to cash or face")
    if not isinstance(ties, list):
        problems.append("ties is not a list")
        ties = []
    finite = ctx.spec.menu.kind == "finite"
    if kind == "point" and ties:
        problems.append("'point' with ties listed")
    if kind == "face" and not ties:
        problems.append("'face' without the ties that make it one")
    if kind == "up to cash" and ties and not finite:
        problems.append("'up to cash' on a block menu lists ties")
    for tie in ties:
        problems += (_finite_tie(ctx, eff, tie, kind) if finite else _block_tie(ctx, tie))
    detail = ("uniqueness is point, up to cash or face, consistent with efficient.ties "
              "(members of the pool; on a finite menu, tied items as good as Y*)")
    return _check("efficient-uniqueness", len(problems), 0,
                  detail + ("; " + "; ".join(problems[:3]) if problems else ""))


def _block_tie(ctx: _Context, tie) -> list[str]:
    if not isinstance(tie, dict) or not isinstance(tie.get("block"), str):
        return [f"tie {tie!r} has no block label"]
    agents = tie.get("agents")
    if not isinstance(agents, list) or len(set(map(str, agents))) < 2 \
            or any(a not in ctx.run.names for a in agents):
        return [f"tie on {tie['block']} does not name two or more members of the pool"]
    return []


def _finite_tie(ctx: _Context, eff: dict, tie, kind) -> list[str]:
    items = np.asarray(ctx.spec.menu.items, dtype=float)
    tie = tie if isinstance(tie, dict) else {}
    listed = tie.get("items")
    if tie.get("block") != "items" or not isinstance(listed, list) or len(set(listed)) < 2 \
            or any(not isinstance(k, int) or not 0 <= k < items.shape[0] for k in listed):
        return [f"tie {tie!r} does not list two or more items of the menu"]
    W = np.array([sum(float(u.value(items[k, i])) for i, u in enumerate(ctx.utilities))
                  for k in listed])
    out = []
    if np.max(np.abs(W - ctx.W)) > _gap_tolerance(eff, ctx):
        out.append("a tied item's welfare differs from W")
    if kind == "up to cash":
        diffs = items[listed] - ctx.Y[None]
        spread = float(np.max(diffs.max(axis=2) - diffs.min(axis=2)))
        if spread > 1e-9 * max(1.0, float(np.max(np.abs(items)))):
            out.append("'up to cash' but tied items differ by more than a constant per member")
    return out


def _relative_miss(reported: np.ndarray, own: np.ndarray) -> float:
    """Largest ``|reported - own| / own`` (0 where both are 0; inf for NaN or negative)."""
    if not np.all(np.isfinite(reported)) or np.any(reported < 0):
        return math.inf
    diff = np.abs(reported - own)
    rel = np.where(diff == 0, 0.0, diff / np.maximum(np.abs(own), 1e-300))
    return float(np.max(rel, initial=0.0))


def _check_surplus_stderr(ctx: _Context) -> VerifyCheck:
    """``se(S) = sqrt(Σ_i se_i²)``: S = W - Σ_i ∫U_i dμ with W certified (no error) and
    the members' integrals estimated independently (measures.combine)."""
    reported = ctx.report["surplus"].get("stderr")
    reported = np.array([np.nan if reported is None else float(reported)])
    own = np.array([math.sqrt(float(np.sum(ctx.I_se ** 2)))])
    return _check("surplus-stderr", _relative_miss(reported, own), FORMULA_RTOL,
                  f"surplus.stderr = sqrt(Σ_i se(∫U_i dμ)²) = {own[0]:.6g} recomputed from "
                  "the members' standard errors; finite and >= 0")


def _check_payoff_stderr(ctx: _Context) -> VerifyCheck:
    """Standard errors of the payoffs from those of the ∫U_i dμ.

    Auction: ``payoff_i = (1 - 1/n) ∫U_i dμ - Σ_{j≠i} ∫U_j dμ / n + W/n``, so
    ``se_i² (1 - 1/n)² + Σ_{j≠i} se_j² / n²`` exactly. Fixed order: a later
    player's ``se_i``; the first mover's ``sqrt(Σ_{k>=2} se_k²)``; with ε > 0 the
    first mover's and the chooser's also carry the error of ``ε ∫d(·,Y*)dμ``, which
    report.json does not give, so for those two only the lower bound is checked.
    """
    reported = ctx.run.agent_values("payoff_stderr")
    se, n = ctx.I_se, ctx.n
    order = [ctx.run.names.index(s) for s in ctx.report["order"]]
    eps = float(ctx.report["settings"].get("epsilon", 0.0))
    bounded = sorted({order[0], order[-1]}) if eps else []
    if ctx.report.get("auction"):
        own = np.sqrt((1 - 1 / n) ** 2 * se ** 2 + (np.sum(se ** 2) - se ** 2) / n ** 2)
        exact = [i for i in range(n) if i not in bounded]
        value = _relative_miss(reported[exact], own[exact]) if exact else 0.0
        if bounded:
            short = own[bounded] - reported[bounded]
            below = float(np.max(short / np.maximum(own[bounded], 1e-300), initial=0.0))
            value = max(value, below if np.all(np.isfinite(reported[bounded])) else math.inf)
        return _check("payoff-stderr", value, FORMULA_RTOL,
                      "payoff_stderr_i = sqrt((1-1/n)² se_i² + Σ_{j≠i} se_j²/n²), se the "
                      "standard errors of the ∫U_j dμ"
                      + ("; with ε > 0 the first mover's and the chooser's at least that "
                         "(they also carry the error of ε ∫d(·,Y*)dμ)" if bounded else "")
                      + "; finite and >= 0")
    own = se.copy()
    own[order[0]] = math.sqrt(float(np.sum(se[order[1:]] ** 2)))
    exact = [i for i in range(n) if i not in bounded]
    value = _relative_miss(reported[exact], own[exact])
    if bounded:
        short = own[bounded] - reported[bounded]
        below = float(np.max(short / np.maximum(own[bounded], 1e-300), initial=0.0))
        value = max(value, below if np.all(np.isfinite(reported[bounded])) else math.inf)
    return _check("payoff-stderr", value, FORMULA_RTOL,
                  "fixed order: se of a later player's ∫U dμ; first mover sqrt(Σ_{k>=2} se_k²)"
                  + ("; with ε > 0 the first mover's and the chooser's at least that (their "
                     "ε-term's error is not in report.json)" if bounded else "")
                  + "; finite and >= 0")


# ------------------------------------------------------------------------- report.md

#: first cells of the header of report.md's members' table
MD_TABLE_HEAD = "| member | expected own loss |"


def _money_text(x: float, digits: int) -> str:
    """An amount as report.md prints it: thousands separators, ``digits`` decimals,
    no minus sign on a zero, ``n/a`` for a missing number."""
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    text = f"{float(x):,.{digits}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    return text


def _expected_md_rows(ctx: _Context) -> list[str]:
    """The rows of the members' table (and its total) from report.json's numbers."""
    digits = 0 if float(np.max(np.abs(ctx.X), initial=0.0)) >= 1000 else 2
    own_loss = [float(ctx.P @ x) for x in ctx.X]

    def m(x):
        return _money_text(x, digits)

    rows = []
    for i, a in enumerate(ctx.report["agents"]):
        cells = [-own_loss[i], a.get("standalone"), a.get("payoff"),
                 a.get("gain_from_pooling"), a.get("cash"), a.get("collateral")]
        rows.append(f"| {a['name']} | " + " | ".join(m(x) for x in cells) + " |")
    cash = sum(float(a["cash"]) if a.get("cash") is not None else math.nan
               for a in ctx.report["agents"])
    coll = sum(float(a["collateral"]) if a.get("collateral") is not None else math.nan
               for a in ctx.report["agents"])
    rows.append(f"| **total** | | | | | {m(cash)} | {m(coll)} |")
    return rows


def _md_rows(text: str) -> list[str] | None:
    lines = text.splitlines()
    start = next((k for k, line in enumerate(lines) if line.startswith(MD_TABLE_HEAD)), None)
    if start is None:
        return None
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def _check_report_md(ctx: _Context) -> VerifyCheck:
    name = "report-md-matches"
    path = _inside(ctx.run.directory, (ctx.report.get("files") or {}).get("report"))
    if path is None or not path.is_file():
        return VerifyCheck(name, False, math.inf, 0.0, "report.md is missing")
    found = _md_rows(path.read_text(encoding="utf-8"))
    if found is None:
        return VerifyCheck(name, False, math.inf, 0.0, "report.md has no members' table")
    expected = _expected_md_rows(ctx)
    wrong = [(e, f) for e, f in zip(expected, found, strict=False) if e != f]
    missing = abs(len(expected) - len(found))
    detail = (f"the {ctx.n} members' rows and the total of report.md's table (names, expected "
              "loss, stand-alone, after pooling, gain, cash, collateral) equal report.json's "
              "numbers formatted as the writer does")
    if wrong:
        detail += f"; expected {wrong[0][0]!r}, found {wrong[0][1]!r}"
    if missing:
        detail += f"; {len(found)} rows instead of {len(expected)}"
    return _check(name, len(wrong) + missing, 0, detail)
