r"""``maximise_welfare``: choose a method, solve, certify, describe the efficient set.

Notation: agents ``i`` with monetary utilities ``U_i`` and weights ``w_i >= 0``;
``W(Y) = sum_i w_i U_i(Y_i)`` is maximised over a menu (spec §3-4).

Methods (``method="auto"`` picks the first that applies):

* ``"enumeration"``: finite menus, every item evaluated (exact, ties reported);
* ``"greedy"``: sign menu, losses only, every agent an expectation or a box with
  ``lo = 0`` (expected shortfall): a closed-form fill (:mod:`._separable`);
* ``"newton"``: sign menu, entropic and expectation agents: Newton's method on the
  ``n`` cash levels with one water-filling per state (:mod:`._separable`); with box
  agents too when asked for by name (their kinks are smoothed and the smoothing is
  decreased in stages, much slower than ``"ipm"`` on such pools);
* ``"active-set"``: sign menu, box and linear agents only (interval sets, density
  bands, contamination, expected shortfall with gains): a smoothed dual in the ``n``
  budget multipliers locates the few states whose split is in doubt, then an exact
  LP restricted to them (:mod:`._activeset`); falls back to ``"ipm"`` if its
  certificate does not close;
* ``"ipm"``: sign menu, any mix of expectation, box (expected shortfall, interval,
  density band, contamination), entropic and KL-ball agents: a primal-dual
  interior-point method whose Newton systems reduce to ``n x n`` (:mod:`._ipm`); other
  utilities enter as the convex hull of their supergradients, grown round by round
  (not chosen by ``auto`` for small pools with a non-polyhedral such utility, where
  the LP below converges faster);
* ``"barrier"``: any block menu, entropic and expectation agents: a primal barrier
  method on the block shares with exact Hessians (:mod:`._barrier`);
* ``"lp"``: anything else (comonotone menu, lifted credal polytopes, distortions,
  KL balls, max-min entropic): the pricing LP solved by HiGHS, with columns of
  supergradients for utilities that have no credal polytope (:mod:`._lp`).

Whatever the method, the result is certified by :func:`certify`, which shares no
code with the solvers.
"""

from __future__ import annotations

import time

import numpy as np

from .._errors import UnsupportedError
from ..menus import BlockMenu, FiniteMenu, Menu, SignMenu
from ._activeset import activeset_applies, activeset_solve
from ._agents import AgentKind, check_utilities, check_weights, classify
from ._barrier import barrier_applies, barrier_solve
from ._certificate import certify, welfare_scale
from ._ipm import ipm_solve
from ._lp import lp_solve
from ._results import EfficientAllocation
from ._separable import (
    SeparableProblem,
    SeparableSolution,
    greedy_applies,
    greedy_solve,
    newton_solve,
)
from ._uniqueness import classify_block_optimum, classify_finite_optimum

__all__ = ["maximise_welfare", "METHODS"]

METHODS = ("auto", "enumeration", "greedy", "newton", "active-set", "ipm", "barrier", "lp")


