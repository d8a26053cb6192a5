r"""Distortion (dual, Yaari) utilities with a concave distortion ``g``.

Notation: payoffs ``Y`` (..., m), prior ``Q0`` (m,), a distortion
``g : [0, 1] -> [0, 1]`` nondecreasing and concave with ``g(0) = 0``,
``g(1) = 1``. Sort the states from worst to best payoff and let ``F_k`` be the
``Q0``-mass of the ``k`` worst states; then

.. math:: U(Y) = \sum_k \big(g(F_k) - g(F_{k-1})\big) \, Y_{(k)}

is the Choquet integral of ``Y`` for the capacity ``ν(A) = g(Q0(A))``. States
tied in payoff receive weights that add up to the same total whatever order
the tie is broken in, so the value is well defined; the weights (one vertex of
the superdifferential) are the supergradient.

Because ``g`` is concave, ``ν`` is submodular and ``U(Y) = min_{Q in core} <Q, Y>``
over the *core* ``{Q prior : Q(A) <= g(Q0(A)) for every event A}``; the penalty
is the indicator of the core.

Membership in the core needs only ``m`` of the ``2^m`` events. Sort the states
by ``Q/Q0`` in decreasing order and let ``A_k`` be the first ``k``. The points
``(Q0(A_k), Q(A_k))`` are the vertices of the concave piecewise-linear curve
``h(t) = max {Q(A) : Q0(A) = t}`` over *fractional* events (greedy by ratio is
optimal for that fractional knapsack), so every event ``A`` has
``Q(A) <= h(Q0(A))``. If ``Q(A_k) <= g(Q0(A_k))`` at every vertex, concavity of
``g`` keeps ``g`` above each chord of ``h`` between vertices, so ``g >= h``
everywhere and every event passes; the prefixes are themselves events, so the
test is also necessary. (A state with ``Q0 = 0`` and ``Q > 0`` has infinite
ratio and fails at once, since ``g(0) = 0``.)

A piecewise-linear ``g`` with kinks at ``β_1 < ... < β_J`` is a mixture of
expected shortfalls, ``g(u) = s_J u + Σ_j (s_{j-1} - s_j) β_j min(u/β_j, 1)``
(``s_j`` the slopes), which gives a lifted polytope of the core.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from .._errors import UtilityParameterError
from .._validate import finite_array, probability_vector
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
    choquet_sorted,
    from_rows,
    gather,
    map_rows,
    rows_of,
    scatter,
    sort_rows,
)
from ._polytope import Polytope

__all__ = [
    "DistortionFunction",
    "PowerDistortion",
    "WangDistortion",
    "TableDistortion",
    "CallableDistortion",
    "Distortion",
    "choquet_rows",
    "core_penalty",
]

#: tolerance on ``g(0) = 0``, ``g(1) = 1``, monotonicity and concavity checks (g units)
G_TOL = 1e-10


class DistortionFunction(ABC):
    """A concave distortion ``g`` with ``g(0) = 0`` and ``g(1) = 1``."""

    @abstractmethod
    def __call__(self, u: np.ndarray) -> np.ndarray:
        """``g(u)`` elementwise for ``u`` in [0, 1]."""

    @abstractmethod
    def describe(self) -> dict:
        """JSON-ready description ``{"kind": ..., parameters}``."""

    def knots(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Knots ``(u, g(u))`` when ``g`` is piecewise linear, else ``None``."""
        return None


@dataclass(frozen=True, eq=False)
class PowerDistortion(DistortionFunction):
    """Proportional hazard transform ``g(u) = u^r``, ``0 < r <= 1`` (``r = 1``: expectation)."""

    exponent: float

    def __post_init__(self):
        r = float(self.exponent)
        if not np.isfinite(r) or not 0 < r <= 1:
            raise UtilityParameterError("distortion.g.exponent", self.exponent,
                                        "must lie in (0, 1]",
                                        "use an exponent below 1 for risk aversion, 1 for none")
        object.__setattr__(self, "exponent", r)

    def __call__(self, u):
        return np.power(np.asarray(u, float), self.exponent)

    def knots(self):
        return (np.array([0.0, 1.0]), np.array([0.0, 1.0])) if self.exponent == 1 else None

    def describe(self):
        return {"kind": "power", "exponent": self.exponent}


