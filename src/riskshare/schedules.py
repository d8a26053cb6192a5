r"""Price schedules: the finitely described language players post in (spec §5).

Notation: an allocation ``Y`` is (n, m); ``U_j`` is agent ``j``'s monetary
utility; ``d`` is the mechanism metric

* ``"sup"``: ``d(Y, Z) = Σ_i max_ω |Y_i(ω) − Z_i(ω)|`` (every ``U_j`` is 1-Lipschitz),
* ``"l1"``:  ``d(Y, Z) = Σ_i E_P |Y_i − Z_i|`` (``U_j`` is ``L_j``-Lipschitz,
  ``L_j = max_Q max_ω Q(ω)/P(ω)`` over the priors it can use).

A schedule is

.. math:: p(Y) = c + Σ_j a_j U_j(Y_j) + Σ_l b_l\, d(Y, Z_l)
          \;[+ \text{a price per item on a finite menu}].

Because ``d`` adds up the agents' distances and each utility term reads one
agent's payoff, ``p`` is ``L_p``-Lipschitz for ``d`` with

.. math:: L_p = \max_j |a_j| L_j + Σ_l |b_l|

(coefficients of the same agent summed first). Admissible schedules ``𝒫_L``
have ``L_p <= L`` (the cap) and ``∫ p dμ = 0``; the constant ``c`` is what the
normalisation sets, and it carries the standard error of the μ-integrals.

Builders: the equalising schedule of stage ``k``,
``p_k* = W_{k+1} − ∫ W_{k+1} dμ`` with ``W_{k+1} = Σ_{j after stage k} U_j``, and
its ε-perturbation ``p_ε = p* + ε d(·, Y*) − ε ∫ d(·, Y*) dμ``, which makes
``Y*`` the unique best reply of the continuation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ._errors import LipschitzCapError, ShapeError, UtilityParameterError
from ._validate import finite_array, probability_vector
from .measures import Estimate, combine

__all__ = ["Schedule", "distance", "equalising_schedule", "perturbed_schedule",
           "cap_requirement", "resolve_cap", "check_cap", "CAP_SLACK", "METRICS",
           "FORMAT"]

METRICS = ("sup", "l1")
#: the cap must exceed the continuation welfare's Lipschitz constant by this fraction
CAP_SLACK = 0.05
FORMAT = "riskshare.schedule.v1"


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise UtilityParameterError("metric", metric, "'sup' or 'l1'",
                                    "use the default 'sup' metric")
    return metric


def distance(Y, Z, metric: str = "sup", probabilities=None) -> np.ndarray:
    """Mechanism metric ``d(Y, Z)`` for ``Y`` (..., n, m) and ``Z`` (n, m) (broadcasting)."""
    _check_metric(metric)
    diff = np.abs(np.asarray(Y, dtype=float) - np.asarray(Z, dtype=float))
    if metric == "sup":
        return diff.max(axis=-1).sum(axis=-1)
    if probabilities is None:
        raise UtilityParameterError("probabilities", None, "the l1 metric needs P",
                                    "pass the pool's probabilities")
    return (diff @ np.asarray(probabilities, dtype=float)).sum(axis=-1)


@dataclass(frozen=True, eq=False)
class Schedule:
    """A posted price schedule ``p(Y) = c + Σ a_j U_j(Y_j) + Σ b_l d(Y, Z_l)``.

    Parameters
    ----------
    n, m : int
        Agents and states of the allocations it prices.
    utility_terms : tuple of (int, float)
        ``(j, a_j)``: coefficient ``a_j`` on agent ``j``'s utility.
    distance_terms : tuple of (float, ndarray (n, m))
        ``(b_l, Z_l)``: coefficient ``b_l`` on the distance to anchor ``Z_l``.
    constant : float
        ``c``.
    metric : {"sup", "l1"}
    item_prices : ndarray (K,), optional
        Extra price per item (finite menus only).
    constant_stderr : float
        Standard error of ``c`` (from the μ-integrals that normalised it).
    label : str
        ``"equalising"``, ``"perturbed"``, ``"custom"``, ...
    stage, poster : int, optional
        Stage (1-based) and agent index of the player who posts it.
    utilities : tuple of MonetaryUtility, optional
        What the agent indices refer to (not serialised).
    probabilities : ndarray (m,), optional
        Reference probability ``P`` for the ``"l1"`` metric (not serialised).
    """

    n: int
    m: int
    utility_terms: tuple = ()
    distance_terms: tuple = ()
    constant: float = 0.0
    metric: str = "sup"
    item_prices: np.ndarray | None = None
    constant_stderr: float = 0.0
    label: str = "custom"
    stage: int | None = None
    poster: int | None = None
    utilities: tuple | None = field(default=None, repr=False)
    probabilities: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        _check_metric(self.metric)
        terms = []
        for j, a in self.utility_terms:
            if not 0 <= int(j) < self.n:
                raise ShapeError("schedule.utility_terms", j, f"agent index in 0..{self.n - 1}",
                                 "refer to agents by their row in the pool")
            terms.append((int(j), float(finite_array("schedule.coefficient", a))))
        dists = []
        for b, Z in self.distance_terms:
            Z = finite_array("schedule.anchor", Z, shape=(self.n, self.m))
            Z.setflags(write=False)
            dists.append((float(finite_array("schedule.coefficient", b)), Z))
        object.__setattr__(self, "utility_terms", tuple(terms))
        object.__setattr__(self, "distance_terms", tuple(dists))
        object.__setattr__(self, "constant", float(finite_array("schedule.constant",
                                                                self.constant)))
        object.__setattr__(self, "constant_stderr", float(self.constant_stderr))
        if self.item_prices is not None:
            prices = finite_array("schedule.item_prices", self.item_prices, ndim=1)
            prices.setflags(write=False)
            object.__setattr__(self, "item_prices", prices)
        if self.utilities is not None:
            object.__setattr__(self, "utilities", tuple(self.utilities))
        if self.probabilities is not None:
            object.__setattr__(self, "probabilities",
                               probability_vector("probabilities", self.probabilities, m=self.m))

    # ------------------------------------------------------------------ structure
    def coefficients(self) -> np.ndarray:
        """Net coefficient ``a_j`` of each agent's utility, (n,)."""
        a = np.zeros(self.n)
        for j, c in self.utility_terms:
            a[j] += c
        return a

    def bind(self, utilities, probabilities=None) -> Schedule:
        """The same schedule with the utilities (and ``P``) its terms refer to."""
        if len(utilities) != self.n:
            raise ShapeError("utilities", len(utilities), f"{self.n} utilities",
                             "give one utility per agent")
        P = probabilities if probabilities is not None else self.probabilities
        return replace(self, utilities=tuple(utilities), probabilities=P)

    def _metric_P(self):
        if self.metric == "l1" and self.probabilities is None:
            raise UtilityParameterError("schedule.probabilities", None,
                                        "the l1 metric needs the reference probability",
                                        "bind(utilities, probabilities)")
        return self.probabilities

    # ------------------------------------------------------------------ evaluation
    def value(self, Y) -> np.ndarray:
        """``p(Y)`` for allocations ``Y`` of shape (..., n, m); returns (...)."""
        Y = np.asarray(Y, dtype=float)
        if Y.shape[-2:] != (self.n, self.m):
            raise ShapeError("Y", Y.shape, f"allocations of shape (..., {self.n}, {self.m})",
                             "pass an (n, m) allocation or a batch of them")
        out = np.full(Y.shape[:-2], self.constant)
        a = self.coefficients()
        if np.any(a != 0):
            if self.utilities is None:
                raise UtilityParameterError("schedule.utilities", None,
                                            "the utility terms need the agents' utilities",
                                            "bind(utilities) first")
            for j in np.flatnonzero(a):
                out = out + a[j] * self.utilities[j].value(Y[..., j, :])
        P = self._metric_P()
        for b, Z in self.distance_terms:
            out = out + b * distance(Y, Z, self.metric, P)
        return out

    def value_items(self, items) -> np.ndarray:
        """Price of every item of a finite menu (``items`` (K, n, m)); adds ``item_prices``."""
        items = np.asarray(items, dtype=float)
        out = self.value(items)
        if self.item_prices is not None:
            if self.item_prices.shape != (items.shape[0],):
                raise ShapeError("schedule.item_prices", self.item_prices.shape,
                                 f"one price per item ({items.shape[0]})", "match the menu")
            out = out + self.item_prices
        return out

    def lipschitz_bound(self, utilities=None) -> float:
        """``max_j |a_j| L_j + Σ_l |b_l|`` for the schedule's metric (item prices excluded)."""
        utilities = self.utilities if utilities is None else utilities
        a = self.coefficients()
        lip = 0.0
        for j in np.flatnonzero(a):
            if utilities is None:
                raise UtilityParameterError("schedule.utilities", None,
                                            "the Lipschitz bound needs the utilities",
                                            "bind(utilities) first")
            L = utilities[j].lipschitz(self.metric, self._metric_P())
            lip = max(lip, abs(a[j]) * float(L))
        return lip + sum(abs(b) for b, _ in self.distance_terms)

    # ------------------------------------------------------------------ algebra
    def scaled(self, factor: float) -> Schedule:
        """``factor · p`` (stays normalised when ``p`` is)."""
        f = float(factor)
        return replace(self, utility_terms=tuple((j, f * a) for j, a in self.utility_terms),
                       distance_terms=tuple((f * b, Z) for b, Z in self.distance_terms),
                       constant=f * self.constant, constant_stderr=abs(f) * self.constant_stderr,
                       item_prices=None if self.item_prices is None else f * self.item_prices,
                       label=f"{self.label}*{f:g}")

    def plus(self, other: Schedule, label: str | None = None) -> Schedule:
        """``p + q`` (standard errors of the constants combine as independent)."""
        if (other.n, other.m, other.metric) != (self.n, self.m, self.metric):
            raise ShapeError("schedule", (other.n, other.m, other.metric),
                             f"same shape and metric as ({self.n}, {self.m}, {self.metric})",
                             "add schedules of the same game")
        prices = self.item_prices
        if other.item_prices is not None:
            prices = other.item_prices if prices is None else prices + other.item_prices
        return replace(self, utility_terms=self.utility_terms + other.utility_terms,
                       distance_terms=self.distance_terms + other.distance_terms,
                       constant=self.constant + other.constant,
                       constant_stderr=float(np.hypot(self.constant_stderr,
                                                      other.constant_stderr)),
                       item_prices=prices, label=label or f"{self.label}+{other.label}")

    def normalised(self, measure, draws: int = 65536, seed: int = 0,
                   mu_integrals: Sequence[Estimate] | None = None) -> Schedule:
        """The schedule with ``c`` set so that ``∫ p dμ = 0``.

        ``mu_integrals`` are the agents' ``∫ U_j dμ`` when already known.
        """
        est = self.mu_integral(measure, draws, seed, mu_integrals, with_constant=False)
        return replace(self, constant=-est.value, constant_stderr=est.stderr)

    def mu_integral(self, measure, draws: int = 65536, seed: int = 0,
                    mu_integrals: Sequence[Estimate] | None = None,
                    with_constant: bool = True) -> Estimate:
        """``∫ p dμ`` with its standard error (the constant's own error included)."""
        terms = []
        a = self.coefficients()
        for j in np.flatnonzero(a):
            est = (mu_integrals[j] if mu_integrals is not None
                   else measure.integral(self.utilities[j], int(j), draws, seed))
            terms.append((a[j], est))
        for b, Z in self.distance_terms:
            terms.append((b, measure.integral_distance(Z, self.metric, draws, seed,
                                                       self._metric_P())))
        if self.item_prices is not None:
            terms.append((1.0, Estimate(float(measure.weights @ self.item_prices), 0.0, True,
                                        self.item_prices.size, "finite-sum")))
        if with_constant:
            terms.append((1.0, Estimate(self.constant, self.constant_stderr,
                                        self.constant_stderr == 0.0, 0, "exact-linear")))
        return combine(terms)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        """JSON-ready form; utilities are referenced by agent index, anchors stored as arrays."""
        return {
            "format": FORMAT, "n": self.n, "m": self.m, "metric": self.metric,
            "label": self.label, "stage": self.stage, "poster": self.poster,
            "constant": self.constant, "constant_stderr": self.constant_stderr,
            "utility_terms": [{"agent": j, "coefficient": a} for j, a in self.utility_terms],
            "distance_terms": [{"coefficient": b, "anchor": Z.tolist()}
                               for b, Z in self.distance_terms],
            "item_prices": None if self.item_prices is None else self.item_prices.tolist(),
            "lipschitz_bound": (self.lipschitz_bound() if self.utilities is not None
                                or not self.utility_terms else None),
            "formula": self.formula(),
        }

    def to_json(self, indent: int | None = None) -> str:
        """JSON text (floats round-trip exactly)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict, utilities=None, probabilities=None) -> Schedule:
        """Rebuild from :meth:`to_dict` (binding ``utilities`` and ``P`` when given)."""
        if data.get("format") != FORMAT:
            raise ShapeError("schedule.format", data.get("format"), f"'{FORMAT}'",
                             "pass a schedule written by Schedule.to_json")
        prices = data.get("item_prices")
        return cls(
            n=int(data["n"]), m=int(data["m"]), metric=data["metric"],
            utility_terms=tuple((t["agent"], t["coefficient"]) for t in data["utility_terms"]),
            distance_terms=tuple((t["coefficient"], np.asarray(t["anchor"], dtype=float))
                                 for t in data["distance_terms"]),
            constant=data["constant"], constant_stderr=data.get("constant_stderr", 0.0),
            item_prices=None if prices is None else np.asarray(prices, dtype=float),
            label=data.get("label", "custom"), stage=data.get("stage"),
            poster=data.get("poster"),
            utilities=None if utilities is None else tuple(utilities),
            probabilities=probabilities)

    @classmethod
    def from_json(cls, text: str, utilities=None, probabilities=None) -> Schedule:
        """Rebuild from :meth:`to_json`."""
        return cls.from_dict(json.loads(text), utilities, probabilities)

    def formula(self) -> str:
        """Human-readable formula, agents 1-based: ``-0.12 + U_2(Y_2) + 0.01 d(Y, Z_1)``."""
        parts = [f"{self.constant:.6g}"]
        for j, a in self.utility_terms:
            parts.append(f"{a:+.6g} U_{j + 1}(Y_{j + 1})")
        for k, (b, _) in enumerate(self.distance_terms, start=1):
            parts.append(f"{b:+.6g} d_{self.metric}(Y, Z_{k})")
        if self.item_prices is not None:
            parts.append("+ item price")
        return " ".join(parts)


# ----------------------------------------------------------------------------- builders
def equalising_schedule(stage: int, order: Sequence[int], utilities, measure, *,
                        metric: str = "sup", draws: int = 65536, seed: int = 0,
                        mu_integrals: Sequence[Estimate] | None = None,
                        probabilities=None) -> Schedule:
    """``p_k* = W_{k+1} − ∫ W_{k+1} dμ`` posted at stage ``k`` (1-based) of ``order``.

    ``W_{k+1}`` sums the utilities of the agents ``order[k:]`` who move after stage ``k``.
    """
    order = tuple(int(i) for i in order)
    if not 1 <= stage < len(order):
        raise ShapeError("stage", stage, f"1..{len(order) - 1}", "stages post in turn")
    n, m = len(order), measure.m
    later = order[stage:]
    base = Schedule(n, m, tuple((j, 1.0) for j in later), metric=metric,
                    label="equalising", stage=stage, poster=order[stage - 1],
                    utilities=tuple(utilities), probabilities=probabilities)
    return base.normalised(measure, draws, seed, mu_integrals)


def perturbed_schedule(base: Schedule, epsilon: float, anchor, measure, *,
                       draws: int = 65536, seed: int = 0) -> Schedule:
    """``p + ε d(·, Z) − ε ∫ d(·, Z) dμ``: makes ``Z`` the continuation's unique best reply."""
    eps = float(epsilon)
    if not np.isfinite(eps) or eps < 0:
        raise UtilityParameterError("epsilon", epsilon, "a finite number >= 0",
                                    "use 0 (no perturbation) or a small positive number")
    if eps == 0.0:
        return base
    bump = Schedule(base.n, base.m, (), ((eps, np.asarray(anchor, dtype=float)),),
                    metric=base.metric, utilities=base.utilities,
                    probabilities=base.probabilities).normalised(measure, draws, seed)
    return replace(base.plus(bump), label="perturbed")