def maximise_welfare(utilities, menu: Menu, *, weights=None, method: str = "auto",
                     rtol: float = 1e-9, time_limit: float | None = None) -> EfficientAllocation:
    """Maximise ``W = sum_i w_i U_i(Y_i)`` over a menu and certify the result.

    Parameters
    ----------
    utilities : sequence of MonetaryUtility
        One bound utility per agent (``n`` of them).
    menu : SignMenu, ComonotoneMenu or FiniteMenu
        The menu of allocations.
    weights : array_like, shape (n,), optional
        Welfare weights ``w_i >= 0``; default all ones.
    method : str
        ``"auto"`` or one of ``"enumeration"``, ``"greedy"``, ``"newton"``,
        ``"ipm"``, ``"lp"`` (see the module docstring).
    rtol : float
        Target relative gap; ``certified`` is ``relative_gap <= rtol``.
    time_limit : float, optional
        Seconds allowed to the solver (the certificate comes on top).

    Returns
    -------
    EfficientAllocation

    Raises
    ------
    UnsupportedError
        When the method asked for does not apply to this pool and menu.
    ShapeError, UtilityParameterError
        For utilities or weights that do not fit the menu.
    """
    start = time.perf_counter()
    us = check_utilities(utilities, menu.m, menu.n)
    w = check_weights(weights, menu.n)
    _check_method(method, rtol)
    if isinstance(menu, FiniteMenu):
        return _finite(us, menu, w, method, rtol, start)
    if menu.n_blocks == 0:
        return _single_point(us, menu, w, rtol, start)
    kinds = [classify(u) for u in us]
    chosen = _choose(us, kinds, menu, w, method)
    scale = welfare_scale(us, menu, w)
    Y, Q, status, iterations, message, answered = _run(chosen, us, kinds, menu, w, rtol,
                                                       scale, time_limit)
    chosen = answered or chosen
    del kinds                     # per-agent bounds (n x m for boxes): not needed below
    cert = certify(us, menu, Y, Q, weights=w, _reuse=True, _scale=scale)
    del Q
    uniqueness, ties = classify_block_optimum(us, menu, Y, lambda: menu.shares(Y),
                                              cert.priors, w, cert.welfare, scale)
    seconds = time.perf_counter() - start
    return EfficientAllocation(
        method=chosen, allocation=Y, welfare=cert.welfare,
        upper_bound=cert.upper_bound, gap=cert.gap, relative_gap=cert.relative_gap,
        status=status, seconds=seconds, supergradients=cert.priors, uniqueness=uniqueness,
        ties=ties, iterations=iterations, certified=bool(cert.relative_gap <= rtol),
        tolerance=rtol, weights=w, certificate=cert, message=message, menu=menu)


def _check_method(method: str, rtol: float) -> None:
    if method not in METHODS:
        raise UnsupportedError("method", method, f"one of {', '.join(METHODS)}",
                               'use method="auto"')
    if not np.isfinite(rtol) or rtol <= 0:
        raise UnsupportedError("rtol", rtol, "a relative tolerance > 0", "use e.g. 1e-9")


def _choose(us, kinds, menu: BlockMenu, w: np.ndarray, method: str) -> str:
    """The method for a block menu (see the module docstring)."""
    sign = isinstance(menu, SignMenu)
    separable = sign and all(k.kind in ("linear", "box", "entropic") for k in kinds)
    boxes = False
    options = []
    if separable:
        problem = SeparableProblem(kinds, np.maximum(w, 0.0), menu.aggregate)
        if greedy_applies(problem) and np.all(w > 0):
            options.append("greedy")
        boxes = any(k.kind == "box" for k in kinds)
        if not boxes:
            options.append("newton")
        elif activeset_applies(problem):
            options.append("active-set")
    general = [u for u, k in zip(us, kinds, strict=True) if k.kind == "general"]
    smooth_general = any(not u.polyhedral for u in general)
    small = menu.n * menu.m <= 50_000
    if sign and np.all(w > 0) and menu.n_blocks > 0 and not (smooth_general and small):
        options.append("ipm")
    if separable and boxes:
        options.append("newton")     # smoothed boxes: available on request, slower
    if barrier_applies(us, menu, w):
        options.append("barrier")
    options.append("lp")
    if method == "auto":
        return options[0]
    if method == "enumeration" or method not in options:
        raise UnsupportedError("method", method,
                               f"for this pool and menu one of {', '.join(options)}",
                               'use method="auto"')
    return method


def _run(method, us, kinds, menu, w, rtol, scale, time_limit):
    """Run a block-menu method; returns ``(Y, Q, status, iterations, message, method)``
    where ``method`` is the one that answered when it differs from the one asked
    (else ``""``)."""
    if method == "lp":
        sol = lp_solve(us, menu, w, target=0.1 * rtol, scale=scale, time_limit=time_limit)
        return sol.allocation, sol.priors, sol.status, sol.iterations, sol.message, ""
    if method == "barrier":
        sol = barrier_solve(us, menu, w, target=0.1 * rtol, scale=scale, time_limit=time_limit)
        return sol.allocation, sol.priors, sol.status, sol.iterations, sol.message, ""
    def check(Y, Q):
        return certify(us, menu, Y, Q, weights=w).relative_gap

    if method == "ipm" and any(k.kind == "general" for k in kinds):
        sol = _ipm_columns(us, kinds, menu, w, rtol, scale, time_limit)
        return sol.allocation, sol.priors, sol.status, sol.iterations, sol.message, ""
    sol = _separable(method, us, kinds, menu, w, rtol, scale, time_limit, check)
    return sol.allocation, sol.priors, sol.status, sol.iterations, sol.message, sol.method


