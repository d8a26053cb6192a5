r"""The price-and-choose game for n players on a convex menu (spec §6–8).

Notation: the order of moves ``π = (π_1..π_n)``; stage ``k`` is played by
agent ``π_k``. Stages ``1..n−1`` post schedules ``p_1..p_{n−1}`` in turn, each
seeing the earlier ones; ``π_n`` (the chooser) picks ``Y`` in the menu. Stage
``k`` receives ``p_k(Y)`` from the next stage and pays ``p_{k−1}(Y)`` to the
previous one (``p_0 = p_n = 0``), so its payoff is

.. math:: U_{π_k}(Y_{π_k}) + p_k(Y) − p_{k−1}(Y),

and cash sums to zero. ``W_k = Σ_{j >= k} U_{π_j}`` is the continuation welfare.

Backward induction (the paper's Theorems 2–4): given ``p_{k−1}``, the
continuation from stage ``k`` ends at a maximiser of ``W_k − p_{k−1}``; the
best schedule of stage ``k`` is the equalising one,
``p_k* = W_{k+1} − ∫ W_{k+1} dμ``, which leaves the next stages indifferent and
steers them (with an ε-perturbation, strictly) to the maximiser. The outcome
is an efficient ``Y*``; payoffs are ``max W − Σ_{k>=2} ∫ U_{π_k} dμ`` for the
first mover and ``∫ U_{π_k} dμ`` for every later stage.

Best replies to arbitrary schedules of the language maximise
``f(Y) = Σ_j w_j U_j(Y_j) − Σ_l b_l d(Y, Z_l) + c`` over the menu. When every
``w_j, b_l >= 0`` ``f`` is concave: the maximiser is the weighted welfare
problem (no distance terms) or a Frank–Wolfe (conditional gradient) run with
the menu's per-block linear oracle on a smoothed ``d``; both report a
certified upper bound, so ``upper_bound − value`` says how close to the best
the reply is. Otherwise the reply is the best point found over vertices,
samples from μ and the anchors, improved by local steps, and it is reported
as *not certified*.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._errors import ShapeError
from .measures import Estimate, combine
from .menus import BlockMenu, FiniteMenu
from .schedules import (
    Schedule,
    check_cap,
    distance,
    equalising_schedule,
    perturbed_schedule,
    resolve_cap,
)

__all__ = ["Objective", "BestReply", "PosterReply", "GameOutcome", "maximise_objective",
           "continuation_objective", "chooser_best_reply", "continuation_best_reply",
           "poster_best_reply", "deviation_payoff", "solve_game", "max_min_agents",
           "worst_case_priors"]


# ----------------------------------------------------------------------------- objectives
@dataclass(frozen=True, eq=False)
class Objective:
    """``f(Y) = Σ_j w_j U_j(Y_j) − Σ_l b_l d(Y, Z_l) + c`` (what a best reply maximises)."""

    weights: np.ndarray
    distance_terms: tuple = ()
    constant: float = 0.0
    metric: str = "sup"
    probabilities: np.ndarray | None = None

    @property
    def concave(self) -> bool:
        return bool(np.all(self.weights >= 0) and all(b >= 0 for b, _ in self.distance_terms))

    def value(self, Y, utilities) -> np.ndarray:
        """``f`` on allocations (..., n, m)."""
        Y = np.asarray(Y, dtype=float)
        out = np.full(Y.shape[:-2], self.constant)
        for j in np.flatnonzero(self.weights):
            out = out + self.weights[j] * utilities[j].value(Y[..., j, :])
        for b, Z in self.distance_terms:
            out = out - b * distance(Y, Z, self.metric, self.probabilities)
        return out

    def smoothed(self, Y, utilities, tau: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Value and supergradient of ``f_τ`` (distances smoothed) on allocations
        (..., n, m), and ``δ`` with ``f_τ <= f <= f_τ + δ``."""
        Y = np.asarray(Y, dtype=float)
        value = np.full(Y.shape[:-2], self.constant)
        grad = np.zeros(Y.shape)
        slack = 0.0
        for j in np.flatnonzero(self.weights):
            v, q = utilities[j].value_and_supergradient(Y[..., j, :])
            value = value + self.weights[j] * v
            grad[..., j, :] += self.weights[j] * q
        for b, Z in self.distance_terms:
            d, g, err = _smooth_distance(Y, Z, self.metric, self.probabilities, tau)
            value = value - b * d
            grad -= b * g
            slack += abs(b) * err
        return value, grad, slack


