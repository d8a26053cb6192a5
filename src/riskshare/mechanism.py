r"""The whole mechanism in one call: μ, efficiency, auction, game, checks, settlement.

Notation (spec §5–10): agents ``i = 1..n``, states ``ω = 1..m``, positions
``X`` (n, m), the reference measure μ on the menu, ``∫ U_i dμ`` each agent's
μ-integral, ``W* = max W`` over the menu (attained at ``Y*``), the surplus

.. math:: S = W^* − Σ_i ∫ U_i dμ,

equilibrium bids ``S (n−1)/n``, payoffs ``∫ U_i dμ + S/n``, cash
``t_i = payoff_i − U_i(Y*_i)`` (``Σ t_i = 0``), receipts
``r_i(ω) = Y*_i(ω) − X_i(ω) + t_i`` and collateral ``max(0, max_ω −r_i(ω))``
rounded up to the settlement unit.

:func:`run_mechanism` runs, in order: the reference measure and the agents'
μ-integrals; the efficient allocation (:mod:`riskshare.efficiency`); the
first-mover auction (:mod:`riskshare.auction`) or the given order; the
subgame-perfect outcome of the game (:mod:`riskshare.game`, or
:mod:`riskshare.finite` on a finite menu); receipts and collateral
(:mod:`riskshare.settlement`); the independent checks (:mod:`riskshare.checks`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from ._errors import ShapeError, UtilityParameterError
from .checks import Check, Claim, check_equilibrium
from .game import solve_game, worst_case_priors
from .measures import Estimate, FiniteMeasure, combine, make_measure
from .menus import BlockMenu, FiniteMenu, Menu
from .pool import Pool
from .schedules import METRICS, Schedule

__all__ = ["MechanismSettings", "MechanismResult", "run_mechanism", "Estimate", "Check"]

#: the checker's own Monte Carlo sample size (joint draws from μ)
CHECK_DRAWS = 4096
#: random vertices among the checker's candidates
CHECK_VERTICES = 128
#: standard errors within which a negative surplus estimate is clipped to zero
SURPLUS_CLIP_Z = 6.0


@dataclass(frozen=True)
class MechanismSettings:
    """Parameters of a mechanism run (see ``docs/mechanism.md``).

    Attributes
    ----------
    metric : {"sup", "l1"}
        Metric on the menu (spec §5).
    lipschitz_cap : float or "auto"
        Cap ``L`` on the schedules' Lipschitz constant.
    epsilon : float
        Perturbation making the efficient choice strict (0: none).
    order : "auction" or tuple of str
        First-mover auction, or a fixed order of agent names.
    seed : int
        Public seed of every random stream (μ-integrals, tie-break, checks).
    draws : int
        μ-integral budget per agent (RQMC evaluations).
    money : str
    settlement_unit : float
    mu_kappa : float
        Concentration κ of the Dirichlet reference measure.
    mu_centre : "status-quo", "equal" or tuple of n shares
    mu_weights : tuple of float, optional
        Weights on the items of a finite menu.
    tie_break_secrets : dict, optional
        Revealed secrets of a multi-party auction (default: derived from the seed).
    """

    metric: str = "sup"
    lipschitz_cap: float | str = "auto"
    epsilon: float = 0.0
    order: str | tuple[str, ...] = "auction"
    seed: int = 20261204
    draws: int = 65536
    money: str = "USD"
    settlement_unit: float = 0.01
    mu_kappa: float = 0.0
    mu_centre: str | tuple[float, ...] = "status-quo"
    mu_weights: tuple[float, ...] | None = None
    tie_break_secrets: dict[str, bytes] | None = None

    def __post_init__(self):
        if self.metric not in METRICS:
            raise UtilityParameterError("metric", self.metric, "'sup' or 'l1'",
                                        "use the default 'sup'")
        cap = self.lipschitz_cap
        if not (cap == "auto" or (isinstance(cap, int | float) and np.isfinite(cap) and cap > 0)):
            raise UtilityParameterError("lipschitz_cap", cap, "a number > 0 or 'auto'",
                                        "use 'auto'")
        for name in ("epsilon", "mu_kappa"):
            x = getattr(self, name)
            if not (isinstance(x, int | float) and np.isfinite(x) and x >= 0):
                raise UtilityParameterError(name, x, "a finite number >= 0", "use 0")
        if not (isinstance(self.settlement_unit, int | float) and self.settlement_unit > 0):
            raise UtilityParameterError("settlement_unit", self.settlement_unit, "> 0",
                                        "use 0.01 (one cent)")
        if int(self.draws) < 64:
            raise UtilityParameterError("draws", self.draws, "at least 64",
                                        "use the default 65536")
        if isinstance(self.order, str) and self.order != "auction":
            raise UtilityParameterError("order", self.order, "'auction' or a tuple of names",
                                        "give every agent's name in order of moves")
        if not isinstance(self.order, str):
            object.__setattr__(self, "order", tuple(str(x) for x in self.order))

    def to_dict(self) -> dict:
        """JSON-ready form (secrets are not written)."""
        return {"metric": self.metric, "lipschitz_cap": self.lipschitz_cap,
                "epsilon": self.epsilon, "order": self.order if isinstance(self.order, str)
                else list(self.order), "seed": self.seed, "draws": self.draws,
                "money": self.money, "settlement_unit": self.settlement_unit,
                "mu_kappa": self.mu_kappa, "mu_centre": self.mu_centre if isinstance(
                    self.mu_centre, str) else list(self.mu_centre),
                "mu_weights": None if self.mu_weights is None else list(self.mu_weights),
                "tie_break_secrets": "supplied" if self.tie_break_secrets else "derived"}


@dataclass(frozen=True, eq=False)
class MechanismResult:
    """Everything a run produced (fields as in the mechanism contract).

    ``stage_payoff_stderr``, ``payoff_stderr`` and ``bid_stderr`` carry the
    standard errors of the μ-integrals into the payoffs and bids; ``measure``
    describes μ.
    """

    pool: Pool
    utilities: tuple
    menu: Menu
    settings: MechanismSettings
    efficient: object
    standalone: np.ndarray
    at_efficient: np.ndarray
    mu_integrals: tuple
    surplus: Estimate
    lipschitz_cap: float
    auction: object
    order: tuple
    schedules: tuple
    stage_payoffs: np.ndarray
    payoffs: np.ndarray
    bids: np.ndarray
    cash: np.ndarray
    receipts: np.ndarray
    collateral: np.ndarray
    worst_case_priors: dict
    checks: tuple
    timings: dict
    versions: dict
    stage_payoff_stderr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    payoff_stderr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bid_stderr: float = 0.0
    measure: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def final_wealth(self) -> np.ndarray:
        """``Y*_i(ω) + t_i`` (n, m): what each agent ends with in each state."""
        return np.asarray(self.efficient.allocation) + self.cash[:, None]


class _Clock:
    """Timings per step and the progress callback."""

    def __init__(self, progress, steps):
        self.progress, self.steps, self.timings = progress, steps, {}
        self._t = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + now - self._t
        self._t = now
        if self.progress is not None:
            self.progress(step, (self.steps.index(step) + 1) / len(self.steps))


_STEPS = ["measure", "efficiency", "auction", "game", "settlement", "checks"]


def run_mechanism(pool: Pool, utilities, menu: Menu,
                  settings: MechanismSettings = MechanismSettings(),
                  progress: Callable[[str, float], None] | None = None) -> MechanismResult:
    """Run the mechanism on a pool (spec §5–10).

    Parameters
    ----------
    pool : Pool
    utilities : sequence of MonetaryUtility
        One per agent; unbound ones are bound to ``pool.probabilities``.
    menu : SignMenu, ComonotoneMenu or FiniteMenu
    settings : MechanismSettings
    progress : callable(step, fraction), optional
        Called after each step (the library prints nothing).

    Returns
    -------
    MechanismResult

    Raises
    ------
    ShapeError
        Utilities, menu and pool that do not match; a bad fixed order.
    LipschitzCapError
        A cap below what the equalising schedules need.
    CommitRevealError
        A tie-break secret missing or not matching its commitment.
    """
    clock = _Clock(progress, _STEPS)
    utilities = _bind(pool, utilities, menu)
    measure = _measure(pool, menu, settings)
    mu = measure.integrals(utilities, int(settings.draws), int(settings.seed))
    clock.done("measure")

    efficient = _efficient(utilities, menu)
    Y = np.asarray(efficient.allocation, dtype=float)
    at_y = np.array([float(u.value(Y[i])) for i, u in enumerate(utilities)])
    standalone = np.array([float(u.value(pool.positions[i])) for i, u in enumerate(utilities)])
    W = float(at_y.sum())
    surplus = combine(((-1.0, e) for e in mu), constant=W)
    clock.done("efficiency")

    auction, order, bids, transfers = _order_of_moves(pool, surplus, settings)
    clock.done("auction")

    game = _play(pool, utilities, menu, measure, order, efficient, mu, settings)
    clock.done("game")

    payoffs = game["stage_payoffs"] + transfers
    cash = payoffs - at_y
    receipts, collateral = _settlement(pool, Y, cash, settings)
    clock.done("settlement")

    claim = Claim(allocation=Y, order=order, schedules=game["schedules"], mu_integrals=mu,
                  stage_payoffs=game["stage_payoffs"], lipschitz_cap=game["cap"],
                  epsilon=float(settings.epsilon), metric=settings.metric, welfare=W,
                  supergradients=getattr(efficient, "supergradients", None), surplus=surplus,
                  payoffs=payoffs, bids=bids if auction is not None else None,
                  auction_winner=None if auction is None else auction.winner,
                  auction_transfers=transfers, cash=cash, receipts=receipts,
                  collateral=collateral, settlement_unit=float(settings.settlement_unit))
    checks = check_equilibrium(pool, utilities, menu, measure, claim,
                               draws=min(CHECK_DRAWS, int(settings.draws)),
                               vertices=CHECK_VERTICES, seed=int(settings.seed))
    clock.done("checks")

    payoff_se = game["stage_payoff_stderr"]
    if auction is not None:
        payoff_se = _auction_payoff_stderr(mu, order, game.get("epsilon_stderr", 0.0))
    return MechanismResult(
        pool=pool, utilities=tuple(utilities), menu=menu, settings=settings,
        efficient=efficient, standalone=standalone, at_efficient=at_y, mu_integrals=mu,
        surplus=surplus, lipschitz_cap=game["cap"], auction=auction, order=order,
        schedules=game["schedules"], stage_payoffs=game["stage_payoffs"], payoffs=payoffs,
        bids=bids, cash=cash, receipts=receipts, collateral=collateral,
        worst_case_priors=worst_case_priors(utilities, Y), checks=checks,
        timings=clock.timings, versions=_versions(), stage_payoff_stderr=game[
            "stage_payoff_stderr"], payoff_stderr=payoff_se,
        bid_stderr=0.0 if auction is None else surplus.stderr * (pool.n - 1) / pool.n,
        measure=measure.describe())


# ----------------------------------------------------------------------------- steps
def _bind(pool: Pool, utilities, menu: Menu) -> list:
    utilities = [u.bind(pool.probabilities) for u in utilities]
    if len(utilities) != pool.n:
        raise ShapeError("utilities", len(utilities), f"one per agent ({pool.n})",
                         "give every agent a utility")
    if (menu.n, menu.m) != (pool.n, pool.m):
        raise ShapeError("menu", (menu.n, menu.m), f"n = {pool.n} agents, m = {pool.m} states",
                         "build the menu from this pool's aggregate")
    if isinstance(menu, BlockMenu) and not np.allclose(menu.aggregate, pool.aggregate,
                                                       rtol=1e-12, atol=0.0):
        raise ShapeError("menu.aggregate", "differs", "the pool's aggregate",
                         "build the menu from pool.aggregate")
    return utilities


def _measure(pool: Pool, menu: Menu, settings: MechanismSettings):
    centre = settings.mu_centre
    if not isinstance(centre, str):
        centre = np.asarray(centre, dtype=float)
    return make_measure(menu, kappa=float(settings.mu_kappa), centre=centre,
                        positions=pool.positions, weights=settings.mu_weights,
                        probabilities=pool.probabilities)


def _efficient(utilities, menu: Menu):
    from .efficiency import maximise_welfare

    return maximise_welfare(utilities, menu)


def _order_of_moves(pool: Pool, surplus: Estimate, settings: MechanismSettings):
    """(auction or None, order, bids, auction transfers)."""
    n = pool.n
    if settings.order != "auction":
        names = tuple(settings.order)
        if sorted(names) != sorted(pool.names):
            raise ShapeError("order", names, f"every agent once: {', '.join(pool.names)}",
                             "list each agent's name once, first mover first")
        return None, tuple(pool.index(s) for s in names), np.zeros(0), np.zeros(n)

    from .auction import equilibrium_bids, run_auction

    S = surplus.value
    if S < 0 and -S <= SURPLUS_CLIP_Z * surplus.stderr + 1e-12 * max(1.0, abs(S)):
        S = 0.0
    bids = equilibrium_bids(S, n)
    auction = run_auction(bids, pool.names, seed=settings.seed,
                          secrets=settings.tie_break_secrets)
    order = (auction.winner,) + tuple(i for i in range(n) if i != auction.winner)
    return auction, order, bids, np.asarray(auction.transfers, dtype=float)


def _play(pool, utilities, menu, measure, order, efficient, mu, settings) -> dict:
    if isinstance(menu, FiniteMenu):
        return _play_finite(pool, utilities, menu, measure, order, efficient, settings)
    out = solve_game(utilities, menu, measure, order, efficient=efficient,
                     metric=settings.metric, lipschitz_cap=settings.lipschitz_cap,
                     epsilon=float(settings.epsilon), draws=int(settings.draws),
                     seed=int(settings.seed), probabilities=pool.probabilities,
                     mu_integrals=mu)
    return {"schedules": out.schedules, "cap": out.lipschitz_cap,
            "stage_payoffs": out.stage_payoffs, "stage_payoff_stderr": out.stage_payoff_stderr,
            "epsilon_stderr": float(out.epsilon_term.stderr)}       # of ε ∫d dμ


def _play_finite(pool, utilities, menu: FiniteMenu, measure: FiniteMeasure, order, efficient,
                 settings) -> dict:
    """The original price-and-choose (prices per item) through :mod:`riskshare.finite`."""
    from .finite import finite_values, solve_finite_game

    values = finite_values(menu.items, utilities)
    Y = np.asarray(efficient.allocation, dtype=float)
    target = int(np.argmin(np.max(np.abs(menu.items - Y), axis=(1, 2))))
    out = solve_finite_game(values, measure.weights, order, float(settings.epsilon),
                            target=target)
    label = "perturbed" if settings.epsilon else "equalising"
    schedules = tuple(
        Schedule(pool.n, pool.m, item_prices=np.asarray(out.schedules[k], dtype=float),
                 metric=settings.metric, label=label, stage=k + 1, poster=order[k],
                 utilities=tuple(utilities), probabilities=pool.probabilities)
        for k in range(pool.n - 1))
    cap = float(settings.lipschitz_cap) if settings.lipschitz_cap != "auto" else np.inf
    return {"schedules": schedules, "cap": cap,
            "stage_payoffs": np.asarray(out.agent_payoffs, dtype=float),
            "stage_payoff_stderr": np.zeros(pool.n)}


def _settlement(pool: Pool, Y, cash, settings) -> tuple[np.ndarray, np.ndarray]:
    """Receipts ``r = Y* − X + t`` and collateral (spec §10), as settlement rounds them."""
    from .settlement import settlement_plan

    plan = settlement_plan(pool.positions, Y, cash, pool.names,
                           unit=float(settings.settlement_unit), money=pool.money,
                           state_names=pool.state_names)
    return np.asarray(plan.receipts, dtype=float), np.asarray(plan.collateral, dtype=float)


def _auction_payoff_stderr(mu, order, eps_se: float = 0.0) -> np.ndarray:
    """Standard error of ``∫U_i dμ + S/n = (1 − 1/n) ∫U_i dμ − Σ_{j≠i} ∫U_j dμ / n + W*/n``
    (independent estimates; ``W*`` is certified, not estimated), plus, for the first
    mover and the chooser, that of the perturbation's ``ε ∫d(·, Y*) dμ`` (``eps_se``)."""
    se = np.array([e.stderr for e in mu])
    n = se.size
    out = np.sqrt((1 - 1 / n) ** 2 * se**2 + (np.sum(se**2) - se**2) / n**2)
    if eps_se:
        for i in {order[0], order[-1]}:
            out[i] = float(np.hypot(out[i], eps_se))
    return out


def _versions() -> dict:
    out = {}
    for name in ("riskshare", "numpy", "scipy", "highspy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
