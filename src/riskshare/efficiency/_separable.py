r"""Sign-constrained menu, state-separable agents: one small problem per state.

Notation: states ``ω`` with aggregate ``x_ω`` (blocks are the states with
``x_ω != 0``), agents ``i`` with weights ``w_i > 0``, allocation ``y_{iω}`` between
``bot_ω = min(0, x_ω)`` and ``top_ω = max(0, x_ω)`` with ``sum_i y_{iω} = x_ω``.
Every agent handled here (see :mod:`._agents`) has the *cash form*

.. math:: U_i(Y) = \max_{c} \; c + \sum_ω ψ_{iω}(Y(ω) - c)

with ``ψ`` concave and ``ψ'`` the pricing prior: ``ψ(z) = P z`` (linear),
``ψ(z) = lo z^+ - hi z^-`` (box), ``ψ(z) = γ P (1 - e^{-z/γ})`` (entropic). So

.. math:: W^* = \max_c \; G(c), \quad G(c) = \sum_i w_i c_i
          + \sum_ω \max_{y_{.ω}} \sum_i w_i ψ_{iω}(y_{iω} - c_i),

a concave problem in the ``n`` cash levels ``c``; given ``c`` each state is a
water-filling: with the state price ``ν_ω = e^{θ_ω}`` agent ``i`` holds
``y_{iω} = clip(c_i + φ_{iω}(ν_ω / w_i))``, ``φ = (ψ')^{-1}``, and ``θ_ω`` solves
``sum_i y_{iω} = x_ω`` (monotone; solved by bracketed Newton, all states at once).
``∂G/∂c_i = w_i (1 - sum_ω Q_{iω})`` with ``Q_{iω} = ψ'(y_{iω} - c_i)``; Newton's
method in ``c`` uses the exact Hessian, a Schur complement over the states.

Box agents are not differentiable at their kink; they are smoothed with width
``τ`` (``ψ_τ(z) = lo z - (hi - lo) τ log(1 + e^{-z/τ})``, so ``Q`` stays in the
box) and ``τ`` is decreased until the smoothing error bound
``sum_i w_i sum_ω (hi - lo) |z| σ(-|z|/τ)`` is below the target. The result is
then certified by :func:`certify`, independently of this module.

When every agent is linear or a box with ``lo = 0`` (expected shortfall,
density bands from 0) and ``x <= 0``, the optimum is a greedy fill
(:func:`greedy_solve`): ``W^* = -max {sum_ω L_ω ρ_ω : 0 <= ρ <= h, sum ρ <= β}``
with ``L = -x``, ``h_ω = min_i w_i hi_{iω}`` and ``β = min_{box agents} w_i``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ._agents import AgentKind

__all__ = ["SeparableProblem", "SeparableSolution", "newton_solve", "greedy_solve",
           "greedy_applies"]

THETA_MAX = 700.0
_MAX_INNER = 120
_CHUNK_CELLS = 2 ** 20
_CACHE_CELLS = 60_000_000
_SINGLE_AGENTS = 200


def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _softplus(u):
    return np.logaddexp(0.0, u)


SMOOTHING = "softplus"


def _box_hold(q, c, lo, hi, tau):
    """Holding ``c + φ(q)`` of a smoothed box agent at price ``q`` in (lo, hi), and dy/dlog q."""
    a, b = q - lo, hi - q
    if SMOOTHING == "barrier":
        return c + tau / a - tau / b, -tau * q * (1.0 / a ** 2 + 1.0 / b ** 2)
    return c + tau * (np.log(b) - np.log(a)), -tau * q * (hi - lo) / (a * b)


def _box_price(z, lo, hi, tau):
    """Smoothed ``ψ'(z)`` (the prior), its derivative in ``c`` and the part above ``lo``."""
    D = hi - lo
    if SMOOTHING == "barrier":
        with np.errstate(divide="ignore", invalid="ignore"):
            a = 2 * D * tau / ((z * D + 2 * tau) + np.sqrt((z * D) ** 2 + 4 * tau ** 2))
            a = np.where(D > 0, np.clip(a, 0.0, D), 0.0)
            dq = np.where(D > 0, 1.0 / (tau / a ** 2 + tau / (D - a) ** 2), 0.0)
        return lo + a, np.nan_to_num(dq), a
    s = _sigmoid(-z / tau)
    return lo + D * s, D * s * (1 - s) / tau, D * s