def _smooth_distance(Y, Z, metric, P, tau):
    """Smooth upper approximation ``d_τ >= d`` with ``d_τ − d <= err``, and its gradient."""
    D = Y - Z
    n, m = D.shape[-2:]
    if metric == "sup":
        E = np.concatenate([D, -D], axis=-1) / tau
        top = E.max(axis=-1, keepdims=True)
        w = np.exp(E - top)
        tot = w.sum(axis=-1, keepdims=True)
        value = np.sum(tau * (top[..., 0] + np.log(tot[..., 0])), axis=-1)
        w = w / tot
        return value, w[..., :m] - w[..., m:], n * tau * np.log(2 * m)
    root = np.sqrt(D**2 + tau**2)
    return np.sum(root @ P, axis=-1), (D / root) * P, n * tau


def continuation_objective(schedule: Schedule | None, agents: Sequence[int],
                           n: int) -> Objective:
    """``Σ_{j in agents} U_j − p``: what the continuation after ``p`` maximises."""
    w = np.zeros(n)
    w[list(agents)] = 1.0
    if schedule is None:
        return Objective(w)
    w = w - schedule.coefficients()
    terms = tuple((b, Z) for b, Z in schedule.distance_terms)
    return Objective(w, terms, -schedule.constant, schedule.metric, schedule.probabilities)


# ----------------------------------------------------------------------------- best replies
@dataclass(frozen=True)
class BestReply:
    """A (near-)maximiser of an objective over the menu.

    Attributes
    ----------
    allocation : ndarray (n, m)
    value : float
        The objective at ``allocation`` (a lower bound on the maximum).
    upper_bound : float
        Certified upper bound on the maximum (``inf`` when not certified).
    gap : float
        ``upper_bound − value``.
    certified : bool
    method : str
    iterations : int
    detail : str
    """

    allocation: np.ndarray
    value: float
    upper_bound: float
    gap: float
    certified: bool
    method: str
    iterations: int = 0
    detail: str = ""


def maximise_objective(objective: Objective, utilities, menu, *, measure=None,
                       anchors: Sequence[np.ndarray] = (), max_iter: int = 300,
                       rtol: float = 1e-7, seed: int = 0) -> BestReply:
    """Maximise ``f`` over the menu (see the module docstring for the methods).

    Parameters
    ----------
    objective : Objective
    utilities : sequence of MonetaryUtility
    menu : SignMenu, ComonotoneMenu or FiniteMenu
    measure : reference measure, optional
        Source of sample allocations for the starting points.
    anchors : sequence of (n, m) arrays
        Extra starting points (e.g. an efficient allocation).
    max_iter, rtol : Frank–Wolfe budget and relative target gap.
    seed : int
        Seed of the sampled starting points.
    """
    if isinstance(menu, FiniteMenu):
        values = objective.value(menu.items, utilities)
        k = int(np.argmax(values))
        v = float(values[k])
        return BestReply(menu.items[k].copy(), v, v, 0.0, True, "finite-enumeration",
                         menu.size, f"item {k} of {menu.size}")
    if objective.concave and not objective.distance_terms:
        reply = _weighted_welfare(objective, utilities, menu, rtol)
        if reply is not None:
            return reply
    start = _best_start(objective, utilities, menu, measure, anchors, seed)
    return _frank_wolfe(objective, utilities, menu, start, max_iter, rtol)


