r"""Exact method for pools of box and linear agents on the sign menu ("active-set").

Notation as in :mod:`._separable`: agents ``i`` with weights ``w_i > 0`` and boxes
``lo_i <= Q_i <= hi_i`` (a linear agent is the box ``lo = hi = P_i``), aggregate ``x``.
The pricing problem (the dual of welfare maximisation) is

.. math:: \min_Q \sum_ω \max_i w_i x_ω Q_{iω}
          \quad\text{s.t.}\quad lo_i \le Q_i \le hi_i,\ \sum_ω Q_{iω} = 1 .

Write ``σ_ω = min_i w_i Q_{iω}`` on the loss states (``x < 0``) and
``τ_ω = max_i w_i Q_{iω}`` on the gain states. Agent ``i`` can meet those levels with a
prior of total mass one exactly when

.. math:: \sum_{x<0} \max(lo_{iω}, σ_ω/w_i) + \sum_{x \ge 0} lo_{iω} \le 1
          \le \sum_{x>0} \min(hi_{iω}, τ_ω/w_i) + \sum_{x \le 0} hi_{iω},

so the problem splits into a loss part in ``σ`` and a gain part in ``τ``, each of the
form (the gain part after ``σ = -τ``, ``lo -> -hi``)

.. math:: \max_σ \sum_ω L_ω σ_ω \quad\text{s.t.}\quad σ_ω \le h_ω,\
          \sum_ω \max(\ell_{iω}, σ_ω / w_i) \le ρ_i \quad (i = 1..n)

with ``L = |x| > 0`` and ``h_ω = min_i w_i u_{iω}`` (``u`` the other bound). Its dual
in the budget multipliers ``c >= 0`` is ``D(c) = ρ·c + Σ_ω φ_ω(c)``, where
``φ_ω(c) = max_{σ <= h_ω} L_ω σ - Σ_i c_i max(ℓ_{iω}, σ/w_i)`` is attained at one of
the sorted breakpoints ``w_i ℓ_{iω}`` or at ``h_ω`` (the *vertices* of state ``ω``):
the first breakpoint where ``Σ_{j active} c_j / w_j`` reaches ``L_ω``. In an optimal
allocation every agent active in a state holds ``c_i / w_i`` of it, the agent at the
breakpoint holds the rest up to that amount, and at ``σ = h`` the agents with
``w_i u_{iω} = h_ω`` hold what is left. So ``c_i / w_i`` is agent ``i``'s cash level.

The method has two steps.

1. **Smoothed dual.** ``φ_ω`` is replaced by ``ε_ω log Σ_k exp(f_{ωk}/ε_ω)`` over its
   vertices (values by prefix sums in the sorted order, ``O(n m)``) and ``D`` is
   minimised over ``c >= 0`` by projected Newton steps with an exact gradient and the
   Hessian ``Σ_ω Cov_p(a_ω)/ε_ω`` built from the vertices that carry weight; ``ε``
   decreases in three stages. This finds ``c`` to a few digits and, for every state,
   the few vertices that can be optimal.
2. **Exact restricted LP.** States with a single candidate vertex are fixed there; the
   others keep ``σ_ω`` between their lowest and highest candidate, with one variable
   per agent whose breakpoint lies inside that range. HiGHS solves this LP (its duals
   are ``c``); ``D(c)`` over *all* states is an upper bound and the LP's value a lower
   bound. When they differ, the states whose best vertex at ``c`` lies outside their
   range are widened and the LP solved again (finitely many rounds).

The allocation and priors are read off ``σ, τ, c`` and certified by :func:`certify`;
the dispatcher falls back to the interior-point method if the certificate does not
close. Known limit: the arrays are ``n x m`` and held in memory at once (no chunking
over states yet), about ten of them.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from ._highs import INF, solve_lp
from ._separable import SeparableProblem, SeparableSolution

__all__ = ["activeset_applies", "activeset_solve"]

STAGES = (3e-3, 1e-4, 1e-5)      # smoothing levels (relative to L_ω |σ|)
CANDIDATE_WEIGHT = 1e-6         # vertices with at least this smoothed weight are kept
HESSIAN_WEIGHT = 1e-3           # vertices with at least this weight enter the Hessian
MAX_ROUNDS = 30                 # restricted LPs


def activeset_applies(problem: SeparableProblem) -> bool:
    """Every agent a box or linear, every weight positive, at least one box."""
    return (problem.box.size > 0 and np.all(problem.w > 0)
            and all(k.kind in ("linear", "box") for k in problem.kinds))


class _Part:
    """``max Σ L σ  s.t.  σ <= h,  Σ_ω max(ℓ_iω, σ_ω / w_i) <= ρ_i`` (module docstring)."""

    def __init__(self, L, ell, up, rho, w):
        n, m = ell.shape
        self.n, self.m = n, m
        self.L, self.ell, self.up, self.rho, self.w = L, ell, up, rho, w
        self.h = (w[:, None] * up).min(axis=0)
        index = np.int32 if n < 2 ** 31 else np.int64
        self.order = np.empty((n, m), dtype=index)        # agents by breakpoint, per state
        self.rel = np.empty((n, m), dtype=bool)            # breakpoint below the cap
        self.sig = np.empty((n, m))                        # vertex k < K, then h
        self.sl = np.empty((n, m))                         # ell in that order
        for sl in self.slices():
            beta = w[:, None] * ell[:, sl]
            beta = np.where(beta < self.h[None, sl], beta, np.inf)
            order = np.argsort(beta, axis=0, kind="stable")
            sb = np.take_along_axis(beta, order, axis=0)
            self.order[:, sl] = order
            self.rel[:, sl] = np.isfinite(sb)
            self.sig[:, sl] = np.where(self.rel[:, sl], sb, self.h[None, sl])
            self.sl[:, sl] = np.take_along_axis(ell[:, sl], order, axis=0)
        self.K = self.rel.sum(axis=0)
        self.ellsum = ell.sum(axis=1)
        spread = np.maximum(np.abs(self.h), np.abs(self.sig[0]))
        self.size = np.maximum(spread, 1e-12 * max(float(spread.mean()), 1e-300))
        self.live = np.zeros(n, bool)
        np.logical_or.at(self.live, self.order[self.rel], True)

    def slices(self) -> list[slice]:
        """Chunks of states of about 4M agent-state cells (temporaries stay small)."""
        step = max(1, (1 << 22) // (self.n + 1))
        return [slice(a, min(self.m, a + step)) for a in range(0, self.m, step)]

    # ---------------------------------------------------------------- exact dual
    def vertex(self, c: np.ndarray) -> np.ndarray:
        """The optimal vertex of every state at ``c`` (``K_ω`` means ``σ = h``)."""
        k = np.empty(self.m, dtype=np.int64)
        cw = c / self.w
        for sl in self.slices():
            cum = np.cumsum(np.where(self.rel[:, sl], cw[self.order[:, sl]], 0.0), axis=0)
            hit = cum >= self.L[None, sl]
            k[sl] = np.where(hit.any(axis=0), hit.argmax(axis=0), self.n)
        return np.minimum(k, self.K)

    def sigma_of(self, k: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        idx = np.arange(self.m) if idx is None else idx
        s = self.sig[np.minimum(k, self.n - 1), idx]
        return np.where(k >= self.K[idx], self.h[idx], s)

    def usage(self, sigma: np.ndarray) -> np.ndarray:
        total = np.zeros(self.n)
        for sl in self.slices():
            total += np.maximum(self.ell[:, sl], sigma[None, sl] / self.w[:, None]).sum(axis=1)
        return total

    def dual(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        """``D(c)`` and the optimal vertices."""
        k = self.vertex(c)
        s = self.sigma_of(k)
        return float(self.rho @ c + self.L @ s - c @ self.usage(s)), k

    # ---------------------------------------------------------------- smoothed dual
    def _terms(self, c, eps, sl: slice):
        """Smoothed ``Σ_ω φ_ω`` over the states ``sl``, the vertex weights and values."""
        rel, L, h = self.rel[:, sl], self.L[sl], self.h[sl]
        sc = np.where(rel, c[self.order[:, sl]], 0.0)
        zero = np.zeros((1, L.size))
        cumw = np.vstack([zero, np.cumsum(sc / self.w[self.order[:, sl]], axis=0)])
        cumcl = np.vstack([zero, np.cumsum(sc * self.sl[:, sl], axis=0)])
        del sc
        sigv = np.vstack([self.sig[:, sl], h[None, :]])
        f = sigv * (L[None, :] - cumw) + cumcl
        del cumw, cumcl
        valid = np.arange(self.n + 1)[:, None] <= self.K[None, sl]
        f = np.where(valid, f, -np.inf)
        fmax = f.max(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp((f - fmax[None, :]) / eps[None, sl])
        Z = e.sum(axis=0)
        e /= Z[None, :]
        return float(np.sum(fmax + eps[sl] * np.log(Z))), e, sigv

    def smooth_value(self, c, eps) -> float:
        total = float(self.rho @ c - c @ self.ellsum)
        for sl in self.slices():
            total += self._terms(c, eps, sl)[0]
        return total

    def candidates(self, c, eps) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest vertex of every state with smoothed weight
        ``>= CANDIDATE_WEIGHT`` at ``c``."""
        klo = np.empty(self.m, dtype=np.int64)
        khi = np.empty(self.m, dtype=np.int64)
        for sl in self.slices():
            keep = self._terms(c, eps, sl)[1] >= CANDIDATE_WEIGHT
            klo[sl] = keep.argmax(axis=0)
            khi[sl] = self.n - keep[::-1].argmax(axis=0)
        return klo, khi

    def smooth_derivatives(self, c, eps):
        """Value, gradient and Hessian of the smoothed dual (state chunk by chunk)."""
        n = self.n
        value = float(self.rho @ c - c @ self.ellsum)
        used = np.zeros(n)
        H = np.zeros((n, n))
        for sl in self.slices():
            part, p, sigv = self._terms(c, eps, sl)
            value += part
            order, rel = self.order[:, sl], self.rel[:, sl]
            R = np.cumsum(p[::-1], axis=0)[::-1][1:]                   # Σ_{k > r} p_k
            T = np.cumsum((p * sigv)[::-1], axis=0)[::-1][1:]           # Σ_{k > r} p_k σ_k
            mean_sorted = np.where(rel, T / self.w[order] - self.sl[:, sl] * R, 0.0)
            del R, T
            mean = np.empty(mean_sorted.shape)
            np.put_along_axis(mean, order, mean_sorted, axis=0)
            used += mean.sum(axis=1)
            rank = np.empty(order.shape, dtype=np.int64)
            np.put_along_axis(rank, order, np.broadcast_to(np.arange(n)[:, None], order.shape),
                              axis=0)
            kk, ww = np.nonzero(p >= HESSIAN_WEIGHT)
            step = max(1, 4_000_000 // max(n, 1))
            for a0 in range(0, kk.size, step):
                k, om = kk[a0:a0 + step], ww[a0:a0 + step]
                a = np.where(rank[:, om] < k[None, :],
                             sigv[k, om][None, :] / self.w[:, None] - self.ell[:, sl][:, om], 0.0)
                a -= mean[:, om]
                a *= np.sqrt(p[k, om] / eps[sl][om])[None, :]
                H += a @ a.T
        return value, self.rho - self.ellsum - used, H


def _smoothed_newton(part: _Part, c: np.ndarray, tau: float, final: bool,
                     deadline: float | None) -> np.ndarray:
    """Projected Newton on the smoothed dual at level ``tau``; returns ``c``."""
    eps = np.maximum(tau * part.L * part.size, 1e-300)
    stop = (1e-4 if final else 1e-2) * tau * float(part.L @ part.size)
    live = part.live
    for _ in range(40):
        value, grad, H = part.smooth_derivatives(c, eps)
        scale = max(float(c[live].mean()) if np.any(live) else 0.0, 1e-300)
        bound = (c <= 1e-12 * scale) & (grad > 0)
        free = np.flatnonzero(live & ~bound)
        d = np.zeros(part.n)
        if free.size:
            Hf = H[np.ix_(free, free)]
            reg = 1e-12 * max(float(np.trace(Hf)) / free.size, 1e-300)
            Hf[np.diag_indices_from(Hf)] += reg
            try:
                d[free] = -np.linalg.solve(Hf, grad[free])
            except np.linalg.LinAlgError:
                d[free] = -np.linalg.lstsq(Hf, grad[free], rcond=None)[0]
        if not np.all(np.isfinite(d)):
            break
        t, new, new_value = 1.0, c, value
        while t > 1e-10:
            new = np.maximum(c + t * d, 0.0)
            new_value = part.smooth_value(new, eps)
            if np.isfinite(new_value) and new_value <= value + 1e-4 * float(grad @ (new - c)):
                break
            t *= 0.5
        decrease = value - new_value
        if not (np.isfinite(new_value) and decrease >= 0):
            break
        c = new
        if decrease <= max(1e-13 * abs(value), stop):
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
    return c


def _restricted_lp(part: _Part, klo: np.ndarray, khi: np.ndarray):
    """The LP with ``σ_ω`` between the vertices ``klo`` and ``khi`` (fixed where equal).
    Returns ``σ``, the budget multipliers ``c``, the LP's value (``Σ L σ``) and status.

    Scaling: ``σ_ω`` and the breakpoint excesses of state ``ω`` are divided by the
    state's size ``z_ω``, every budget row by its largest coefficient (or right-hand
    side), the objective by its largest coefficient; feasibility tolerances 1e-10."""
    n = part.n
    s_lo, s_hi = part.sigma_of(klo), part.sigma_of(khi)
    tr = np.flatnonzero(khi > klo)
    fx = np.flatnonzero(khi == klo)
    used = np.maximum(part.ell[:, fx], s_lo[fx][None, :] / part.w[:, None]).sum(axis=1)
    const = float(part.L[fx] @ s_lo[fx])
    T = tr.size
    z = part.size[tr]
    beta = part.w[:, None] * part.ell[:, tr]
    below = beta <= s_lo[tr][None, :]
    inside = ~below & (beta < s_hi[tr][None, :])
    rhs = part.rho - used - np.where(below, 0.0, part.ell[:, tr]).sum(axis=1)
    # room for the rounding of sums of probabilities (an expectation agent's budget is
    # tight by construction)
    rhs = rhs + 1e-13 * (np.abs(part.rho) + np.abs(part.ellsum) + 1.0)
    ii, tt = np.nonzero(inside)
    E = ii.size
    bi, bt = np.nonzero(below)
    budget = sparse.csr_matrix(
        (np.concatenate([z[bt] / part.w[bi], z[tt]]),
         (np.concatenate([bi, ii]), np.concatenate([bt, T + np.arange(E)]))),
        shape=(n, T + E))
    coeff = (np.abs(budget).max(axis=1).toarray().ravel() if T + E else np.zeros(n))
    largest = np.maximum(coeff, np.abs(rhs))
    row_scale = 1.0 / np.where(largest > 0, largest, 1.0)
    budget = sparse.diags(row_scale) @ budget
    excess = sparse.csr_matrix(
        (np.concatenate([1.0 / part.w[ii], -np.ones(E)]),
         (np.concatenate([np.arange(E), np.arange(E)]), np.concatenate([tt, T + np.arange(E)]))),
        shape=(E, T + E))
    A = sparse.vstack([budget, excess]).tocsr()
    upper = np.concatenate([rhs * row_scale, part.ell[ii, tr[tt]] / z[tt]])
    sigma = s_lo.copy()
    if T + E == 0:
        # every state fixed: feasible when no budget is overdrawn; then c = 0 prices it
        ok = bool(np.all(rhs >= 0.0))
        return sigma, np.zeros(n), const, "optimal" if ok else "infeasible"
    gain = part.L[tr] * z
    unit = max(float(gain.max(initial=0.0)), 1e-300)
    result = solve_lp(np.concatenate([-gain / unit, np.zeros(E)]), A,
                      np.full(n + E, -INF), upper,
                      np.concatenate([s_lo[tr] / z, np.zeros(E)]),
                      np.concatenate([s_hi[tr] / z, np.full(E, INF)]),
                      options={"primal_feasibility_tolerance": 1e-10,
                               "dual_feasibility_tolerance": 1e-10})
    if result.x.size != T + E or result.row_dual.size != n + E:
        return sigma, np.zeros(n), const, result.status
    if T:
        sigma[tr] = np.clip(result.x[:T] * z, s_lo[tr], s_hi[tr])
    c = np.maximum(-result.row_dual[:n] * row_scale * unit, 0.0)
    return sigma, c, const + float(part.L[tr] @ sigma[tr]), result.status


def _solve_part(part: _Part, target: float, deadline: float | None):
    """``σ`` and ``c`` of one part; ``(σ, c, rounds, gap)``."""
    c = np.where(part.live, float(np.median(part.L)) / max(part.n, 1), 0.0)
    for j, tau in enumerate(STAGES):
        c = _smoothed_newton(part, c, tau, j == len(STAGES) - 1, deadline)
    klo, khi = part.candidates(c, np.maximum(STAGES[-1] * part.L * part.size, 1e-300))
    k = part.vertex(c)
    klo, khi = np.minimum(klo, k), np.maximum(np.minimum(khi, part.K), k)
    best = None
    grow = 1
    for rounds in range(1, MAX_ROUNDS + 1):
        sigma, c_lp, value, status = _restricted_lp(part, klo, khi)
        solved = status == "optimal"
        if solved:
            bound, k = part.dual(c_lp)
            gap = (bound - value) / max(abs(bound), abs(value), 1e-300)
            if best is None or gap < best[3]:
                best = (sigma, c_lp, rounds, gap)
            if gap <= target:
                break
        if deadline is not None and time.perf_counter() > deadline:
            break
        outside = solved and bool(np.any((k < klo) | (k > khi)))
        if outside:
            klo, khi = np.minimum(klo, k), np.maximum(khi, k)
        elif solved:
            # every state's best vertex is in its range: the restricted LP is the whole
            # LP at these duals and what is left of the gap is the LP's own tolerance
            break
        else:
            # no usable duals (every state fixed, or a fixed split over the budgets):
            # give every state more room; nothing left to give ends the rounds
            wider_lo, wider_hi = np.maximum(klo - grow, 0), np.minimum(khi + grow, part.K)
            if np.array_equal(wider_lo, klo) and np.array_equal(wider_hi, khi):
                break
            klo, khi = wider_lo, wider_hi
            grow *= 2
    if best is None:
        best = (sigma, np.zeros(part.n), MAX_ROUNDS, np.inf)
    return best


def _holdings(part: _Part, sigma: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Amounts ``>= 0`` of ``L`` held by each agent (see the module docstring)."""
    y = np.empty((part.n, part.m))
    for sl in part.slices():
        y[:, sl] = _chunk_holdings(part.w, part.ell[:, sl], part.up[:, sl], part.h[sl],
                                   part.L[sl], sigma[sl], c)
    return y


def _chunk_holdings(w, ell, up, h, L, sigma, c) -> np.ndarray:
    """:func:`_holdings` on a chunk of states: active agents hold their level, the
    agents at the breakpoint the rest up to theirs, the agents at the cap what is left."""
    w = w[:, None]
    tol = 1e-9 * np.maximum(np.abs(sigma), 1e-300)[None, :]
    beta = w * ell
    level = (c / w[:, 0])[:, None]
    active = beta < sigma[None, :] - tol
    kink = np.abs(beta - sigma[None, :]) <= tol
    at_cap = np.abs(h - sigma) <= tol[0]
    cap = (w * up <= h[None, :] + 1e-12 * np.abs(h)[None, :]) & at_cap[None, :]
    lb = np.where(active, level, 0.0)
    ub = np.where(active | kink, level, 0.0)
    lbs, ubs = lb.sum(axis=0), ub.sum(axis=0)
    y = np.where(L[None, :] <= lbs[None, :],
                 lb * (L / np.where(lbs > 0, lbs, 1.0))[None, :], lb)
    mid = (L > lbs) & (L <= ubs)
    frac = np.where(mid, (L - lbs) / np.where(ubs > lbs, ubs - lbs, 1.0), 0.0)
    y = np.where(mid[None, :], lb + frac[None, :] * (ub - lb), y)
    over = L > ubs
    ncap = cap.sum(axis=0)
    # the rest above every finite amount goes to the agents at the cap (or, failing
    # any, to the agent attaining h)
    rest = np.where(over, L - ubs, 0.0)
    y = np.where(over[None, :], ub, y)
    y += np.where(cap, rest / np.maximum(ncap, 1), 0.0)
    lone = np.flatnonzero(over & (ncap == 0))
    if lone.size:
        owner = np.argmin(w * up[:, lone], axis=0)
        y[owner, lone] += rest[lone]
    return y


def activeset_solve(problem: SeparableProblem, *, target: float, scale: float,
                    time_limit: float | None = None) -> SeparableSolution:
    """Exact optimum of a pool of box and linear agents (module docstring)."""
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    n, m, w, x = problem.n, problem.m, problem.w, problem.x
    lo = np.empty((n, m))
    hi = np.empty((n, m))
    for i, kind in enumerate(problem.kinds):
        lo[i] = kind.lo
        hi[i] = kind.hi if kind.kind == "box" else kind.lo
    loss, gain = x < 0, x > 0
    parts = []
    if np.any(loss):
        parts.append((loss, -1.0, _Part(-x[loss], lo[:, loss], hi[:, loss],
                                         1.0 - lo[:, ~loss].sum(axis=1), w)))
    if np.any(gain):
        parts.append((gain, 1.0, _Part(x[gain], -hi[:, gain], -lo[:, gain],
                                       hi[:, ~gain].sum(axis=1) - 1.0, w)))
    # from here ``lo`` and ``hi`` become the lower and upper limits of the priors
    lower, upper = lo, hi
    Y = np.zeros((n, m))
    level = np.zeros(n)
    rounds, gaps = [], []
    while parts:
        states, sign, part = parts.pop(0)
        sigma, c, r, g = _solve_part(part, 0.1 * target, deadline)
        Y[:, states] = sign * _holdings(part, sigma, c)
        del part
        if sign < 0:
            lower[:, states] = np.minimum(np.maximum(lower[:, states],
                                                     sigma[None, :] / w[:, None]),
                                          upper[:, states])
            level = np.where(c > 0, -c / w, level)
        else:
            upper[:, states] = np.maximum(np.minimum(upper[:, states],
                                                     -sigma[None, :] / w[:, None]),
                                          lower[:, states])
            level = np.where((c > 0) & (c / w > np.abs(level)), c / w, level)
        rounds.append(r)
        gaps.append(g)
    Q = _priors(Y, lower, upper, level)
    seconds = time.perf_counter() - start
    message = (f"active set: smoothed dual in {len(STAGES)} stages, "
               f"{'+'.join(str(r) for r in rounds)} restricted LP(s), "
               f"dual gap {max(gaps, default=0.0):.1e}")
    status = "optimal" if max(gaps, default=0.0) <= target else "inexact"
    return SeparableSolution(Y, Q, status, sum(rounds), seconds, message,
                             cash=level)


def _priors(Y, lower, upper, level) -> np.ndarray:
    """A prior per agent between ``lower`` and ``upper`` summing to one, at ``upper``
    where the agent holds less than its cash level and at ``lower`` where it holds
    more (complementary to ``Y``); the free mass goes where it holds its level.
    Agent-chunk by agent-chunk; the result is written over ``lower``."""
    n, m = Y.shape
    step = max(1, (1 << 22) // max(m, 1))
    for a in range(0, n, step):
        rows = slice(a, min(n, a + step))
        lower[rows] = _chunk_priors(Y[rows], lower[rows], upper[rows], level[rows])
    return lower


def _chunk_priors(Y, lower, upper, level) -> np.ndarray:
    size = np.maximum(np.abs(Y).max(axis=1, keepdims=True), 1e-300)
    tol = 1e-7 * size
    t = level[:, None]
    Q = np.where(Y < t - tol, upper, lower)
    flexible = np.abs(Y - t) <= tol
    for pool in (flexible, np.ones_like(flexible)):
        deficit = 1.0 - Q.sum(axis=1)
        room = np.where(pool, np.where(deficit[:, None] > 0, upper - Q, Q - lower), 0.0)
        total = room.sum(axis=1)
        move = np.clip(np.abs(deficit) / np.where(total > 0, total, 1.0), 0.0, 1.0)
        Q = Q + np.sign(deficit)[:, None] * move[:, None] * room
    return Q
