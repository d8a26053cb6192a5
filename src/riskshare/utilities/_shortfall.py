r"""Expected shortfall (CVaR) at level ``α``.

Notation: payoffs ``Y`` (..., m), prior ``Q`` (m,), level ``α ∈ (0, 1]``.

.. math:: ES_α(Y) = \min \{ \langle R, Y \rangle : R \text{ a probability}, 0 \le R \le Q/α \}

is the mean of the worst ``α``-fraction of ``Y`` under ``Q``. The minimiser
fills the worst states up to ``Q/α`` until it has mass one; an atom that
straddles the ``α``-quantile gets the remainder, and when ``α`` is below the
smallest atom the worst state takes all the mass. Tied payoffs make the
superdifferential a set; the stable sort returns one of its members. The
penalty is the indicator of ``{R : 0 <= R <= Q/α, Σ R = 1}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import UtilityParameterError
from .._validate import probability_vector
from ._base import (
    PENALTY_TOL,
    MonetaryUtility,
    _off_simplex,
    _prior_batch,
    _prior_label,
    _SinglePrior,
    check_factor,
    check_metric,
    density_ratio,
)
from ._kernels import (
    as_rows,
    from_rows,
    gather,
    map_rows,
    rows_of,
    scatter,
    shortfall_sorted,
    sort_rows,
)
from ._polytope import Polytope

__all__ = ["ExpectedShortfall", "shortfall_rows"]


def shortfall_rows(Y2: np.ndarray, Q: np.ndarray, level: float, grad: bool = True):
    """ES of each row of ``Y2`` (B, m) under ``Q`` (shared ``(m,)`` or ``(B, m)``).

    Returns ``(value (B,), R (B, m) or None)``.
    """
    B, m = Y2.shape
    if Q.ndim == 1 and np.all(Q == Q[0]):
        return map_rows(lambda sl: _uniform_block(Y2[sl], level, grad), B, m, factor=3)

    def block(sl):
        order, Ys = sort_rows(Y2[sl])
        value, Rs = shortfall_sorted(Ys, gather(Q if Q.ndim == 1 else Q[sl], order), level)
        return value, scatter(Rs, order) if grad else None

    return map_rows(block, B, m, factor=6)


def _uniform_block(Y2: np.ndarray, level: float, grad: bool):
    """ES under equally likely states: a partial sort (``O(m)`` per row)."""
    B, m = Y2.shape
    mass = level * m
    k = min(int(np.floor(mass)), m)
    if k == m:
        return Y2.mean(axis=-1), np.full((B, m), 1.0 / m) if grad else None
    frac = mass - k
    if not grad:
        part = np.partition(Y2, k, axis=-1)
        return (part[:, :k].sum(axis=-1) + frac * part[:, k]) / mass, None
    idx = np.argpartition(Y2, k, axis=-1)[:, : k + 1]
    vals = np.take_along_axis(Y2, idx, axis=-1)
    value = (vals[:, :k].sum(axis=-1) + frac * vals[:, k]) / mass
    R = np.zeros((B, m))
    weights = np.full(k + 1, 1.0 / mass)
    weights[k] = frac / mass
    np.put_along_axis(R, idx, np.broadcast_to(weights, idx.shape), axis=-1)
    return value, R / R.sum(axis=-1, keepdims=True)


def shortfall_penalty(R: np.ndarray, Q: np.ndarray, level: float) -> np.ndarray:
    """Indicator (0 or ``inf``) of ``{0 <= R <= Q/level, Σ R = 1}``, broadcasting."""
    over = np.any(R > Q / level + PENALTY_TOL, axis=-1)
    return np.where(over | _off_simplex(R), np.inf, 0.0)


@dataclass(frozen=True, eq=False)
class ExpectedShortfall(_SinglePrior, MonetaryUtility):
    """Expected shortfall: the mean of the worst ``level``-fraction of outcomes.

    Parameters
    ----------
    level : float
        ``α`` in (0, 1]; ``α = 1`` is the expectation, ``α -> 0`` the worst case.
    prior : array_like, shape (m,), optional
        The agent's prior ``Q``; default the pool's reference probability.

    Raises
    ------
    UtilityParameterError
        When ``level`` is outside (0, 1].
    ProbabilityError
        When ``prior`` is not a probability vector.
    """

    level: float
    prior: np.ndarray | None = None
    smooth = False
    polyhedral = True
    name = "expected_shortfall"

    def __post_init__(self):
        a = float(self.level)
        if not np.isfinite(a) or not 0 < a <= 1:
            raise UtilityParameterError("expected_shortfall.level", self.level,
                                        "must lie in (0, 1]",
                                        "give the tail fraction, e.g. 0.05 for the worst 5%")
        object.__setattr__(self, "level", a)
        if self.prior is not None:
            object.__setattr__(self, "prior",
                               probability_vector("expected_shortfall.prior", self.prior))

    def _solve(self, Y, grad: bool):
        Y = self._payoffs(Y)
        Y2, lead = as_rows(Y)
        value, R = shortfall_rows(Y2, self.prior, self.level, grad)
        return from_rows(value, lead), None if R is None else from_rows(R, lead)

    def value(self, Y):
        return self._solve(Y, grad=False)[0]

    def supergradient(self, Y):
        return self._solve(Y, grad=True)[1]

    def value_and_supergradient(self, Y):
        return self._solve(Y, grad=True)

    def evaluate_at(self, Y, Q):
        Y = np.asarray(Y, dtype=float)
        Q = _prior_batch(Y, Q)
        lead = np.broadcast_shapes(Y.shape, Q.shape)[:-1]
        Y2 = np.broadcast_to(Y, lead + Y.shape[-1:]).reshape(-1, Y.shape[-1])
        value, R = shortfall_rows(Y2, rows_of(Q, lead, Y.shape[-1]), self.level)
        return from_rows(value, lead), from_rows(R, lead)

    def penalty(self, Q, Y=None):
        self._check_bound()
        return self.penalty_at(Q, self.prior)

    def penalty_at(self, R, Q):
        return shortfall_penalty(np.asarray(R, float), np.asarray(Q, float), self.level)

    def lipschitz(self, metric="sup", P=None):
        P = check_metric(metric, P)
        if P is None:
            return 1.0
        self._check_bound()
        return density_ratio(np.minimum(1.0, self.prior / self.level), P)

    def credal_polytope(self):
        self._check_bound()
        return Polytope.simplex_box(np.zeros_like(self.prior),
                                    np.minimum(1.0, self.prior / self.level))

    def scaled(self, factor):
        check_factor(factor)
        return self

    def describe(self):
        return {"kind": "expected_shortfall", "level": self.level,
                "prior": _prior_label(self)}