def _weighted_welfare(objective, utilities, menu, rtol) -> BestReply | None:
    """``max Σ w_j U_j + c`` through the certified welfare solver (``None`` if unavailable)."""
    try:
        from .efficiency import maximise_welfare
    except ImportError:
        return None
    w = objective.weights
    active = np.flatnonzero(w > 0)
    if active.size == 0:
        return None
    try:
        eff = maximise_welfare(utilities, menu, weights=w, rtol=rtol)
    except (ValueError, NotImplementedError):
        return None
    value = float(objective.value(eff.allocation, utilities))
    upper = float(eff.upper_bound) + objective.constant
    return BestReply(np.asarray(eff.allocation), value, max(upper, value),
                     max(upper - value, 0.0), bool(getattr(eff, "certified", True)),
                     f"weighted welfare ({eff.method})", 0, str(getattr(eff, "status", "")))


def _candidates(menu: BlockMenu, measure, anchors, rng, count: int = 64) -> np.ndarray:
    """Starting points: anchors, μ-samples, random vertices, all vertices when few."""
    pts = [np.asarray(a, dtype=float)[None] for a in anchors]
    if measure is not None:
        pts.append(measure.sample(count, rng))
        pts.append(measure.mean_allocation()[None])
    else:
        pts.append(menu.sample(rng, count))
    if menu.n_vertices <= 256:
        pts.append(np.stack(list(menu.vertices())))
    else:
        pts.append(menu.random_vertices(rng, count))
    return np.concatenate(pts, axis=0)


def _best_start(objective, utilities, menu, measure, anchors, seed) -> np.ndarray:
    rng = np.random.default_rng(seed)
    extra = [Z for _, Z in objective.distance_terms]
    C = _candidates(menu, measure, list(anchors) + extra, rng)
    values = objective.value(C, utilities)
    return C[int(np.argmax(values))]


def _frank_wolfe(objective, utilities, menu, Y0, max_iter, rtol) -> BestReply:
    """Conditional gradient (Frank–Wolfe and pairwise steps, exact line search);
    the duality gap certifies the value when ``f`` is concave."""
    scale = max(float(np.mean(np.abs(menu.aggregate))), 1e-300)
    tau = rtol * scale / 4
    S = menu.shares(Y0)
    cols = np.arange(S.shape[1])
    best_S, best_val = S, float(objective.value(Y0, utilities))
    upper, iterations = np.inf, 0
    while iterations < max_iter:
        iterations += 1
        fs, G, slack = objective.smoothed(menu.allocation(S), utilities, tau)
        mv = menu.marginal_values(G)
        top = np.argmax(mv, axis=0)
        gap = float(np.sum(mv[top, cols]) - np.sum(mv * S))
        if objective.concave:
            upper = min(upper, float(fs) + max(gap, 0.0) + slack)
        if upper - best_val <= rtol * max(abs(best_val), scale):
            break
        S = _step(objective, utilities, menu, S, mv, top, tau)
        val = float(objective.value(menu.allocation(S), utilities))
        if val > best_val:
            best_S, best_val = S, val
    certified = bool(objective.concave and np.isfinite(upper))
    detail = f"smoothed distances, tau = {tau:.3g}" if objective.distance_terms else ""
    if not objective.concave:
        detail = "objective not concave: best found over vertices, samples and anchors"
    return BestReply(menu.allocation(best_S), best_val, upper if certified else np.inf,
                     max(upper - best_val, 0.0) if certified else np.inf, certified,
                     "frank-wolfe", iterations, detail)


def _step(objective, utilities, menu, S, mv, top, tau) -> np.ndarray:
    """The better of a Frank–Wolfe step (towards the best vertex) and a pairwise step
    (mass of each block's worst active agent moved to its best agent)."""
    cols = np.arange(S.shape[1])
    V = np.zeros_like(S)
    V[top, cols] = 1.0
    active = np.where(S > 1e-15, mv, np.inf)
    worst = np.argmin(active, axis=0)
    P = np.zeros_like(S)
    P[top, cols] += S[worst, cols]
    P[worst, cols] -= S[worst, cols]
    best = (S, -np.inf)
    for D in (V - S, P):
        cand = _line_search(objective, utilities, menu, S, D, tau)
        if cand[1] > best[1]:
            best = cand
    return best[0]


