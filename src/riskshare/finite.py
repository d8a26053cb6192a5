r"""Price-and-choose on a finite menu (the original game), optionally in exact arithmetic.

Notation: ``K`` items ``y = 0..K-1``, ``n`` agents, ``V[y, i] = U_i(item y)`` the
utility agent ``i`` draws from item ``y``; ``w`` (K,) the weights of the
reference measure μ on the items (all positive, summing to one; equal by
default); ``∫ f dμ = Σ_y w_y f(y)``. The order of moves ``π = (π_1..π_n)`` is a
tuple of agent indices: ``π_1`` posts first, ``π_n`` chooses. At stage
``k`` the continuation welfare is ``W_k(y) = Σ_{j >= k} V[y, π_j]``
(``W_{n+1} = 0``), and ``W = W_1``. A schedule is a price per item.

Payoff of stage ``k`` when the posted schedules are ``p_1..p_{n-1}`` and item
``y`` is chosen: ``V[y, π_k] + p_k(y) - p_{k-1}(y)`` (``p_0 = p_n = 0``); the
cash ``p_k(y) - p_{k-1}(y)`` sums to zero over the stages.

Equilibrium (spec §6–7, finite version):

* equalising schedules ``p_k*(y) = W_{k+1}(y) - Σ_{y'} w_{y'} W_{k+1}(y')``;
* ε-perturbed schedules toward a target efficient item ``y*``:
  ``p_k(y) = p_k*(y) + ε [y != y*] - ε (1 - w_{y*})`` (the discrete metric;
  normalised), which make ``y*`` the unique best reply at every stage;
* the chooser's ties are resolved toward efficient items (the target first,
  then the lowest index). On the equilibrium path this is the resolution the
  first poster prefers, i.e. the one subgame perfection selects; ``ε > 0``
  makes it strict.

Certificate of the posters' optimality: against ``p_{k-1}``, whatever
normalised ``p_k`` stage ``k`` posts, the continuation picks a ``y`` maximising
``W_{k+1} - p_k`` (spec §7), and since a maximum is at least the μ-average,
stage ``k`` gets at most ``B_k = max_y [W_k(y) - p_{k-1}(y)] - ∫ W_{k+1} dμ``.
Each outcome reports ``B_k`` and its payoff; the gap is 0 for ``ε = 0`` and
``ε (1 - w_{y*})`` otherwise.

Exact mode works in :class:`fractions.Fraction` throughout. A float input is
read as the shortest decimal that prints it (``0.1`` is 1/10), so weights such
as ``(0.2, 0.3, 0.5)`` sum to one exactly. Float mode treats values within
``tol`` (default ``1e-10 (1 + max |V|)``) as tied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Rational

import numpy as np

from ._errors import MenuError, ShapeError, TooFewAgentsError

__all__ = [
    "FiniteGameOutcome",
    "solve_finite_game",
    "equalising_schedules",
    "perturbed_schedules",
    "chooser_best_reply",
    "poster_payoff",
    "finite_values",
]


def _fraction(field: str, x) -> Fraction:
    """Exact rational of ``x`` (floats read as their shortest decimal)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, bool):
        raise ShapeError(field, x, "a number", "give numbers, not booleans")
    if isinstance(x, int | np.integer | Rational):
        return Fraction(int(x)) if isinstance(x, int | np.integer) else Fraction(x)
    if isinstance(x, Decimal | str):
        return Fraction(x)
    value = float(x)
    if not np.isfinite(value):
        raise ShapeError(field, value, "finite numbers", "remove NaN/inf entries")
    return Fraction(repr(value))


def _as_array(field: str, data, exact: bool, ndim: int) -> np.ndarray:
    """Object array of Fractions (exact) or float array, with ``ndim`` axes."""
    raw = np.asarray(data, dtype=object)
    if raw.ndim != ndim or raw.size == 0:
        raise ShapeError(field, raw.shape, f"a non-empty {ndim}-dimensional array",
                         "give one value per item (and per agent)")
    if exact:
        flat = [_fraction(field, x) for x in raw.ravel()]
        return np.array(flat + [None], dtype=object)[:-1].reshape(raw.shape)
    out = np.array([float(_fraction(field, x)) if isinstance(x, Fraction | str) else float(x)
                    for x in raw.ravel()]).reshape(raw.shape)
    if not np.all(np.isfinite(out)):
        raise ShapeError(field, "NaN/inf", "finite numbers", "remove NaN/inf entries")
    return out