def _separable(method, us, kinds, menu, w, rtol, scale, time_limit,
               check=None) -> SeparableSolution:
    """Separable methods; agents of weight 0 absorb every loss at no cost."""
    x = menu.aggregate
    live = w > 0
    if np.all(live):
        problem = SeparableProblem(kinds, w, x)
        return _separable_run(method, problem, rtol, scale, time_limit, check)
    sink = int(np.flatnonzero(~live)[0])
    Y = np.zeros((menu.n, menu.m))
    Y[sink] = np.minimum(x, 0.0)
    Q = np.array([np.asarray(u.supergradient(Y[i]), float) for i, u in enumerate(us)])
    message = f"losses to agent {sink} (weight 0)"
    status, iterations = "optimal", 0
    if np.any(live) and np.any(x > 0):
        sub = SeparableProblem([kinds[i] for i in np.flatnonzero(live)], w[live],
                               np.maximum(x, 0.0))
        inner = "newton" if method == "greedy" else method
        if inner == "newton" and sub.box.size:
            inner = "ipm"
        sol = _separable_run(inner, sub, rtol, scale, time_limit)
        Y[live] = sol.allocation
        Q[live] = sol.priors
        status, iterations = sol.status, sol.iterations
        message += "; gains: " + sol.message
    elif not np.any(live):
        message = "every weight is 0: any allocation is efficient"
    return SeparableSolution(Y, Q, status, iterations, 0.0, message)


def _separable_run(method, problem, rtol, scale, time_limit, check=None) -> SeparableSolution:
    if method == "greedy":
        return greedy_solve(problem)
    if method == "active-set":
        sol = activeset_solve(problem, target=0.5 * rtol, scale=scale, time_limit=time_limit)
        if check is None or check(sol.allocation, sol.priors) <= rtol:
            return sol
        left = None if time_limit is None else max(time_limit - sol.seconds, 0.0)
        fallback = ipm_solve(problem, target=0.5 * rtol, scale=scale, time_limit=left,
                             check=check)
        fallback.message = (f"active-set did not certify ({sol.message}), "
                            f"so: {fallback.message}")
        fallback.method = "ipm"
        return fallback
    if method == "newton":
        return newton_solve(problem, target=0.1 * rtol, scale=scale, time_limit=time_limit)
    return ipm_solve(problem, target=0.5 * rtol, scale=scale, time_limit=time_limit,
                     check=check)


def _ipm_columns(us, kinds, menu, w, rtol, scale, time_limit,
                 max_rounds: int = 60) -> SeparableSolution:
    """Interior point with the utilities that are not state-separable as hull agents:
    the convex hull of their supergradients at the allocations met so far (Kelley's
    outer approximation), grown round by round until the certificate closes."""
    start = time.perf_counter()
    general = [i for i, k in enumerate(kinds) if k.kind == "general"]
    columns = {i: [] for i in general}
    seeds = [menu.allocation(np.full((menu.n, menu.n_blocks), 1.0 / menu.n)),
             np.zeros((menu.n, menu.m))]
    for Y in seeds:
        _collect(us, general, columns, Y)
    best_Y, best_W, best_Q, gap, rounds = None, -np.inf, None, np.inf, 0
    status = "iteration limit"
    for count in range(1, max_rounds + 1):
        rounds = count
        trial = list(kinds)
        for i in general:
            C = np.array([q for q, _ in columns[i]])
            p = np.array([pen for _, pen in columns[i]])
            trial[i] = AgentKind("hull", lo=C, hi=p)
        inner = max(0.5 * rtol, 0.01 * gap) if np.isfinite(gap) else 1e-4
        sol = ipm_solve(SeparableProblem(trial, w, menu.aggregate), target=inner, scale=scale)
        Y = sol.allocation
        W = float(sum(w[i] * float(u.value(Y[i])) for i, u in enumerate(us)))
        if W > best_W:
            best_Y, best_W = Y, W
        for Q in (sol.priors, _own_supergradients(us, general, best_Y, sol.priors)):
            cert = certify(us, menu, best_Y, Q, weights=w)
            if cert.relative_gap < gap:
                gap, best_Q = cert.relative_gap, Q
        if gap <= rtol:
            status = "optimal"
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            status = "time limit"
            break
        _collect(us, general, columns, Y)
        _collect(us, general, columns, 0.5 * (Y + best_Y))
        _collect(us, general, columns, _price_tilted(Y, sol.priors, w, menu.aggregate))
    message = (f"interior point with supergradient columns for {len(general)} agent(s): "
               f"{rounds} round(s), {sum(len(c) for c in columns.values())} columns")
    return SeparableSolution(best_Y, best_Q, status, rounds, time.perf_counter() - start,
                             message)