def _line_search(objective, utilities, menu, S, D, tau, rounds: int = 3, points: int = 16):
    """Maximise ``f(S + t D)`` over ``t`` in [0, 1]: bracket the sign change of the
    directional supergradient on a geometric grid, then refine (batched evaluations)."""
    YD = menu.allocation(D)
    Y0 = menu.allocation(S)
    grid = np.concatenate([[0.0], 2.0 ** -np.arange(30, -1, -1)])
    best_t, best_v = 0.0, -np.inf
    for r in range(rounds + 1):
        Yt = Y0[None] + grid[:, None, None] * YD[None]
        vals = objective.value(Yt, utilities)
        _, G, _ = objective.smoothed(Yt, utilities, tau)
        slope = np.sum(G * YD[None], axis=(-2, -1))
        k = int(np.argmax(vals))
        if vals[k] > best_v:
            best_t, best_v = float(grid[k]), float(vals[k])
        up = np.flatnonzero(slope > 0)
        j = int(up[-1]) if up.size else 0
        lo, hi = grid[j], grid[min(j + 1, grid.size - 1)]
        if hi <= lo or r == rounds:
            break
        grid = np.linspace(lo, hi, points)
    return S + best_t * D, best_v


def chooser_best_reply(schedule: Schedule, chooser: int, utilities, menu, **kwargs
                       ) -> BestReply:
    """The chooser's best reply: ``max_Y U_chooser(Y_chooser) − p(Y)``."""
    obj = continuation_objective(schedule, [chooser], len(utilities))
    return maximise_objective(obj, utilities, menu, **kwargs)


def continuation_best_reply(schedule: Schedule | None, stage: int, order: Sequence[int],
                            utilities, menu, **kwargs) -> BestReply:
    """The continuation's outcome after stage ``stage − 1`` posted ``schedule``:
    a maximiser of ``W_stage − p_{stage−1}`` (``schedule=None``: ``p_0 = 0``)."""
    agents = [int(j) for j in order[stage - 1:]]
    obj = continuation_objective(schedule, agents, len(utilities))
    return maximise_objective(obj, utilities, menu, **kwargs)


@dataclass(frozen=True)
class PosterReply:
    """A poster's best reply given the continuation.

    Attributes
    ----------
    schedule : Schedule
        The equalising schedule (perturbed towards ``outcome`` when ε > 0).
    outcome : BestReply
        The maximiser of ``W_k − p_{k−1}`` the schedule steers the continuation to.
    payoff : Estimate
        The poster's payoff ``max (W_k − p_{k−1}) − ∫ W_{k+1} dμ − ε ∫ d(·, Y) dμ``.
    certified : bool
        Whether ``outcome`` is certified (then ``payoff`` is within ``outcome.gap``
        of the best any admissible schedule can get).
    """

    schedule: Schedule
    outcome: BestReply
    payoff: Estimate
    certified: bool


def poster_best_reply(stage: int, previous: Schedule | None, order: Sequence[int], utilities,
                      menu, measure, *, metric: str = "sup", epsilon: float = 0.0,
                      draws: int = 65536, seed: int = 0, probabilities=None,
                      mu_integrals=None, **kwargs) -> PosterReply:
    """Best schedule of stage ``stage`` (1..n−1) given the previous schedule.

    For any admissible ``p_k`` the continuation gets at least ``∫ W_{k+1} dμ``
    (the maximum of ``W_{k+1} − p_k`` is at least its μ-mean), so stage ``k``
    gets at most ``max (W_k − p_{k−1}) − ∫ W_{k+1} dμ``; the equalising schedule
    attains it.
    """
    outcome = continuation_best_reply(previous, stage, order, utilities, menu,
                                      measure=measure, **kwargs)
    sched = equalising_schedule(stage, order, utilities, measure, metric=metric, draws=draws,
                                seed=seed, mu_integrals=mu_integrals,
                                probabilities=probabilities)
    sched = perturbed_schedule(sched, epsilon, outcome.allocation, measure, draws=draws,
                               seed=seed)
    later = measure.integral_welfare(utilities, [int(j) for j in order[stage:]], draws, seed)
    terms = [(-1.0, later)]
    if epsilon > 0:
        terms.append((-epsilon, measure.integral_distance(outcome.allocation, metric, draws,
                                                          seed, probabilities)))
    payoff = combine(terms, constant=outcome.value)
    return PosterReply(sched, outcome, payoff, outcome.certified)


