r"""The efficiency certificate (spec §4), computed apart from any solver.

Notation: agents ``i = 1..n`` with weights ``w_i >= 0`` and monetary utilities
``U_i(Y) = min_Q <Q, Y> + alpha_i(Q)``; a block menu ``Y_i = sum_b s_{i,b} e_b``
with the shares of each block in the unit simplex; ``M_{i,b}(Q_i) = <Q_i, e_b>``
(``menu.marginal_values``).

Weak duality: for any ``Q_i`` in the domain of ``alpha_i`` and any ``Z`` in the menu,
``sum_i w_i U_i(Z_i) <= sum_i w_i (<Q_i, Z_i> + alpha_i(Q_i))``, and the linear part is
maximised block by block by giving block ``b`` to the agent with the largest
``w_i M_{i,b}``. Hence

.. math:: W^* \le D(Q) = \sum_b \max_i w_i M_{i,b}(Q_i) + \sum_i w_i \alpha_i(Q_i),

whatever ``Q`` is. :func:`certify` moves each given ``Q_i`` into the domain of
``alpha_i`` first (a box-and-simplex repair when the utility's credal polytope is
a box, an L1 projection by a small LP for a lifted polytope, and otherwise a
mixture with the utility's own supergradient at ``Y_i``), so the bound holds up
to float rounding and the utilities' domain tolerance ``PENALTY_TOL``. When the
``Q_i`` are supergradients at ``Y_i``, ``D(Q) = W(Y) + max_Z sum_i w_i <Q_i, Z_i - Y_i>``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .._errors import ShapeError
from ..menus import BlockMenu, FiniteMenu, Menu, SignMenu
from ..utilities import MonetaryUtility
from ..utilities._base import PENALTY_TOL
from ._agents import box_bounds, check_utilities, check_weights, classify
from ._highs import INF, solve_lp
from ._results import Certificate

__all__ = ["certify", "welfare_scale", "repair_prior", "relative"]


def certify(utilities, menu: Menu, Y, Q, *, weights=None, _reuse: bool = False,
            _scale: float | None = None) -> Certificate:
    """Certify an allocation: ``W(Y) <= W* <= upper_bound``.

    Parameters
    ----------
    utilities : sequence of MonetaryUtility
        One bound utility per agent.
    menu : SignMenu, ComonotoneMenu or FiniteMenu
        The menu ``Y`` was chosen from.
    Y : array_like, shape (n, m)
        The allocation to certify.
    Q : array_like, shape (n, m)
        Candidate dual priors (ideally supergradients of ``U_i`` at ``Y_i``).
    weights : array_like, shape (n,), optional
        Welfare weights ``w_i >= 0`` (default ones).

    Returns
    -------
    Certificate

    Raises
    ------
    ShapeError
        When ``Y`` or ``Q`` is not ``(n, m)``.
    """
    n, m = menu.n, menu.m
    us = check_utilities(utilities, m, n)
    w = check_weights(weights, n)
    Y = _matrix("Y", Y, n, m)
    Q = _matrix("Q", Q, n, m)

    values = np.array([float(u.value(Y[i])) for i, u in enumerate(us)])
    priors, penalties, in_domain, moved = _repair_all(us, Q, Y, reuse=_reuse)
    linear = np.einsum("im,im->i", priors, Y)
    residuals = penalties - (values - linear)

    live = w > 0
    welfare = float(np.dot(w[live], values[live]))
    penalty_part = float(np.dot(w[live], penalties[live]))
    if isinstance(menu, FiniteMenu):
        upper, menu_gap = _finite_bound(us, menu, w), 0.0
    elif menu.n_blocks == 0 and _in_menu(menu, Y):
        # the aggregate is zero in every state: the menu is the single allocation 0
        upper, menu_gap = welfare, 0.0
    else:
        best = _block_maxima(menu, priors, w)
        upper = best + penalty_part
        menu_gap = best - float(np.dot(w[live], linear[live]))
    scale = welfare_scale(us, menu, w) if _scale is None else float(_scale)
    gap = upper - welfare
    return Certificate(welfare, float(upper), float(gap), relative(gap, welfare, scale),
                       scale, float(menu_gap), residuals, in_domain, moved, values, penalties,
                       priors, _in_menu(menu, Y))


def _in_menu(menu: Menu, Y: np.ndarray, tol: float = 1e-9) -> bool:
    """``menu.contains(Y)``; for the sign-constrained menu the same test state-chunk by
    state-chunk (``Y_i(ω) = s_i(ω) X(ω)`` with shares in [0, 1] summing to one, zero
    where ``X(ω) = 0``), which keeps the memory to a slice of ``Y``."""
    if not isinstance(menu, SignMenu):
        return bool(menu.contains(Y, tol))
    X = menu.aggregate
    size = max(1.0, float(np.max(np.abs(X), initial=0.0)))
    step = max(1, 2 ** 22 // max(1, Y.shape[0]))
    for start in range(0, X.size, step):
        x = X[start:start + step]
        y = Y[:, start:start + step]
        if np.max(np.abs(y.sum(axis=0) - x), initial=0.0) > tol * size:
            return False
        if np.max(np.abs(y[:, x == 0]), initial=0.0) > tol * size:
            return False
        live = x != 0
        s = y[:, live] / x[live]
        if s.size and (s.min() < -tol or s.max() > 1 + tol):
            return False
    return True


def relative(gap: float, welfare: float, scale: float) -> float:
    """``gap / max(|welfare|, scale)``, with ``0/0 = 0``."""
    denominator = max(abs(welfare), scale)
    if denominator > 0:
        return float(gap / denominator)
    return 0.0 if gap <= 0 else float("inf")


def welfare_scale(utilities, menu: Menu, w: np.ndarray) -> float:
    """The money scale used in relative gaps (see :class:`Certificate`)."""
    priors = np.array([u.prior_vector() for u in utilities])
    if isinstance(menu, FiniteMenu):
        totals = np.einsum("kim,im,i->k", np.abs(menu.items), priors, w)
        return float(totals.max(initial=0.0))
    mean_prior = priors.mean(axis=0)
    return float(np.max(w, initial=0.0) * np.dot(mean_prior, np.abs(menu.aggregate)))


def _matrix(field: str, value, n: int, m: int) -> np.ndarray:
    A = np.asarray(value, dtype=float)
    if A.shape != (n, m):
        raise ShapeError(field, A.shape, f"expected shape ({n}, {m})",
                         "give one row per agent and one column per state")
    return A


def _block_maxima(menu: BlockMenu, priors: np.ndarray, w: np.ndarray) -> float:
    """``sum_b max_i w_i <Q_i, e_b>`` (0 when the menu has no blocks)."""
    if menu.n_blocks == 0:
        return 0.0
    best = np.full(menu.n_blocks, -np.inf)
    step = max(1, 2 ** 22 // max(1, menu.n_blocks))
    for s in range(0, menu.n, step):
        values = menu.marginal_values(priors[s:s + step]) * w[s:s + step, None]
        best = np.maximum(best, values.max(axis=0))
    return float(best.sum())


def _finite_bound(us, menu: FiniteMenu, w: np.ndarray) -> float:
    """Exact maximum of the weighted welfare over the items."""
    totals = np.zeros(menu.size)
    for i, u in enumerate(us):
        if w[i] > 0:
            totals += w[i] * np.asarray(u.value(menu.items[:, i, :]), float)
    return float(totals.max())


def _repair_all(us, Q: np.ndarray, Y: np.ndarray, reuse: bool = False):
    """Repaired priors, row by row; ``reuse`` writes them over ``Q`` (a caller that
    owns ``Q`` and no longer needs it saves an ``(n, m)`` array)."""
    n, m = Q.shape
    priors = Q if reuse else np.empty((n, m))
    penalties = np.empty(n)
    in_domain = np.zeros(n, dtype=bool)
    moved = np.empty(n)
    for i, u in enumerate(us):
        row, penalties[i], in_domain[i] = repair_prior(u, Q[i], Y[i])
        moved[i] = float(np.max(np.abs(row - Q[i]), initial=0.0))
        priors[i] = row
    return priors, penalties, in_domain, moved


def repair_prior(u: MonetaryUtility, q: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float,
                                                                             bool]:
    """Move ``q`` into the domain of ``alpha``; return it, ``alpha`` there and whether
    ``q`` was in the domain already."""
    given = float(u.penalty(q, y))
    in_domain = bool(np.isfinite(given) and _on_simplex(q))
    kind = classify(u)
    if kind.kind == "kl":
        candidate = _kl_repair(_simplex(q), kind.lo, kind.tolerance)
        return candidate, float(u.penalty(candidate, y)), in_domain
    poly = u.credal_polytope() if u.polyhedral else None
    box = box_bounds(poly)
    if box is not None:
        candidate = _box_repair(_simplex(q), *box)
    elif in_domain:
        return q.copy(), given, True
    elif poly is not None:
        candidate = _polytope_repair(poly, _simplex(q))
    else:
        candidate = _simplex(q)
    value = float(u.penalty(candidate, y))
    if np.isfinite(value):
        return candidate, value, in_domain
    best, value = _mix_repair(u, candidate, y)
    return best, value, in_domain


def _on_simplex(q: np.ndarray) -> bool:
    return bool(np.all(q >= 0) and abs(q.sum() - 1.0) <= PENALTY_TOL)


def _simplex(q: np.ndarray) -> np.ndarray:
    p = np.clip(q, 0.0, None)
    total = p.sum()
    return p / total if total > 0 else np.full(q.size, 1.0 / q.size)


def _box_repair(q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Clip to ``[lo, hi]``, then move the deficit where there is room (exact sum 1)."""
    p = np.clip(q, lo, hi)
    deficit = 1.0 - p.sum()
    room = (hi - p) if deficit > 0 else (p - lo)
    total = room.sum()
    if total > 0:
        p = p + np.sign(deficit) * min(abs(deficit), total) * room / total
    return np.clip(p, lo, hi)


