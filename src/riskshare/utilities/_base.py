r"""Monetary utilities: the common interface (spec §2).

Notation: a utility ``U`` acts on payoffs ``Y`` of shape ``(..., m)`` (a leading
batch axis evaluates many allocations in one call). Every family is concave,
monotone, cash-invariant and normalised, and has a dual representation

.. math:: U(Y) = \min_{Q} \; \langle Q, Y \rangle + \alpha(Q)

over probability vectors ``Q`` with a convex *penalty* ``α ≥ 0``. A
supergradient of ``U`` at ``Y`` is a minimising ``Q`` (the pricing or
worst-case prior). The penalty is what the efficiency certificate needs: for
any ``Q_i`` in the domain of ``α_i``, ``Σ_i U_i(Z_i) <= Σ_i <Q_i, Z_i> + α_i(Q_i)``.

A utility built with ``prior=None`` is *unbound*: it refers to the reference
probability ``P`` of the pool and must be bound with :meth:`bind` first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

import numpy as np

from .._errors import ShapeError, UnsupportedError, UtilityParameterError
from .._validate import probability_vector
from ._kernels import log_sum_exp
from ._polytope import Polytope

__all__ = ["MonetaryUtility", "Expectation", "Entropic", "PENALTY_TOL", "check_factor",
           "check_metric", "density_ratio"]

#: tolerance on domain constraints when a penalty is evaluated (probability units)
PENALTY_TOL = 1e-9


class MonetaryUtility(ABC):
    """Interface of every monetary utility.

    Attributes
    ----------
    smooth : bool
        ``True`` when the supergradient is unique everywhere (entropic).
    polyhedral : bool
        ``True`` when ``U`` is the minimum of finitely many linear functions
        (expectation, expected shortfall, distortion, max-min of those over a
        polyhedral credal set).
    """

    smooth: bool = False
    polyhedral: bool = False
    name: str = "utility"

    # -- binding to the reference probability --------------------------------
    @abstractmethod
    def bind(self, P: np.ndarray) -> MonetaryUtility:
        """Return a copy whose missing priors/centres are the reference ``P``."""

    @property
    @abstractmethod
    def bound(self) -> bool:
        """Whether every prior is known (the utility can be evaluated)."""

    # -- evaluation -----------------------------------------------------------
    @abstractmethod
    def value(self, Y) -> np.ndarray:
        """``U(Y)`` for ``Y`` of shape ``(..., m)``; returns shape ``(...)``."""

    @abstractmethod
    def supergradient(self, Y) -> np.ndarray:
        """A supergradient (probability vector) at each ``Y``: shape ``(..., m)``."""

    def value_and_supergradient(self, Y) -> tuple[np.ndarray, np.ndarray]:
        """Both at once (families override when they share work)."""
        return self.value(Y), self.supergradient(Y)

    def evaluate_at(self, Y, Q) -> tuple[np.ndarray, np.ndarray]:
        """Value and supergradient of the family with its prior replaced by ``Q``.

        ``Q`` is one prior ``(m,)`` or one per allocation (broadcasting against
        ``Y``'s batch axes). This is how :class:`MaxMin` evaluates a base
        utility at the worst-case prior; it does not need :meth:`bind`.
        """
        raise UnsupportedError(f"{self.name}.prior", type(self).__name__,
                               "only the base families take a prior per allocation",
                               "use Expectation, Entropic, ExpectedShortfall or Distortion")

    def penalty_at(self, R, Q) -> np.ndarray:
        """Penalty ``α_Q(R)`` of the family with its prior replaced by ``Q`` (broadcasting)."""
        raise UnsupportedError(f"{self.name}.prior", type(self).__name__,
                               "only the base families take a prior per allocation",
                               "use Expectation, Entropic, ExpectedShortfall or Distortion")

    @abstractmethod
    def penalty(self, Q, Y=None) -> np.ndarray:
        """Upper bound on the penalty ``α(Q)`` (exact unless stated), ``+inf`` off its domain.

        ``Y`` is an optional hint: max-min utilities bound ``α`` with the
        worst-case prior at ``Y``, which is exact at a supergradient of ``Y``.
        """

    def worst_case_prior(self, Y) -> np.ndarray:
        """The prior under which ``U`` values ``Y`` (max-min: the minimising
        member of the credal set; otherwise the agent's own prior), one per
        allocation: shape ``(..., m)``."""
        Y = self._payoffs(Y)
        return np.broadcast_to(self.prior_vector(), Y.shape).copy()

    @abstractmethod
    def prior_vector(self) -> np.ndarray:
        """The agent's own (or centre) prior."""

    @abstractmethod
    def lipschitz(self, metric: str = "sup", P=None) -> float:
        """Lipschitz constant for the metric: 1 for ``"sup"``; for ``"l1"``,
        ``max_Q max_ω Q(ω)/P(ω)`` over the priors the utility can use."""

    @abstractmethod
    def describe(self) -> dict:
        """JSON-ready description: ``{"kind": ..., parameters...}``."""

    def credal_polytope(self):
        """For a polyhedral utility, the :class:`Polytope` ``C`` with
        ``U(Y) = min_{Q in C} <Q, Y>``; ``None`` for other families."""
        return None

    def scaled(self, factor: float) -> MonetaryUtility:
        """The same preference for amounts multiplied by ``factor`` (> 0):
        ``U'(factor Y) = factor U(Y)``. Tolerances scale; levels and priors do not."""
        check_factor(factor)
        return self

    # -- helpers --------------------------------------------------------------
    def _check_bound(self) -> None:
        if not self.bound:
            raise UtilityParameterError(f"{self.name}.prior", None,
                                        "the utility refers to the pool's probabilities",
                                        "call .bind(P) or use it through a Pool")

    def _payoffs(self, Y) -> np.ndarray:
        self._check_bound()
        return _as_payoffs(Y, self.prior_vector().size)


def _as_payoffs(Y, m: int) -> np.ndarray:
    """``Y`` as a float array whose last axis has the ``m`` states."""
    Y = np.asarray(Y, dtype=float)
    if Y.shape[-1:] != (m,):
        raise ShapeError("Y", Y.shape, f"last axis must have the {m} states",
                         "pass payoffs of shape (..., m)")
    return Y


def _prior_batch(Y: np.ndarray, Q) -> np.ndarray:
    """A prior (or one per allocation) as a float array matching ``Y``'s last axis."""
    Q = np.asarray(Q, dtype=float)
    if Q.shape[-1:] != Y.shape[-1:]:
        raise ShapeError("Q", Q.shape, f"last axis must have the {Y.shape[-1]} states",
                         "pass priors of shape (..., m)")
    return Q


def check_metric(metric: str, P) -> np.ndarray | None:
    """Validate a metric name; for ``"l1"`` return the reference ``P`` as an array."""
    if metric == "sup":
        return None
    if metric != "l1":
        raise UtilityParameterError("metric", metric, 'must be "sup" or "l1"',
                                    'use metric="sup" (default) or "l1"')
    if P is None:
        raise UtilityParameterError("P", None, 'the "l1" metric needs the reference probability',
                                    "pass lipschitz('l1', P)")
    return np.asarray(P, dtype=float)


def density_ratio(Qmax, P) -> float:
    """``max_ω Qmax(ω) / P(ω)`` with ``0/0 = 0`` and ``x/0 = inf`` for ``x > 0``."""
    Qmax = np.asarray(Qmax, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(Qmax > 0, Qmax / P, 0.0)
    return float(np.max(r))


def check_factor(factor) -> float:
    """A rescaling factor for :meth:`MonetaryUtility.scaled`: finite and > 0."""
    f = float(factor)
    if not np.isfinite(f) or f <= 0:
        raise UtilityParameterError("factor", factor, "must be a finite number > 0",
                                    "rescale money by a positive factor (e.g. 100 for cents)")
    return f


def _bind_reference(utility, P):
    """Copy of ``utility`` with the reference probability as its prior, marked as such
    (so descriptions say ``"reference"`` rather than ``"own"``)."""
    bound = replace(utility, prior=np.asarray(P, float))
    object.__setattr__(bound, "_reference_prior", True)
    return bound


def _prior_label(utility) -> str:
    """``"reference"`` for a prior taken from the pool, ``"own"`` for one given."""
    if utility.prior is None or getattr(utility, "_reference_prior", False):
        return "reference"
    return "own"


def _kl(Q: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Relative entropy ``KL(Q||P)``, ``+inf`` where ``Q`` charges a null state of ``P``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(Q > 0, Q * (np.log(Q) - np.log(P)), 0.0)
    out = terms.sum(axis=-1)
    bad = np.any((Q > PENALTY_TOL) & (P <= 0), axis=-1)
    return np.where(bad, np.inf, np.maximum(out, 0.0))


def _off_simplex(Q: np.ndarray, tol: float = PENALTY_TOL) -> np.ndarray:
    return (np.any(Q < -tol, axis=-1)) | (np.abs(Q.sum(axis=-1) - 1) > tol * Q.shape[-1])


class _SinglePrior:
    """``bind``/``bound``/``prior_vector`` for families with one optional ``prior``."""

    def bind(self, P):
        return self if self.prior is not None else _bind_reference(self, P)

    @property
    def bound(self):
        return self.prior is not None

    def prior_vector(self):
        self._check_bound()
        return self.prior


@dataclass(frozen=True)
class Expectation(_SinglePrior, MonetaryUtility):
    """``U(Y) = E_Q[Y]`` under the agent's prior ``Q`` (default: reference ``P``)."""

    prior: np.ndarray | None = None
    smooth = False
    polyhedral = True
    name = "expectation"

    def __post_init__(self):
        if self.prior is not None:
            object.__setattr__(self, "prior", probability_vector("expectation.prior", self.prior))

    def value(self, Y):
        return self._payoffs(Y) @ self.prior

    def supergradient(self, Y):
        Y = self._payoffs(Y)
        return np.broadcast_to(self.prior, Y.shape).copy()

    def evaluate_at(self, Y, Q):
        Y = np.asarray(Y, dtype=float)
        Q = _prior_batch(Y, Q)
        value = np.sum(Y * Q, axis=-1)
        return value, np.broadcast_to(Q, np.broadcast_shapes(Y.shape, Q.shape)).copy()

    def penalty(self, Q, Y=None):
        self._check_bound()
        return self.penalty_at(Q, self.prior)

    def penalty_at(self, R, Q):
        R = np.asarray(R, dtype=float)
        off = np.max(np.abs(R - np.asarray(Q, dtype=float)), axis=-1) > PENALTY_TOL
        return np.where(off, np.inf, 0.0)

    def lipschitz(self, metric="sup", P=None):
        P = check_metric(metric, P)
        if P is None:
            return 1.0
        self._check_bound()
        return density_ratio(self.prior, P)

    def credal_polytope(self):
        self._check_bound()
        return Polytope.simplex_box(self.prior, self.prior)

    def describe(self):
        return {"kind": "expectation", "prior": _prior_label(self)}


@dataclass(frozen=True)
class Entropic(_SinglePrior, MonetaryUtility):
    """Entropic utility ``U(Y) = -γ log E_Q[exp(-Y/γ)]`` with tolerance ``γ > 0``.

    The supergradient is the tilted prior ``Q e^{-Y/γ} / E_Q[e^{-Y/γ}]`` and the
    penalty ``α(R) = γ KL(R || Q)``.
    """

    tolerance: float = 1.0
    prior: np.ndarray | None = None
    smooth = True
    polyhedral = False
    name = "entropic"

    def __post_init__(self):
        g = float(self.tolerance)
        if not np.isfinite(g) or g <= 0:
            raise UtilityParameterError("entropic.tolerance", self.tolerance, "must be > 0",
                                        "give a positive risk tolerance in money units")
        object.__setattr__(self, "tolerance", g)
        if self.prior is not None:
            object.__setattr__(self, "prior", probability_vector("entropic.prior", self.prior))

    def _log_weights(self, Y):
        Y = self._payoffs(Y)
        with np.errstate(divide="ignore"):
            logq = np.log(self.prior)
        z = logq - Y / self.tolerance
        zmax = np.max(z, axis=-1, keepdims=True)
        lse = zmax[..., 0] + np.log(np.sum(np.exp(z - zmax), axis=-1))
        return z, lse

    def value(self, Y):
        _, lse = self._log_weights(Y)
        return -self.tolerance * lse

    def supergradient(self, Y):
        z, lse = self._log_weights(Y)
        return np.exp(z - lse[..., None])

    def value_and_supergradient(self, Y):
        z, lse = self._log_weights(Y)
        return -self.tolerance * lse, np.exp(z - lse[..., None])

    def evaluate_at(self, Y, Q):
        Y = np.asarray(Y, dtype=float)
        Q = _prior_batch(Y, Q)
        with np.errstate(divide="ignore"):
            z = np.log(Q) - Y / self.tolerance
        lse = log_sum_exp(z)
        return -self.tolerance * lse, np.exp(z - lse[..., None])

    def penalty(self, Q, Y=None):
        self._check_bound()
        return self.penalty_at(Q, self.prior)

    def penalty_at(self, R, Q):
        R = np.asarray(R, dtype=float)
        Q = np.asarray(Q, dtype=float)
        return np.where(_off_simplex(R), np.inf, self.tolerance * _kl(np.clip(R, 0, None), Q))

    def lipschitz(self, metric="sup", P=None):
        P = check_metric(metric, P)
        if P is None:
            return 1.0
        self._check_bound()
        # the tilted prior can put almost all its mass on any state the prior charges
        return density_ratio((self.prior > 0).astype(float), P)

    def scaled(self, factor):
        return replace(self, tolerance=self.tolerance * check_factor(factor))

    def describe(self):
        return {"kind": "entropic", "tolerance": self.tolerance,
                "prior": _prior_label(self)}