def deviation_payoff(stage: int, posted: Schedule, previous: Schedule | None,
                     order: Sequence[int], utilities, menu, **kwargs) -> tuple[float, BestReply]:
    """Stage ``stage``'s payoff from posting ``posted`` when the continuation best-replies.

    Returns the payoff ``U_k + p_k − p_{k−1}`` at the continuation's reply, and
    the reply (ties inside the reply's tolerance are not resolved).
    """
    reply = continuation_best_reply(posted, stage + 1, order, utilities, menu, **kwargs)
    Y = reply.allocation
    own = int(order[stage - 1])
    prev = 0.0 if previous is None else float(previous.value(Y))
    return float(utilities[own].value(Y[own]) + posted.value(Y) - prev), reply


# ----------------------------------------------------------------------------- max-min
def max_min_agents(utilities) -> list[int]:
    """Indices of the agents with a max-min (multiple-prior) utility."""
    return [i for i, u in enumerate(utilities) if hasattr(u, "credal")]


def worst_case_priors(utilities, allocation) -> dict[int, np.ndarray]:
    """Worst-case prior of every max-min agent at its payoff in ``allocation``."""
    return {i: np.asarray(utilities[i].worst_case_prior(allocation[i]))
            for i in max_min_agents(utilities)}


# ----------------------------------------------------------------------------- the outcome
@dataclass(frozen=True, eq=False)
class GameOutcome:
    """Subgame-perfect outcome of the game for one order of moves.

    Attributes
    ----------
    order : tuple of int
        Agent indices; ``order[0]`` moves first, ``order[-1]`` chooses.
    allocation : ndarray (n, m)
        The efficient allocation ``Y*`` the chooser picks.
    schedules : tuple of Schedule
        ``p_1..p_{n−1}`` (stage order).
    lipschitz_cap : float
    stage_payoffs : ndarray (n,)
        Payoff of each *agent* (indexed by agent, not by stage).
    stage_payoff_stderr : ndarray (n,)
    cash : ndarray (n,)
        ``p_k(Y*) − p_{k−1}(Y*)`` of each agent; sums to zero.
    continuation_integrals : tuple of Estimate
        ``∫ W_{k+1} dμ`` for stages ``k = 1..n−1``.
    epsilon_term : Estimate
        ``ε ∫ d(·, Y*) dμ`` (zero when ε = 0).
    worst_case_priors : dict
    timings : dict
    """

    order: tuple
    allocation: np.ndarray
    schedules: tuple
    lipschitz_cap: float
    stage_payoffs: np.ndarray
    stage_payoff_stderr: np.ndarray
    cash: np.ndarray
    continuation_integrals: tuple
    epsilon_term: Estimate
    worst_case_priors: dict
    timings: dict = field(default_factory=dict)
    method: str = "backward induction: equalising schedules, efficient choice"


def _check_order(order, n) -> tuple[int, ...]:
    order = tuple(int(i) for i in order)
    if sorted(order) != list(range(n)):
        raise ShapeError("order", order, f"a permutation of the agents 0..{n - 1}",
                         "list every agent once")
    return order


