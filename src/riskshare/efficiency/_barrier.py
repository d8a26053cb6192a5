r"""Smooth pools on any block menu: a primal barrier method on the block shares.

Notation: block menu ``Y_i = E s_i`` with ``E`` the ``(m, B)`` matrix of block
payoffs ``e_b`` and the shares ``s_{., b}`` in the unit simplex; weights ``w_i > 0``.
For entropic agents (tolerance ``γ_i``, prior ``P_i``) and expectation agents,

.. math:: F(S) = \sum_i w_i U_i(E s_i), \quad \nabla_{s_i} F = w_i E^T Q_i, \quad
          \nabla^2_{s_i} F = -\frac{w_i}{γ_i} E^T (\mathrm{diag}\, Q_i - Q_i Q_i^T) E,

with ``Q_i`` the tilted prior (0 for expectation agents' Hessian). The method
maximises ``F(S) + μ sum log s`` subject to ``sum_i s_{i,b} = 1``: each Newton step
solves one ``B x B`` system (the per-agent blocks are eliminated), a line search
keeps the shares positive, and ``μ`` shrinks tenfold once Newton has converged,
until ``μ n B`` (the barrier's duality gap) is below the target.
"""

from __future__ import annotations

import time

import numpy as np

from ..menus import BlockMenu
from ..utilities import Entropic, Expectation
from ._separable import SeparableSolution

__all__ = ["barrier_applies", "barrier_solve"]

_MAX_BLOCKS = 4000


def barrier_applies(utilities, menu: BlockMenu, w: np.ndarray) -> bool:
    """Entropic (at least one) and expectation agents, positive weights, a modest
    number of blocks."""
    kinds_ok = all(isinstance(u, Entropic | Expectation) for u in utilities)
    smooth = any(isinstance(u, Entropic) for u in utilities)
    return kinds_ok and smooth and bool(np.all(w > 0)) and 0 < menu.n_blocks <= _MAX_BLOCKS


def _blocks(menu: BlockMenu) -> np.ndarray:
    """``E`` (m, B): the payoff vector of every block."""
    return menu.allocation(np.eye(menu.n_blocks)[None, :, :])[0].T


class _Pool:
    def __init__(self, utilities, menu, w):
        self.us, self.w = utilities, w
        self.E = _blocks(menu)
        self.n, self.B = menu.n, menu.n_blocks
        self.smooth = np.array([isinstance(u, Entropic) for u in utilities])

    def evaluate(self, S):
        """``F``, gradients (n, B) and the Hessian blocks (n, B, B) at shares ``S``."""
        Y = S @ self.E.T
        F = 0.0
        grad = np.empty((self.n, self.B))
        hess = np.zeros((self.n, self.B, self.B))
        for i, u in enumerate(self.us):
            value, Q = u.value_and_supergradient(Y[i])
            F += self.w[i] * float(value)
            EQ = self.E.T @ Q
            grad[i] = self.w[i] * EQ
            if self.smooth[i]:
                EdQ = self.E.T * Q[None, :]
                hess[i] = -(self.w[i] / u.tolerance) * (EdQ @ self.E - np.outer(EQ, EQ))
        return F, grad, hess

    def value(self, S) -> float:
        Y = S @ self.E.T
        return float(sum(self.w[i] * float(u.value(Y[i])) for i, u in enumerate(self.us)))


def barrier_solve(utilities, menu: BlockMenu, w: np.ndarray, *, target: float, scale: float,
                  time_limit: float | None = None, max_iter: int = 400) -> SeparableSolution:
    """Maximise ``W`` over the block shares by the barrier method of the module docstring."""
    start = time.perf_counter()
    pool = _Pool(utilities, menu, w)
    n, B = pool.n, pool.B
    S = np.full((n, B), 1.0 / n)
    money = max(scale, 1e-300)
    mu = 0.1 * money / B
    it, status = 0, "iteration limit"
    while it < max_iter:
        it += 1
        F, grad, hess = pool.evaluate(S)
        step, decrement = _newton_step(S, grad, hess, mu)
        last = mu * n * B <= 0.1 * target * money
        if decrement <= (1e-6 * target * money if last else 0.1 * mu * n * B):
            if last:
                status = "optimal"
                break
            mu /= 10.0
            continue
        S = _line_search(pool, S, step, F, grad, mu, decrement)
        S = S / S.sum(axis=0, keepdims=True)
        if time_limit is not None and time.perf_counter() - start > time_limit:
            status = "time limit"
            break
    Y = S @ pool.E.T
    Q = np.array([np.asarray(u.supergradient(Y[i]), float) for i, u in enumerate(utilities)])
    seconds = time.perf_counter() - start
    msg = f"barrier Newton on {n} x {B} block shares, {it} iterations, barrier weight {mu:.1e}"
    return SeparableSolution(Y, Q, status, it, seconds, msg)


def _newton_step(S, grad, hess, mu):
    """Newton direction of ``F + μ sum log s`` on ``{sum_i s_{i,b} = 1}`` and its decrement."""
    n, B = S.shape
    r = grad + mu / S
    inv = np.empty((n, B, B))
    for i in range(n):
        A = np.diag(mu / S[i] ** 2) - hess[i]
        inv[i] = np.linalg.inv(A)
    total = inv.sum(axis=0)
    rhs = np.einsum("ibc,ic->b", inv, r)
    dlam = np.linalg.solve(total, rhs)
    step = np.einsum("ibc,ic->ib", inv, r - dlam[None, :])
    decrement = float(np.sum(step * (r - dlam[None, :])))
    return step, max(decrement, 0.0)


def _line_search(pool, S, step, F, grad, mu, decrement):
    """Backtracking on the barrier objective, staying strictly inside the simplex."""
    neg = step < 0
    t = 1.0
    if np.any(neg):
        t = min(1.0, 0.99 * float(np.min(-S[neg] / step[neg])))
    base = F + mu * float(np.log(S).sum())
    for _ in range(60):
        trial = S + t * step
        if np.all(trial > 0):
            value = pool.value(trial) + mu * float(np.log(trial).sum())
            if value >= base + 0.25 * t * decrement - 1e-15 * (abs(base) + 1.0):
                return trial
        t *= 0.5
    return S + t * step
