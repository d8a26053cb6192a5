r"""Credal sets: the sets of priors of max-min (multiple-prior) agents (spec §2).

Notation: states ``ω = 1..m``, the pool's reference probability ``P`` (m,),
a credal set ``C`` of priors ``Q`` with ``Q << P`` (no mass where ``P`` has
none, so every agent shares the menu), payoffs ``Y`` (..., m).

Every kind is built from its parameters, validated (errors are
:class:`~riskshare.CredalSetError` naming the field, under the prefix given as
``field``, e.g. ``"agents[3].credal"``), then bound to ``P`` with :meth:`bind`
(the centre, where the kind has one, defaults to ``P``; checks that need ``P``
happen there). A bound set answers

* ``worst_case(Y)``: ``min_{Q in C} <Q, Y>`` and a minimising ``Q``, batched;
* ``best_log_expectation(L)``: ``max_{Q in C} log E_Q[e^L]`` and a maximiser
  (what the entropic base needs, computed without overflow);
* ``contains(Q, tol)``, ``upper_state_probabilities()`` (``max_{Q in C} Q(ω)``),
  ``max_density_ratio(P)`` (``max_{Q, ω} Q(ω)/P(ω)``, the l1 Lipschitz constant
  of the expectation base), ``polytope()`` and ``describe()``.

Kinds and how their worst case is computed:

* ``FinitePriors``: the convex hull of ``K`` priors; the best of ``K`` dot products.
* ``IntervalSet``: ``lo <= Q <= hi``; greedy, filling the worst states first.
* ``Contamination``: ``(1 - ε) c + ε R`` for any prior ``R << P``; this is the
  box ``(1 - ε) c <= Q``, so the same greedy, which gives
  ``(1 - ε) E_c[Y] + ε min Y``.
* ``DensityBand``: ``a <= dQ/dc <= b``; the box ``a c <= Q <= b c``.
* ``IndependentEvents``: states are outcomes of ``K`` binary events; event ``k``
  happens with probability ``θ_k in [lo_k, hi_k]``, independently; within the
  states that share an outcome the reference ``P`` splits the mass. ``E_θ[Y]``
  is multilinear in ``θ``, so the minimum is at a vertex of the box: the set is
  taken to be the convex hull of the ``2^K`` vertex priors (the hull is what
  every max-min utility sees for the expectation and entropic bases).
* ``KLBall``: ``KL(Q || c) <= r``; the one-dimensional dual
  ``max_{η > 0} -η log E_c[e^{-Y/η}] - η r`` solved for the tilt ``Q ∝ c e^{-Y/η}``.

The three box kinds are *ordered*: one member (the greedy prior) minimises
``E_Q[f(Y)]`` for every nondecreasing ``f`` at once, i.e. its law of ``Y`` is
first-order stochastically smallest. Any law-invariant monotone base utility
(expected shortfall, distortion, entropic) is therefore minimised over the set
by that same member, which :class:`~riskshare.utilities.MaxMin` uses.
"""

from __future__ import annotations

import copy
import itertools
from abc import ABC, abstractmethod

import numpy as np

from .._errors import CredalSetError, RiskshareInputError
from .._validate import finite_array, probability_vector
from ._base import PENALTY_TOL, _as_payoffs, _kl, density_ratio
from ._kernels import (
    as_rows,
    fill_sorted,
    from_rows,
    gather,
    log_sum_exp,
    map_rows,
    rowdot,
    scatter,
    sort_rows,
)
from ._polytope import Polytope

__all__ = [
    "CredalSet",
    "FinitePriors",
    "IntervalSet",
    "Contamination",
    "DensityBand",
    "IndependentEvents",
    "KLBall",
    "MAX_FREE_EVENTS",
]

#: tolerance on sums of bounds when checking that a set is not empty
SUM_TOL = 1e-9
#: most events with lower < upper an IndependentEvents set accepts (2^16 vertex priors)
MAX_FREE_EVENTS = 16
#: most numbers the vertex priors of an IndependentEvents set may hold
MAX_VERTEX_ENTRIES = 2**24


# -- validation helpers ---------------------------------------------------------------------------
def _vector(field: str, value, length: int | None = None, lo: float = 0.0,
            hi: float = 1.0, what: str = "probabilities") -> np.ndarray:
    """A finite 1-D vector with entries in ``[lo, hi]``, else :class:`CredalSetError`."""
    try:
        v = finite_array(field, value, ndim=1)
    except RiskshareInputError as exc:
        raise CredalSetError(field, exc.value, exc.allowed, exc.fix) from exc
    if length is not None and v.size != length:
        raise CredalSetError(field, f"length {v.size}", f"expected {length} entries",
                             "give one entry per state" if what == "probabilities"
                             else "give one entry per event (column of outcomes)")
    bad = (v < lo) | (v > hi)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise CredalSetError(f"{field}[{i}]", float(v[i]), f"{what} must lie in [{lo}, {hi}]",
                             "give probabilities as fractions, not percentages")
    return v