def _kl_repair(q: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Shrink towards the centre until ``KL(q || centre) <= radius`` holds exactly
    (``KL`` is convex, so the mixture with weight ``1 - radius / KL`` is inside)."""
    q = np.where(centre > 0, q, 0.0)
    q = q / q.sum()
    for _ in range(60):
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = float(np.sum(np.where(q > 0, q * np.log(q / centre), 0.0)))
        if kl <= radius * (1.0 - 1e-12):
            return q
        t = max(1.0 - radius * (1.0 - 1e-12) / kl, 1e-15)
        q = (1.0 - t) * q + t * centre
    return centre.copy()


def _polytope_repair(poly, q: np.ndarray) -> np.ndarray:
    """L1-nearest point of a lifted polytope: ``min |z[:m] - q|_1`` over ``z in C``."""
    m, k = poly.m, poly.n_vars
    # variables: z (k), up (m), down (m); z[:m] - up + down = q
    link = sparse.hstack([sparse.eye(m, k), -sparse.eye(m), sparse.eye(m)])
    rows = [link]
    lo_rows, hi_rows = [q], [q]
    if poly.A_ub.shape[0]:
        rows.append(sparse.hstack([poly.A_ub, sparse.csr_matrix((poly.A_ub.shape[0], 2 * m))]))
        lo_rows.append(np.full(poly.A_ub.shape[0], -INF))
        hi_rows.append(poly.b_ub)
    if poly.A_eq.shape[0]:
        rows.append(sparse.hstack([poly.A_eq, sparse.csr_matrix((poly.A_eq.shape[0], 2 * m))]))
        lo_rows.append(poly.b_eq)
        hi_rows.append(poly.b_eq)
    A = sparse.vstack(rows).tocsc()
    cost = np.concatenate([np.zeros(k), np.ones(2 * m)])
    col_lo = np.concatenate([np.where(np.isfinite(poly.lb), poly.lb, -INF), np.zeros(2 * m)])
    col_hi = np.concatenate([np.where(np.isfinite(poly.ub), poly.ub, INF), np.full(2 * m, INF)])
    result = solve_lp(cost, A, np.concatenate(lo_rows), np.concatenate(hi_rows), col_lo, col_hi,
                      options={"primal_feasibility_tolerance": 1e-10,
                               "dual_feasibility_tolerance": 1e-10})
    if result.status != "optimal":
        return q
    return _simplex(result.x[:m])


def _mix_repair(u: MonetaryUtility, q: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Mix ``q`` with the utility's supergradient at ``y`` (a member of the domain)."""
    anchor = np.asarray(u.supergradient(y), float)
    if not np.isfinite(float(u.penalty(anchor, y))):
        return q, float("inf")
    low, high = 0.0, 1.0
    for _ in range(40):
        mid = 0.5 * (low + high)
        if np.isfinite(float(u.penalty((1 - mid) * q + mid * anchor, y))):
            high = mid
        else:
            low = mid
    best = (1 - high) * q + high * anchor
    return best, float(u.penalty(best, y))
