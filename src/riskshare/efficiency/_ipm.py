r"""A primal-dual interior-point method for state-separable pools on the sign menu.

Notation as in :mod:`._separable`. The problem solved is the dual of the welfare
problem (the "pricing" problem):

.. math:: \min_{Q, v} \; \sum_ω v_ω + \sum_{i \in E} w_i γ_i \, KL(Q_i || P_i)
   \quad \text{s.t.} \quad v_ω \ge w_i x_ω Q_{iω},\;
   lo_{iω} \le Q_{iω} \le hi_{iω} \;(i \in B),\; \sum_ω Q_{iω} = 1,

where ``B`` are the box agents, ``E`` the entropic ones and linear agents have
``Q_i = P_i`` fixed (as do box entries with ``lo = hi``). Any other utility enters as a
*hull agent*: ``Q_i = sum_k λ_k C_k`` over columns ``C_k`` (supergradients collected
by the caller) with cost ``w_i sum_k λ_k p_k`` (``p_k = α_i(C_k)``), ``λ`` in the unit
simplex. The multipliers are the shares ``s_{iω}`` of the states (``y = s x``) and the
cash levels ``c_i``, so one solve returns the allocation and the certificate's priors.

Each Newton step eliminates the variables of every pair ``(i, ω)``, then the
state prices ``v_ω``; what is left is a small dense system in the cash levels and the
hull weights, ``blockdiag(diag(D), -G, 0) + B^T diag(1/α) B`` plus the simplex rows of
the hull agents, built in ``O(k^2 m)``. Mehrotra's predictor-corrector chooses the
barrier parameter. The answer is certified afterwards by :func:`certify`.
"""

from __future__ import annotations

import time

import numpy as np

from ._separable import SeparableProblem, SeparableSolution

__all__ = ["ipm_solve"]

_STEP = 0.995
START_T = 0.05
START_MU = 100.0


class _Data:
    """Dense per-pair parameters of the pool (agents x states), with safe dummies.

    Entries that do not take part in a term carry values that make the term vanish:
    ``u = w x = 0`` in states with ``x = 0``, bounds ``(-1, 2)`` where ``Q`` has no box.
    """

    def __init__(self, problem: SeparableProblem):
        n, m = problem.n, problem.m
        self.n, self.m = n, m
        self.x = problem.x
        self.blk = problem.x != 0
        self.w = problem.w[:, None]
        lo = np.full((n, m), -1.0)
        hi = np.full((n, m), 2.0)
        fixed = np.zeros((n, m))
        prior = np.ones((n, m))
        gamma = np.zeros((n, 1))
        kinds = [k.kind for k in problem.kinds]
        self.box_rows = np.array([k == "box" for k in kinds])
        self.ent_rows = np.array([k == "entropic" for k in kinds])
        self.hull_rows = np.array([k == "hull" for k in kinds])
        self.kl_rows = np.array([k == "kl" for k in kinds])
        self.kl = np.flatnonzero(self.kl_rows)
        self.radius = np.array([problem.kinds[i].tolerance for i in self.kl], float)
        self.columns, self.costs, self.slices = [], [], []
        offset = 0
        for i, kind in enumerate(problem.kinds):
            if kind.kind == "box":
                open_ = kind.hi > kind.lo
                lo[i] = np.where(open_, kind.lo, -1.0)
                hi[i] = np.where(open_, kind.hi, 2.0)
                fixed[i] = np.where(open_, 0.0, kind.lo)
            elif kind.kind in ("entropic", "kl"):
                prior[i] = np.where(kind.lo > 0, kind.lo, 1.0)
                gamma[i] = kind.tolerance if kind.kind == "entropic" else 0.0
            elif kind.kind == "hull":
                C = np.asarray(kind.lo, float)
                self.columns.append(C)
                self.costs.append(np.asarray(kind.hi, float))
                self.slices.append(slice(offset, offset + C.shape[0]))
                offset += C.shape[0]
            else:
                fixed[i] = kind.lo
        self.hull = np.flatnonzero(self.hull_rows)
        self.K = offset
        self.boxfree = self.box_rows[:, None] & (lo > -1.0)
        positive = np.array([np.asarray(k.lo) > 0 if k.kind in ("entropic", "kl")
                             else np.zeros(m, bool) for k in problem.kinds]).reshape(n, m)
        self.entfree = positive
        self.klfree = positive & self.kl_rows[:, None]
        self.free = self.boxfree | self.entfree
        self.fixed_value = np.where(self.free | self.hull_rows[:, None], 0.0, fixed)
        self.lo, self.hi, self.prior = lo, hi, prior
        self.floor = 4e-16 * np.maximum(np.maximum(np.abs(lo), np.abs(hi)), 1e-300)
        self.gw = np.where(self.entfree, self.w * gamma, 0.0)
        self.agents = np.flatnonzero(self.free.any(axis=1))
        self.u = self.w * self.x[None, :]
        self.pairs = np.broadcast_to(self.blk[None, :], (n, m))
        self.pair_f = self.pairs.astype(float)
        self.box_f = self.boxfree.astype(float)
        # added to a quantity where it is not a constraint: it never limits a step
        self.pair_pad = (1.0 - self.pair_f) * 1e300
        self.box_pad = (1.0 - self.box_f) * 1e300
        self.ent_pad = (~self.entfree) * 1e300
        self.count = max(1, int(self.pairs.sum() + 2 * self.boxfree.sum()) + self.K
                         + self.kl.size)

    def hull_priors(self, lam: np.ndarray) -> np.ndarray:
        """``Q_i = C_i λ_i`` for every hull agent (rows in the order of ``hull``)."""
        return np.array([lam[sl] @ C for sl, C in zip(self.slices, self.columns, strict=True)])