def _probability(field: str, value, m: int | None = None) -> np.ndarray:
    try:
        return probability_vector(field, value, m=m)
    except RiskshareInputError as exc:
        raise CredalSetError(exc.field, exc.value, exc.allowed, exc.fix) from exc


def _check_length(field: str, size: int, m: int) -> None:
    if size != m:
        raise CredalSetError(field, f"length {size}", f"the pool has {m} states",
                             "give one entry per state")


def _check_support(field: str, mass: np.ndarray, P: np.ndarray) -> None:
    """``mass`` may be positive only where ``P`` is."""
    bad = (mass > PENALTY_TOL) & (P <= 0)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise CredalSetError(f"{field}[{i}]", float(mass[i]),
                             "a prior may not put mass on a state of reference probability 0",
                             "set the bound to 0 there or drop the state")


def _reference(P) -> np.ndarray:
    return probability_vector("probabilities", P)


# -- interface ------------------------------------------------------------------------------------
class CredalSet(ABC):
    """A closed convex set of priors ``C`` (see the module docstring).

    Attributes
    ----------
    kind : str
        The pool-file name of the kind (``"finite"``, ``"interval"``, ...).
    field : str
        Prefix used in error messages, e.g. ``"agents[3].credal"``.
    reference : ndarray or None
        The pool's probability ``P`` once bound.
    polyhedral : bool
        Whether ``C`` is a polytope (all kinds but the KL ball).
    ordered : bool
        Whether one member is first-order stochastically smallest for every ``Y``.
    """

    kind: str = "credal"
    polyhedral: bool = True
    ordered: bool = False

    def __init__(self, field: str = "credal"):
        self.field = field
        self.reference: np.ndarray | None = None

    # -- binding ---------------------------------------------------------------------------------
    def bind(self, P) -> CredalSet:
        """A copy bound to the reference probability ``P`` (validated against it)."""
        P = _reference(P)
        out = copy.copy(self)
        out.reference = P
        out._bind(P)
        return out

    @abstractmethod
    def _bind(self, P: np.ndarray) -> None:
        """Check against ``P`` and fill the derived arrays (on the copy)."""

    @property
    def bound(self) -> bool:
        return self.reference is not None

    @property
    def m(self) -> int:
        self._check_bound()
        return self.reference.size

    def _check_bound(self) -> None:
        if self.reference is None:
            raise CredalSetError(self.field, None, "the set refers to the pool's probabilities",
                                 "call .bind(P) or use it through a Pool")

    def _payoffs(self, Y) -> np.ndarray:
        self._check_bound()
        return _as_payoffs(Y, self.m)

    # -- optimisation ----------------------------------------------------------------------------
    @abstractmethod
    def worst_case(self, Y) -> tuple[np.ndarray, np.ndarray]:
        """``(min_{Q in C} <Q, Y>, a minimising Q)`` for ``Y`` of shape ``(..., m)``."""

    def best_log_expectation(self, L) -> tuple[np.ndarray, np.ndarray]:
        """``(max_{Q in C} log E_Q[e^L], a maximiser)`` for ``L`` of shape ``(..., m)``.

        Default: the worst case of ``-e^{L - max L}`` (entries in [0, 1]), then
        the value recomputed in the log domain under the maximiser.
        """
        L = self._payoffs(L)
        shift = np.max(L, axis=-1, keepdims=True)
        _, Q = self.worst_case(-np.exp(L - shift))
        with np.errstate(divide="ignore"):
            return log_sum_exp(np.log(Q) + L), Q

    @abstractmethod
    def contains(self, Q, tol: float = 1e-9) -> np.ndarray:
        """Whether each prior ``Q`` (..., m) lies in ``C`` up to ``tol``."""

    @abstractmethod
    def upper_state_probabilities(self) -> np.ndarray:
        """``max_{Q in C} Q(ω)`` for every state (m,)."""

    def max_density_ratio(self, P=None) -> float:
        """``max_{Q in C} max_ω Q(ω)/P(ω)`` (``P`` defaults to the reference)."""
        self._check_bound()
        P = self.reference if P is None else np.asarray(P, float)
        return density_ratio(self.upper_state_probabilities(), P)

    @abstractmethod
    def polytope(self) -> Polytope | None:
        """``C`` as a (possibly lifted) :class:`Polytope`; ``None`` if not polyhedral."""

    @abstractmethod
    def member(self) -> np.ndarray:
        """One member of ``C`` (its centre where it has one)."""

    @abstractmethod
    def describe(self) -> dict:
        """JSON-ready description ``{"kind": ..., parameters}``."""

    def _centre_description(self, centre) -> str | list:
        return "reference" if centre is None else np.asarray(centre).tolist()


