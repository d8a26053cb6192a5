r"""Reference measures μ on a menu and integrals with error estimates (spec §5).

Notation. A convex menu is a product of scaled simplices over ``B`` blocks
(:mod:`riskshare.menus`): agent ``i`` takes the share ``s_{i,b}`` of block ``b``
and ``Y_i = Σ_b s_{i,b} e_b``. The reference measure

.. math:: μ = \bigotimes_b \mathrm{Dirichlet}(1 + κ c_{\cdot,b})

draws the share vector of every block independently, centred near the shares
``c`` (``κ = 0``: uniform on the menu). Agent ``i``'s share of block ``b`` is
then ``Beta(a_{i,b}, A_b − a_{i,b})`` with ``a = 1 + κc`` and ``A_b = Σ_i a_{i,b}``
(for ``κ = 0``: ``Beta(1, n − 1)``, whose inverse distribution function is
``1 − (1 − u)^{1/(n−1)}``).

``∫ U_i dμ`` depends only on the law of agent ``i``'s own shares, so every
integral here is one agent's integral over its ``B`` independent Beta shares:

* ``"exact-linear"``: the integrand is linear in the shares (expectation
  bases): ``∫ U_i dμ = U_i(E_μ Y_i)``.
* ``"quadrature"``: entropic utilities on the sign-constrained menu, where
  ``E log Z`` of the independent sum ``Z = Σ_ω Q(ω) e^{−s_ω X(ω)/γ}`` is a
  one-dimensional integral of a product of one-dimensional integrals
  (``log z = ∫_0^∞ (e^{−t} − e^{−tz}) dt/t``); the reported error is an
  a-posteriori bound from coarser grids.
* ``"rqmc-sobol"``: randomised quasi-Monte Carlo: scrambled Sobol' points on
  the most important blocks, Latin-hypercube strata on the others, ``R``
  independent replicates, control variates with exact μ-means (linear
  functionals of ``Y_i`` and ``min_ω Y_i(ω)``) whose coefficients come from
  an independent pilot sample, so the estimate stays unbiased. The standard
  error is the spread of the replicate means over ``√R``.

Every agent and every integrand has its own random stream, derived from the
public seed, so the estimates of different agents are independent: the
standard error of a sum is the root sum of squares (:func:`combine`).

``FiniteMeasure`` is μ on a finite menu: weights on the items; integrals are
finite sums (``"finite-sum"``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.stats import qmc

from ._errors import MenuError, ShapeError, UtilityParameterError
from ._validate import finite_array, probability_vector
from .menus import BlockMenu, ComonotoneMenu, FiniteMenu, SignMenu
from .utilities import Entropic, Expectation, MonetaryUtility

__all__ = ["Estimate", "combine", "DirichletMeasure", "FiniteMeasure", "make_measure",
           "METHODS", "DEFAULT_REPLICATES"]

#: integration methods, from the most to the least exact
METHODS = ("exact-linear", "finite-sum", "quadrature", "rqmc-sobol", "monte-carlo")
#: independent randomisations behind an RQMC standard error
DEFAULT_REPLICATES = 16
#: blocks that get Sobol' coordinates (the most important ones); the rest get LHS strata
SOBOL_DIMENSIONS = 32
#: allocations evaluated per batch: rows * m stays below this many numbers
BATCH_NUMBERS = 1 << 22
#: most (grid points x quadrature nodes) the entropic quadrature may take; beyond it
#: (risk tolerance tiny next to the losses) the integral goes to RQMC instead
QUADRATURE_BUDGET = 4e8
#: largest number of blocks for the exact mean of the min control variate
MIN_FEATURE_BLOCKS = 4000
#: prior mass below the stop-loss thresholds used as control variates (sign menu)
STOP_LOSS_LEVELS = (0.02, 0.05, 0.1, 0.25)
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


# ----------------------------------------------------------------------------- estimates
@dataclass(frozen=True)
class Estimate:
    """A number with its error estimate.

    Attributes
    ----------
    value : float
    stderr : float
        Standard error (RQMC, Monte Carlo) or a-posteriori error bound
        (quadrature); ``0.0`` when exact.
    exact : bool
        ``True`` when the value is exact up to floating point.
    draws : int
        Integrand evaluations behind the value (0 when exact or quadrature).
    method : str
        One of :data:`METHODS`.
    """

    value: float
    stderr: float = 0.0
    exact: bool = True
    draws: int = 0
    method: str = "exact-linear"

    def __post_init__(self):
        for name in ("value", "stderr"):
            x = float(getattr(self, name))
            if not np.isfinite(x):
                raise ShapeError(f"estimate.{name}", x, "a finite number",
                                 "check the integrand for overflow")
            object.__setattr__(self, name, x)
        if self.stderr < 0:
            raise ShapeError("estimate.stderr", self.stderr, ">= 0", "report |error|")

    def __str__(self) -> str:
        if self.exact:
            return f"{self.value:.10g} (exact, {self.method})"
        return f"{self.value:.10g} ± {self.stderr:.3g} ({self.method}, {self.draws} draws)"

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"value": self.value, "stderr": self.stderr, "exact": self.exact,
                "draws": self.draws, "method": self.method}


def combine(terms: Iterable[tuple[float, Estimate]], constant: float = 0.0) -> Estimate:
    """``constant + Σ c_k E_k`` for *independent* estimates ``E_k``.

    The standard error is ``sqrt(Σ c_k² se_k²)``; the method is the least exact
    one among the terms with a nonzero coefficient.
    """
    value, var, exact, draws, rank = float(constant), 0.0, True, 0, 0
    for c, est in terms:
        c = float(c)
        value += c * est.value
        if c == 0.0:
            continue
        var += (c * est.stderr) ** 2
        exact = exact and est.exact
        draws = max(draws, est.draws)
        rank = max(rank, METHODS.index(est.method))
    return Estimate(value, float(np.sqrt(var)), exact, draws, METHODS[rank])


# ----------------------------------------------------------------------------- Beta laws
def _beta_cdf(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """CDF of Beta(a, b) at ``x`` (clipped to [0, 1]); closed form when ``a == 1``."""
    x = np.clip(x, 0.0, 1.0)
    a, b = np.broadcast_arrays(a, b)
    if np.all(a == 1.0):
        with np.errstate(divide="ignore"):
            return -np.expm1(b * np.log1p(-x))
    return special.betainc(a, b, x)


def _beta_ppf(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of Beta(a, b); closed form ``1 - (1-u)^{1/b}`` when ``a == 1``."""
    if np.all(a == 1.0):
        return -np.expm1(np.log1p(-u) / b)
    return special.betaincinv(a, b, u)