# state: [Q, v, g, s, a, b, c, lam, zeta, eta, z]
#   lam, zeta: hull weights and their multipliers; eta, z: KL multipliers and slacks
def _start(d: _Data):
    """A centred starting point: every complementarity product equals ``μ0``
    (the equalities are met only by the iterations: an infeasible start)."""
    n, m = d.n, d.m
    Q = d.fixed_value.copy()
    box = d.box_rows
    if np.any(box):
        lo = np.where(d.boxfree[box], d.lo[box], 0.0)
        hi = np.where(d.boxfree[box], d.hi[box], 0.0)
        fixed = d.fixed_value[box].sum(axis=1)
        t = (1.0 - lo.sum(1) - fixed) / np.maximum(hi.sum(1) - lo.sum(1), 1e-300)
        t = np.clip(t, START_T, 1 - START_T)[:, None]
        Q[box] = np.where(d.boxfree[box], lo + t * (hi - lo), d.fixed_value[box])
    Q = np.where(d.entfree, d.prior, Q)
    lam = np.concatenate([np.full(C.shape[0], 1.0 / C.shape[0]) for C in d.columns]) \
        if d.K else np.zeros(0)
    if d.K:
        Q[d.hull] = d.hull_priors(lam)
    uq = d.u * Q
    v = np.where(d.blk, uq.max(axis=0), 0.0)
    money = float(np.mean(np.abs(d.u[d.pairs]))) if np.any(d.pairs) else 1.0
    mu0 = START_MU * money / (n * m)
    s = d.pair_f / n
    g = np.where(d.pairs, n * mu0, 1.0)
    v = v + n * mu0
    a = d.box_f * mu0 / (Q - d.lo)
    b = d.box_f * mu0 / (d.hi - Q)
    zeta = mu0 / np.maximum(lam, 1e-300) if d.K else np.zeros(0)
    z = d.radius.copy()
    eta = mu0 / z
    return [Q, v, g, s, a, b, np.zeros(n), lam, zeta, eta, z]


def _residuals(d: _Data, state):
    """Residuals: shares (r1), pair stationarity (r2), slacks (r3), normalisation (r4),
    hull stationarity (r5) and hull simplex rows (r6)."""
    Q, v, g, s, a, b, c, lam, zeta, eta, z = state
    r1 = np.where(d.blk, s.sum(axis=0) - 1.0, 0.0)
    ell = _log_ratio(d, Q)
    weight = _entropy_weight(d, eta)
    r2 = np.where(d.free, d.u * s - c[:, None] - a + b + weight * ell, 0.0)
    r3 = d.pair_f * (v[None, :] - d.u * Q - g)
    r4 = np.where(d.free.any(axis=1), Q.sum(axis=1) - 1.0, 0.0)
    r5 = np.zeros(d.K)
    r6 = np.zeros(d.hull.size)
    for j, (i, sl, C, p) in enumerate(zip(d.hull, d.slices, d.columns, d.costs, strict=True)):
        r5[sl] = d.w[i, 0] * p + C @ (s[i] * d.u[i]) - c[i] - zeta[sl]
        r6[j] = lam[sl].sum() - 1.0
    r7 = np.array([float(np.sum(np.where(d.klfree[i], Q[i] * (ell[i] - 1.0), 0.0)))
                   for i in d.kl]) + z - d.radius
    return r1, r2, r3, r4, r5, r6, r7