# -- boxes ----------------------------------------------------------------------------------------
class _BoxSet(CredalSet):
    """Sets of the form ``{lo <= Q <= hi, Σ Q = 1}`` (after binding)."""

    ordered = True

    def lower_bounds(self) -> np.ndarray:
        """The bound ``lo`` (m,) of the box."""
        self._check_bound()
        return self._lo

    def upper_bounds(self) -> np.ndarray:
        """The bound ``hi`` (m,) of the box."""
        self._check_bound()
        return self._hi

    def worst_case(self, Y):
        Y = self._payoffs(Y)
        Y2, lead = as_rows(Y)
        value, Q = map_rows(lambda sl: self._greedy(Y2[sl]), Y2.shape[0], self.m, factor=6)
        return from_rows(value, lead), from_rows(Q, lead)

    def _greedy(self, Y2: np.ndarray):
        order, Ys = sort_rows(Y2)
        Qs = fill_sorted(gather(self._lo, order), gather(self._hi, order))
        return rowdot(Qs, Ys), scatter(Qs, order)

    def best_log_expectation(self, L):
        # the greedy depends on the order of L only: no under- or overflow
        L = self._payoffs(L)
        _, Q = self.worst_case(-L)
        with np.errstate(divide="ignore"):
            return log_sum_exp(np.log(Q) + L), Q

    def contains(self, Q, tol=1e-9):
        self._check_bound()
        Q = np.asarray(Q, float)
        inside = np.all((Q >= self._lo - tol) & (Q <= self._hi + tol), axis=-1)
        return inside & (np.abs(Q.sum(axis=-1) - 1) <= tol * max(1, Q.shape[-1]))

    def upper_state_probabilities(self):
        self._check_bound()
        return np.minimum(self._hi, 1.0 - (self._lo.sum() - self._lo))

    def polytope(self):
        self._check_bound()
        return Polytope.simplex_box(self._lo, self._hi)

    def member(self):
        self._check_bound()
        return fill_sorted(self._lo, self._hi)

    def _check_not_empty(self, lo_field: str, hi_field: str) -> None:
        if self._lo.sum() > 1 + SUM_TOL:
            raise CredalSetError(lo_field, f"sum {float(self._lo.sum())!r}",
                                 "the lower bounds must sum to at most 1 (else the set is empty)",
                                 "lower some lower bounds")
        if self._hi.sum() < 1 - SUM_TOL:
            raise CredalSetError(hi_field, f"sum {float(self._hi.sum())!r}",
                                 "the upper bounds must sum to at least 1 (else the set is empty)",
                                 "raise some upper bounds")


class IntervalSet(_BoxSet):
    """Interval probabilities ``lower(ω) <= Q(ω) <= upper(ω)``, ``Σ Q = 1``.

    Parameters
    ----------
    lower, upper : array_like, shape (m,)
        Bounds on each state's probability, in [0, 1].
    field : str
        Prefix for error messages.

    Raises
    ------
    CredalSetError
        Lengths differ, a bound outside [0, 1], ``lower > upper``, ``Σ lower > 1``,
        ``Σ upper < 1``; at :meth:`bind`: wrong length, ``upper > 0`` where ``P = 0``.
    """

    kind = "interval"

    def __init__(self, lower, upper, field: str = "credal"):
        super().__init__(field)
        lo = _vector(f"{field}.lower", lower)
        hi = _vector(f"{field}.upper", upper, length=lo.size)
        crossed = lo > hi
        if np.any(crossed):
            i = int(np.argmax(crossed))
            raise CredalSetError(f"{field}.lower[{i}]", float(lo[i]),
                                 f"must not exceed upper[{i}] = {float(hi[i])!r}",
                                 "swap the bounds or widen the interval")
        self._lo, self._hi = lo, hi
        self._check_not_empty(f"{field}.lower", f"{field}.upper")

    def _bind(self, P):
        _check_length(f"{self.field}.lower", self._lo.size, P.size)
        _check_support(f"{self.field}.upper", self._hi, P)

    def describe(self):
        return {"kind": self.kind, "lower": self._lo.tolist(), "upper": self._hi.tolist()}


class Contamination(_BoxSet):
    """ε-contamination ``{(1 - ε) c + ε R : R a prior, R << P}`` of a centre ``c``.

    Parameters
    ----------
    epsilon : float
        In [0, 1]: 0 is the centre alone, 1 every prior on the support of ``P``.
    centre : array_like, shape (m,), optional
        Default: the reference ``P``.
    field : str
        Prefix for error messages.

    Raises
    ------
    CredalSetError
        ``epsilon`` outside [0, 1]; a bad centre or one charging a state where ``P = 0``.
    """

    kind = "contamination"

    def __init__(self, epsilon, centre=None, field: str = "credal"):
        super().__init__(field)
        eps = float(epsilon)
        if not np.isfinite(eps) or not 0 <= eps <= 1:
            raise CredalSetError(f"{field}.epsilon", epsilon, "must lie in [0, 1]",
                                 "give the weight of the contaminating prior")
        self.epsilon = eps
        self.centre = None if centre is None else _probability(f"{field}.centre", centre)

    def _bind(self, P):
        c = P if self.centre is None else self.centre
        _check_length(f"{self.field}.centre", c.size, P.size)
        _check_support(f"{self.field}.centre", c, P)
        self._lo = (1 - self.epsilon) * c
        self._hi = np.where(P > 0, np.minimum(1.0, self._lo + self.epsilon), 0.0)

    def describe(self):
        return {"kind": self.kind, "epsilon": self.epsilon,
                "centre": self._centre_description(self.centre)}