# ----------------------------------------------------------------------------- the cap
def cap_requirement(utilities, order: Sequence[int], metric: str = "sup", probabilities=None,
                    epsilon: float = 0.0) -> tuple[float, float]:
    """``(need, required)``: the largest Lipschitz constant of the equalising schedules
    (``max_{j not first} L_j``) and the smallest admissible cap,
    ``max(need (1 + CAP_SLACK), need + ε)``."""
    _check_metric(metric)
    later = [int(j) for j in order[1:]]
    need = max(float(utilities[j].lipschitz(metric, probabilities)) for j in later)
    return need, max(need * (1.0 + CAP_SLACK), need + float(epsilon))


def resolve_cap(cap, utilities, order, metric: str = "sup", probabilities=None,
                epsilon: float = 0.0) -> float:
    """The cap in force: a number (checked) or ``"auto"`` = ``max(2 need, required)``.

    Raises
    ------
    LipschitzCapError
        A cap below what the equalising schedules need (with slack).
    """
    need, required = cap_requirement(utilities, order, metric, probabilities, epsilon)
    if isinstance(cap, str):
        if cap != "auto":
            raise LipschitzCapError("lipschitz_cap", cap, "a number or 'auto'",
                                    "give a number or 'auto'")
        return max(2.0 * need, required)
    cap = float(cap)
    if not np.isfinite(cap) or cap < required:
        raise LipschitzCapError(
            "lipschitz_cap", cap,
            f"the equalising schedules need at least {required:.6g} (Lipschitz constant "
            f"{need:.6g} of the continuation welfare for the '{metric}' metric, plus "
            f"{CAP_SLACK:.0%} slack and ε = {float(epsilon):g})",
            f"raise the cap to {required:.6g} or more, or use 'auto'")
    return cap


def check_cap(schedule: Schedule, cap: float, field_name: str = "schedule") -> float:
    """The schedule's Lipschitz bound; :class:`LipschitzCapError` when above ``cap``."""
    lip = schedule.lipschitz_bound()
    if lip > float(cap) * (1 + 1e-12):
        raise LipschitzCapError(field_name, lip,
                                f"Lipschitz bound at most the cap {float(cap):.6g}",
                                "post a flatter schedule or raise the cap")
    return lip