def _log_ratio(d: _Data, Q) -> np.ndarray:
    """``log(Q/P) + 1`` on the entropic and KL pairs (0 elsewhere)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d.entfree, np.log(np.where(d.entfree, Q, 1.0) / d.prior) + 1.0, 0.0)


def _entropy_weight(d: _Data, eta) -> np.ndarray:
    """``w γ`` for entropic pairs, the KL multiplier ``η`` for KL pairs."""
    weight = d.gw.copy()
    if d.kl.size:
        weight[d.kl] = np.where(d.klfree[d.kl], eta[:, None], 0.0)
    return weight


class _Factor:
    """Everything of a Newton step that does not depend on the right-hand side."""

    def __init__(self, d: _Data, state):
        Q, v, g, s, a, b, c, lam, zeta, eta, z = state
        # distances to the bounds, floored at the rounding of the bound itself (a bound
        # met to rounding must not put 1e-300 in a denominator)
        self.gl = np.maximum(Q - d.lo, d.floor)
        self.gh = np.maximum(d.hi - Q, d.floor)
        self.ell = _log_ratio(d, Q)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            rest = a / self.gl + b / self.gh + _entropy_weight(d, eta) / np.where(d.entfree, Q,
                                                                                   1.0)
            irest = np.where(d.free, 1.0 / rest, 0.0)
        t = d.u * d.u * s * irest + g
        self.it = 1.0 / t
        self.irest = irest
        self.invH = g * irest * self.it
        self.beta = d.u * s * irest * self.it
        alpha = (s * self.it).sum(axis=0)
        self.alpha = np.where(d.blk, alpha, 1.0)
        self.sg = d.pair_f * s / g
        # coupling of every agent-level unknown with the state prices: B (Nz, m)
        ag = d.agents
        k, nk = ag.size, d.kl.size
        self.k, self.h0 = k, k + nk
        hull_h = [self.sg[i] * d.u[i] * C for i, C in zip(d.hull, d.columns, strict=True)]
        kl_b = [-self.beta[i] * self.ell[i] for i in d.kl]
        self.B = np.vstack([self.beta[ag]] + kl_b + hull_h + [np.zeros((d.hull.size, d.m))])
        scaled = self.B / self.alpha[None, :]
        M = scaled @ self.B.T
        M[np.arange(k), np.arange(k)] += self.invH[ag].sum(axis=1)
        position = {int(i): j for j, i in enumerate(ag)}
        for j, i in enumerate(d.kl):
            ci, li = position[int(i)], k + j
            cross = float(np.sum(self.ell[i] * self.invH[i]))
            M[ci, li] -= cross
            M[li, ci] -= cross
            M[li, li] += float(np.sum(self.ell[i] ** 2 * self.invH[i])) + z[j] / eta[j]
        self.position = position
        h0 = self.h0
        for j, (i, sl, C) in enumerate(zip(d.hull, d.slices, d.columns, strict=True)):
            rows = slice(h0 + sl.start, h0 + sl.stop)
            G = (C * (self.sg[i] * d.u[i] ** 2)) @ C.T
            G[np.diag_indices_from(G)] += zeta[sl] / np.maximum(lam[sl], 1e-300)
            M[rows, rows] -= G
            M[rows, h0 + d.K + j] += 1.0
            M[h0 + d.K + j, rows] += 1.0
        self.scaled = scaled
        self.M = M


def _direction(d: _Data, f: _Factor, state, res, ks):
    """Newton direction for the complementarity right-hand sides
    ``ks = (k1, k2, k3, k4, k5)`` (shares x slacks, box multipliers x distances to the
    bounds, hull weights x their multipliers, KL multipliers x slacks)."""
    Q, v, g, s, a, b, c, lam, zeta, eta, z = state
    r1, r2, r3, r4, r5, r6, r7 = res
    k1, k2, k3, k4, k5 = ks
    u = d.u
    with np.errstate(over="ignore", invalid="ignore"):
        local = np.nan_to_num(-r2 + k2 / f.gl - k3 / f.gh)
    drive = k1 - s * r3
    rho_h = local * f.invH - u * drive * f.irest * f.it
    e = r1 + (drive * f.it + f.beta * local).sum(axis=0)
    ag, k, h0 = d.agents, f.k, f.h0
    rhs = np.zeros(f.M.shape[0])
    rhs[:k] = -r4[ag] - rho_h[ag].sum(axis=1)
    for j, i in enumerate(d.kl):
        rhs[k + j] = r7[j] + float(np.sum(f.ell[i] * rho_h[i])) + k5[j] / eta[j]
    for j, (i, sl, C) in enumerate(zip(d.hull, d.slices, d.columns, strict=True)):
        pull = C @ (u[i] * d.pair_f[i] * (k1[i] / g[i] - f.sg[i] * r3[i]))
        fk = -r5[sl] - pull + k4[sl] / np.maximum(lam[sl], 1e-300)
        rhs[h0 + sl.start: h0 + sl.stop] = -fk
        rhs[h0 + d.K + j] = -r6[j]
    rhs -= f.scaled @ e
    sol = _solve(f.M, rhs)
    dc = np.zeros(d.n)
    dc[ag] = sol[:k]
    deta = sol[k:h0]
    dlam = sol[h0: h0 + d.K]
    dc[d.hull] = sol[h0 + d.K:]
    dv = np.where(d.blk, (f.B.T @ sol + e) / f.alpha, 0.0)
    lead = np.repeat(dc[:, None], d.m, axis=1)
    if d.kl.size:
        lead[d.kl] -= f.ell[d.kl] * deta[:, None]
    dQ = lead * f.invH + f.beta * dv[None, :] + rho_h
    if d.K:
        dQ[d.hull] = d.hull_priors(dlam)
    dg = d.pair_f * (dv[None, :] - u * dQ + r3)
    ds = (k1 - s * dg) / g
    da = (k2 - a * dQ) / f.gl
    db = (k3 + b * dQ) / f.gh
    dzeta = (k4 - zeta * dlam) / np.maximum(lam, 1e-300) if d.K else np.zeros(0)
    dz = (k5 - z * deta) / eta if d.kl.size else np.zeros(0)
    return [dQ, dv, dg, ds, da, db, dc, dlam, dzeta, deta, dz]


def _solve(M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Dense solve with a tiny diagonal shift when ``M`` is numerically singular."""
    try:
        return np.linalg.solve(M, rhs)
    except np.linalg.LinAlgError:
        scale = float(np.max(np.abs(np.diag(M)), initial=0.0)) + 1e-300
        return np.linalg.lstsq(M + 1e-12 * scale * np.eye(M.shape[0]), rhs, rcond=None)[0]