class DensityBand(_BoxSet):
    """Density band ``lower <= dQ/dc <= upper`` around a centre ``c``.

    Parameters
    ----------
    lower, upper : float or array_like (m,)
        Bounds on the density; scalars need ``0 <= lower <= 1 <= upper``
        (``upper`` may be ``inf``); vectors need ``Σ lower c <= 1 <= Σ upper c``.
        Expected shortfall at level ``α`` is the band ``[0, 1/α]``.
    centre : array_like, shape (m,), optional
        Default: the reference ``P``.
    field : str
        Prefix for error messages.

    Raises
    ------
    CredalSetError
        Negative or crossed bounds, an empty band, a bad centre.
    """

    kind = "density_band"

    def __init__(self, lower, upper, centre=None, field: str = "credal"):
        super().__init__(field)
        self.lower = self._bound_value(f"{field}.lower", lower)
        self.upper = self._bound_value(f"{field}.upper", upper)
        if np.ndim(self.lower) and np.ndim(self.upper) and self.lower.size != self.upper.size:
            raise CredalSetError(f"{field}.upper", f"length {self.upper.size}",
                                 f"must match lower (length {self.lower.size})",
                                 "give one bound per state in both")
        a, b = np.broadcast_arrays(np.atleast_1d(self.lower), np.atleast_1d(self.upper))
        if np.any(a > b):
            i = int(np.argmax(a > b))
            raise CredalSetError(f"{field}.lower", float(a[i]),
                                 f"must not exceed upper = {float(b[i])!r}", "swap the bounds")
        if np.ndim(self.lower) == 0 and self.lower > 1:
            raise CredalSetError(f"{field}.lower", self.lower, "must be <= 1 (else the set is "
                                 "empty)", "a density averages to 1: its lower bound is <= 1")
        if np.ndim(self.upper) == 0 and self.upper < 1:
            raise CredalSetError(f"{field}.upper", self.upper, "must be >= 1 (else the set is "
                                 "empty)", "a density averages to 1: its upper bound is >= 1")
        self.centre = None if centre is None else _probability(f"{field}.centre", centre)

    @staticmethod
    def _bound_value(field: str, value):
        try:
            v = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            v = np.array([np.nan])
        if v.ndim > 1 or np.any(np.isnan(v)) or np.any(v < 0):
            raise CredalSetError(field, value, "must be a number >= 0 or a vector of them",
                                 "give bounds on the density dQ/dc")
        if np.any(np.isinf(v)) and field.endswith("lower"):
            raise CredalSetError(field, value, "must be finite", "use a finite lower bound")
        return float(v) if v.ndim == 0 else v

    def _bind(self, P):
        c = P if self.centre is None else self.centre
        _check_length(f"{self.field}.centre", c.size, P.size)
        for name in ("lower", "upper"):
            if np.ndim(getattr(self, name)):
                _check_length(f"{self.field}.{name}", np.size(getattr(self, name)), P.size)
        _check_support(f"{self.field}.centre", c, P)
        self._lo = self.lower * c
        with np.errstate(invalid="ignore"):
            self._hi = np.where(c > 0, np.minimum(1.0, self.upper * c), 0.0)
        self._check_not_empty(f"{self.field}.lower", f"{self.field}.upper")

    def describe(self):
        def val(v):
            return v.tolist() if np.ndim(v) else (v if np.isfinite(v) else "inf")

        return {"kind": self.kind, "lower": val(self.lower), "upper": val(self.upper),
                "centre": self._centre_description(self.centre)}