def _weights(weights, K: int, exact: bool) -> np.ndarray:
    if weights is None:
        if exact:
            return np.array([Fraction(1, K)] * K + [None], dtype=object)[:-1]
        return np.full(K, 1.0 / K)
    w = _as_array("mu.weights", weights, exact, 1)
    if w.shape != (K,):
        raise ShapeError("mu.weights", w.shape, f"one weight per item ({K})",
                         "give K weights")
    if any(x <= 0 for x in w):
        raise ShapeError("mu.weights", list(w), "every weight > 0 (μ has full support)",
                         "give each item positive weight")
    total = sum(w)
    if (exact and total != 1) or (not exact and abs(total - 1.0) > 1e-12):
        raise ShapeError("mu.weights", total, "weights summing to 1",
                         "normalise the weights")
    return w if exact else w / total


def _order(order, n: int) -> tuple[int, ...]:
    order = tuple(range(n)) if order is None else tuple(int(i) for i in order)
    if sorted(order) != list(range(n)):
        raise ShapeError("order", order, f"a permutation of 0..{n - 1}",
                         "list every agent index once, first mover first")
    return order


def _default_tol(V: np.ndarray, exact: bool, tol):
    if exact:
        return Fraction(0) if tol is None else _fraction("tol", tol)
    return 1e-10 * (1.0 + float(np.max(np.abs(V)))) if tol is None else float(tol)


def _suffix_welfare(V: np.ndarray, order: tuple[int, ...]) -> list[np.ndarray]:
    """``[W_1, ..., W_{n+1}]`` with ``W_k(y) = Σ_{j >= k} V[y, π_j]`` (each (K,))."""
    zero = V[:, 0] * 0
    out = [zero]
    for agent in reversed(order):
        out.append(out[-1] + V[:, agent])
    return out[::-1]


def equalising_schedules(values, weights=None, order=None, *, exact: bool = False) -> np.ndarray:
    """Equalising schedules ``p_k* = W_{k+1} - ∫ W_{k+1} dμ``, stages 1..n-1: (n-1, K)."""
    V = _as_array("values", values, exact, 2)
    w = _weights(weights, V.shape[0], exact)
    order = _order(order, V.shape[1])
    Wk = _suffix_welfare(V, order)
    return np.stack([Wk[k] - np.dot(w, Wk[k]) for k in range(1, V.shape[1])])


def perturbed_schedules(values, target: int, epsilon, weights=None, order=None, *,
                        exact: bool = False) -> np.ndarray:
    """ε-perturbed equalising schedules that make ``target`` the unique best reply: (n-1, K)."""
    V = _as_array("values", values, exact, 2)
    w = _weights(weights, V.shape[0], exact)
    eps = _fraction("epsilon", epsilon) if exact else float(epsilon)
    bump = np.array([eps * (y != target) for y in range(V.shape[0])] + [None],
                    dtype=object)[:-1] if exact else eps * (np.arange(V.shape[0]) != target)
    bump = bump - eps * (1 - w[target])
    return equalising_schedules(V, w, order, exact=exact) + bump


def chooser_best_reply(values, prices, agent: int, *, tol=None) -> tuple[int, ...]:
    """Items maximising ``V[y, agent] - prices(y)`` (within ``tol``), ascending.

    ``tol`` defaults to 0 for Fraction values and ``1e-10 (1 + max |V|)`` for floats.
    """
    exact = _is_exact(values)
    V = np.asarray(values, dtype=object if exact else float)
    tol = _default_tol(V, exact, tol)
    net = V[:, agent] - np.asarray(prices, dtype=V.dtype)
    best = max(net)
    return tuple(int(y) for y in range(len(net)) if net[y] >= best - tol)


def _is_exact(a) -> bool:
    arr = np.asarray(a, dtype=object)
    return arr.size > 0 and isinstance(arr.ravel()[0], Fraction)