def _max_step(d: _Data, f: _Factor, state, step) -> float:
    """Largest step in [0, 1] keeping every positive quantity positive."""
    Q, v, g, s, a, b, c, lam, zeta, eta, z = state
    dQ, dv, dg, ds, da, db, dc, dlam, dzeta, deta, dz = step
    checks = [(eta, deta, 0.0), (z, dz, 0.0), (g, dg, d.pair_pad), (f.gl, dQ, d.box_pad),
              (f.gh, -dQ, d.box_pad), (Q, dQ, d.ent_pad), (s, ds, d.pair_pad),
              (a, da, d.box_pad), (b, db, d.box_pad), (lam, dlam, 0.0), (zeta, dzeta, 0.0)]
    limit = 1.0
    with np.errstate(over="ignore", divide="ignore"):
        for value, delta, pad in checks:
            if value.size:
                ratio = (value + pad) / np.maximum(-delta, 1e-300)
                limit = min(limit, float(ratio.min()))
    return limit


def _products(d: _Data, state):
    """Complementarity products (shares x slacks, multipliers x distances, hull)."""
    Q, v, g, s, a, b, c, lam, zeta, eta, z = state
    return s * g, a * (Q - d.lo), b * (d.hi - Q), lam * zeta, eta * z


def _complementarity(d: _Data, state) -> float:
    return float(sum(p.sum() for p in _products(d, state)))