@dataclass(frozen=True, eq=False)
class WangDistortion(DistortionFunction):
    """Wang's transform ``g(u) = Φ(Φ^{-1}(u) + λ)``, shift ``λ >= 0`` (``λ = 0``: expectation)."""

    shift: float

    def __post_init__(self):
        lam = float(self.shift)
        if not np.isfinite(lam) or lam < 0:
            raise UtilityParameterError("distortion.g.shift", self.shift, "must be >= 0",
                                        "use a positive shift for risk aversion, 0 for none")
        object.__setattr__(self, "shift", lam)

    def __call__(self, u):
        return special.ndtr(special.ndtri(np.asarray(u, float)) + self.shift)

    def knots(self):
        return (np.array([0.0, 1.0]), np.array([0.0, 1.0])) if self.shift == 0 else None

    def describe(self):
        return {"kind": "wang", "shift": self.shift}


@dataclass(frozen=True, eq=False)
class TableDistortion(DistortionFunction):
    """Piecewise-linear ``g`` through the knots ``(u_j, g_j)``.

    Raises
    ------
    UtilityParameterError
        Unless ``u`` increases strictly from 0 to 1, ``g`` goes from 0 to 1, is
        nondecreasing and concave (slopes nonincreasing).
    """

    u: np.ndarray
    g: np.ndarray

    def __post_init__(self):
        u = finite_array("distortion.g.u", self.u, ndim=1)
        g = finite_array("distortion.g.g", self.g, ndim=1, shape=u.shape)
        if u.size < 2 or abs(u[0]) > G_TOL or abs(u[-1] - 1) > G_TOL or np.any(np.diff(u) <= 0):
            raise UtilityParameterError("distortion.g.u", u.tolist(),
                                        "must increase strictly from 0 to 1",
                                        "list the knots in order, starting at 0 and ending at 1")
        u[0], u[-1] = 0.0, 1.0
        if abs(g[0]) > G_TOL or abs(g[-1] - 1) > G_TOL:
            raise UtilityParameterError("distortion.g.g", g.tolist(),
                                        "must start at 0 and end at 1",
                                        "a distortion maps 0 to 0 and 1 to 1")
        g[0], g[-1] = 0.0, 1.0
        _check_shape_of_g("distortion.g.g", u, g)
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "g", g)

    def __call__(self, u):
        return np.interp(u, self.u, self.g)

    def knots(self):
        return self.u, self.g

    def describe(self):
        return {"kind": "table", "u": self.u.tolist(), "g": self.g.tolist()}


class CallableDistortion(DistortionFunction):
    """A user function ``g``, checked on a grid of [0, 1].

    The grid has 1,025 equally spaced points plus geometric refinements near 0
    and 1; ``g`` must be finite, ``g(0) = 0``, ``g(1) = 1``, nondecreasing and
    concave there (a grid cannot prove concavity between its points: a ``g``
    that bends the wrong way between them goes undetected).

    Raises
    ------
    UtilityParameterError
        When ``g`` fails any of the checks, with the first offending point.
    """

    def __init__(self, func: Callable, name: str | None = None, field: str = "distortion.g"):
        if not callable(func):
            raise UtilityParameterError(field, func, "must be callable or a DistortionFunction",
                                        "pass PowerDistortion(r), WangDistortion(λ), "
                                        "TableDistortion(u, g) or a function of u")
        self.func = func
        self.name = name or getattr(func, "__name__", type(func).__name__)
        self._vectorised = True
        grid = validation_grid()
        try:
            values = np.asarray(func(grid), float)
            if values.shape != grid.shape:
                raise ValueError
        except (TypeError, ValueError):
            self._vectorised = False
            values = np.array([float(func(float(x))) for x in grid])
        _check_distortion_values(field, grid, values)

    def __call__(self, u):
        u = np.asarray(u, float)
        if self._vectorised:
            return np.asarray(self.func(u), float)
        return np.vectorize(lambda x: float(self.func(float(x))), otypes=[float])(u)

    def describe(self):
        return {"kind": "callable", "name": str(self.name)}


def validation_grid() -> np.ndarray:
    """Points of [0, 1] on which a user distortion is checked."""
    ends = np.geomspace(1e-12, 1e-3, 40)
    return np.unique(np.concatenate([np.linspace(0.0, 1.0, 1025), ends, 1.0 - ends]))