# -- finite sets of priors ------------------------------------------------------------------------
class FinitePriors(CredalSet):
    """The convex hull of ``K`` priors (rows of ``priors``).

    Raises
    ------
    CredalSetError
        No priors, a row that is not a probability vector, rows of different
        lengths; at :meth:`bind`: wrong length, mass where ``P = 0``.
    """

    kind = "finite"

    def __init__(self, priors, field: str = "credal"):
        super().__init__(field)
        rows = list(priors) if isinstance(priors, list | tuple | np.ndarray) else []
        if not rows or np.ndim(rows[0]) != 1:
            raise CredalSetError(f"{field}.priors", priors, "need at least one prior",
                                 "give a list of probability vectors")
        first = _probability(f"{field}.priors[0]", rows[0])
        checked = [first] + [_probability(f"{field}.priors[{k}]", r, m=first.size)
                             for k, r in enumerate(rows[1:], start=1)]
        self._priors = np.vstack(checked)

    @property
    def priors(self) -> np.ndarray:
        """The ``K`` priors (K, m) whose hull is the set."""
        return self._priors

    def vertex_priors(self) -> np.ndarray:
        """Alias of :attr:`priors`: the points whose hull is the set."""
        return self._priors

    def _bind(self, P):
        _check_length(f"{self.field}.priors[0]", self._priors.shape[1], P.size)
        for k, q in enumerate(self._priors):
            _check_support(f"{self.field}.priors[{k}]", q, P)

    def worst_case(self, Y):
        Y = self._payoffs(Y)
        values = Y @ self._priors.T
        k = np.argmin(values, axis=-1)
        return np.take_along_axis(values, k[..., None], axis=-1)[..., 0], self._priors[k]

    def best_log_expectation(self, L):
        L = self._payoffs(L)
        L2, lead = as_rows(L)
        value, k = map_rows(lambda sl: self._best_log_block(L2[sl]), L2.shape[0], self.m, 2)
        return from_rows(value, lead), from_rows(self._priors[k], lead)

    def _best_log_block(self, L2: np.ndarray):
        shift = np.max(L2, axis=-1, keepdims=True)
        E = np.exp(L2 - shift) @ self._priors.T
        with np.errstate(divide="ignore"):
            logE = np.log(E)
        small = np.max(E, axis=-1) < 1e-250
        if np.any(small):
            with np.errstate(divide="ignore"):
                logq = np.log(self._priors)
            exact = log_sum_exp(logq[None] + (L2[small] - shift[small])[:, None, :])
            logE[small] = exact
        k = np.argmax(logE, axis=-1)
        return shift[:, 0] + logE[np.arange(k.size), k], k

    def contains(self, Q, tol=1e-9):
        priors = self.priors
        Q = np.asarray(Q, float)
        Q2, lead = as_rows(Q)
        if priors.shape[0] == 1:
            ok = np.max(np.abs(Q2 - priors[0]), axis=-1) <= tol
        else:
            hull = Polytope.hull(priors)
            ok = np.array([hull.contains(q, tol) for q in Q2], dtype=bool)
        return from_rows(ok, lead)

    def upper_state_probabilities(self):
        return np.max(self._priors, axis=0)

    def polytope(self):
        self._check_bound()
        if self._priors.shape[0] == 1:
            return Polytope.simplex_box(self._priors[0], self._priors[0])
        return Polytope.hull(self._priors)

    def member(self):
        return self._priors.mean(axis=0)

    def describe(self):
        return {"kind": self.kind, "priors": self._priors.tolist()}