def ipm_solve(problem: SeparableProblem, *, target: float, scale: float,
              time_limit: float | None = None, max_iter: int = 400,
              check=None) -> SeparableSolution:
    """Mehrotra predictor-corrector; see the module docstring.

    ``check(Y, Q)``, when given, returns the relative gap of a candidate; it is asked
    every other iteration once the complementarity is within 100 times the target,
    and a candidate below ``target`` ends the iterations.
    """
    start = time.perf_counter()
    d = _Data(problem)
    state = _start(d)
    status, it, total = "iteration limit", 0, float("nan")
    money = max(scale, 1e-300)
    for it in range(1, max_iter + 1):
        res = _residuals(d, state)
        total = _complementarity(d, state)
        if _done(res, total, money, target):
            status = "optimal"
            break
        if check is not None and total <= 100 * target * money and it % 2 == 0:
            if check(*_extract(d, state)) <= target:
                status = "optimal"
                break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            status = "time limit"
            break
        if not _iterate(d, state, res, total / d.count):
            status = "numerical limit"
            break
    Y, Q = _extract(d, state)
    seconds = time.perf_counter() - start
    r4 = _residuals(d, state)[3]
    msg = (f"interior point: {it} iterations, complementarity {total:.2e}, "
           f"max |1 - sum Q| = {np.max(np.abs(r4), initial=0):.1e}")
    return SeparableSolution(Y, Q, status, it, seconds, msg, cash=state[6])


def _done(res, total: float, money: float, target: float) -> bool:
    r1, r2, r3, r4, r5, r6, r7 = res
    feas = max(float(np.max(np.abs(r), initial=0)) for r in (r1, r4, r6))
    return total <= 0.5 * target * money and feas <= 1e-9


def _iterate(d: _Data, state, res, mu: float) -> bool:
    """One Mehrotra predictor-corrector step, in place; ``False`` (and ``state``
    untouched) when the step is not finite."""
    f = _Factor(d, state)
    p1, p2, p3, p4, p5 = _products(d, state)
    aff = _direction(d, f, state, res, (-p1, -p2, -p3, -p4, -p5))
    t_aff = _max_step(d, f, state, aff)
    mu_aff = _trial_complementarity(d, state, aff, t_aff) / d.count
    sigma = min(1.0, (mu_aff / max(mu, 1e-300)) ** 3)
    dQ, dv, dg, ds, da, db, dc, dlam, dzeta, deta, dz = aff
    target = sigma * mu
    ks = (d.pair_f * (target - p1 - ds * dg), d.box_f * (target - p2 - da * dQ),
          d.box_f * (target - p3 + db * dQ), target - p4 - dlam * dzeta,
          target - p5 - deta * dz)
    step = _direction(d, f, state, res, ks)
    t = min(1.0, _STEP * _max_step(d, f, state, step))
    if not (np.isfinite(t) and all(np.isfinite(dx).all() for dx in step)):
        return False
    # a step that multiplies the complementarity (a bound met to rounding: a distance
    # to it of ~1e-300 in a denominator) is shortened, and refused after a few tries
    now = max(_complementarity(d, state), 1e-300)
    for _ in range(4):
        after = _trial_complementarity(d, state, step, t)
        if np.isfinite(after) and after <= 10.0 * now:
            break
        t *= 0.1
    else:
        return False
    for x, dx in zip(state, step, strict=True):
        x += t * dx
    return True


def _trial_complementarity(d: _Data, state, step, t: float) -> float:
    """Complementarity at ``state + t step``, from dot products (no trial state built)."""
    Q, v, g, s, a, b, c, lam, zeta, eta, z = state
    dQ, dv, dg, ds, da, db, dc, dlam, dzeta, deta, dz = step
    pairs = ((s, g, ds, dg), (a, Q - d.lo, da, dQ), (b, d.hi - Q, db, -dQ),
             (lam, zeta, dlam, dzeta), (eta, z, deta, dz))
    total = 0.0
    for x, y, dx, dy in pairs:
        x, y, dx, dy = (np.ravel(arr) for arr in (x, y, dx, dy))
        total += float(x @ y + t * (x @ dy + y @ dx) + t * t * (dx @ dy))
    return total


def _extract(d: _Data, state):
    """Allocation from the shares (normalised per state) and the priors."""
    Q, v, g, s, a, b, c, lam, zeta, eta, z = state
    S = d.pair_f * np.clip(s, 0.0, None)
    tot = S.sum(axis=0)
    S = np.where(d.blk & (tot > 0), S / np.where(tot > 0, tot, 1.0), S)
    Y = S * d.x[None, :]
    Q = np.clip(Q, 0.0, None)
    return Y, Q / Q.sum(axis=1, keepdims=True)