def poster_payoff(values, order, stage: int, schedule, previous=None, *, tol=None):
    """Payoff of the poster at ``stage`` (1..n-1) posting ``schedule`` against ``previous``.

    The later stages play the subgame-perfect continuation: the outcome
    maximises ``W_{k+1} - p_k`` (spec §7), ties resolved in the poster's favour.

    Parameters
    ----------
    values : array_like, shape (K, n)
    order : tuple of int
    stage : int
        ``k`` in ``1..n-1``.
    schedule : array_like, shape (K,)
        ``p_k``.
    previous : array_like, shape (K,), optional
        ``p_{k-1}`` (zeros at stage 1).
    tol : number, optional
        Tie tolerance (default as in :func:`chooser_best_reply`).

    Returns
    -------
    payoff : number
    item : int
        The continuation's outcome.
    """
    exact = _is_exact(values)
    V = np.asarray(values, dtype=object if exact else float)
    order = _order(order, V.shape[1])
    tol = _default_tol(V, exact, tol)
    if not 1 <= stage < V.shape[1]:
        raise ShapeError("stage", stage, f"a posting stage 1..{V.shape[1] - 1}",
                         "the last stage chooses; it posts nothing")
    p = np.asarray(schedule, dtype=V.dtype)
    q = V[:, 0] * 0 if previous is None else np.asarray(previous, dtype=V.dtype)

    Wk = _suffix_welfare(V, order)
    continuation = Wk[stage] - p
    own = V[:, order[stage - 1]] + p - q
    best = max(continuation)
    replies = [y for y in range(V.shape[0]) if continuation[y] >= best - tol]
    item = max(replies, key=lambda y: (own[y], -y))
    return own[item], int(item)


@dataclass(frozen=True, eq=False)
class FiniteGameOutcome:
    """Subgame-perfect outcome of price-and-choose on a finite menu.

    Attributes
    ----------
    values : ndarray (K, n)
    weights : ndarray (K,)
    order : tuple of int
    epsilon : number
    exact : bool
        True: every number is a :class:`fractions.Fraction`.
    chosen : int
        The item chosen.
    efficient : tuple of int
        All items maximising ``W`` (ascending).
    schedules : ndarray (n-1, K)
        Posted prices of stages 1..n-1.
    stage_payoffs, cash : ndarray (n,)
        By stage (index ``k-1``); ``cash`` sums to zero.
    agent_payoffs, agent_cash : ndarray (n,)
        The same by agent index.
    welfare : number
        ``W(chosen)``.
    mu_integrals : ndarray (n,)
        ``∫ U_i dμ`` by agent.
    surplus : number
        ``max W - Σ_i ∫ U_i dμ``.
    poster_bounds : ndarray (n-1,)
        ``B_k``, the most stage ``k`` can get against ``p_{k-1}`` with any
        normalised schedule; ``poster_bounds - stage_payoffs[:-1]`` is the gap.
    tol : number
        Tie tolerance used (0 in exact mode).
    method : str
    """

    values: np.ndarray
    weights: np.ndarray
    order: tuple[int, ...]
    epsilon: object
    exact: bool
    chosen: int
    efficient: tuple[int, ...]
    schedules: np.ndarray
    stage_payoffs: np.ndarray
    cash: np.ndarray
    agent_payoffs: np.ndarray
    agent_cash: np.ndarray
    welfare: object
    mu_integrals: np.ndarray
    surplus: object
    poster_bounds: np.ndarray
    tol: object
    method: str = "equalising schedules, backward induction, ties toward efficient items"

    @property
    def poster_gaps(self) -> np.ndarray:
        """``B_k - payoff_k`` per posting stage (>= 0; 0 when ``ε = 0``)."""
        return self.poster_bounds - self.stage_payoffs[:-1]


def _efficient(W: np.ndarray, tol) -> tuple[int, ...]:
    best = max(W)
    return tuple(int(y) for y in range(len(W)) if W[y] >= best - tol)


def _choose(V, W, prices, chooser, target, tol) -> int:
    """The chooser's best reply, ties toward efficient items (target first, then lowest)."""
    replies = chooser_best_reply(V, prices, chooser, tol=tol)
    top = max(W[y] for y in replies)
    preferred = [y for y in replies if W[y] >= top - tol]
    return target if target in preferred else preferred[0]


def _stage_payoffs(V, order, schedules, item):
    n = V.shape[1]
    zero = V[item, 0] * 0
    posted = [zero] + [schedules[k][item] for k in range(n - 1)] + [zero]
    cash = np.array([posted[k + 1] - posted[k] for k in range(n)] + [None], dtype=object)[:-1]
    pay = np.array([V[item, order[k]] + cash[k] for k in range(n)] + [None], dtype=object)[:-1]
    return pay, cash