def _own_supergradients(us, general, Y, Q) -> np.ndarray:
    """``Q`` with the rows of the general agents replaced by their supergradients at ``Y``
    (whose penalties the utilities know exactly)."""
    out = Q.copy()
    for i in general:
        out[i] = np.asarray(us[i].supergradient(Y[i]), float)
    return out


def _price_tilted(Y, Q, w, x) -> np.ndarray:
    """``Y`` lowered a little where the states are dear (ties in ``Y_i`` broken by the
    state prices, keeping the strict order): its supergradients are the vertices of a
    polyhedral agent's credal set that the pricing problem asks for."""
    price = np.where(x < 0, (w[:, None] * Q).min(axis=0), (w[:, None] * Q).max(axis=0))
    price = price / max(float(np.abs(price).max()), 1e-300)
    out = np.empty_like(Y)
    for i, y in enumerate(Y):
        gaps = np.diff(np.unique(y))
        step = 0.25 * float(gaps.min()) if gaps.size else 1.0
        out[i] = y - step * price
    return out


def _collect(us, general, columns, Y) -> None:
    """Add the supergradient of each general agent at ``Y_i`` (with its penalty)."""
    for i in general:
        q = np.asarray(us[i].supergradient(Y[i]), float)
        penalty = max(float(us[i].value(Y[i])) - float(np.dot(q, Y[i])), 0.0)
        columns[i].append((q, penalty))


def _single_point(us, menu: BlockMenu, w, rtol, start) -> EfficientAllocation:
    """The aggregate is zero in every state: the only allocation is 0 (exact)."""
    Y = np.zeros((menu.n, menu.m))
    Q = np.array([np.asarray(u.supergradient(Y[i]), float) for i, u in enumerate(us)])
    cert = certify(us, menu, Y, Q, weights=w)
    return EfficientAllocation(
        method="enumeration", allocation=Y, welfare=cert.welfare,
        upper_bound=cert.upper_bound, gap=cert.gap, relative_gap=cert.relative_gap,
        status="optimal", seconds=time.perf_counter() - start, supergradients=cert.priors,
        uniqueness="point", ties=(), iterations=0,
        certified=bool(cert.relative_gap <= rtol), tolerance=rtol, weights=w,
        certificate=cert, menu=menu,
        message="the aggregate is zero in every state: the menu is the single allocation 0")


def _finite(us, menu: FiniteMenu, w, method, rtol, start) -> EfficientAllocation:
    """Exact argmax over the items of a finite menu."""
    if method not in ("auto", "enumeration"):
        raise UnsupportedError("method", method, 'a finite menu is solved by "enumeration"',
                               'use method="auto"')
    totals = np.zeros(menu.size)
    for i, u in enumerate(us):
        if w[i] > 0:
            totals += w[i] * np.asarray(u.value(menu.items[:, i, :]), float)
    best = int(np.argmax(totals))
    Y = menu.items[best].copy()
    Q = np.array([np.asarray(u.supergradient(Y[i]), float) for i, u in enumerate(us)])
    cert = certify(us, menu, Y, Q, weights=w)
    tol = 1e-12 * max(abs(cert.welfare), cert.scale, 1e-300)
    uniqueness, ties = classify_finite_optimum(menu, totals, best, tol)
    seconds = time.perf_counter() - start
    message = f"enumeration of {menu.size} item(s)"
    return EfficientAllocation(
        method="enumeration", allocation=Y, welfare=cert.welfare,
        upper_bound=cert.upper_bound, gap=cert.gap, relative_gap=cert.relative_gap,
        status="optimal", seconds=seconds, supergradients=cert.priors, uniqueness=uniqueness,
        ties=ties, iterations=menu.size, certified=bool(cert.relative_gap <= rtol),
        tolerance=rtol, weights=w, certificate=cert, message=message, menu=menu, item=best)