def solve_game(utilities, menu, measure, order, *, efficient=None, metric: str = "sup",
               lipschitz_cap="auto", epsilon: float = 0.0, draws: int = 65536, seed: int = 0,
               probabilities=None, mu_integrals=None) -> GameOutcome:
    """Subgame-perfect outcome by backward induction (spec §7).

    Parameters
    ----------
    utilities : sequence of MonetaryUtility (bound)
    menu : SignMenu or ComonotoneMenu
    measure : DirichletMeasure
    order : sequence of int
        Order of moves (agent indices).
    efficient : EfficientAllocation, optional
        From :func:`riskshare.efficiency.maximise_welfare`; solved when omitted.
    metric, lipschitz_cap, epsilon : mechanism parameters (spec §5).
    draws, seed : μ-integral budget and public seed.
    probabilities : ndarray (m,), optional
        Reference ``P`` (needed for the ``"l1"`` metric).
    mu_integrals : tuple of Estimate, optional
        ``∫ U_i dμ`` when already computed.

    Raises
    ------
    LipschitzCapError
        When the cap is below what the equalising schedules need.
    """
    timings: dict[str, float] = {}
    n = len(utilities)
    order = _check_order(order, n)
    t0 = time.perf_counter()
    if efficient is None:
        from .efficiency import maximise_welfare
        efficient = maximise_welfare(utilities, menu)
    Y = np.asarray(efficient.allocation, dtype=float)
    timings["efficiency"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if mu_integrals is None:
        mu_integrals = measure.integrals(utilities, draws, seed)
    cap = resolve_cap(lipschitz_cap, utilities, order, metric, probabilities, epsilon)
    schedules = _equilibrium_schedules(utilities, measure, order, Y, metric, epsilon, draws,
                                       seed, probabilities, mu_integrals, cap)
    eps_term = Estimate(0.0)
    if epsilon > 0:
        eps_term = combine([(epsilon, measure.integral_distance(Y, metric, draws, seed,
                                                                probabilities))])
    timings["schedules"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cash = _stage_cash(schedules, order, Y)
    at_y = np.array([float(utilities[i].value(Y[i])) for i in range(n)])
    payoffs = at_y + cash
    stderr = _payoff_stderr(order, mu_integrals, eps_term)
    later = tuple(measure.integral_welfare(utilities, order[k:], draws, seed)
                  for k in range(1, n))
    priors = worst_case_priors(utilities, Y)
    timings["game"] = time.perf_counter() - t0
    return GameOutcome(order, Y, schedules, cap, payoffs, stderr, cash, later, eps_term,
                       priors, timings)


def _equilibrium_schedules(utilities, measure, order, Y, metric, epsilon, draws, seed,
                           probabilities, mu_integrals, cap) -> tuple[Schedule, ...]:
    out = []
    for k in range(1, len(order)):
        p = equalising_schedule(k, order, utilities, measure, metric=metric, draws=draws,
                                seed=seed, mu_integrals=mu_integrals,
                                probabilities=probabilities)
        p = perturbed_schedule(p, epsilon, Y, measure, draws=draws, seed=seed)
        check_cap(p, cap, f"schedules[{k}]")
        out.append(p)
    return tuple(out)


def _stage_cash(schedules, order, Y) -> np.ndarray:
    """``p_k(Y) − p_{k−1}(Y)`` per agent; the chooser's entry is minus the sum of the others',
    so the cash sums to zero by construction (telescoping)."""
    n = len(order)
    price = [0.0] + [float(p.value(Y)) for p in schedules] + [0.0]
    cash = np.zeros(n)
    for k in range(1, n):
        cash[order[k - 1]] = price[k] - price[k - 1]
    cash[order[-1]] = -float(np.sum(cash))
    return cash


def _payoff_stderr(order, mu_integrals, eps_term) -> np.ndarray:
    n = len(order)
    se = np.array([e.stderr for e in mu_integrals])
    out = se.copy()
    out[order[0]] = float(np.sqrt(np.sum(se[list(order[1:])] ** 2) + eps_term.stderr**2))
    out[order[-1]] = float(np.hypot(se[order[-1]], eps_term.stderr)) if n > 1 else 0.0
    return out