class IndependentEvents(FinitePriors):
    """Independent binary events with interval probabilities.

    State ``ω`` is an outcome of ``K`` events: ``outcomes[ω, k] = 1`` when event
    ``k`` happens there. Event ``k`` has probability ``θ_k in [lower_k, upper_k]``,
    independently of the others, so an outcome ``o`` has probability
    ``π_θ(o) = Π_k θ_k^{o_k} (1 - θ_k)^{1 - o_k}``, split among the states with
    that outcome in proportion to ``P``. The set is the convex hull of the
    priors at the vertices of the box of ``θ`` (see the module docstring).

    Raises
    ------
    CredalSetError
        ``outcomes`` not an (m, K) 0/1 matrix, bounds of the wrong length or
        outside [0, 1], ``lower > upper``, more than ``MAX_FREE_EVENTS`` events
        with ``lower < upper``; at :meth:`bind`: wrong length, or an outcome the
        events can produce that no state of positive probability has (the
        prior would put mass where ``P`` has none).
    """

    kind = "independent_events"

    def __init__(self, outcomes, lower, upper, field: str = "credal"):
        CredalSet.__init__(self, field)
        self.outcomes = self._outcome_matrix(f"{field}.outcomes", outcomes)
        K = self.outcomes.shape[1]
        self.lower = _vector(f"{field}.lower", lower, length=K, what="event probabilities")
        self.upper = _vector(f"{field}.upper", upper, length=K, what="event probabilities")
        crossed = self.lower > self.upper
        if np.any(crossed):
            i = int(np.argmax(crossed))
            raise CredalSetError(f"{field}.lower[{i}]", float(self.lower[i]),
                                 f"must not exceed upper[{i}] = {float(self.upper[i])!r}",
                                 "swap the bounds")
        free = int(np.sum(self.lower < self.upper))
        if free > MAX_FREE_EVENTS:
            raise CredalSetError(f"{field}.lower", f"{free} events with lower < upper",
                                 f"at most {MAX_FREE_EVENTS} (the set has 2^{free} vertex "
                                 "priors)", "merge events or fix some probabilities "
                                 "(lower = upper)")
        self._priors = None

    @staticmethod
    def _outcome_matrix(field: str, outcomes) -> np.ndarray:
        try:
            O = finite_array(field, outcomes, ndim=2)
        except RiskshareInputError as exc:
            raise CredalSetError(field, exc.value, "an m x K matrix of 0/1", exc.fix) from exc
        if O.shape[1] < 1 or not np.all((O == 0) | (O == 1)):
            raise CredalSetError(field, f"shape {O.shape}", "an m x K matrix of 0/1 entries, "
                                 "K >= 1", "mark with 1 the events that happen in each state")
        return O.astype(np.int8)

    def vertex_thetas(self) -> np.ndarray:
        """Event probabilities ``θ`` (V, K) at the vertices of the box (fixed events once)."""
        free = np.flatnonzero(self.lower < self.upper)
        thetas = np.tile(self.lower, (2 ** free.size, 1))
        for j, k in enumerate(free):
            pick = (np.arange(2 ** free.size) >> j) & 1
            thetas[:, k] = np.where(pick == 1, self.upper[k], self.lower[k])
        return thetas

    def prior_for(self, theta) -> np.ndarray:
        """The prior (m,) of the event probabilities ``theta`` (K,) (bound set)."""
        self._check_bound()
        theta = np.asarray(theta, float)
        return self._outcome_probabilities(theta[None])[0] * self._within

    def _outcome_probabilities(self, thetas: np.ndarray) -> np.ndarray:
        """``π_θ(o(ω))`` (V, m) for each row of ``thetas``."""
        pi = np.ones((thetas.shape[0], self.outcomes.shape[0]))
        for k in range(self.outcomes.shape[1]):
            hit = self.outcomes[:, k] == 1
            pi *= np.where(hit[None, :], thetas[:, k, None], 1.0 - thetas[:, k, None])
        return pi

    def _bind(self, P):
        _check_length(f"{self.field}.outcomes", self.outcomes.shape[0], P.size)
        classes, label = np.unique(self.outcomes, axis=0, return_inverse=True)
        label = label.ravel()
        class_mass = np.bincount(label, weights=P, minlength=classes.shape[0])
        self._check_outcomes_present(classes[class_mass > 0])
        with np.errstate(invalid="ignore", divide="ignore"):
            self._within = np.where(P > 0, P / class_mass[label], 0.0)
        thetas = self.vertex_thetas()
        if thetas.shape[0] * P.size > MAX_VERTEX_ENTRIES:
            raise CredalSetError(f"{self.field}.lower", f"{thetas.shape[0]} vertex priors x "
                                 f"{P.size} states", f"at most {MAX_VERTEX_ENTRIES:,} numbers",
                                 "fix some event probabilities (lower = upper) or use fewer "
                                 "states")
        self._priors = self._outcome_probabilities(thetas) * self._within

    def _check_outcomes_present(self, present: np.ndarray) -> None:
        allowed = [[v for v in (0, 1) if (v == 0 and lo < 1) or (v == 1 and hi > 0)]
                   for lo, hi in zip(self.lower, self.upper, strict=True)]
        total = int(np.prod([len(a) for a in allowed], dtype=float))
        have = {tuple(int(x) for x in row) for row in present}
        consistent = sum(all(row[k] in allowed[k] for k in range(len(allowed))) for row in have)
        if consistent == total:
            return
        missing = next(o for o in itertools.product(*allowed) if o not in have)
        raise CredalSetError(f"{self.field}.outcomes", f"{total - consistent} of {total} "
                             f"outcomes missing, e.g. {missing}",
                             "every outcome the events can produce needs a state of positive "
                             "reference probability (else the prior charges a state P does not)",
                             "add the missing outcomes as states, or fix the event "
                             "probabilities at 0 or 1")

    def worst_case(self, Y):
        self._check_bound()
        return super().worst_case(Y)

    def polytope(self):
        self._check_bound()
        return super().polytope()

    def upper_state_probabilities(self):
        self._check_bound()
        best = np.where(self.outcomes == 1, self.upper[None, :], 1.0 - self.lower[None, :])
        return np.prod(best, axis=1) * self._within

    def member(self):
        self._check_bound()
        return self.prior_for((self.lower + self.upper) / 2)

    @property
    def priors(self):
        self._check_bound()
        return self._priors

    def vertex_priors(self):
        """The vertex priors (V, m); rows follow :meth:`vertex_thetas`."""
        self._check_bound()
        return self._priors

    def describe(self):
        return {"kind": self.kind, "outcomes": self.outcomes.tolist(),
                "lower": self.lower.tolist(), "upper": self.upper.tolist()}


