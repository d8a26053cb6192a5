r"""Polytopes of priors: the H-representation a polyhedral utility hands to LP solvers.

A polyhedral monetary utility is ``U(Y) = min { <Q, Y> : Q in C }`` for a polytope
``C`` of probability vectors (its penalty is the indicator of ``C``). ``C`` is
described in lifted form: ``Q = z[:m]`` for variables ``z`` (length ``n_vars >= m``)
with

    A_ub z <= b_ub,   A_eq z = b_eq,   lb <= z <= ub.

Auxiliary variables ``z[m:]`` (mixture weights, a contaminating prior, ...) let a
set be described compactly. Matrices are ``scipy.sparse`` CSR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

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

    def contains(self, Q, tol: float = 1e-9) -> bool:
        """Membership of ``Q`` when the lift is trivial (``n_vars == m``)."""
        if self.n_vars != self.m:
            raise NotImplementedError("membership of a lifted polytope needs an LP")
        Q = np.asarray(Q, float)
        ok = np.all(Q >= self.lb - tol) and np.all(Q <= self.ub + tol)
        if self.A_ub.shape[0]:
            ok = ok and np.all(self.A_ub @ Q <= self.b_ub + tol)
        if self.A_eq.shape[0]:
            ok = ok and np.all(np.abs(self.A_eq @ Q - self.b_eq) <= tol * max(1, self.m))
        return bool(ok)