def _fmt(x) -> str:
    return f"{float(x):.10g}"


def _check_distortion_values(field: str, u: np.ndarray, g: np.ndarray) -> None:
    if not np.all(np.isfinite(g)):
        i = int(np.argmin(np.isfinite(g)))
        raise UtilityParameterError(field, f"g({_fmt(u[i])}) = {_fmt(g[i])}",
                                    "must be finite on [0, 1]",
                                    "define g on the whole unit interval")
    if abs(g[0]) > G_TOL or abs(g[-1] - 1) > G_TOL:
        raise UtilityParameterError(field, f"g(0) = {_fmt(g[0])}, g(1) = {_fmt(g[-1])}",
                                    "need g(0) = 0 and g(1) = 1",
                                    "normalise g so that it maps 0 to 0 and 1 to 1")
    _check_shape_of_g(field, u, g)


def _check_shape_of_g(field: str, u: np.ndarray, g: np.ndarray) -> None:
    """Nondecreasing and concave on the points ``u`` (value tolerance ``G_TOL``)."""
    drops = np.diff(g) < -G_TOL
    if np.any(drops):
        i = int(np.argmax(drops))
        raise UtilityParameterError(field, f"g({_fmt(u[i])}) = {_fmt(g[i])} > "
                                    f"g({_fmt(u[i + 1])}) = {_fmt(g[i + 1])}",
                                    "must be nondecreasing",
                                    "a distortion never lowers the weight of a larger event")
    if u.size < 3:
        return
    t = (u[1:-1] - u[:-2]) / (u[2:] - u[:-2])
    chord = (1 - t) * g[:-2] + t * g[2:]
    below = g[1:-1] < chord - G_TOL
    if np.any(below):
        i = int(np.argmax(below)) + 1
        raise UtilityParameterError(field, f"g({_fmt(u[i])}) = {_fmt(g[i])} lies below its "
                                    f"chord {_fmt(chord[i - 1])}", "must be concave",
                                    "use a concave g (risk aversion); a convex g is not a "
                                    "monetary utility of this kind")


def choquet_rows(Y2: np.ndarray, Q: np.ndarray, g: DistortionFunction, grad: bool = True):
    """Choquet value of each row of ``Y2`` (B, m) under ``Q`` (``(m,)`` or ``(B, m)``)."""
    B, m = Y2.shape
    if Q.ndim == 1 and np.all(Q == Q[0]):
        weights = _uniform_weights(g, m)
        if not grad:
            return map_rows(lambda sl: (np.sort(Y2[sl], axis=-1) @ weights, None), B, m, 2)

        def uniform_block(sl):
            order, Ys = sort_rows(Y2[sl])
            Ws = np.broadcast_to(weights, Ys.shape)
            return Ys @ weights, scatter(np.ascontiguousarray(Ws), order)

        return map_rows(uniform_block, B, m, factor=4)

    def block(sl):
        order, Ys = sort_rows(Y2[sl])
        value, Ws = choquet_sorted(Ys, gather(Q if Q.ndim == 1 else Q[sl], order), g)
        return value, scatter(Ws, order) if grad else None

    return map_rows(block, B, m, factor=6)


def _uniform_weights(g: DistortionFunction, m: int) -> np.ndarray:
    """Weights ``g(k/m) - g((k-1)/m)`` of the ``k``-th worst of ``m`` equally likely states."""
    G = g(np.arange(m + 1) / m)
    G[0], G[-1] = 0.0, 1.0
    w = np.clip(np.diff(G), 0.0, None)
    return w / w.sum()


