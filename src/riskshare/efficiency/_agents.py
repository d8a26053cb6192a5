r"""What the efficiency solvers need to know about each agent's utility.

Notation (spec §2): ``U_i(Y) = min_Q <Q, Y> + alpha_i(Q)``. Three shapes of
``alpha`` are *state-separable* up to the normalisation ``sum Q = 1`` and let
the sign-constrained problem split into one small problem per state:

* ``"linear"``: expectation under a prior ``P`` (``alpha`` = indicator of ``{P}``);
* ``"box"``: max-min expectation over ``{lo <= Q <= hi, sum Q = 1}`` (expected
  shortfall: ``lo = 0, hi = P / level``; interval sets; density bands;
  contamination written as a box), recognised from
  :meth:`MonetaryUtility.credal_polytope`;
* ``"entropic"``: ``alpha(Q) = gamma KL(Q || P)``;
* ``"kl"``: max-min expectation over a relative-entropy ball ``{KL(Q || P) <= r}``
  (``alpha`` its indicator; the sign-constrained solvers treat it exactly).

Every other utility is ``"general"``; a solver may stand in for it a ``"hull"``: the
convex hull of priors ``C_k`` (rows of ``lo``) with penalties ``p_k`` (``hi``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import ShapeError, UtilityParameterError
from ..utilities import Entropic, Expectation, KLBall, MaxMin, MonetaryUtility

__all__ = ["AgentKind", "classify", "box_bounds", "check_weights", "check_utilities"]


@dataclass(frozen=True, eq=False)
class AgentKind:
    """State-separable description of one agent (see module docstring)."""

    kind: str                      # "linear", "box", "entropic", "general" or "hull"
    lo: np.ndarray | None = None   # box lower bounds, the prior (linear/entropic), columns
    hi: np.ndarray | None = None   # box upper bounds, or the columns' penalties (hull)
    tolerance: float = 0.0         # entropic gamma, or the KL ball's radius


_ZEROS: dict[int, np.ndarray] = {}


def _zeros(m: int) -> np.ndarray:
    """One shared read-only zero vector per length (expected-shortfall pools have
    ``lo = 0`` for every agent)."""
    if m not in _ZEROS:
        z = np.zeros(m)
        z.setflags(write=False)
        _ZEROS[m] = z
    return _ZEROS[m]


def box_bounds(poly) -> tuple[np.ndarray, np.ndarray] | None:
    """``(lo, hi)`` when the polytope is ``{lo <= Q <= hi, sum Q = 1}`` without lift."""
    if poly is None or poly.n_vars != poly.m or poly.A_ub.shape[0] != 0:
        return None
    if poly.A_eq.shape[0] != 1 or not np.allclose(poly.b_eq, 1.0, rtol=0, atol=1e-15):
        return None
    row = poly.A_eq.toarray().ravel()
    if not np.all(row == 1.0):
        return None
    lo = np.asarray(poly.lb, float)
    lo = np.maximum(lo, 0.0) if np.any(lo > 0) else _zeros(poly.m)
    hi = np.minimum(np.asarray(poly.ub, float), 1.0)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        return None
    return lo, hi


def classify(u: MonetaryUtility) -> AgentKind:
    """The state-separable kind of a bound utility."""
    if isinstance(u, Entropic):
        return AgentKind("entropic", lo=u.prior_vector(), tolerance=u.tolerance)
    if isinstance(u, Expectation):
        return AgentKind("linear", lo=u.prior_vector())
    if isinstance(u, MaxMin) and isinstance(u.base, Expectation) and isinstance(u.credal, KLBall):
        centre = u.credal.centre_vector()
        if u.credal.radius == 0:
            return AgentKind("linear", lo=centre)
        return AgentKind("kl", lo=centre, tolerance=u.credal.radius)
    if u.polyhedral:
        box = box_bounds(u.credal_polytope())
        if box is not None:
            lo, hi = box
            if np.array_equal(lo, hi):
                return AgentKind("linear", lo=lo)
            return AgentKind("box", lo=lo, hi=hi)
    return AgentKind("general")


def check_utilities(utilities, m: int, n: int) -> list[MonetaryUtility]:
    """The utilities as a list of ``n`` bound utilities on ``m`` states."""
    us = list(utilities)
    if len(us) != n:
        raise ShapeError("utilities", len(us), f"one utility per agent of the menu ({n})",
                         "give a utility for every agent")
    for i, u in enumerate(us):
        if not isinstance(u, MonetaryUtility):
            raise UtilityParameterError(f"utilities[{i}]", type(u).__name__,
                                        "a MonetaryUtility", "build it from riskshare.utilities")
        if not u.bound:
            raise UtilityParameterError(f"utilities[{i}].prior", None,
                                        "the utility refers to the pool's probabilities",
                                        "call .bind(P) first")
        size = u.prior_vector().size
        if size != m:
            raise ShapeError(f"utilities[{i}]", size, f"priors on the menu's {m} states",
                             "bind the utility to the pool's probabilities")
    return us


def check_weights(weights, n: int) -> np.ndarray:
    """Welfare weights ``w`` (default all ones): finite, nonnegative, shape (n,)."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ShapeError("weights", w.shape, f"one weight per agent, shape ({n},)",
                         "give n nonnegative weights")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise UtilityParameterError("weights", w.tolist(), "finite and >= 0",
                                    "use nonnegative welfare weights")
    return w
