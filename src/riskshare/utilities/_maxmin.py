r"""Max-min (multiple-prior) utilities: the worst case of a base utility over a credal set.

Notation: a base family ``V^Q`` (expectation, entropic, expected shortfall,
distortion) evaluated under a prior ``Q``, a credal set ``C``, payoffs ``Y``
(..., m):

.. math:: U(Y) = \min_{Q \in C} V^Q(Y).

The supergradient is the base's supergradient at a minimising prior ``Q*``
(Danskin), and ``worst_case_prior(Y)`` returns ``Q*``. The penalty is
``α(R) = min_{Q in C} α_Q(R)``; any member ``Q`` gives the upper bound
``α_Q(R)``, and the minimising prior at ``Y`` gives the exact value at the
supergradient of ``Y`` (since ``U(Y) = <R, Y> + α_{Q*}(R) >= <R, Y> + α(R) >= U(Y)``).

How each combination is computed (``ordered`` sets are the interval,
contamination and density-band boxes, whose greedy member is first-order
stochastically smallest for every ``Y``, see :mod:`.credal`):

=================  =========================  ===============================
base               credal set                 method
=================  =========================  ===============================
expectation        every kind                 the set's own worst case
entropic           every kind                 ``-γ log max_Q E_Q[e^{-Y/γ}]``: a
                                              linear maximum over ``C``
expected shortfall ordered boxes              ES under the greedy prior
expected shortfall finite priors, events      exact dual in one variable (below)
distortion         ordered boxes              Choquet under the greedy prior
=================  =========================  ===============================

Expected shortfall over the hull of finite priors ``Q^1..Q^K``: ``ES_Q(Y)`` is
*convex* in ``Q``, so the minimum over the hull can lie strictly inside it (the
best of the ``K`` values is not enough). With
``ES_Q(Y) = max_t t - E_Q[(t - Y)^+]/α`` and the minimax theorem,

.. math:: U(Y) = \max_t \; t - \max_k E_{Q^k}[(t - Y)^+] / α,

a concave piecewise-linear function of one variable whose kinks are the
payoffs and crossings of the ``K`` lines. It is maximised exactly (locate the
best payoff, then the crossing in the two neighbouring segments); at the
optimum ``t*`` a mixture of at most two active priors satisfies the slope
condition and is the minimising ``Q*``. The value returned is attained by the
supergradient ``R`` (``<R, Y>``); it is checked against the dual value and a
row that disagrees by more than ``1e-9`` (relative) is re-solved as an LP.

Not supported (:class:`~riskshare.UnsupportedError`): expected shortfall over
a KL ball, distortions over finite priors, independent events or a KL ball.
There the base is convex in ``Q`` and the worst case is a convex program per
allocation with no batched exact method here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linprog

from .._errors import UnsupportedError, UtilityParameterError
from ._base import (
    PENALTY_TOL,
    Entropic,
    Expectation,
    MonetaryUtility,
    _kl,
    _off_simplex,
    check_factor,
    check_metric,
    density_ratio,
)
from ._distortion import Distortion, core_penalty, shortfall_mixture
from ._kernels import (
    as_rows,
    from_rows,
    map_rows,
    scatter,
    shortfall_sorted,
    sort_rows,
)
from ._polytope import Polytope
from ._shortfall import ExpectedShortfall, shortfall_penalty
from .credal import CredalSet, FinitePriors, KLBall

__all__ = ["MaxMin", "SUPPORTED", "shortfall_hull_rows"]

#: relative disagreement between the primal and dual ES-hull values that triggers an LP re-solve
HULL_GAP_TOL = 1e-9


def _category(credal: CredalSet) -> str:
    if credal.ordered:
        return "box"
    if isinstance(credal, FinitePriors):
        return "finite"
    if isinstance(credal, KLBall):
        return "kl"
    return type(credal).__name__


#: (base name, credal category) -> supported
SUPPORTED = {
    ("expectation", "box"), ("expectation", "finite"), ("expectation", "kl"),
    ("entropic", "box"), ("entropic", "finite"), ("entropic", "kl"),
    ("expected_shortfall", "box"), ("expected_shortfall", "finite"),
    ("distortion", "box"),
}

_BASES = (Expectation, Entropic, ExpectedShortfall, Distortion)


@dataclass(frozen=True, eq=False)
class MaxMin(MonetaryUtility):
    """Worst case of a base utility over a credal set (Gilboa–Schmeidler for the expectation).

    Parameters
    ----------
    base : Expectation, Entropic, ExpectedShortfall or Distortion
        The base family, built without a prior (the credal set supplies them).
    credal : CredalSet
        The set of priors; bound to the pool's ``P`` by :meth:`bind`.

    Raises
    ------
    UtilityParameterError
        When the base has its own prior or ``credal`` is not a credal set.
    UnsupportedError
        For a combination listed as not supported in the module docstring.
    """

    base: MonetaryUtility
    credal: CredalSet
    name = "maxmin"

    def __post_init__(self):
        if not isinstance(self.base, _BASES):
            raise UnsupportedError("maxmin.base", type(self.base).__name__,
                                   "the base must be expectation, entropic, expected shortfall "
                                   "or distortion", "nest no max-min inside another")
        if getattr(self.base, "prior", None) is not None:
            raise UtilityParameterError("maxmin.base.prior", "given",
                                        "a max-min base takes its priors from the credal set",
                                        "drop the base's prior (use the set's centre instead)")
        if not isinstance(self.credal, CredalSet):
            raise UtilityParameterError("maxmin.credal", type(self.credal).__name__,
                                        "must be a CredalSet", "build one from riskshare."
                                        "utilities.credal")
        combo = (self.base.name, _category(self.credal))
        if combo not in SUPPORTED:
            raise UnsupportedError(self.credal.field, f"{self.base.name} with {self.credal.kind}",
                                   "max-min of this base over this kind of set has no exact "
                                   "batched method here (the base is convex in the prior)",
                                   "use an expectation or entropic base, or an interval, "
                                   "contamination or density-band set")

    # -- flags and binding ----------------------------------------------------------------------
    @property
    def smooth(self) -> bool:
        """Smooth only for a smooth base over a single prior (``Σ_ω max_Q Q(ω) = 1``);
        otherwise the worst case switches between priors and ties are kinks."""
        if not (self.base.smooth and self.credal.bound):
            return False
        return bool(self.credal.upper_state_probabilities().sum() <= 1 + 1e-12)

    @property
    def polyhedral(self) -> bool:
        return bool(self.base.polyhedral and self.credal.polyhedral)

    def bind(self, P):
        return self if self.credal.bound else replace(self, credal=self.credal.bind(P))

    @property
    def bound(self):
        return self.credal.bound

    def prior_vector(self):
        self._check_bound()
        return self.credal.member()

    # -- evaluation -----------------------------------------------------------------------------
    def _solve(self, Y):
        Y = self._payoffs(Y)
        Y2, lead = as_rows(Y)
        value, grad, Q = _SOLVERS[(self.base.name, _category(self.credal))](self, Y2)
        return from_rows(value, lead), from_rows(grad, lead), from_rows(Q, lead)

    def value(self, Y):
        return self._solve(Y)[0]

    def supergradient(self, Y):
        return self._solve(Y)[1]

    def value_and_supergradient(self, Y):
        value, grad, _ = self._solve(Y)
        return value, grad

    def worst_case_prior(self, Y):
        """The minimising member ``Q*`` of the credal set at each ``Y`` (..., m)."""
        return self._solve(Y)[2]

    # -- penalty --------------------------------------------------------------------------------
    def penalty(self, Q, Y=None):
        """Upper bound on ``α(Q) = min_{P' in C} α_{P'}(Q)``, exact in these cases:

        * expectation base: the indicator of ``C`` (``Y`` not needed);
        * expected shortfall over a box: ``{R : αR <= hi, Σ max(lo, αR) <= 1}``;
        * expected shortfall over finite priors / events: an LP per row (skipped
          for rows that the hint ``Y`` already certifies);
        * entropic over a box: ``γ min_{P' in box} KL(Q || P')`` (one-dimensional);
        * every base at ``Q`` = the supergradient of the hint ``Y``.

        Otherwise (entropic over finite priors or a KL ball, distortion) it is
        the smaller of the bound at the worst-case prior of ``Y`` and at a
        member chosen from ``Q`` alone.
        """
        self._check_bound()
        R = np.asarray(Q, float)
        name = self.base.name
        if name == "expectation":
            return np.where(self.credal.contains(R), 0.0, np.inf)
        if name == "expected_shortfall":
            return self._shortfall_penalty(R, Y)
        if name == "entropic":
            return self._entropic_penalty(R, Y)
        member = self.worst_case_prior(Y) if Y is not None else self._member_for(R)
        return core_penalty(R, member, self.base.g)

    def _shortfall_penalty(self, R, Y):
        level = self.base.level
        if self.credal.ordered:
            lo, hi = self.credal.lower_bounds(), self.credal.upper_bounds()
            over = np.any(level * R > hi + PENALTY_TOL, axis=-1)
            over |= np.sum(np.maximum(lo, level * R), axis=-1) > 1 + PENALTY_TOL * R.shape[-1]
            return np.where(over | _off_simplex(R), np.inf, 0.0)
        out = np.full(R.shape[:-1], np.inf)
        if Y is not None:
            out = shortfall_penalty(R, self.worst_case_prior(Y), level)
        R2, lead = as_rows(R)
        flat = out.reshape(-1)
        lifted = Polytope.shortfall_lift(self.credal.polytope(), level)
        for i in np.flatnonzero(~np.isfinite(flat)):
            if not _off_simplex(R2[i]) and lifted.contains(R2[i], PENALTY_TOL):
                flat[i] = 0.0
        return from_rows(flat, lead)

    def _entropic_penalty(self, R, Y):
        gamma = self.base.tolerance
        bound = gamma * _kl(np.clip(R, 0, None), self._member_for(R))
        if Y is not None:
            bound = np.minimum(bound, gamma * _kl(np.clip(R, 0, None), self.worst_case_prior(Y)))
        return np.where(_off_simplex(R), np.inf, bound)

    def _member_for(self, R: np.ndarray) -> np.ndarray:
        """A member of ``C`` chosen from ``R`` alone (for penalty bounds without a hint)."""
        credal = self.credal
        if self.base.name == "entropic":
            if credal.ordered:
                return _kl_projection_box(R, credal.lower_bounds(), credal.upper_bounds())
            if isinstance(credal, FinitePriors):
                kls = _kl(np.clip(R, 0, None)[..., None, :], credal.priors)
                return credal.priors[np.argmin(kls, axis=-1)]
            return np.broadcast_to(credal.member(), R.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            proxy = -np.where(credal.reference > 0, R / credal.reference, 0.0)
        return credal.worst_case(proxy)[1]

    # -- constants, description -----------------------------------------------------------------
    def lipschitz(self, metric="sup", P=None):
        P = check_metric(metric, P)
        if P is None:
            return 1.0
        self._check_bound()
        up = self.credal.upper_state_probabilities()
        name = self.base.name
        if name == "expected_shortfall":
            up = np.minimum(1.0, up / self.base.level)
        elif name == "distortion":
            up = self.base.g(up)
        elif name == "entropic":
            up = (up > 0).astype(float)
        return density_ratio(up, P)

    def credal_polytope(self, max_vars: int = 400_000):
        """The polytope of pricing priors for polyhedral combinations, else ``None``."""
        self._check_bound()
        C = self.credal.polytope()
        name = self.base.name
        if C is None or name == "entropic":
            return None
        if name == "expectation":
            return C
        if name == "expected_shortfall":
            return Polytope.shortfall_lift(C, self.base.level)
        knots = self.base.g.knots()
        if knots is None:
            return None
        weights, levels = shortfall_mixture(*knots)
        if 2 * C.m * (1 + weights.size) > max_vars:
            return None
        return Polytope.mixture(weights, [Polytope.shortfall_lift(C, b) for b in levels])

    def scaled(self, factor):
        return replace(self, base=self.base.scaled(check_factor(factor)))

    def describe(self):
        base = {k: v for k, v in self.base.describe().items() if k != "prior"}
        return {"kind": "maxmin", "base": base, "credal": self.credal.describe()}


# -- solvers: (self, Y2) -> (value, supergradient, worst-case prior) ----------------------------
def _solve_expectation(u: MaxMin, Y2):
    value, Q = u.credal.worst_case(Y2)
    return value, Q, Q


def _solve_entropic(u: MaxMin, Y2):
    _, Q = u.credal.best_log_expectation(-Y2 / u.base.tolerance)
    value, grad = u.base.evaluate_at(Y2, Q)
    return value, grad, Q


def _solve_ordered(u: MaxMin, Y2):
    _, Q = u.credal.worst_case(Y2)
    value, grad = u.base.evaluate_at(Y2, Q)
    return value, grad, Q


def _solve_shortfall_hull(u: MaxMin, Y2):
    priors, level = u.credal.priors, u.base.level
    K, m = priors.shape
    return map_rows(lambda sl: shortfall_hull_rows(Y2[sl], priors, level), Y2.shape[0], m,
                    factor=4 * K + 6)


_SOLVERS = {
    ("expectation", "box"): _solve_expectation,
    ("expectation", "finite"): _solve_expectation,
    ("expectation", "kl"): _solve_expectation,
    ("entropic", "box"): _solve_entropic,
    ("entropic", "finite"): _solve_entropic,
    ("entropic", "kl"): _solve_entropic,
    ("expected_shortfall", "box"): _solve_ordered,
    ("expected_shortfall", "finite"): _solve_shortfall_hull,
    ("distortion", "box"): _solve_ordered,
}


# -- expected shortfall over the hull of finite priors ------------------------------------------
def shortfall_hull_rows(Y2: np.ndarray, priors: np.ndarray, level: float):
    """``min_{Q in hull(priors)} ES_Q(Y)`` for each row: ``(value, R, Q*)`` (module docstring)."""
    B, m = Y2.shape
    if m == 1:
        return Y2[:, 0].copy(), np.ones((B, 1)), np.ones((B, 1))
    order, Ys = sort_rows(Y2)
    shift = Ys[:, :1].copy()
    Ys = Ys - shift
    Qs = np.transpose(priors[:, order], (1, 0, 2))
    C = np.cumsum(Qs, axis=-1)
    S = np.cumsum(Qs * Ys[:, None, :], axis=-1)
    t_star, h_star = _maximise_dual(Ys, C, S, level)
    lam = _mixture_at(Ys, Qs, t_star, level)
    Qs_star = np.einsum("bk,bkm->bm", lam, Qs)
    value, Rs = shortfall_sorted(Ys, Qs_star, level)
    R, Q = scatter(Rs, order), lam @ priors
    scale = 1.0 + np.max(np.abs(Ys), axis=-1)
    for i in np.flatnonzero(value - h_star > HULL_GAP_TOL * scale):
        value[i], R[i], Q[i] = _shortfall_hull_lp(Y2[i] - shift[i, 0], priors, level)
    return value + shift[:, 0], R, Q


def _maximise_dual(Ys, C, S, level):
    """Maximiser and maximum of ``h(t) = t - max_k φ_k(t)/α`` (φ_k(t) = E_k[(t - Y)^+])."""
    B, m = Ys.shape
    rows = np.arange(B)
    h = Ys - np.max(Ys[:, None, :] * C - S, axis=1) / level
    j = np.argmax(h, axis=-1)
    best_t, best_h = Ys[rows, j], h[rows, j]
    # the segments next to the best payoff start after the whole group of states tied with it
    first = np.sum(Ys < best_t[:, None], axis=-1)
    last = np.sum(Ys <= best_t[:, None], axis=-1) - 1
    for seg in (first - 1, last):
        valid = (seg >= 0) & (seg <= m - 2)
        s = np.clip(seg, 0, m - 2)
        t, hv = _segment_max(C[rows, :, s], S[rows, :, s], Ys[rows, s], Ys[rows, s + 1], level)
        better = valid & (hv > best_h)
        best_t, best_h = np.where(better, t, best_t), np.where(better, hv, best_h)
    return best_t, best_h


def _segment_max(a, b, t0, t1, level):
    """Maximise ``t - max_k (a_k t - b_k)/α`` over ``[t0, t1]`` (rows of lines ``(B, K)``).

    Lines with slope ``<= α`` (flat) make ``h`` rise, the others (steep) make it
    fall; the maximum is where the upper envelopes of the two groups cross.
    """
    flat = a <= level

    def envelopes(t):
        lines = a * t[:, None] - b
        return (np.max(np.where(flat, -np.inf, lines), axis=-1),
                np.max(np.where(flat, lines, -np.inf), axis=-1))

    steep0, flat0 = envelopes(t0)
    steep1, flat1 = envelopes(t1)
    lo, hi = t0.copy(), t1.copy()
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        steep, fl = envelopes(mid)
        rising = steep <= fl
        lo, hi = np.where(rising, mid, lo), np.where(rising, hi, mid)
    mid = 0.5 * (lo + hi)
    lines = a * mid[:, None] - b
    kf = np.argmax(np.where(flat, lines, -np.inf), axis=-1)
    ks = np.argmax(np.where(flat, -np.inf, lines), axis=-1)
    rows = np.arange(a.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = (b[rows, ks] - b[rows, kf]) / (a[rows, ks] - a[rows, kf])
    cross = np.where(np.isfinite(cross), np.clip(cross, t0, t1), mid)
    t = np.where(steep0 >= flat0, t0, np.where(steep1 <= flat1, t1, cross))
    return t, t - np.max(a * t[:, None] - b, axis=-1) / level


def _mixture_at(Ys, Qs, t, level):
    """Weights ``λ`` (B, K) on at most two active priors meeting the slope condition at ``t``.

    ``Σ λ_k Q^k(Y < t) <= α <= Σ λ_k Q^k(Y <= t)`` with ``λ`` on the priors
    maximising ``E_k[(t - Y)^+]``: then ``(λ, t)`` is a saddle point.
    """
    B, K, _ = Qs.shape
    rows = np.arange(B)
    below = np.einsum("bkm,bm->bk", Qs, (Ys < t[:, None]).astype(float))
    upto = np.einsum("bkm,bm->bk", Qs, (Ys <= t[:, None]).astype(float))
    phi = np.einsum("bkm,bm->bk", Qs, np.clip(t[:, None] - Ys, 0.0, None))
    tol = 1e-12 * (1.0 + np.max(np.abs(Ys), axis=-1, keepdims=True))
    active = phi >= np.max(phi, axis=-1, keepdims=True) - tol
    eps = 1e-12
    single = active & (below <= level + eps) & (upto >= level - eps)
    low = active & (upto < level)
    high = active & (below > level)
    lam = np.zeros((B, K))
    has_single = np.any(single, axis=-1)
    lam[rows[has_single], np.argmax(single, axis=-1)[has_single]] = 1.0
    k1 = np.argmax(np.where(low, upto, -np.inf), axis=-1)
    k2 = np.argmin(np.where(high, below, np.inf), axis=-1)
    pair = ~has_single & np.any(low, axis=-1) & np.any(high, axis=-1)
    l1, l2 = below[rows, k1], below[rows, k2]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.clip((l2 - level) / (l2 - l1), 0.0, 1.0)
    lam[rows[pair], k1[pair]] = mu[pair]
    lam[rows[pair], k2[pair]] += 1.0 - mu[pair]
    lost = ~has_single & ~pair
    lam[rows[lost], np.argmax(active, axis=-1)[lost]] = 1.0
    return lam


def _shortfall_hull_lp(y: np.ndarray, priors: np.ndarray, level: float):
    """The same minimum as an LP over ``(R, λ)`` (fallback for rows the dual does not settle)."""
    K, m = priors.shape
    c = np.concatenate([y, np.zeros(K)])
    A_ub = np.hstack([level * np.eye(m), -priors.T])
    A_eq = np.vstack([np.concatenate([np.ones(m), np.zeros(K)]),
                      np.concatenate([np.zeros(m), np.ones(K)])])
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(m), A_eq=A_eq, b_eq=np.ones(2),
                  bounds=[(0, 1)] * (m + K), method="highs")
    if res.status != 0:
        raise RuntimeError(f"ES over finite priors: LP failed: {res.message}")
    R = np.clip(res.x[:m], 0.0, None)
    lam = np.clip(res.x[m:], 0.0, None)
    Q = lam @ priors / lam.sum()
    return float(R @ y / R.sum()), R / R.sum(), Q


def _kl_projection_box(R: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``argmin {KL(R || Q) : lo <= Q <= hi, Σ Q = 1}`` per row: ``Q = clip(R/ν, lo, hi)``."""
    R2, lead = as_rows(np.clip(R, 0.0, None))
    pos = R2 > 0
    at_top = np.sum(np.where(pos, hi, lo), axis=-1) <= 1.0
    log_lo = np.full(R2.shape[0], -50.0)
    log_hi = np.full(R2.shape[0], 50.0)
    for _ in range(200):
        mid = 0.5 * (log_lo + log_hi)
        total = np.clip(R2 / np.exp(mid)[:, None], lo, hi).sum(axis=-1)
        log_lo, log_hi = np.where(total > 1, mid, log_lo), np.where(total > 1, log_hi, mid)
    Q = np.clip(R2 / np.exp(0.5 * (log_lo + log_hi))[:, None], lo, hi)
    if np.any(at_top):
        top = np.where(pos[at_top], hi, lo)
        rest = 1.0 - top.sum(axis=-1, keepdims=True)
        room = np.where(pos[at_top], 0.0, hi - lo)
        top = top + room * rest / np.maximum(room.sum(axis=-1, keepdims=True), 1e-300)
        Q[at_top] = top
    return from_rows(Q, lead)