def _box_value(z, lo, hi, a, tau):
    """Smoothed ``ψ(z)`` (up to a constant per pair) and the bound on its error."""
    D = hi - lo
    if SMOOTHING == "barrier":
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where((a > 0) & (a < D), np.log(a) + np.log(D - a), 0.0)
        psi = (lo + a) * z - tau * logs
        bound = np.where(z > 0, a * z, (D - a) * (-z))
        return psi, np.where(D > 0, bound, 0.0)
    psi = lo * z - D * tau * _softplus(-z / tau)
    return psi, D * np.abs(z) * _sigmoid(-np.abs(z) / tau)


class SeparableProblem:
    """The parameters of a state-separable pool on the sign-constrained menu."""

    def __init__(self, kinds: list[AgentKind], weights: np.ndarray, aggregate: np.ndarray):
        self.n = len(kinds)
        self.m = aggregate.size
        self.x = np.asarray(aggregate, float)
        self.w = np.asarray(weights, float)
        self.kinds = kinds
        self.ent = np.array([i for i, k in enumerate(kinds) if k.kind == "entropic"], int)
        self.box = np.array([i for i, k in enumerate(kinds) if k.kind == "box"], int)
        self.lin = np.array([i for i, k in enumerate(kinds) if k.kind == "linear"], int)
        self.curved = np.concatenate([self.ent, self.box])
        self.gamma = np.array([kinds[i].tolerance for i in self.ent], float)
        self.chunk = max(1, min(self.m, _CHUNK_CELLS // max(1, self.n)))
        self._cache: dict[tuple[int, int], dict] = {}
        self._cache_ok = self.n * self.m <= _CACHE_CELLS

    @property
    def chunks(self):
        """``(start, stop)`` of each chunk of states."""
        return [(s, min(self.m, s + self.chunk)) for s in range(0, self.m, self.chunk)]

    def params(self, s: int, e: int) -> dict:
        """Stacked parameters of the states ``s:e`` (cached when small)."""
        key = (s, e)
        if key in self._cache:
            return self._cache[key]
        k = self.kinds
        with np.errstate(divide="ignore"):
            out = {
                "x": self.x[s:e],
                "logP": np.log(np.array([k[i].lo[s:e] for i in self.ent])).reshape(
                    self.ent.size, e - s),
                "lo": np.array([k[i].lo[s:e] for i in self.box]).reshape(self.box.size, e - s),
                "hi": np.array([k[i].hi[s:e] for i in self.box]).reshape(self.box.size, e - s),
                "P": np.array([k[i].lo[s:e] for i in self.lin]).reshape(self.lin.size, e - s),
            }
        out["top"] = np.maximum(out["x"], 0.0)
        out["bot"] = np.minimum(out["x"], 0.0)
        if self._cache_ok:
            self._cache[key] = out
        return out


@dataclass
class SeparableSolution:
    """What a separable solve returns to the dispatcher."""

    allocation: np.ndarray
    priors: np.ndarray
    status: str
    iterations: int
    seconds: float
    message: str
    cash: np.ndarray = field(default_factory=lambda: np.zeros(0))
    method: str = ""               # set when the method that answered is not the one asked


# --------------------------------------------------------------------------- greedy
def greedy_applies(problem: SeparableProblem) -> bool:
    """All agents linear or boxes with ``lo = 0``, and no gain state."""
    if any(k.kind not in ("linear", "box") for k in problem.kinds) or np.any(problem.x > 0):
        return False
    return all(np.all(problem.kinds[i].lo == 0) for i in problem.box)


def greedy_solve(problem: SeparableProblem) -> SeparableSolution:
    """Exact optimum by the greedy fill of the module docstring."""
    start = time.perf_counter()
    n, m, w, x = problem.n, problem.m, problem.w, problem.x
    caps = [problem.kinds[i].hi if problem.kinds[i].kind == "box" else problem.kinds[i].lo
            for i in range(n)]
    h = np.full(m, np.inf)
    owner = np.zeros(m, dtype=int)
    for i in range(n):
        c = w[i] * caps[i]
        better = c < h
        h = np.where(better, c, h)
        owner = np.where(better, i, owner)
    budget = float(np.min(w[problem.box])) if problem.box.size else np.inf
    holder = int(problem.box[np.argmin(w[problem.box])]) if problem.box.size else 0

    loss = -x
    order = np.argsort(-loss, kind="stable")
    filled = np.cumsum(h[order])
    before = np.concatenate([[0.0], filled[:-1]])
    rho_sorted = np.clip(budget - before, 0.0, h[order])
    rho = np.empty(m)
    rho[order] = rho_sorted
    partial = np.flatnonzero((rho_sorted < h[order]) & (loss[order] > 0))
    deductible = float(loss[order][partial[0]]) if partial.size else 0.0

    Y = np.zeros((n, m))
    excess = np.maximum(loss - deductible, 0.0)
    Y[owner, np.arange(m)] -= excess
    Y[holder] -= np.minimum(loss, deductible)
    Q = _greedy_priors(problem, rho)
    seconds = time.perf_counter() - start
    return SeparableSolution(Y, Q, "optimal", 1, seconds,
                             f"greedy fill: deductible {deductible:.6g} held by agent {holder}")


def _greedy_priors(problem: SeparableProblem, rho: np.ndarray) -> np.ndarray:
    """Priors ``Q_i >= rho / w_i`` in each agent's box (any such completion is optimal)."""
    n, m = problem.n, problem.m
    Q = np.empty((n, m))
    for i in range(n):
        kind = problem.kinds[i]
        if kind.kind == "linear":
            Q[i] = kind.lo
            continue
        q = np.minimum(rho / problem.w[i], kind.hi)
        room = kind.hi - q
        deficit = 1.0 - q.sum()
        total = room.sum()
        if deficit > 0 and total > 0:
            q = q + min(deficit, total) * room / total
        Q[i] = q
    return Q


# --------------------------------------------------------------------------- Newton
@dataclass
class _Sweep:
    """Everything one pass over the states produces at fixed ``c``."""

    G: float
    residual: np.ndarray           # 1 - sum_ω Q_iω for the curved agents
    hessian: np.ndarray | None     # Schur complement (curved x curved)
    smoothing: float               # bound on the box smoothing error
    theta: np.ndarray              # state log-prices (m,)
    inner: int                     # largest number of inner iterations
    c: np.ndarray | None = None    # the cash levels of the pass
    kept: tuple | None = None      # (Y, Q) of the pass when asked for (see _sweep)


def _evaluate(prm: dict, c_e, c_b, w_e, w_b, w_l, gam, tau, theta):
    """Holdings of every agent at log-prices ``theta`` (C,), and ``dΣy/dθ``."""
    top, bot = prm["top"], prm["bot"]
    out = {}
    dsum = np.zeros(theta.shape)
    if c_e.size:
        yu = c_e[:, None] + gam[:, None] * (np.log(w_e)[:, None] + prm["logP"] - theta)
        y = np.clip(yu, bot, top)
        inner = (yu > bot) & (yu < top)
        out["e"] = (y, inner)
        dsum -= (gam[:, None] * inner).sum(axis=0)
    if c_b.size:
        lo, hi = prm["lo"], prm["hi"]
        q = np.exp(theta - np.log(w_b)[:, None])
        at_top = q <= lo
        at_bot = q >= hi
        mid = ~(at_top | at_bot)
        qm = np.where(mid, q, 0.5 * (lo + hi))
        with np.errstate(divide="ignore", invalid="ignore"):
            hold, slope = _box_hold(qm, c_b[:, None], lo, hi, tau)
        yu = np.where(at_top, np.inf, np.where(at_bot, -np.inf, hold))
        y = np.clip(yu, bot, top)
        inner = mid & (yu > bot) & (yu < top)
        out["b"] = (y, inner)
        dsum += np.where(inner, slope, 0.0).sum(axis=0)
    if w_l.size:
        jump = np.log(w_l)[:, None] + np.log(np.where(prm["P"] > 0, prm["P"], 1e-300))
        y = np.where(theta < jump, top, bot)
        out["l"] = (y, np.zeros(y.shape, bool))
    total = sum(v[0].sum(axis=0) for v in out.values())
    return out, total, dsum


def _thresholds(prm, c_e, c_b, w_e, w_b, w_l, gam, tau):
    """Log-prices below which every agent holds ``top`` and above which ``bot``."""
    top, bot = prm["top"], prm["bot"]
    lows, highs = [], []
    if c_e.size:
        base = np.log(w_e)[:, None] + prm["logP"]
        lows.append(base + (c_e[:, None] - top) / gam[:, None])
        highs.append(base + (c_e[:, None] - bot) / gam[:, None])
    if c_b.size:
        lo, hi = prm["lo"], prm["hi"]
        with np.errstate(divide="ignore"):
            for target, bucket in ((top, lows), (bot, highs)):
                q = _box_price(target - c_b[:, None], lo, hi, tau)[0]
                bucket.append(np.log(w_b)[:, None] + np.log(q))
    if w_l.size:
        with np.errstate(divide="ignore"):
            jump = np.log(w_l)[:, None] + np.log(prm["P"])
        lows.append(jump)
        highs.append(jump)
    low = np.clip(np.min(np.concatenate(lows), axis=0), -THETA_MAX, THETA_MAX)
    high = np.clip(np.max(np.concatenate(highs), axis=0), -THETA_MAX, THETA_MAX)
    pad = 1e-9 * (1.0 + np.abs(low)), 1e-9 * (1.0 + np.abs(high))
    return low - pad[0], high + pad[1]


def _solve_states(prm, args, theta0):
    """Water-filling of every state of a chunk; returns holdings and log-prices."""
    x = prm["x"]
    block = x != 0
    low, high = _thresholds(prm, *args)
    theta = np.where(np.isfinite(theta0), np.clip(theta0, low, high), 0.5 * (low + high))
    tol = 1e-12 * np.abs(x)
    todo = np.flatnonzero(block)
    pinned = np.zeros(x.size, bool)
    rounds = 0
    sub = _subset(prm, todo)
    while todo.size and rounds < _MAX_INNER:
        rounds += 1
        _, total, dsum = _evaluate(sub, *args, theta[todo])
        F = total - x[todo]
        done = np.abs(F) <= tol[todo]
        low[todo] = np.where(F > 0, theta[todo], low[todo])
        high[todo] = np.where(F < 0, theta[todo], high[todo])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = theta[todo] - F / dsum
        inside = np.isfinite(step) & (step > low[todo]) & (step < high[todo])
        mid = 0.5 * (low[todo] + high[todo])
        theta[todo] = np.where(done, theta[todo], np.where(inside, step, mid))
        narrow = (high[todo] - low[todo]) <= 4e-16 * (1.0 + np.abs(theta[todo]))
        pinned[todo[narrow & ~done]] = True
        keep = ~(done | narrow)
        if not np.all(keep):
            todo = todo[keep]
            sub = _subset(prm, todo)
    pinned[todo] = True
    return theta, low, high, pinned, rounds


def _subset(prm: dict, idx: np.ndarray) -> dict:
    return {k: (v[..., idx] if isinstance(v, np.ndarray) else v) for k, v in prm.items()}


def _holdings(prm, args, theta, low, high, pinned):
    """Holdings at the solved log-prices; pinned states split the jump exactly."""
    parts, total, dsum = _evaluate(prm, *args, theta)
    x = prm["x"]
    if np.any(pinned):
        idx = np.flatnonzero(pinned)
        sub = _subset(prm, idx)
        left, tl, _ = _evaluate(sub, *args, low[idx])
        right, tr, _ = _evaluate(sub, *args, high[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.clip(np.where(tl > tr, (tl - x[idx]) / (tl - tr), 0.5), 0.0, 1.0)
        for key in parts:
            y = parts[key][0]
            y[:, idx] = left[key][0] + lam * (right[key][0] - left[key][0])
        dsum = dsum.copy()
        dsum[idx] = -np.inf
    return parts, dsum


def _priors_of(prm, parts, c_e, c_b, gam, tau):
    """``Q = ψ'(y - c)`` and ``dQ/dc`` for the curved agents of a chunk."""
    out = {}
    if c_e.size:
        y = parts["e"][0]
        Q = np.exp(prm["logP"] - (y - c_e[:, None]) / gam[:, None])
        out["e"] = (Q, Q / gam[:, None])
    if c_b.size:
        y = parts["b"][0]
        lo, hi = prm["lo"], prm["hi"]
        z = y - c_b[:, None]
        Q, dQ, a = _box_price(z, lo, hi, tau)
        out["b"] = (Q, dQ, z, a)
    return out


def _sweep(problem: SeparableProblem, c: np.ndarray, tau: float, theta: np.ndarray,
           hessian: bool, keep: bool = False) -> _Sweep:
    """One pass over the states at cash levels ``c``; with ``keep`` it also fills the
    allocation and priors (what :func:`_assemble` would compute at ``c``), so that a
    pass expected to be the last one saves the final assembly pass."""
    ke = problem.ent.size
    c_e, c_b = c[:ke], c[ke:]
    w = problem.w
    w_e, w_b, w_l = w[problem.ent], w[problem.box], w[problem.lin]
    args = (c_e, c_b, w_e, w_b, w_l, problem.gamma, tau)
    k = c.size
    G = float(np.dot(w[problem.curved], c))
    mass = np.zeros(k)
    curvature = np.zeros(k)
    H = np.zeros((k, k)) if hessian else None
    smoothing = 0.0
    new_theta = theta.copy()
    inner = 0
    kept = (np.zeros((problem.n, problem.m)), np.zeros((problem.n, problem.m))) if keep else None
    for s, e in problem.chunks:
        prm = problem.params(s, e)
        th, low, high, pinned, rounds = _solve_states(prm, args, theta[s:e])
        new_theta[s:e] = th
        parts, dsum = _holdings(prm, args, th, low, high, pinned)
        pri = _priors_of(prm, parts, c_e, c_b, problem.gamma, tau)
        if keep:
            _store(problem, kept, s, e, prm, parts, pri)
        G += _chunk_objective(prm, parts, pri, args)
        interior = []
        if ke:
            Q, dQ = pri["e"]
            mass[:ke] += Q.sum(axis=1)
            inner_e = parts["e"][1]
            curvature[:ke] += (dQ * ~inner_e).sum(axis=1)
            interior.append(inner_e)
        if c_b.size:
            Q, dQ, z, a = pri["b"]
            mass[ke:] += Q.sum(axis=1)
            inner_b = parts["b"][1]
            curvature[ke:] += (dQ * ~inner_b).sum(axis=1)
            interior.append(inner_b)
            gapw = _box_value(z, prm["lo"], prm["hi"], a, tau)[1]
            smoothing += float(np.dot(w_b, gapw.sum(axis=1)))
        if hessian and interior:
            H += _schur_block(np.concatenate(interior), th, dsum)
        inner = max(inner, rounds)
    residual = 1.0 - mass
    if hessian:
        H[np.diag_indices(k)] += w[problem.curved] * curvature
    return _Sweep(G, residual, H, smoothing, new_theta, inner, c.copy(), kept)


def _store(problem, kept, s, e, prm, parts, pri) -> None:
    """Holdings and priors of the chunk ``s:e`` into ``kept = (Y, Q)``."""
    Y, Q = kept
    for key, idx in (("e", problem.ent), ("b", problem.box), ("l", problem.lin)):
        if key in parts:
            Y[idx, s:e] = parts[key][0]
    if problem.ent.size:
        Q[problem.ent, s:e] = pri["e"][0]
    if problem.box.size:
        Q[problem.box, s:e] = pri["b"][0]
    if problem.lin.size:
        Q[problem.lin, s:e] = prm["P"]


def _chunk_objective(prm, parts, pri, args) -> float:
    """``sum_ω sum_i w_i ψ_iω(y_iω - c_i)`` over a chunk."""
    c_e, c_b, w_e, w_b, w_l, gam, tau = args
    total = 0.0
    if c_e.size:
        Q = pri["e"][0]
        P = np.exp(prm["logP"])
        total += float(np.dot(w_e * gam, (P - Q).sum(axis=1)))
    if c_b.size:
        z, a = pri["b"][2], pri["b"][3]
        psi = _box_value(z, prm["lo"], prm["hi"], a, tau)[0]
        total += float(np.dot(w_b, psi.sum(axis=1)))
    if w_l.size:
        total += float(np.dot(w_l, (prm["P"] * parts["l"][0]).sum(axis=1)))
    return total


def _schur_block(interior: np.ndarray, theta: np.ndarray, dsum: np.ndarray) -> np.ndarray:
    """``sum_ω (ν_ω / E_ω) b_ω b_ω^T`` over the unpinned states of a chunk.

    With many agents the product is taken in single precision: it only steers the
    Newton direction (gradient, line search and stopping test stay in double)."""
    E = -dsum
    use = np.isfinite(E) & (E > 0)
    if not np.any(use):
        return 0.0
    dtype = np.float32 if interior.shape[0] >= _SINGLE_AGENTS else float
    B = interior[:, use].astype(dtype)
    v = (np.exp(theta[use]) / E[use]).astype(dtype)
    return ((B * v) @ B.T).astype(float)


def newton_solve(problem: SeparableProblem, *, target: float, scale: float,
                 time_limit: float | None = None, max_iter: int = 200) -> SeparableSolution:
    """Maximise ``G(c)`` by Newton's method with smoothing continuation for boxes."""
    start = time.perf_counter()
    k = problem.curved.size
    x = problem.x
    money = float(np.mean(np.abs(x[x != 0]))) if np.any(x != 0) else 1.0
    c = _initial_cash(problem)
    theta = np.full(problem.m, np.nan)
    tau = 0.1 * money if problem.box.size else 1.0
    tau_floor = 1e-13 * money
    iterations, status, stages = 0, "optimal", 0
    sweep = _sweep(problem, c, tau, theta, hessian=True)
    while True:
        stages += 1
        final = (not problem.box.size) or tau <= tau_floor
        sweep, c, used, converged = _newton_stage(problem, c, tau, sweep, final,
                                                  max_iter - iterations, start, time_limit)
        iterations += used
        if not final and sweep.smoothing <= 0.25 * target * scale:
            final = True
            sweep, c, used, converged = _newton_stage(problem, c, tau, sweep, final,
                                                      max_iter - iterations, start, time_limit)
            iterations += used
        if not converged and (iterations >= max_iter or _late(start, time_limit)):
            status = "iteration limit" if iterations >= max_iter else "time limit"
            break
        if final:
            break
        tau = max(tau / 10.0, tau_floor)
        sweep = _sweep(problem, c, tau, sweep.theta, hessian=True)
    if sweep.kept is not None and sweep.c is not None and np.array_equal(sweep.c, c):
        Y, Q = sweep.kept
        Q /= Q.sum(axis=1, keepdims=True)
        Y = _onto_menu(Y, problem.x)
    else:
        Y, Q = _assemble(problem, c, tau, sweep.theta)
    seconds = time.perf_counter() - start
    msg = (f"Newton on {k} cash levels, {iterations} iterations in {stages} smoothing "
           f"stages (width {tau:.3g}), "
           f"max |1 - sum Q| = {np.max(np.abs(sweep.residual), initial=0):.2e}")
    return SeparableSolution(Y, Q, status, iterations, seconds, msg, cash=c)


def _late(start: float, limit: float | None) -> bool:
    return limit is not None and time.perf_counter() - start > limit


def _converged(sweep: _Sweep, final: bool) -> bool:
    tol = 1e-12 if final else 1e-7
    return bool(np.max(np.abs(sweep.residual), initial=0.0) <= tol)


def _newton_stage(problem, c, tau, sweep, final, budget, start, time_limit):
    """Damped Newton iterations at one smoothing width: backtracking along the Newton
    direction, and a Levenberg-Marquardt shift when that fails."""
    w = problem.w[problem.curved]
    used = 0
    damping = 1e-12
    while used < budget and not _late(start, time_limit):
        if _converged(sweep, final):
            return sweep, c, used, True
        used += 1
        grad = w * sweep.residual
        sweep.kept = None            # not the last pass: free its allocation and priors
        accepted, t = None, 1.0
        noise = 1e-13 * (abs(sweep.G) + 1.0)
        for attempt in range(30):
            if attempt and attempt % 3 == 0:
                damping, t = damping * 100.0, 1.0
            step = t * _newton_step(sweep.hessian, grad, damping)
            slope = float(np.dot(grad, step))
            # near the end (quadratic convergence) the next pass is likely the last:
            # let it keep the allocation and priors
            last = final and float(np.max(np.abs(sweep.residual), initial=0.0)) <= 1e-6
            trial = _sweep(problem, c + step, tau, sweep.theta, hessian=True, keep=last)
            if trial.G >= sweep.G + 1e-4 * slope - noise:
                accepted = trial
                break
            t *= 0.3
        if accepted is None:
            return sweep, c, used, _converged(sweep, final=False)
        c = c + step
        sweep = accepted
        damping = max(damping / 100.0, 1e-12)
    return sweep, c, used, _converged(sweep, final)


def _newton_step(H: np.ndarray, grad: np.ndarray, damping: float) -> np.ndarray:
    """Solve ``(H + μ I) d = grad`` with ``μ = damping * max diag H`` (``H`` is PSD)."""
    k = grad.size
    scale = float(np.max(np.abs(np.diag(H)), initial=0.0)) + 1e-300
    shift = damping * scale
    for _ in range(8):
        try:
            L = np.linalg.cholesky(H + shift * np.eye(k))
            return np.linalg.solve(L.T, np.linalg.solve(L, grad))
        except np.linalg.LinAlgError:
            shift = max(shift * 100.0, 1e-14 * scale)
    return grad / (np.abs(np.diag(H)) + shift)


def _initial_cash(problem: SeparableProblem) -> np.ndarray:
    """Start from shares proportional to risk tolerance (entropic ``γ_i``, and the mean
    entropic tolerance for the others): ``c_i`` is the agent's value of its share."""
    gammas = [problem.kinds[i].tolerance for i in problem.ent]
    default = float(np.mean(gammas)) if gammas else 1.0
    weight = np.array([k.tolerance if k.kind == "entropic" else default
                       for k in problem.kinds])
    weight = weight / weight.sum()
    c = np.empty(problem.curved.size)
    for j, i in enumerate(problem.curved):
        kind = problem.kinds[i]
        share = weight[i] * problem.x
        if kind.kind == "entropic":
            g = kind.tolerance
            with np.errstate(divide="ignore"):
                z = np.log(kind.lo) - share / g
            top = np.max(z)
            c[j] = -g * (top + np.log(np.sum(np.exp(z - top))))
        else:
            mid = 0.5 * (kind.lo + kind.hi)
            c[j] = float(np.dot(mid, share) / mid.sum())
    return c


def _assemble(problem: SeparableProblem, c, tau, theta):
    """Allocation (exactly in the menu) and priors at the final cash levels."""
    n, m = problem.n, problem.m
    ke = problem.ent.size
    c_e, c_b = c[:ke], c[ke:]
    w = problem.w
    args = (c_e, c_b, w[problem.ent], w[problem.box], w[problem.lin], problem.gamma, tau)
    Y = np.zeros((n, m))
    Q = np.zeros((n, m))
    for s, e in problem.chunks:
        prm = problem.params(s, e)
        th, low, high, pinned, _ = _solve_states(prm, args, theta[s:e])
        parts, _ = _holdings(prm, args, th, low, high, pinned)
        pri = _priors_of(prm, parts, c_e, c_b, problem.gamma, tau)
        _store(problem, (Y, Q), s, e, prm, parts, pri)
    Q /= Q.sum(axis=1, keepdims=True)
    return _onto_menu(Y, problem.x), Q


def _onto_menu(Y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Shares ``y / x`` clipped to [0, 1] and renormalised in every state (in place,
    state-chunk by state-chunk)."""
    n, m = Y.shape
    step = max(1, 2 ** 22 // max(1, n))
    for start in range(0, m, step):
        sl = slice(start, min(m, start + step))
        xs = x[sl]
        block = xs != 0
        S = np.clip(Y[:, sl][:, block] / xs[block], 0.0, 1.0)
        total = S.sum(axis=0)
        bad = total <= 0
        S[:, bad] = 1.0 / n
        total[bad] = 1.0
        chunk = np.zeros((n, xs.size))
        chunk[:, block] = S / total * xs[block]
        Y[:, sl] = chunk
    return Y