# -- relative entropy ball ------------------------------------------------------------------------
class KLBall(CredalSet):
    """Relative-entropy ball ``{Q : KL(Q || c) <= radius}`` around a centre ``c``.

    The worst case of ``Y`` is the tilt ``Q_β ∝ c e^{-βY}`` with
    ``KL(Q_β || c) = radius`` (``β = 1/η`` of the dual), found by a safeguarded
    Newton iteration in ``log β``; when the radius reaches ``-log c(M)``, ``M``
    the states where ``Y`` is smallest, the answer is ``c`` conditioned on ``M``.
    The returned prior is feasible (``KL <= radius``); :meth:`dual_bound`
    gives the matching lower bound on the minimum.

    Raises
    ------
    CredalSetError
        ``radius`` negative or not finite; a bad centre.
    """

    kind = "kl_ball"
    polyhedral = False

    def __init__(self, radius, centre=None, field: str = "credal"):
        super().__init__(field)
        r = float(radius)
        if not np.isfinite(r) or r < 0:
            raise CredalSetError(f"{field}.radius", radius, "must be a finite number >= 0",
                                 "give the radius in nats (0: the centre alone)")
        self.radius = r
        self.centre = None if centre is None else _probability(f"{field}.centre", centre)

    def _bind(self, P):
        c = P if self.centre is None else self.centre
        _check_length(f"{self.field}.centre", c.size, P.size)
        _check_support(f"{self.field}.centre", c, P)
        self._c = c

    def centre_vector(self) -> np.ndarray:
        """The centre ``c`` (m,) of the bound ball."""
        self._check_bound()
        return self._c

    def worst_case(self, Y):
        Y = self._payoffs(Y)
        Y2, lead = as_rows(Y)
        value, Q, _ = map_rows(lambda sl: kl_worst_case(Y2[sl], self._c, self.radius),
                               Y2.shape[0], self.m, factor=8)
        return from_rows(value, lead), from_rows(Q, lead)

    def dual_bound(self, Y) -> np.ndarray:
        """A lower bound on ``min_{Q in C} <Q, Y>`` from the dual at the computed ``β``."""
        Y = self._payoffs(Y)
        Y2, lead = as_rows(Y)
        _, _, low = map_rows(lambda sl: kl_worst_case(Y2[sl], self._c, self.radius),
                             Y2.shape[0], self.m, factor=8)
        return from_rows(low, lead)

    def contains(self, Q, tol=1e-9):
        self._check_bound()
        Q = np.asarray(Q, float)
        simplex = np.all(Q >= -tol, axis=-1) & (np.abs(Q.sum(axis=-1) - 1) <= tol * Q.shape[-1])
        return simplex & (_kl(np.clip(Q, 0, None), self._c) <= self.radius + tol)

    def upper_state_probabilities(self):
        self._check_bound()
        return _max_binary_mass(self._c, self.radius)

    def polytope(self):
        return None

    def member(self):
        self._check_bound()
        return self._c

    def describe(self):
        return {"kind": self.kind, "radius": self.radius,
                "centre": self._centre_description(self.centre)}


def kl_worst_case(Y2: np.ndarray, c: np.ndarray, r: float):
    """Rows of ``min {<Q, Y> : KL(Q || c) <= r}``: ``(value, Q, dual lower bound)``."""
    supp = c > 0
    with np.errstate(divide="ignore"):
        logc = np.where(supp, np.log(np.where(supp, c, 1.0)), -np.inf)
    ymin = np.min(np.where(supp, Y2, np.inf), axis=-1, keepdims=True)
    D = np.where(supp, Y2 - ymin, 0.0)
    at_min = supp & (D == 0)
    c_min = np.sum(np.where(at_min, c, 0.0), axis=-1)
    with np.errstate(divide="ignore"):
        saturated = r >= -np.log(c_min)
    Q = np.where(at_min, c, 0.0) / c_min[:, None]
    low = np.zeros(Y2.shape[0])
    todo = ~saturated if r > 0 else np.zeros_like(saturated)
    if r == 0:
        Q = np.broadcast_to(c, Y2.shape).copy()
        low = D @ c
    if np.any(todo):
        Q[todo], low[todo] = _kl_tilt(D[todo], logc, r)
    Yc = np.where(supp, Y2, 0.0)
    return rowdot(Q, Yc), Q, low + ymin[:, 0]


def _tilt(D: np.ndarray, mean_c: np.ndarray, logc: np.ndarray, beta: np.ndarray):
    """Tilted prior ``Q ∝ c e^{-βD}``, ``KL(Q || c)``, ``log E_c e^{-βD}`` and ``E_Q D``.

    ``D >= 0`` keeps every payoff difference. For small ``β`` (``β max D < 1/2``)
    the KL is of order ``β² Var_c(D)`` and a direct formula would cancel: there
    the log moment is ``-β E_c D + log1p(E_c[expm1(-β D')])`` with
    ``D' = D - E_c D`` and the KL is ``-β Σ (Q - c) D' - log E_c e^{-βD'}``,
    with ``Q - c = c expm1(-βD' - log E_c e^{-βD'})``.
    """
    z = logc - beta[:, None] * D
    lse = log_sum_exp(z)
    Q = np.exp(z - lse[:, None])
    mean = np.sum(Q * D, axis=-1)
    kl = -beta * mean - lse
    small = beta * np.max(D, axis=-1) < 0.5
    if np.any(small):
        c = np.exp(logc)
        b = beta[small, None]
        Dc = np.where(c > 0, D[small] - mean_c[small, None], 0.0)
        lse_c = np.log1p(np.expm1(-b * Dc) @ c)
        dQ = c * np.expm1(-b * Dc - lse_c[:, None])
        Q[small] = c + dQ
        kl[small] = -beta[small] * np.sum(dQ * Dc, axis=-1) - lse_c
        lse[small] = lse_c - beta[small] * mean_c[small]
        mean[small] = mean_c[small] + np.sum(dQ * Dc, axis=-1)
    return Q, np.maximum(kl, 0.0), lse, mean


