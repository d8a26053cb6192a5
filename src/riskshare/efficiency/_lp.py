r"""Welfare maximisation as one linear program (HiGHS), with columns for the rest.

Notation: block menu ``Y_i = sum_b s_{i,b} e_b``, ``M_{i,b}(Q) = <Q, e_b>``,
weights ``w_i``. The LP is the *pricing* problem (the dual of welfare
maximisation, spec §4):

.. math:: \min \; \sum_b v_b + \sum_i w_i \, \mathrm{pen}_i
          \quad \text{s.t.} \quad v_b \ge w_i M_{i,b}(Q_i),

with ``Q_i`` ranging over

* the agent's credal polytope (lifted variables ``z_i``, ``Q_i = z_i[:m]``,
  ``pen_i = 0``) when the utility has one: exact;
* otherwise the convex hull of supergradients ``Q_i^k`` collected so far, with
  ``pen_i = sum_k λ_k α_i(Q_i^k) >= α_i(sum_k λ_k Q_i^k)``: a restriction, so the
  LP value stays an upper bound on ``W*``. Its LP dual is Kelley's outer
  approximation of ``U_i`` by tangent planes; new columns are the supergradients
  at the LP's allocation and at its midpoint with the best allocation so far
  (a stabilisation), until the bound meets the best welfare found.

The row duals of ``v_b >= w_i M_{i,b}`` are the shares ``s_{i,b}`` (they sum to one
in every block because ``v_b`` has cost one). On the comonotone menu
``M_{i,b}`` is a tail sum; it is carried by a chain of tail variables per agent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

from ..menus import BlockMenu, ComonotoneMenu
from ._highs import INF, solve_lp

__all__ = ["lp_solve", "LPSolution"]


@dataclass
class LPSolution:
    """What the LP path returns to the dispatcher."""

    allocation: np.ndarray
    shares: np.ndarray
    priors: np.ndarray
    upper_bound: float
    status: str
    iterations: int
    message: str


class _Triplets:
    """COO entries of a sparse matrix built block by block."""

    def __init__(self):
        self.rows, self.cols, self.vals = [], [], []

    def add(self, block, row0: int, col0: int) -> None:
        block = sparse.coo_matrix(block)
        self.rows.append(block.row + row0)
        self.cols.append(block.col + col0)
        self.vals.append(block.data)

    def matrix(self, shape) -> sparse.csc_matrix:
        if not self.rows:
            return sparse.csc_matrix(shape)
        return sparse.csc_matrix((np.concatenate(self.vals),
                                  (np.concatenate(self.rows), np.concatenate(self.cols))),
                                 shape=shape)


def _layer_levels(menu: ComonotoneMenu):
    """Loss and gain level of every state and the sign-scaled width of every layer."""
    X = menu.aggregate
    bounds = menu.layer_bounds
    loss = bounds[:, 1] <= 0
    lower = bounds[loss, 0]
    upper = bounds[~loss, 1]
    loss_level = np.where(X < 0, (lower[None, :] >= X[:, None]).sum(axis=1), 0)
    gain_level = np.where(X > 0, (upper[None, :] <= X[:, None]).sum(axis=1), 0)
    width = menu.block_scale
    signed = np.where(loss, -width, width)
    return loss_level, int(loss.sum()), gain_level, int((~loss).sum()), signed


class _Model:
    """The pricing LP, grown by columns for the agents without a polytope."""

    def __init__(self, utilities, menu: BlockMenu, w: np.ndarray, polytopes):
        self.us, self.menu, self.w = utilities, menu, w
        self.n, self.m, self.B = menu.n, menu.m, menu.n_blocks
        self.polytopes = polytopes
        self.columns: list[list[tuple[np.ndarray, float]]] = [[] for _ in range(self.n)]
        self.comonotone = isinstance(menu, ComonotoneMenu)
        if self.comonotone:
            self.levels = _layer_levels(menu)

    def add_column(self, i: int, q: np.ndarray, penalty: float) -> None:
        self.columns[i].append((q, penalty))

    def solve(self, time_limit):
        """Assemble and solve; returns ``(Q, shares, result)`` (``Q`` and ``shares`` are
        ``None`` when HiGHS returned no solution). Money is measured in units of the
        largest block scale inside the LP (so its coefficients are at most one); the
        objective in ``result`` is back in the pool's units."""
        n, m, B = self.n, self.m, self.B
        unit = max(float(np.max(np.abs(self.menu.block_scale), initial=0.0)), 1e-300)
        w = self.w / unit
        trip = _Triplets()
        cost, col_lo, col_hi = [np.ones(B)], [np.full(B, -INF)], [np.full(B, INF)]
        row_lo, row_hi = [], []
        ncol = B
        nrow = 0
        coupling = []                 # (row offset, agent)
        readers = []                  # how to read Q_i back from x
        for i in range(n):
            poly = self.polytopes[i]
            if poly is not None:
                start = ncol
                cost.append(np.zeros(poly.n_vars))
                col_lo.append(np.where(np.isfinite(poly.lb), poly.lb, -INF))
                col_hi.append(np.where(np.isfinite(poly.ub), poly.ub, INF))
                ncol += poly.n_vars
                for A, lo, hi in ((poly.A_ub, np.full(poly.A_ub.shape[0], -INF), poly.b_ub),
                                  (poly.A_eq, poly.b_eq, poly.b_eq)):
                    if A.shape[0]:
                        trip.add(A, nrow, start)
                        row_lo.append(lo)
                        row_hi.append(hi)
                        nrow += A.shape[0]
                marg, nrow, ncol = self._marginal_of_q(trip, start, nrow, ncol, cost, col_lo,
                                                       col_hi, row_lo, row_hi)
                readers.append(("z", start))
            else:
                cols = self.columns[i]
                K = len(cols)
                start = ncol
                cost.append(w[i] * np.array([p for _, p in cols]))
                col_lo.append(np.zeros(K))
                col_hi.append(np.full(K, INF))
                ncol += K
                trip.add(np.ones((1, K)), nrow, start)
                row_lo.append(np.ones(1))
                row_hi.append(np.ones(1))
                nrow += 1
                Qk = np.array([q for q, _ in cols])
                marg = ("dense", start, self.menu.marginal_values(Qk).T)   # (B, K)
                readers.append(("hull", start, Qk))
            coupling.append(nrow)
            # rows v_b - w_i M_{i,b} >= 0
            trip.add(sparse.identity(B), nrow, 0)
            if w[i] != 0:
                trip.add(-w[i] * _marginal_block(marg, B), nrow, marg[1])
            row_lo.append(np.zeros(B))
            row_hi.append(np.full(B, INF))
            nrow += B
        A = trip.matrix((nrow, ncol))
        result = solve_lp(np.concatenate(cost), A, np.concatenate(row_lo),
                          np.concatenate(row_hi), np.concatenate(col_lo),
                          np.concatenate(col_hi), time_limit=time_limit,
                          options={"primal_feasibility_tolerance": 1e-10,
                                   "dual_feasibility_tolerance": 1e-10})
        result = replace(result, objective=result.objective * unit)
        if result.x.size != ncol or result.row_dual.size != nrow:
            return None, None, result
        Q = np.zeros((n, m))
        shares = np.zeros((n, B))
        for i in range(n):
            kind = readers[i]
            if kind[0] == "z":
                Q[i] = result.x[kind[1]: kind[1] + m]
            else:
                lam = result.x[kind[1]: kind[1] + kind[2].shape[0]]
                Q[i] = np.clip(lam, 0, None) @ kind[2]
            shares[i] = result.row_dual[coupling[i]: coupling[i] + B]
        return Q, shares, result

    def _marginal_of_q(self, trip, start, nrow, ncol, cost, col_lo, col_hi, row_lo, row_hi):
        """How ``M_{i,b}`` reads the agent's ``Q = z[:m]``: directly (sign menu) or
        through a chain of tail sums (comonotone menu)."""
        m = self.m
        if not self.comonotone:
            states = self.menu.block_states
            K = sparse.csr_matrix((self.menu.block_scale, (np.arange(self.B), states)),
                                  shape=(self.B, m))
            return ("sparse", start, K), nrow, ncol
        loss_level, n_loss, gain_level, n_gain, signed = self.levels
        tails = n_loss + n_gain
        t0 = ncol
        cost.append(np.zeros(tails))
        col_lo.append(np.full(tails, -INF))
        col_hi.append(np.full(tails, INF))
        ncol += tails
        for level, count, offset in ((loss_level, n_loss, 0), (gain_level, n_gain, n_loss)):
            if count == 0:
                continue
            # T_k - T_{k+1} - sum_{level(ω) = k} Q_ω = 0, k = 1..count
            k = np.arange(count)
            trip.add(sparse.coo_matrix((np.ones(count), (k, k + offset)),
                                       shape=(count, tails)), nrow, t0)
            if count > 1:
                trip.add(sparse.coo_matrix((-np.ones(count - 1), (k[:-1], k[:-1] + 1 + offset)),
                                           shape=(count, tails)), nrow, t0)
            states = np.flatnonzero(level > 0)
            trip.add(sparse.coo_matrix((-np.ones(states.size), (level[states] - 1, states)),
                                       shape=(count, m)), nrow, start)
            row_lo.append(np.zeros(count))
            row_hi.append(np.zeros(count))
            nrow += count
        K = sparse.diags(signed, shape=(self.B, tails))
        return ("sparse", t0, K), nrow, ncol