def _beta_logpdf(a, b, s):
    return (a - 1) * np.log(s) + (b - 1) * np.log1p(-s) - special.betaln(a, b)


def _stream(seed: int, agent: int, tag: str) -> np.random.SeedSequence:
    """The random stream of one (agent, integrand) pair, derived from the public seed."""
    return np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(agent), zlib.crc32(tag.encode())])


def _linear_prior(utility: MonetaryUtility) -> np.ndarray | None:
    """The prior ``Q`` when ``U(Y) = <Q, Y>`` (expectation bases), else ``None``."""
    if isinstance(utility, Expectation):
        return utility.prior_vector()
    try:
        poly = utility.credal_polytope()
    except (NotImplementedError, ValueError):
        return None
    if poly is None or poly.n_vars != poly.m or poly.A_ub.shape[0]:
        return None
    if np.array_equal(poly.lb, poly.ub):
        return np.asarray(poly.lb, dtype=float)
    return None


# ----------------------------------------------------------------------------- Dirichlet μ
class DirichletMeasure:
    """Independent Dirichlet(1 + κc) shares per block of a convex menu.

    Parameters
    ----------
    menu : SignMenu or ComonotoneMenu
    kappa : float
        Concentration ``κ >= 0``; ``0`` is the uniform measure.
    centre : None, "status-quo", "equal", or array_like (n,) or (n, B)
        Shares ``c`` the measure is centred near (each block's column sums to
        one). ``"status-quo"`` uses ``X_i(ω)/X(ω)`` on the sign menu when every
        such share lies in [0, 1] (needs ``positions``) and equal shares
        otherwise; on the comonotone menu status-quo shares are not defined and
        equal shares are used. Default: ``"status-quo"`` when ``positions`` is
        given, else equal shares.
    positions : array_like (n, m), optional
        The agents' initial positions, for the status-quo centre.
    replicates : int
        Independent randomisations behind an RQMC standard error.
    probabilities : array_like (m,), optional
        The pool's reference probability ``P``; ``<P, Y_i>`` is then one more
        control variate.

    Raises
    ------
    MenuError
        A finite menu (use :class:`FiniteMeasure`).
    UtilityParameterError
        ``κ`` negative or not finite, a bad centre.
    """

    kind = "dirichlet"

    def __init__(self, menu: BlockMenu, kappa: float = 0.0, centre=None, *, positions=None,
                 replicates: int = DEFAULT_REPLICATES, probabilities=None):
        if not isinstance(menu, BlockMenu):
            raise MenuError("menu", type(menu).__name__, "a sign or comonotone menu",
                            "use FiniteMeasure for a finite menu")
        kappa = float(kappa)
        if not np.isfinite(kappa) or kappa < 0:
            raise UtilityParameterError("mu.kappa", kappa, "a finite number >= 0",
                                        "use 0 for the uniform measure")
        if int(replicates) < 2:
            raise UtilityParameterError("mu.replicates", replicates, "at least 2",
                                        "use the default 16")
        self.menu = menu
        self.n, self.m, self.n_blocks = menu.n, menu.m, menu.n_blocks
        self.kappa = kappa
        self.replicates = int(replicates)
        self.centre, self.centre_label = self._resolve_centre(centre, positions)
        self.concentration = 1.0 + kappa * self.centre
        self.total = self.concentration.sum(axis=0)
        self.probabilities = (None if probabilities is None else
                              probability_vector("probabilities", probabilities, m=self.m))
        self._cache: dict = {}

    # ------------------------------------------------------------------ set-up
    def _resolve_centre(self, centre, positions) -> tuple[np.ndarray, str]:
        n, B = self.n, self.n_blocks
        equal = np.full((n, B), 1.0 / n)
        if centre is None:
            centre = "status-quo" if positions is not None else "equal"
        if isinstance(centre, str):
            if centre == "equal":
                return equal, "equal shares"
            if centre != "status-quo":
                raise UtilityParameterError("mu.centre", centre,
                                            "'status-quo', 'equal' or n shares",
                                            "give a listed centre or the shares")
            return self._status_quo(positions, equal)
        c = finite_array("mu.centre", centre)
        if c.ndim == 1:
            c = np.repeat(c[:, None], B, axis=1)
        if c.shape != (n, B) or np.any(c < 0) or np.any(np.abs(c.sum(axis=0) - 1) > 1e-9):
            raise UtilityParameterError("mu.centre", c.shape,
                                        f"{n} nonnegative shares summing to 1 (or {n} x {B})",
                                        "give one share per agent")
        return c / c.sum(axis=0), "given shares"

    def _status_quo(self, positions, equal) -> tuple[np.ndarray, str]:
        if not isinstance(self.menu, SignMenu):
            return equal, "equal shares of each layer (status quo not defined on layers)"
        if positions is None:
            raise UtilityParameterError("mu.centre", "status-quo", "needs the positions",
                                        "pass positions=pool.positions")
        X = finite_array("positions", positions, shape=(self.n, self.m))
        c = X[:, self.menu.block_states] / self.menu.block_scale
        if c.size and (c.min() < -1e-12 or c.max() > 1 + 1e-12):
            return equal, "equal shares (status-quo shares are not in the menu)"
        return np.clip(c, 0.0, 1.0), "status-quo shares"

    def describe(self) -> dict:
        """JSON-ready description."""
        return {"kind": self.kind, "kappa": self.kappa, "centre": self.centre_label,
                "blocks": int(self.n_blocks), "replicates": self.replicates,
                "menu": self.menu.describe()}

    # ------------------------------------------------------------------ moments, sampling
    def marginal(self, agent: int) -> tuple[np.ndarray, np.ndarray]:
        """Beta parameters ``(a_b, A_b - a_b)`` of agent ``agent``'s share of each block."""
        a = self.concentration[agent]
        return a, self.total - a

    def mean_shares(self) -> np.ndarray:
        """``E_μ s`` (n, B)."""
        return self.concentration / self.total

    def mean_allocation(self) -> np.ndarray:
        """``E_μ Y`` (n, m)."""
        return self.menu.allocation(self.mean_shares())

    def sample_shares(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Joint shares of ``size`` allocations drawn from μ, (size, n, B)."""
        return self.menu.sample_shares(rng, int(size), self.concentration)

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` whole allocations drawn from μ (joint Dirichlet shares), (size, n, m)."""
        return self.menu.allocation(self.sample_shares(size, rng))

    # ------------------------------------------------------------------ integrals
    def integral(self, utility: MonetaryUtility, agent: int, draws: int = 65536,
                 seed: int = 0) -> Estimate:
        """``∫ U_i dμ`` for ``U_i = utility`` and ``i = agent``.

        Exact when the utility is linear, quadrature for entropic utilities on
        the sign menu, RQMC otherwise (``draws`` evaluations in total).
        """
        key = ("utility", id(utility), int(agent), int(draws), int(seed))
        if key in self._cache:
            return self._cache[key][1]
        est = self._integral(utility, int(agent), int(draws), int(seed))
        self._cache[key] = (utility, est)
        return est

    def _integral(self, utility, agent, draws, seed) -> Estimate:
        q = _linear_prior(utility)
        if q is not None:
            return Estimate(float(self.mean_allocation()[agent] @ q), 0.0, True, 0,
                            "exact-linear")
        if isinstance(utility, Entropic) and isinstance(self.menu, SignMenu):
            try:
                return self._entropic_quadrature(utility, agent)
            except _TooCostly:
                pass                  # losses huge next to the tolerance: RQMC below
        features = self._control_variates(utility, agent)
        return self._rqmc(utility.value, agent, draws, seed, "utility", features)

    def integrals(self, utilities: Sequence[MonetaryUtility], draws: int = 65536,
                  seed: int = 0) -> tuple[Estimate, ...]:
        """``∫ U_i dμ`` for every agent (independent streams)."""
        return tuple(self.integral(u, i, draws, seed) for i, u in enumerate(utilities))

    def integral_welfare(self, utilities: Sequence[MonetaryUtility], agents: Iterable[int],
                         draws: int = 65536, seed: int = 0) -> Estimate:
        """``∫ Σ_{j in agents} U_j dμ`` (e.g. ``W_k``): the sum of the agents' integrals.

        The agents' estimates use independent streams, so the standard error is
        the root sum of their squares.
        """
        return combine((1.0, self.integral(utilities[j], j, draws, seed)) for j in agents)

    def integral_function(self, func: Callable[[np.ndarray], np.ndarray], agent: int,
                          draws: int = 65536, seed: int = 0, tag: str = "function",
                          priors: Sequence[np.ndarray] = ()) -> Estimate:
        """``∫ f(Y_i) dμ`` for a function of agent ``agent``'s own allocation.

        ``func`` maps payoffs (N, m) to (N,). ``priors`` are optional linear
        control variates ``<Q, Y_i>``. ``tag`` names the random stream.
        """
        features = [_linear_feature(q, self.mean_allocation()[int(agent)]) for q in priors]
        return self._rqmc(func, int(agent), int(draws), int(seed), tag, features)

    def integral_distance(self, anchor, metric: str = "sup", draws: int = 65536,
                          seed: int = 0, probabilities=None) -> Estimate:
        """``∫ d(Y, Z) dμ(Y)`` for the mechanism metric and an anchor ``Z`` (n, m).

        ``d`` sums over agents, so this is a sum of independent per-agent integrals.
        """
        Z = finite_array("anchor", anchor, shape=(self.n, self.m))
        P = None if metric == "sup" else probability_vector("probabilities", probabilities,
                                                            m=self.m)
        key = ("distance", Z.tobytes(), metric, int(draws), int(seed),
               None if P is None else P.tobytes())
        if key in self._cache:
            return self._cache[key]
        tag = f"distance/{metric}/{zlib.crc32(Z.tobytes())}"
        parts = []
        for i in range(self.n):
            f = _agent_distance(Z[i], metric, P)
            parts.append((1.0, self._rqmc(f, i, int(draws), int(seed), tag, [])))
        est = combine(parts)
        self._cache[key] = est
        return est

    # ------------------------------------------------------------------ RQMC engine
    def _plan(self, draws: int) -> tuple[int, int]:
        """Replicates ``R`` and points per replicate (a power of two)."""
        R = self.replicates
        if draws < 2 * R:
            raise UtilityParameterError("draws", draws, f"at least {2 * R} (2 per replicate)",
                                        "raise the μ-integral budget")
        per = 1 << int(np.floor(np.log2(draws / R)))
        return R, per

    def _importance(self, agent: int, features: Sequence[_Feature]) -> np.ndarray:
        """Blocks ordered by how much they move the integrand (most first): the
        first linear control variate's marginal value times the share's spread."""
        a, b = self.marginal(agent)
        sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        weight = np.abs(self.menu.block_scale) * sd
        linear = [f for f in features if f.prior is not None]
        if linear:
            weight = np.abs(self.menu.marginal_values(linear[0].prior)) * sd + 1e-300 * weight
        return np.argsort(-weight, kind="stable")

    def _uniforms(self, rng: np.random.Generator, N: int, order: np.ndarray) -> np.ndarray:
        """N points in [0,1)^B: scrambled Sobol' on the first blocks of ``order``,
        Latin-hypercube strata (or plain uniforms when huge) on the others."""
        B = self.n_blocks
        U = np.empty((N, B))
        d = min(SOBOL_DIMENSIONS, B)
        if d:
            U[:, order[:d]] = qmc.Sobol(d, scramble=True, seed=rng).random(N)
        rest = order[d:]
        if rest.size and N * rest.size <= (1 << 24):
            strata = rng.permuted(np.tile(np.arange(N), (rest.size, 1)), axis=1).T
            U[:, rest] = (strata + rng.random((N, rest.size))) / N
        elif rest.size:
            U[:, rest] = rng.random((N, rest.size))
        return U

    def _allocations(self, agent: int, U: np.ndarray) -> np.ndarray:
        a, b = self.marginal(agent)
        return self.menu.allocation(_beta_ppf(a, b, U))

    def _rqmc(self, func, agent, draws, seed, tag, features) -> Estimate:
        """RQMC estimate of ``∫ func(Y_agent) dμ`` with control variates ``features``.

        The standard error is the spread of the replicate means over ``√R``,
        combined with the error bounds of any control-variate mean that is
        itself a quadrature (weighted by its coefficient).
        """
        if self.n_blocks == 0:
            return Estimate(float(func(np.zeros((1, self.m)))[0]), 0.0, True, 0, "exact-linear")
        R, per = self._plan(draws)
        rng = np.random.default_rng(_stream(seed, agent, tag))
        order = self._importance(agent, features)

        beta = self._fit_control(func, agent, rng, features, per)
        means = np.empty(R)
        for r in range(R):
            U = self._uniforms(rng, per, order)
            means[r] = self._batched_mean(func, agent, U, features, beta)
        stderr = float(np.std(means, ddof=1) / np.sqrt(R))
        if beta is not None:
            carried = sum((b * f.error) ** 2 for b, f in zip(beta, features, strict=True))
            stderr = float(np.hypot(stderr, np.sqrt(carried)))
        return Estimate(float(means.mean()), stderr, False, R * per, "rqmc-sobol")

    def _batched_mean(self, func, agent, U, features, beta) -> float:
        rows = max(1, BATCH_NUMBERS // max(self.m, 1))
        total = 0.0
        for start in range(0, U.shape[0], rows):
            Y = self._allocations(agent, U[start:start + rows])
            f = np.asarray(func(Y), dtype=float)
            if beta is not None:
                f = f - _feature_matrix(Y, features) @ beta
            total += float(np.sum(f))
        return total / U.shape[0]

    # ------------------------------------------------------------------ control variates
    def _control_variates(self, utility: MonetaryUtility, agent: int) -> list[_Feature]:
        """Control variates with exact (or quadrature) μ-means for ``∫ U(Y_agent) dμ``.

        * ``<Q, Y>`` for the supergradient at ``E_μ Y``, the agent's own prior and
          the reference ``P`` (linear in the shares: exact means);
        * ``min_ω Y(ω)`` (worst-state payoff: contamination, small levels);
        * on the sign menu, stop-loss ``E_q[(t − Y)^+]`` at a few quantiles ``t``
          of ``E_μ Y`` (tails: expected shortfall, interval sets), and for an
          entropic base the entropic utility under ``q`` (quadrature mean).
        """
        Ybar = self.mean_allocation()[agent]
        priors = [np.asarray(utility.supergradient(Ybar), dtype=float)]
        for q in (_own_prior(utility), self.probabilities):
            if q is not None and min(np.max(np.abs(q - p)) for p in priors) > 1e-12:
                priors.append(q)
        feats = [_linear_feature(q, Ybar) for q in priors]
        mean = self._expected_min(agent)
        if mean is not None:
            feats.append(_Feature("min", lambda Y: Y.min(axis=-1), mean))
        if isinstance(self.menu, SignMenu):
            feats += self._sign_features(utility, agent, priors[-1], Ybar)
        return feats

    def _sign_features(self, utility, agent, q, Ybar) -> list[_Feature]:
        a, b = self.marginal(agent)
        feats = []
        order = np.argsort(Ybar)
        cum = np.cumsum(q[order])
        for level in STOP_LOSS_LEVELS:
            t = float(Ybar[order[min(np.searchsorted(cum, level), Ybar.size - 1)]])
            mean = _expected_stop_loss(self.menu, q, t, a, b)
            feats.append(_Feature(f"stop-loss {level:g}", _stop_loss(q, t), mean))
        base = getattr(utility, "base", None)
        if isinstance(base, Entropic) and not isinstance(utility, Entropic):
            g = base.tolerance
            worst = np.asarray(utility.worst_case_prior(Ybar), dtype=float)
            for prior in (q, worst):
                try:
                    mean, error = _entropic_sign(self.menu, prior, g, a, b)
                except _TooCostly:
                    continue
                feats.append(_Feature("entropic", Entropic(g, prior).value, mean, error))
        return feats

    def _fit_control(self, func, agent, rng, features, per) -> np.ndarray | None:
        """Least-squares coefficients of the control variates on an independent pilot."""
        if not features:
            return None
        size = int(min(max(256, per), 4096))
        U = rng.random((size, self.n_blocks))
        Y = self._allocations(agent, U)
        f = np.asarray(func(Y), dtype=float)
        F = _feature_matrix(Y, features)
        F0 = F - F.mean(axis=0)
        scale = np.sqrt(np.mean(F0**2, axis=0))
        keep = scale > 1e-12 * max(1.0, float(np.max(np.abs(self.menu.block_scale))))
        beta = np.zeros(len(features))
        if np.any(keep):
            sol, *_ = np.linalg.lstsq(F0[:, keep] / scale[keep], f - f.mean(), rcond=None)
            beta[keep] = sol / scale[keep]
        return beta

    def _expected_min(self, agent: int) -> float | None:
        """``E_μ min_ω Y_i(ω)``: linear on the comonotone menu, 1-D quadrature on the sign menu."""
        Ybar = self.mean_allocation()[agent]
        if isinstance(self.menu, ComonotoneMenu):
            return float(Ybar[np.argmin(self.menu.aggregate)])
        if self.n_blocks > MIN_FEATURE_BLOCKS:
            return None
        a, b = self.marginal(agent)
        key = ("min", a.tobytes(), b.tobytes())
        if key not in self._cache:
            self._cache[key] = _expected_min_sign(self.menu, a, b)
        return self._cache[key]

    # ------------------------------------------------------------------ entropic quadrature
    def _entropic_quadrature(self, utility: Entropic, agent: int) -> Estimate:
        a, b = self.marginal(agent)
        Q = utility.prior_vector()
        value, error = _entropic_sign(self.menu, Q, utility.tolerance, a, b)
        return Estimate(value, error, False, 0, "quadrature")


def _own_prior(utility: MonetaryUtility) -> np.ndarray | None:
    try:
        return np.asarray(utility.prior_vector(), dtype=float)
    except (NotImplementedError, ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class _Feature:
    """A control variate: a function of the agent's payoffs with a known μ-mean."""

    name: str
    func: Callable[[np.ndarray], np.ndarray]
    mean: float
    error: float = 0.0
    prior: np.ndarray | None = None


def _linear_feature(q, Ybar) -> _Feature:
    q = np.asarray(q, dtype=float)
    return _Feature("linear", lambda Y: Y @ q, float(q @ Ybar), 0.0, q)


def _stop_loss(q, t):
    return lambda Y: np.maximum(t - Y, 0.0) @ q


def _feature_matrix(Y: np.ndarray, features) -> np.ndarray:
    return np.stack([f.func(Y) - f.mean for f in features], axis=-1)


def _agent_distance(z: np.ndarray, metric: str, P):
    if metric == "sup":
        return lambda Y: np.max(np.abs(Y - z), axis=-1)
    return lambda Y: np.abs(Y - z) @ P


# ----------------------------------------------------------------------------- 1-D integrals
def _expected_min_sign(menu: SignMenu, a: np.ndarray, b: np.ndarray) -> float:
    r"""``E min_ω s_ω X(ω)`` (zero states give 0) for independent Beta shares.

    ``E M = ∫_0^∞ P(M > y) dy − ∫_{−∞}^0 P(M <= y) dy`` with
    ``P(M > y) = Π_b P(s_b X_b > y)``, integrated by Gauss–Legendre between
    the sorted breakpoints ``{X_b} ∪ {0}`` where the integrand is smooth.
    """
    X = menu.block_scale
    zero_states = menu.m > menu.n_blocks
    knots = np.unique(np.concatenate([X, [0.0]]))
    lo, hi = knots[:-1], knots[1:]
    y = ((lo + hi)[:, None] + (hi - lo)[:, None] * _GL_NODES) / 2
    w = (hi - lo)[:, None] * _GL_WEIGHTS / 2
    y, w = y.ravel(), w.ravel()
    surv = np.ones(y.size)
    rows = max(1, BATCH_NUMBERS // max(X.size, 1))
    for s in range(0, y.size, rows):
        yy = y[s:s + rows, None]
        F = _beta_cdf(a, b, yy / X)
        p = np.where(X < 0, F, 1.0 - F)
        surv[s:s + rows] = np.exp(np.sum(np.log(np.maximum(p, 1e-300)), axis=1))
    if zero_states:
        surv = np.where(y < 0, surv, 0.0)
    neg = y < 0
    return float(np.sum(w[~neg] * surv[~neg]) - np.sum(w[neg] * (1.0 - surv[neg])))


def _expected_stop_loss(menu: SignMenu, q: np.ndarray, t: float, a: np.ndarray,
                        b: np.ndarray) -> float:
    r"""``E_μ E_q[(t − Y)^+]`` with ``Y(ω) = s_ω X(ω)`` (0 on zero states), in closed form.

    With ``c = t / X_b``: a loss block (``X_b < 0``) gives ``|X_b| E(s − c)^+``, a
    gain block ``X_b E(c − s)^+``, using
    ``E(s − c)^+ = E s (1 − I_c(a+1, b)) − c (1 − I_c(a, b))``.
    """
    X = menu.block_scale
    qb = q[menu.block_states]
    zero = float(q.sum() - qb.sum()) * max(t, 0.0)
    c = t / X
    cc = np.clip(c, 0.0, 1.0)
    Es = a / (a + b)
    upper = Es * (1 - special.betainc(a + 1, b, cc)) - cc * (1 - special.betainc(a, b, cc))
    upper = np.where(c <= 0, Es - c, np.where(c >= 1, 0.0, upper))      # E (s − c)^+
    lower = upper - (Es - c)                                            # E (c − s)^+
    per = np.where(X < 0, -X * upper, X * lower)
    return zero + float(qb @ per)


class _TooCostly(Exception):
    """The entropic quadrature would take more than ``QUADRATURE_BUDGET`` nodes."""


def _entropic_sign(menu: SignMenu, Q: np.ndarray, gamma: float, a: np.ndarray,
                   b: np.ndarray, h: float = 0.25) -> tuple[float, float]:
    r"""``E_μ U(Y_i)`` for ``U = −γ log E_Q e^{−Y/γ}`` on the sign menu, and an error bound.

    ``Z = Q_0 + Σ_b Q_b e^{k_b s_b}`` with ``k_b = −X_b/γ`` and independent
    shares; ``E log Z = log C + ∫ [exp(−e^v) − E exp(−e^v Z/C)] dv`` (trapezoid
    in ``v``, exponentially accurate for this analytic integrand), where
    ``E exp(−e^v Z/C) = e^{−e^v Q_0/C} Π_b φ_b(v)`` and each ``φ_b`` is a
    Gauss–Legendre integral against the Beta density on panels of width
    ``<= 1/(2|k_b|)``. The error bound compares with step ``2h`` and half the panels.
    """
    Qb = Q[menu.block_states]
    Q0 = float(Q.sum() - Qb.sum())
    live = Qb > 0
    if not np.any(live):
        return 0.0, 0.0
    Qb, k, a, b = Qb[live], -menu.block_scale[live] / gamma, a[live], b[live]
    sbar = a / (a + b)
    logC = _logsumexp(np.concatenate([np.log(Qb) + k * sbar, [np.log(Q0)] if Q0 > 0 else []]))
    log_zmax = _logsumexp(np.concatenate([np.log(Qb) + np.maximum(k, 0),
                                          [np.log(Q0)] if Q0 > 0 else []]))
    log_zmin = _logsumexp(np.concatenate([np.log(Qb) + np.minimum(k, 0),
                                          [np.log(Q0)] if Q0 > 0 else []]))
    span = 39.0 + max(0.0, log_zmax - logC) + np.log(40.0) + logC - log_zmin
    nodes = np.minimum(np.maximum(16.0, 2.0 * np.abs(k)), 8192.0).sum() * _GL_NODES.size
    if not np.isfinite(span) or (span / h) * nodes > QUADRATURE_BUDGET:
        raise _TooCostly
    v = np.arange(-39.0 - max(0.0, log_zmax - logC), np.log(40.0) + logC - log_zmin + h, h)

    fine = _log_laplace(v, Qb, k, a, b, logC, Q0, coarse=False)
    coarse = _log_laplace(v, Qb, k, a, b, logC, Q0, coarse=True)
    integrand = np.exp(-np.exp(v)) - np.exp(fine)
    elog = logC + h * np.sum(integrand)
    elog_2h = logC + 2 * h * np.sum(integrand[::2])
    elog_panels = logC + h * np.sum(np.exp(-np.exp(v)) - np.exp(coarse))
    error = gamma * (abs(elog - elog_2h) + abs(elog - elog_panels)) + 1e-15 * gamma * abs(elog)
    return float(-gamma * elog), float(error)


def _log_laplace(v, Qb, k, a, b, logC, Q0, coarse: bool) -> np.ndarray:
    """``log E exp(−e^v Z / C)`` on the grid ``v`` (half the panels when ``coarse``).

    Each share is integrated over ``[F^{-1}(1e-17), F^{-1}(1 − 1e-17)]`` with
    panels narrower than the transition of the integrand (``1/|k_b|``) and than
    the density's spread; the quadrature weights are renormalised to mass one.
    """
    total = -np.exp(v) * Q0 / np.exp(logC)
    lo = np.where(a == 1.0, 0.0, _beta_ppf(a, b, np.full(a.size, 1e-17)))
    hi = _beta_ppf(a, b, np.full(a.size, 1.0 - 1e-16))
    hi = np.where(hi > lo, hi, np.minimum(lo + 1e-12, 1.0))
    width = hi - lo
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    need = np.maximum.reduce([np.full(a.size, 16.0), 2 * np.abs(k) * width, width / sd])
    panels = 2.0 ** np.ceil(np.log2(np.minimum(need, 8192.0)))
    panels = (panels // 2 if coarse else panels).astype(int)
    polynomial = bool(np.all(a == 1.0) and np.all(b == np.round(b)))
    for count in np.unique(panels):
        idx = np.flatnonzero(panels == count)
        t, w = _panel_nodes(int(count), graded=not polynomial)
        s = lo[idx, None] + width[idx, None] * t
        with np.errstate(divide="ignore"):
            weight = w * width[idx, None] * np.exp(_beta_logpdf(a[idx, None], b[idx, None], s))
        weight /= weight.sum(axis=1, keepdims=True)
        shift = np.log(Qb[idx]) - logC
        rows = max(1, BATCH_NUMBERS // max(idx.size * t.size, 1))
        for r in range(0, v.size, rows):
            expo = (v[r:r + rows, None, None] + shift[None, :, None]
                    + k[idx][None, :, None] * s[None, :, :])
            g = np.expm1(-np.exp(expo))
            with np.errstate(divide="ignore"):
                phi = np.log1p(np.maximum(np.einsum("vsn,sn->vs", g, weight), -1.0))
            total[r:r + rows] += np.sum(phi, axis=1)
    return total


def _panel_nodes(count: int, graded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes on ``count`` equal panels of [0, 1] (plus geometric panels
    towards both ends when the Beta density is not a polynomial)."""
    edges = np.linspace(0.0, 1.0, count + 1)
    if graded:
        g = 2.0 ** -np.arange(30, 0, -1) / count
        edges = np.unique(np.concatenate([edges, g, 1.0 - g]))
    lo, hi = edges[:-1], edges[1:]
    s = ((lo + hi)[:, None] + (hi - lo)[:, None] * _GL_NODES) / 2
    w = (hi - lo)[:, None] * _GL_WEIGHTS / 2
    return s.ravel(), w.ravel()


def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    return top + float(np.log(np.sum(np.exp(x - top))))


# ----------------------------------------------------------------------------- finite μ
class FiniteMeasure:
    """μ on a finite menu: weights on the items (equal by default).

    Integrals are finite sums (method ``"finite-sum"``, exact).
    """

    kind = "finite"

    def __init__(self, menu: FiniteMenu, weights=None):
        if not isinstance(menu, FiniteMenu):
            raise MenuError("menu", type(menu).__name__, "a finite menu",
                            "use DirichletMeasure for a convex menu")
        self.menu = menu
        self.n, self.m = menu.n, menu.m
        K = menu.size
        w = np.full(K, 1.0 / K) if weights is None else probability_vector(
            "mu_weights", weights, m=K)
        w.setflags(write=False)
        self.weights = w

    def describe(self) -> dict:
        return {"kind": self.kind, "items": int(self.menu.size),
                "weights": "equal" if np.allclose(self.weights, self.weights[0]) else "given"}

    def mean_allocation(self) -> np.ndarray:
        return np.tensordot(self.weights, self.menu.items, axes=1)

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        idx = rng.choice(self.menu.size, size=int(size), p=self.weights)
        return self.menu.items[idx]

    def integral(self, utility: MonetaryUtility, agent: int, draws: int = 0,
                 seed: int = 0) -> Estimate:
        values = utility.value(self.menu.items[:, agent, :])
        return Estimate(float(self.weights @ values), 0.0, True, self.menu.size, "finite-sum")

    def integrals(self, utilities, draws: int = 0, seed: int = 0) -> tuple[Estimate, ...]:
        return tuple(self.integral(u, i) for i, u in enumerate(utilities))

    def integral_welfare(self, utilities, agents, draws: int = 0, seed: int = 0) -> Estimate:
        return combine((1.0, self.integral(utilities[j], j)) for j in agents)

    def integral_distance(self, anchor, metric: str = "sup", draws: int = 0, seed: int = 0,
                          probabilities=None) -> Estimate:
        Z = finite_array("anchor", anchor, shape=(self.n, self.m))
        diff = np.abs(self.menu.items - Z)
        if metric == "sup":
            d = diff.max(axis=-1).sum(axis=-1)
        else:
            d = (diff @ np.asarray(probabilities, float)).sum(axis=-1)
        return Estimate(float(self.weights @ d), 0.0, True, self.menu.size, "finite-sum")


def make_measure(menu, *, kappa: float = 0.0, centre=None, positions=None, weights=None,
                 replicates: int = DEFAULT_REPLICATES, probabilities=None):
    """The reference measure of a menu: Dirichlet on a convex menu, weights on a finite one."""
    if isinstance(menu, FiniteMenu):
        return FiniteMeasure(menu, weights)
    return DirichletMeasure(menu, kappa, centre, positions=positions, replicates=replicates,
                            probabilities=probabilities)