def core_penalty(R: np.ndarray, Q0: np.ndarray, g: DistortionFunction) -> np.ndarray:
    """Indicator (0 or ``inf``) of the core ``{R : R(A) <= g(Q0(A)) for all A}``.

    Uses the prefix test of the module docstring; broadcasts over leading axes.
    """
    R, Q0 = np.broadcast_arrays(np.asarray(R, float), np.asarray(Q0, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(Q0 > 0, R / Q0, np.where(R > PENALTY_TOL, np.inf, 0.0))
    order = np.argsort(-ratio, axis=-1, kind="stable")
    cum_r = np.cumsum(np.take_along_axis(R, order, axis=-1), axis=-1)
    cum_q = np.clip(np.cumsum(np.take_along_axis(Q0, order, axis=-1), axis=-1), 0.0, 1.0)
    over = np.any(cum_r > g(cum_q) + PENALTY_TOL * R.shape[-1], axis=-1)
    return np.where(over | _off_simplex(R), np.inf, 0.0)


def shortfall_mixture(knots_u: np.ndarray, knots_g: np.ndarray):
    """Weights and levels ``(w_j, β_j)`` with ``g(u) = Σ_j w_j min(u/β_j, 1)`` (``β = 1``:
    the expectation) for a concave piecewise-linear ``g``."""
    slopes = np.diff(knots_g) / np.diff(knots_u)
    drops = slopes[:-1] - slopes[1:]
    weights = np.concatenate([drops * knots_u[1:-1], [slopes[-1]]])
    levels = np.concatenate([knots_u[1:-1], [1.0]])
    keep = weights > 0
    return weights[keep] / weights[keep].sum(), levels[keep]


@dataclass(frozen=True, eq=False)
class Distortion(_SinglePrior, MonetaryUtility):
    """Distortion utility: Choquet integral of the payoff for ``g(Q0(.))``.

    Parameters
    ----------
    g : DistortionFunction or callable
        ``PowerDistortion(r)``, ``WangDistortion(λ)``, ``TableDistortion(u, g)``
        or any function of ``u`` in [0, 1] (checked on a grid, see
        :class:`CallableDistortion`).
    prior : array_like, shape (m,), optional
        The agent's prior ``Q0``; default the pool's reference probability.

    Raises
    ------
    UtilityParameterError
        When ``g`` is not a concave distortion.
    ProbabilityError
        When ``prior`` is not a probability vector.
    """

    g: DistortionFunction
    prior: np.ndarray | None = None
    smooth = False
    polyhedral = True
    name = "distortion"

    def __post_init__(self):
        if not isinstance(self.g, DistortionFunction):
            object.__setattr__(self, "g", CallableDistortion(self.g))
        if self.prior is not None:
            object.__setattr__(self, "prior", probability_vector("distortion.prior", self.prior))

    def _solve(self, Y, grad: bool):
        Y = self._payoffs(Y)
        Y2, lead = as_rows(Y)
        value, W = choquet_rows(Y2, self.prior, self.g, grad)
        return from_rows(value, lead), None if W is None else from_rows(W, lead)

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
        value, W = choquet_rows(Y2, rows_of(Q, lead, Y.shape[-1]), self.g)
        return from_rows(value, lead), from_rows(W, lead)

    def penalty(self, Q, Y=None):
        self._check_bound()
        return self.penalty_at(Q, self.prior)

    def penalty_at(self, R, Q):
        return core_penalty(R, Q, self.g)

    def lipschitz(self, metric="sup", P=None):
        P = check_metric(metric, P)
        if P is None:
            return 1.0
        self._check_bound()
        return density_ratio(self.g(self.prior), P)

    def shortfall_weights(self, m: int | None = None):
        """``(w, β)`` with ``U = Σ_j w_j ES_{β_j}`` exactly, or ``None``.

        Available when ``g`` is piecewise linear, or (``m`` given) when the prior
        is uniform on ``m`` states, where only ``g(k/m)`` matters.
        """
        knots = self.g.knots()
        if knots is None and m is not None and self.prior is not None \
                and np.all(self.prior == self.prior[0]):
            u = np.arange(m + 1) / m
            G = self.g(u)
            G[0], G[-1] = 0.0, 1.0
            knots = (u, G)
        return None if knots is None else shortfall_mixture(*knots)

    def credal_polytope(self, max_vars: int = 200_000):
        """The core as a mixture of expected-shortfall boxes (see module docstring);
        ``None`` when ``g`` is not piecewise linear on the masses that occur or the
        lift would need more than ``max_vars`` variables."""
        self._check_bound()
        m = self.prior.size
        mix = self.shortfall_weights(m)
        if mix is None or m * (1 + mix[0].size) > max_vars:
            return None
        parts = [Polytope.simplex_box(np.zeros(m), np.minimum(1.0, self.prior / b))
                 for b in mix[1]]
        return Polytope.mixture(mix[0], parts)

    def scaled(self, factor):
        check_factor(factor)
        return self

    def describe(self):
        return {"kind": "distortion", "g": self.g.describe(),
                "prior": _prior_label(self)}