def _bounds(V, w, order, schedules):
    n = V.shape[1]
    Wk = _suffix_welfare(V, order)
    out = []
    for k in range(1, n):
        previous = V[:, 0] * 0 if k == 1 else schedules[k - 2]
        out.append(max(Wk[k - 1] - previous) - np.dot(w, Wk[k]))
    return out


def _by_agent(by_stage, order):
    out = [None] * len(order)
    for k, agent in enumerate(order):
        out[agent] = by_stage[k]
    return out


def _finish(arr, exact: bool) -> np.ndarray:
    a = np.array(list(arr) + [None], dtype=object)[:-1] if exact else np.array(arr, dtype=float)
    a.setflags(write=False)
    return a


def solve_finite_game(values, weights=None, order=None, epsilon=0, exact: bool = False, *,
                      target: int | None = None, tol=None) -> FiniteGameOutcome:
    """Subgame-perfect outcome of price-and-choose on a finite menu.

    Parameters
    ----------
    values : array_like, shape (K, n)
        ``V[y, i] = U_i(item y)``; floats, ints or Fractions.
    weights : array_like, shape (K,), optional
        μ's weights on the items (positive, summing to one); equal by default.
    order : sequence of int, optional
        Agent indices in order of moves (default ``0..n-1``).
    epsilon : number
        Perturbation ``ε >= 0`` that makes the target the unique best reply.
    exact : bool
        Work in :class:`fractions.Fraction` (all outputs are Fractions).
    target : int, optional
        Efficient item to select (default: the lowest-index efficient item).
    tol : number, optional
        Tie tolerance (exact: 0; float: ``1e-10 (1 + max |V|)``).

    Returns
    -------
    FiniteGameOutcome

    Raises
    ------
    ShapeError
        Bad values, weights, order or ε.
    TooFewAgentsError
        ``n < 2``.
    MenuError
        ``target`` is not an efficient item.
    """
    V = _as_array("values", values, exact, 2)
    K, n = V.shape
    if n < 2:
        raise TooFewAgentsError("values", n, "n >= 2 agents (columns)",
                                "give one column per agent")
    w = _weights(weights, K, exact)
    order = _order(order, n)
    eps = _fraction("epsilon", epsilon) if exact else float(epsilon)
    if eps < 0:
        raise ShapeError("epsilon", epsilon, "ε >= 0", "use a small positive ε or 0")
    tol = _default_tol(V, exact, tol)

    W = V.sum(axis=1)
    efficient = _efficient(W, tol)
    target = efficient[0] if target is None else int(target)
    if target not in efficient:
        raise MenuError("target", target, f"an efficient item {efficient}",
                        "pick an item that maximises welfare")

    schedules = perturbed_schedules(V, target, eps, w, order, exact=exact)
    chosen = _choose(V, W, schedules[-1], order[-1], target, tol)
    pay, cash = _stage_payoffs(V, order, schedules, chosen)

    mu = [np.dot(w, V[:, i]) for i in range(n)]
    schedules = _finish(schedules.ravel(), exact).reshape(schedules.shape)
    schedules.setflags(write=False)
    return FiniteGameOutcome(
        values=_finish(V.ravel(), exact).reshape(V.shape), weights=_finish(w, exact),
        order=order, epsilon=eps, exact=exact, chosen=chosen, efficient=efficient,
        schedules=schedules, stage_payoffs=_finish(pay, exact), cash=_finish(cash, exact),
        agent_payoffs=_finish(_by_agent(pay, order), exact),
        agent_cash=_finish(_by_agent(cash, order), exact), welfare=W[chosen],
        mu_integrals=_finish(mu, exact), surplus=max(W) - sum(mu),
        poster_bounds=_finish(_bounds(V, w, order, schedules), exact), tol=tol)


def finite_values(items, utilities: Sequence) -> np.ndarray:
    """``V[y, i] = U_i(items[y, i])`` for items (K, n, m) and n monetary utilities."""
    A = np.asarray(items, dtype=float)
    if A.ndim != 3 or A.shape[1] != len(utilities):
        raise ShapeError("menu.items", A.shape, f"(K, {len(utilities)}, m)",
                         "give one utility per agent")
    return np.stack([np.asarray(u.value(A[:, i, :]), dtype=float)
                     for i, u in enumerate(utilities)], axis=1)