def _marginal_block(marg, B):
    kind, _, data = marg
    return data if kind == "sparse" else sparse.csr_matrix(data)


def lp_solve(utilities, menu: BlockMenu, w: np.ndarray, *, target: float, scale: float,
             time_limit: float | None = None, max_rounds: int = 200) -> LPSolution:
    """Solve the pricing LP; grow columns for agents without a credal polytope."""
    start = time.perf_counter()
    polytopes = [u.credal_polytope() if u.polyhedral else None for u in utilities]
    model = _Model(utilities, menu, w, polytopes)
    general = [i for i, p in enumerate(polytopes) if p is None]
    best_Y, best_W = None, -np.inf
    seed = menu.allocation(np.full((menu.n, menu.n_blocks), 1.0 / menu.n))
    for i in general:
        _add_supergradient(model, utilities[i], i, seed[i])
    status, rounds, upper = "optimal", 0, np.inf
    for count in range(1, max_rounds + 1):
        rounds = count
        left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - start))
        Q, shares, result = model.solve(left)
        if result.status != "optimal":
            status = result.status
            break
        upper = result.objective
        Y = menu.allocation(_simplex_shares(shares))
        W = float(sum(w[i] * float(utilities[i].value(Y[i])) for i in range(menu.n) if w[i]))
        if W > best_W:
            best_W, best_Y, best_Q, best_shares = W, Y, Q, _simplex_shares(shares)
        if not general or upper - best_W <= target * max(abs(best_W), scale):
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            status = "time limit"
            break
        middle = 0.5 * (Y + best_Y)
        for i in general:
            _add_supergradient(model, utilities[i], i, Y[i])
            _add_supergradient(model, utilities[i], i, middle[i])
    else:
        status = "iteration limit"
    if best_Y is None:
        raise RuntimeError(f"the pricing LP failed: {status}")
    msg = (f"pricing LP (HiGHS), {rounds} round(s)" +
           (f", columns for {len(general)} agent(s) without a polytope" if general else ""))
    return LPSolution(best_Y, best_shares, best_Q, float(upper), status, rounds, msg)


def _add_supergradient(model: _Model, u, i: int, y: np.ndarray) -> None:
    q = np.asarray(u.supergradient(y), float)
    penalty = float(u.value(y)) - float(np.dot(q, y))
    model.add_column(i, q, max(penalty, 0.0))


def _simplex_shares(shares: np.ndarray) -> np.ndarray:
    """Row duals as shares: clipped at 0 and renormalised per block."""
    S = np.clip(shares, 0.0, None)
    total = S.sum(axis=0, keepdims=True)
    n = S.shape[0]
    return np.where(total > 0, S / np.where(total > 0, total, 1.0), 1.0 / n)