def _kl_tilt(D: np.ndarray, logc: np.ndarray, r: float, max_iter: int = 100):
    """Solve ``KL(Q_β || c) = r`` for rows whose minimum state does not saturate the ball.

    Safeguarded Newton on ``t = log β`` (``dKL/dt = β² Var_{Q_β}(D)``) inside a
    bracket ``[t_lo, t_hi]`` with ``KL(t_lo) <= r <= KL(t_hi)``; rows leave the
    loop once converged. Returns the tilt at ``t_lo`` (feasible up to rounding)
    and the dual lower bound there.
    """
    c = np.exp(logc)
    mean_c = D @ c
    var_c = np.maximum(((D - mean_c[:, None]) ** 2) @ c, 1e-300)
    t = np.log(np.sqrt(2 * r / var_c))
    kl0 = _tilt(D, mean_c, logc, np.exp(t))[1]
    t_lo = np.where(kl0 <= r, t, -np.inf)
    t_hi = np.where(kl0 <= r, np.inf, t)
    t_lo, t_hi = _expand_bracket(D, mean_c, logc, r, t_lo, t_hi)
    t = t_lo.copy()
    live = np.arange(D.shape[0])
    for _ in range(max_iter):
        beta = np.exp(t[live])
        Q, kl, _, mean = _tilt(D[live], mean_c[live], logc, beta)
        feasible = kl <= r * (1 + 1e-13)
        t_lo[live] = np.where(feasible, np.maximum(t_lo[live], t[live]), t_lo[live])
        t_hi[live] = np.where(feasible, t_hi[live], np.minimum(t_hi[live], t[live]))
        var = np.sum(Q * (D[live] - mean[:, None]) ** 2, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = t[live] - (kl - r) / (beta ** 2 * var)
        inside = np.isfinite(step) & (step > t_lo[live]) & (step < t_hi[live])
        t[live] = np.where(inside, step, 0.5 * (t_lo[live] + t_hi[live]))
        tiny = t_hi[live] - t_lo[live] <= 4e-16 * np.maximum(1, np.abs(t[live]))
        done = (feasible & (r - kl <= 1e-14 * r)) | tiny
        live = live[~done]
        if live.size == 0:
            break
    beta = np.exp(t_lo)
    Q, _, lse, _ = _tilt(D, mean_c, logc, beta)
    return Q, (-lse - r) / beta


#: largest log β tried (β ~ 1e304); beyond it the tilt is the limit within rounding
LOG_BETA_MAX = 700.0


def _expand_bracket(D, mean_c, logc, r, t_lo, t_hi):
    """Move the infinite end of each bracket until ``KL(t_lo) <= r <= KL(t_hi)``."""
    for side in ("lo", "hi"):
        target = t_lo if side == "lo" else t_hi
        open_end = ~np.isfinite(target)
        t = np.where(open_end, t_hi if side == "lo" else t_lo, 0.0)
        step = -2.0 if side == "lo" else 2.0
        while np.any(open_end):
            t = np.where(open_end, t + step, t)
            idx = np.flatnonzero(open_end)
            kl = _tilt(D[idx], mean_c[idx], logc, np.exp(t[idx]))[1]
            hit = kl <= r if side == "lo" else (kl >= r) | (t[idx] >= LOG_BETA_MAX)
            hit |= t[idx] <= -LOG_BETA_MAX
            target[idx[hit]] = t[idx[hit]]
            open_end[idx[hit]] = False
    return t_lo, t_hi


def _max_binary_mass(c: np.ndarray, r: float) -> np.ndarray:
    """``max {Q(ω) : KL(Q || c) <= r}`` per state: the largest ``q`` with binary KL <= r."""
    if r == 0:
        return c.copy()
    out = np.zeros_like(c)
    pos = c > 0
    cc = c[pos]
    with np.errstate(divide="ignore"):
        full = (r >= -np.log(cc)) | (cc >= 1)
    lo, hi = cc.copy(), np.ones_like(cc)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = mid * np.log(mid / cc) + np.where(mid < 1, (1 - mid) * np.log((1 - mid)
                                                                            / (1 - cc)), 0)
        ok = kl <= r
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    out[pos] = np.where(full, 1.0, hi)
    return out
