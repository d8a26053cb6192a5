r"""Polytopes of priors: the H-representation a polyhedral utility hands to LP solvers.

A polyhedral monetary utility is ``U(Y) = min { <Q, Y> : Q in C }`` for a polytope
``C`` of probability vectors (its penalty is the indicator of ``C``). ``C`` is
described in lifted form: ``Q = z[:m]`` for variables ``z`` (length ``n_vars >= m``)
with

    A_ub z <= b_ub,   A_eq z = b_eq,   lb <= z <= ub.

Auxiliary variables ``z[m:]`` (mixture weights, a contaminating prior, ...) let a
set be described compactly. Matrices are ``scipy.sparse`` CSR.

Building blocks: :meth:`Polytope.simplex_box` (interval sets, expected
shortfall), :meth:`Polytope.hull` (finite priors), :meth:`Polytope.shortfall_lift`
(priors ``R`` with ``level R <= Q`` for some ``Q`` in a set: expected shortfall
over a credal set) and :meth:`Polytope.mixture` (a weighted Minkowski sum: a
piecewise-linear distortion is a mixture of expected shortfalls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

__all__ = ["Polytope"]


@dataclass(frozen=True, eq=False)
class Polytope:
    """Lifted H-representation of a set of priors (see module docstring)."""

    m: int
    n_vars: int
    A_ub: sparse.csr_matrix
    b_ub: np.ndarray
    A_eq: sparse.csr_matrix
    b_eq: np.ndarray
    lb: np.ndarray
    ub: np.ndarray

    @classmethod
    def simplex_box(cls, lo, hi) -> Polytope:
        """``{Q : lo <= Q <= hi, sum Q = 1}``."""
        lo = np.asarray(lo, float)
        hi = np.asarray(hi, float)
        m = lo.size
        return cls(m, m, sparse.csr_matrix((0, m)), np.zeros(0),
                   sparse.csr_matrix(np.ones((1, m))), np.ones(1), lo, hi)

    @classmethod
    def hull(cls, priors) -> Polytope:
        """Convex hull of the rows of ``priors`` (K, m): variables ``[Q, λ]`` with
        ``Q = Σ_k λ_k priors[k]``, ``λ`` in the unit simplex."""
        priors = np.asarray(priors, float)
        K, m = priors.shape
        A_eq = sparse.vstack([
            sparse.hstack([sparse.identity(m), sparse.csr_matrix(-priors.T)]),
            sparse.hstack([sparse.csr_matrix((1, m)), sparse.csr_matrix(np.ones((1, K)))]),
        ]).tocsr()
        b_eq = np.concatenate([np.zeros(m), [1.0]])
        return cls(m, m + K, sparse.csr_matrix((0, m + K)), np.zeros(0), A_eq, b_eq,
                   np.zeros(m + K), np.ones(m + K))

    @classmethod
    def shortfall_lift(cls, C: Polytope, level: float) -> Polytope:
        """``{R prior : level R <= Q for some Q in C}``: variables ``[R, z]`` where
        ``z`` are the variables of ``C`` (so ``Q = z[:m]``)."""
        m = C.m
        pick_q = sparse.hstack([sparse.identity(m), sparse.csr_matrix((m, C.n_vars - m))])
        A_ub = sparse.vstack([
            sparse.hstack([level * sparse.identity(m), -pick_q]),
            sparse.hstack([sparse.csr_matrix((C.A_ub.shape[0], m)), C.A_ub]),
        ]).tocsr()
        A_eq = sparse.vstack([
            sparse.hstack([sparse.csr_matrix(np.ones((1, m))),
                           sparse.csr_matrix((1, C.n_vars))]),
            sparse.hstack([sparse.csr_matrix((C.A_eq.shape[0], m)), C.A_eq]),
        ]).tocsr()
        return cls(m, m + C.n_vars, A_ub, np.concatenate([np.zeros(m), C.b_ub]),
                   A_eq, np.concatenate([[1.0], C.b_eq]),
                   np.concatenate([np.zeros(m), C.lb]), np.concatenate([np.ones(m), C.ub]))

    @classmethod
    def mixture(cls, weights, parts) -> Polytope:
        """``Σ_j w_j C_j`` (weights ``w_j >= 0`` summing to 1): variables
        ``[Q, z_1, ..., z_J]`` with ``Q = Σ_j w_j z_j[:m]``."""
        weights = np.asarray(weights, float)
        keep = [j for j in range(len(parts)) if weights[j] > 0]
        parts = [parts[j] for j in keep]
        weights = weights[keep]
        m = parts[0].m
        n_vars = m + sum(C.n_vars for C in parts)
        link = [sparse.identity(m)]
        for w, C in zip(weights, parts, strict=True):
            link.append(sparse.hstack([-w * sparse.identity(m),
                                       sparse.csr_matrix((m, C.n_vars - m))]))
        A_eq = sparse.vstack([
            sparse.hstack(link),
            sparse.hstack([sparse.csr_matrix((sum(C.A_eq.shape[0] for C in parts), m)),
                           sparse.block_diag([C.A_eq for C in parts])]),
        ]).tocsr()
        A_ub = sparse.hstack([sparse.csr_matrix((sum(C.A_ub.shape[0] for C in parts), m)),
                              sparse.block_diag([C.A_ub for C in parts])]).tocsr()
        return cls(m, n_vars, A_ub, np.concatenate([C.b_ub for C in parts]), A_eq,
                   np.concatenate([np.zeros(m)] + [C.b_eq for C in parts]),
                   np.concatenate([np.zeros(m)] + [C.lb for C in parts]),
                   np.concatenate([np.ones(m)] + [C.ub for C in parts]))

    def minimise(self, Y) -> tuple[float, np.ndarray]:
        """``min {<Q, Y> : Q in the set}`` by an LP (HiGHS): value and a minimiser.

        Meant for checks and small problems; the utilities compute their own
        worst cases in closed form.
        """
        c = np.zeros(self.n_vars)
        c[: self.m] = np.asarray(Y, float)
        res = linprog(c, A_ub=self.A_ub if self.A_ub.shape[0] else None,
                      b_ub=self.b_ub if self.A_ub.shape[0] else None,
                      A_eq=self.A_eq if self.A_eq.shape[0] else None,
                      b_eq=self.b_eq if self.A_eq.shape[0] else None,
                      bounds=np.column_stack([self.lb, self.ub]), method="highs")
        if res.status != 0:
            raise RuntimeError(f"LP over the polytope failed: {res.message}")
        return float(res.fun), res.x[: self.m]

    def contains(self, Q, tol: float = 1e-9) -> bool:
        """Whether ``Q`` lies in the set, up to ``tol`` on every constraint.

        Without a lift this is a direct check; with one it solves the LP that
        minimises the largest constraint violation over the auxiliary variables.
        """
        if self.n_vars != self.m:
            return self._lifted_violation(np.asarray(Q, float)) <= tol
        Q = np.asarray(Q, float)
        ok = np.all(Q >= self.lb - tol) and np.all(Q <= self.ub + tol)
        if self.A_ub.shape[0]:
            ok = ok and np.all(self.A_ub @ Q <= self.b_ub + tol)
        if self.A_eq.shape[0]:
            ok = ok and np.all(np.abs(self.A_eq @ Q - self.b_eq) <= tol * max(1, self.m))
        return bool(ok)

    def _lifted_violation(self, Q: np.ndarray) -> float:
        """Smallest ``s`` such that some lift of ``Q`` violates no constraint by more than ``s``.

        Solved as an LP over the auxiliary variables; the violation returned is
        recomputed at the LP's point, so a small value certifies membership.
        """
        m, k = self.m, self.n_vars - self.m
        base = float(max(0.0, np.max(self.lb[:m] - Q), np.max(Q - self.ub[:m])))
        Aq_ub, Az_ub = self.A_ub[:, :m], self.A_ub[:, m:]
        Aq_eq, Az_eq = self.A_eq[:, :m], self.A_eq[:, m:]
        ones_ub = sparse.csr_matrix(np.ones((self.A_ub.shape[0], 1)))
        ones_eq = sparse.csr_matrix(np.ones((self.A_eq.shape[0], 1)))
        eye = sparse.identity(k, format="csr")
        one_k = sparse.csr_matrix(np.ones((k, 1)))
        A = sparse.vstack([
            sparse.hstack([Az_ub, -ones_ub]),
            sparse.hstack([Az_eq, -ones_eq]),
            sparse.hstack([-Az_eq, -ones_eq]),
            sparse.hstack([-eye, -one_k]),
            sparse.hstack([eye, -one_k]),
        ]).tocsr()
        r_ub = self.b_ub - Aq_ub @ Q
        r_eq = self.b_eq - Aq_eq @ Q
        b = np.concatenate([r_ub, r_eq, -r_eq, -self.lb[m:], self.ub[m:]])
        c = np.zeros(k + 1)
        c[-1] = 1.0
        bounds = [(None, None)] * k + [(0, None)]
        res = linprog(c, A_ub=A, b_ub=b, bounds=bounds, method="highs",
                      options={"primal_feasibility_tolerance": 1e-10,
                               "dual_feasibility_tolerance": 1e-10})
        if res.status != 0:
            raise RuntimeError(f"membership LP failed: {res.message}")
        z = res.x[:k]
        worst = max(0.0, np.max(Az_ub @ z - r_ub, initial=0.0),
                    np.max(np.abs(Az_eq @ z - r_eq), initial=0.0),
                    np.max(self.lb[m:] - z, initial=0.0), np.max(z - self.ub[m:], initial=0.0))
        return max(base, float(worst))
