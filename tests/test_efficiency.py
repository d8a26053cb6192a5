"""Welfare maximisation over the menus (spec §4): closed forms, brute force, invariances.

Reference values: the closed forms listed at the end of spec §4 (MECHANISM.md), the
entropic one being the paper's Example 1. The brute-force check evaluates W on a
grid of the menu's shares with the utilities' own ``value``.
"""

import itertools

import numpy as np
import pytest

from riskshare import ComonotoneMenu, FiniteMenu, SignMenu, UnsupportedError
from riskshare.efficiency import maximise_welfare
from riskshare.utilities import (
    Contamination,
    DensityBand,
    Distortion,
    Entropic,
    Expectation,
    ExpectedShortfall,
    FinitePriors,
    IntervalSet,
    KLBall,
    MaxMin,
    PowerDistortion,
    WangDistortion,
)

MENUS = [SignMenu, ComonotoneMenu]


def _pool(seed, m, zero=True, gain=True):
    rng = np.random.default_rng(seed)
    X = -rng.gamma(1.0, 2.0, m)
    if zero:
        X[0] = 0.0
    if gain:
        X[1] = 1.5
    P = rng.dirichlet(np.full(m, 2.0))
    return rng, X, P


# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("menu_cls", MENUS, ids=["sign", "comonotone"])
def test_entropic_common_prior_closed_form(menu_cls):
    _, X, P = _pool(1, 7)
    gammas = np.array([0.7, 1.5, 3.0])
    us = [Entropic(g, prior=P) for g in gammas]
    G = gammas.sum()
    r = maximise_welfare(us, menu_cls(X, 3))
    W_star = -G * np.log(P @ np.exp(-X / G))
    assert r.certified
    assert r.relative_gap <= 1e-7
    assert r.welfare == pytest.approx(W_star, rel=1e-7, abs=1e-9)
    # Y_i = (gamma_i / Gamma) X up to cash; X(0) = 0 forbids cash: the point itself
    np.testing.assert_allclose(r.allocation, np.outer(gammas / G, X), atol=1e-5)
    assert r.upper_bound >= W_star - 1e-9


def test_entropic_common_prior_is_up_to_cash_without_zero_states():
    _, X, P = _pool(2, 6, zero=False, gain=False)
    gammas = np.array([1.0, 2.0, 4.0])
    r = maximise_welfare([Entropic(g, prior=P) for g in gammas], SignMenu(X, 3))
    assert r.relative_gap <= 1e-9
    offset = r.allocation - np.outer(gammas / gammas.sum(), X)
    np.testing.assert_allclose(offset, offset[:, :1] * np.ones_like(offset), atol=1e-7)
    assert r.uniqueness == "up to cash"


def test_entropic_own_priors_against_attainable_bound():
    rng, X, P = _pool(3, 8, zero=False)
    gammas = np.array([0.8, 1.6, 2.4])
    G = gammas.sum()
    # priors built so that interior shares s_i(ω) are optimal on the attainable set
    S = rng.dirichlet(np.ones(3), size=X.size).T
    priors = P * np.exp(S * X / gammas[:, None])
    priors /= priors.sum(axis=1, keepdims=True)
    bound = -G * np.log(np.sum(np.prod(priors ** (gammas[:, None] / G), axis=0)
                               * np.exp(-X / G)))
    us = [Entropic(g, prior=q) for g, q in zip(gammas, priors, strict=True)]
    r = maximise_welfare(us, SignMenu(X, 3))
    assert r.relative_gap <= 1e-9
    assert r.welfare == pytest.approx(bound, rel=1e-9)
    # a prior tilted far from the others makes the sign constraint bind: strictly below
    far = priors.copy()
    far[0] = P * np.exp(3.0 * X / gammas[0] * (X < 0))
    far[0] /= far[0].sum()
    bound_far = -G * np.log(np.sum(np.prod(far ** (gammas[:, None] / G), axis=0)
                                   * np.exp(-X / G)))
    r_far = maximise_welfare([Entropic(g, prior=q) for g, q in zip(gammas, far, strict=True)],
                             SignMenu(X, 3))
    assert r_far.upper_bound <= bound_far + 1e-9
    assert r_far.welfare < bound_far - 1e-6


@pytest.mark.parametrize("weights", [None, [1.0, 0.6, 1.4]], ids=["equal", "weighted"])
def test_expectation_own_priors_per_state_winner(weights):
    rng, X, _ = _pool(4, 9)
    priors = rng.dirichlet(np.ones(9), size=3)
    w = np.ones(3) if weights is None else np.asarray(weights)
    r = maximise_welfare([Expectation(prior=q) for q in priors], SignMenu(X, 3), weights=weights)
    value = w[:, None] * priors
    winner = np.where(X < 0, value.argmin(axis=0), value.argmax(axis=0))
    expected = np.zeros((3, 9))
    expected[winner, np.arange(9)] = X
    np.testing.assert_allclose(r.allocation, expected, atol=1e-12)
    assert r.welfare == pytest.approx(np.sum(X * np.where(X < 0, value.min(0), value.max(0))))
    assert r.relative_gap <= 1e-12
    assert r.uniqueness == "point"


def test_distortions_on_comonotone_menu_per_layer_winner():
    _, X, _ = _pool(5, 10, zero=False, gain=False)
    P = np.full(10, 0.1)
    exponents = [0.4, 0.6, 0.85]
    us = [Distortion(PowerDistortion(r), prior=P) for r in exponents]
    menu = ComonotoneMenu(X, 3)
    r = maximise_welfare(us, menu)
    lower = menu.layer_bounds[:, 0]
    tail = np.array([P[X <= a].sum() for a in lower])
    weights = np.array([tail ** e for e in exponents])
    expected = -np.sum(menu.block_scale * weights.min(axis=0))
    assert r.welfare == pytest.approx(expected, rel=1e-10)
    winners = weights.argmin(axis=0)
    np.testing.assert_allclose(r.shares[winners, np.arange(menu.n_blocks)], 1.0, atol=1e-8)


# ------------------------------------------------------------------ every family
def _family(name, i, P, rng):
    m = P.size
    centre = rng.dirichlet(np.full(m, 3.0))
    return {
        "expectation": lambda: Expectation(prior=rng.dirichlet(np.ones(m))),
        "entropic": lambda: Entropic(0.5 + i, prior=rng.dirichlet(np.full(m, 3.0))),
        "shortfall": lambda: ExpectedShortfall(0.2 + 0.15 * (i % 5), prior=P),
        "power": lambda: Distortion(PowerDistortion(0.5 + 0.2 * i), prior=P),
        "wang": lambda: Distortion(WangDistortion(0.3 * (i + 1)), prior=P),
        "finite": lambda: MaxMin(Expectation(), FinitePriors(rng.dirichlet(np.ones(m), 3))),
        "interval": lambda: MaxMin(Expectation(), IntervalSet(0.5 * P, np.minimum(1, 1.8 * P))),
        "contamination": lambda: MaxMin(Expectation(), Contamination(0.1 * (i + 1), centre)),
        "band": lambda: MaxMin(Expectation(), DensityBand(0.4, 1.5 + i)),
        "kl": lambda: MaxMin(Expectation(), KLBall(0.05 * (i + 1))),
        "maxmin-shortfall": lambda: MaxMin(ExpectedShortfall(0.4), DensityBand(0.5, 2.0)),
    }[name]().bind(P)


FAMILIES = ["expectation", "entropic", "shortfall", "power", "wang", "finite", "interval",
            "contamination", "band", "kl", "maxmin-shortfall"]


@pytest.mark.parametrize("menu_cls", MENUS, ids=["sign", "comonotone"])
@pytest.mark.parametrize("family", FAMILIES)
def test_certified_gap_every_family(family, menu_cls):
    rng, X, P = _pool(6, 7)
    us = [_family(family, i, P, rng) for i in range(3)]
    r = maximise_welfare(us, menu_cls(X, 3))
    assert menu_cls(X, 3).contains(r.allocation)
    assert r.relative_gap <= 1e-7, r.message
    assert r.gap >= -1e-12 * max(1.0, abs(r.welfare))


@pytest.mark.parametrize("seed", range(4))
def test_certified_gap_mixed_pools(seed):
    rng, X, P = _pool(10 + seed, 40)
    names = ["entropic", "interval", "shortfall", "band", "expectation", "contamination"]
    us = [_family(names[(seed + i) % len(names)], i, P, rng) for i in range(6)]
    r = maximise_welfare(us, SignMenu(X, 6))
    assert r.method in ("ipm", "newton")
    assert r.relative_gap <= 1e-9
    assert r.certified


# ------------------------------------------------------------------ brute force
def _grid_best(us, menu, steps):
    """Largest W over every allocation whose block shares are multiples of 1/steps."""
    n, B = menu.n, menu.n_blocks
    simplex = np.array([c for c in itertools.product(range(steps + 1), repeat=n)
                        if sum(c) == steps], float) / steps            # (K, n)
    pick = np.array(list(itertools.product(range(len(simplex)), repeat=B)))  # (K^B, B)
    S = simplex[pick].transpose(0, 2, 1)                               # (K^B, n, B)
    Y = menu.allocation(S)
    W = sum(np.asarray(u.value(Y[:, i]), float) for i, u in enumerate(us))
    return float(W.max())


@pytest.mark.parametrize("menu_cls", MENUS, ids=["sign", "comonotone"])
@pytest.mark.parametrize("case", ["entropic", "shortfall", "mixed"])
def test_brute_force_grid(case, menu_cls):
    rng = np.random.default_rng(20)
    X = np.array([-3.0, -1.0, 2.0])
    P = np.array([0.2, 0.5, 0.3])
    if case == "entropic":
        us = [Entropic(1.0, prior=P), Entropic(2.5, prior=rng.dirichlet(np.ones(3)))]
    elif case == "shortfall":
        us = [ExpectedShortfall(0.3, prior=P), ExpectedShortfall(0.7, prior=P),
              Expectation(prior=rng.dirichlet(np.ones(3)))]
    else:
        us = [Entropic(1.5, prior=P), MaxMin(Expectation(), DensityBand(0.5, 1.5)).bind(P),
              ExpectedShortfall(0.5, prior=rng.dirichlet(np.ones(3)))]
    menu = menu_cls(X, len(us))
    r = maximise_welfare(us, menu)
    grid = _grid_best(us, menu, 40 if len(us) == 2 else 10)
    assert r.welfare >= grid - 1e-9
    assert r.upper_bound >= grid - 1e-12


# ------------------------------------------------------------------ invariances
@pytest.mark.parametrize("factor", [100.0, 1e-6], ids=["cents", "millions"])
def test_rescaling_money(factor):
    rng, X, P = _pool(30, 30)
    us = [Entropic(2.0, prior=P), MaxMin(Expectation(), IntervalSet(0.6 * P, 1.5 * P)).bind(P),
          ExpectedShortfall(0.3, prior=rng.dirichlet(np.full(30, 4.0)))]
    base = maximise_welfare(us, SignMenu(X, 3))
    scaled = maximise_welfare([u.scaled(factor) for u in us], SignMenu(factor * X, 3))
    assert scaled.welfare == pytest.approx(factor * base.welfare, rel=1e-9)
    assert scaled.upper_bound == pytest.approx(factor * base.upper_bound, rel=1e-9)
    np.testing.assert_allclose(scaled.allocation, factor * base.allocation,
                               atol=1e-6 * factor * np.abs(X).max())
    assert scaled.relative_gap <= 1e-9 and base.relative_gap <= 1e-9
    assert scaled.uniqueness == base.uniqueness


def test_zero_aggregate_states_get_nothing():
    _, X, P = _pool(31, 12)
    X[[3, 7]] = 0.0
    us = [Entropic(1.0, prior=P), ExpectedShortfall(0.4, prior=P),
          MaxMin(Expectation(), Contamination(0.2)).bind(P)]
    for menu in (SignMenu(X, 3), ComonotoneMenu(X, 3)):
        r = maximise_welfare(us, menu)
        np.testing.assert_allclose(r.allocation[:, X == 0], 0.0, atol=1e-12)
        assert r.relative_gap <= 1e-7


# ------------------------------------------------------------------ efficient sets
def test_identical_expectations_form_a_face():
    _, X, P = _pool(40, 5, zero=False)
    r = maximise_welfare([Expectation(prior=P)] * 3, SignMenu(X, 3))
    assert r.uniqueness == "face"
    assert len(r.ties) == 5
    assert all(len(agents) >= 2 for _, agents in r.ties)


def test_shortfall_pool_deductible_is_a_face():
    _, X, P = _pool(41, 20, zero=False, gain=False)
    r = maximise_welfare([ExpectedShortfall(a, prior=P) for a in (0.1, 0.3, 0.5)],
                         SignMenu(X, 3))
    assert r.method == "greedy"
    assert r.uniqueness == "face"


def test_distinct_entropic_with_zero_state_is_a_point():
    _, X, P = _pool(42, 6)
    r = maximise_welfare([Entropic(1.0, prior=P), Entropic(3.0, prior=P)], SignMenu(X, 2))
    assert r.uniqueness == "point"


def test_zero_weight_agent_absorbs_losses():
    _, X, P = _pool(43, 8)
    us = [Entropic(1.0, prior=P), Entropic(2.0, prior=P), ExpectedShortfall(0.5, prior=P)]
    r = maximise_welfare(us, SignMenu(X, 3), weights=[1.0, 1.0, 0.0])
    np.testing.assert_allclose(r.allocation[2], np.minimum(X, 0.0), atol=1e-12)
    np.testing.assert_allclose(r.allocation[:2, X > 0].sum(axis=0), X[X > 0])
    assert r.relative_gap <= 1e-9


# ------------------------------------------------------------------ finite menus
def test_finite_menu_argmax_and_ties():
    P = np.array([0.5, 0.5])
    us = [Expectation(prior=P), Expectation(prior=P)]
    items = np.array([
        [[-1.0, -1.0], [0.0, 0.0]],
        [[-1.0, 0.0], [0.0, -1.0]],       # same welfare, a different risk split: a face
        [[-2.0, 0.0], [0.0, -1.0]],
    ])
    r = maximise_welfare(us, FiniteMenu(items))
    assert r.method == "enumeration" and r.shares == 0
    assert r.uniqueness == "face" and r.ties == (("items", (0, 1)),)
    assert r.gap == pytest.approx(0.0, abs=1e-15)
    cash = np.array([[[-1.0, -1.0], [0.0, 0.0]], [[-0.7, -0.7], [-0.3, -0.3]]])
    r_cash = maximise_welfare(us, FiniteMenu(cash))
    assert r_cash.uniqueness == "up to cash"


def test_finite_menu_single_best():
    P = np.array([0.3, 0.7])
    us = [Entropic(1.0, prior=P), ExpectedShortfall(0.5, prior=P)]
    items = np.random.default_rng(44).normal(size=(6, 2, 2))
    r = maximise_welfare(us, FiniteMenu(items))
    values = [sum(float(u.value(items[k, i])) for i, u in enumerate(us)) for k in range(6)]
    assert r.shares == int(np.argmax(values))
    assert r.uniqueness == "point"


# ------------------------------------------------------------------ errors
def test_unsupported_method_is_an_input_error():
    _, X, P = _pool(45, 4)
    us = [MaxMin(Expectation(), FinitePriors(np.array([P, P[::-1] / P.sum()]))).bind(P)] * 2
    with pytest.raises(UnsupportedError):
        maximise_welfare(us, SignMenu(X, 2), method="newton")
    with pytest.raises(UnsupportedError):
        maximise_welfare(us, SignMenu(X, 2), method="simplex")


# ------------------------------------------------------------------ active-set method
def _box_pool(seed):
    """A random pool of box and linear agents with losses, gains and zero states."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(5, 50)), int(rng.integers(2, 6))
    X = np.where(rng.random(m) < 0.7, -rng.gamma(1.0, 2.0, m), rng.gamma(1.0, 1.0, m))
    X[rng.random(m) < 0.1] = 0.0
    P = rng.dirichlet(np.full(m, 2.0))
    makers = [
        lambda: MaxMin(Expectation(), IntervalSet(rng.uniform(0.3, 1.0, m) * P,
                                                  np.minimum(1, rng.uniform(1, 2.5, m) * P))),
        lambda: ExpectedShortfall(rng.uniform(0.1, 0.9), prior=P),
        lambda: MaxMin(Expectation(), DensityBand(rng.uniform(0.2, 1), rng.uniform(1, 3))),
        lambda: MaxMin(Expectation(), Contamination(rng.uniform(0.05, 0.5),
                                                    rng.dirichlet(np.ones(m)))),
        lambda: Expectation(prior=rng.dirichlet(np.ones(m))),
    ]
    us = [makers[0]().bind(P)] + [makers[int(rng.integers(0, 5))]().bind(P)
                                  for _ in range(n - 1)]
    w = rng.uniform(0.5, 2.0, n) if seed % 2 else None
    return X, us, w


@pytest.mark.parametrize("seed", range(12))
def test_active_set_matches_the_lp(seed):
    X, us, w = _box_pool(seed)
    menu = SignMenu(X, len(us))
    r = maximise_welfare(us, menu, weights=w)
    assert r.method == "active-set"
    assert "not certified" not in r.message          # closed by itself, no fallback
    assert r.certified and r.relative_gap <= 1e-9
    assert menu.contains(r.allocation)
    ref = maximise_welfare(us, menu, weights=w, method="lp")
    assert r.welfare == pytest.approx(ref.welfare, rel=1e-9, abs=1e-12)


def test_active_set_on_identical_orderings():
    """Boxes ``a_i P <= Q <= b_i P`` with constants per agent rank the agents the same
    way in every state: the most degenerate case (every state tied)."""
    rng = np.random.default_rng(3)
    m = 300
    X = -rng.gamma(0.5, 3.0, m)
    P = rng.dirichlet(np.full(m, 1.5))
    us = [MaxMin(Expectation(), IntervalSet(a * P, np.minimum(1.0, b * P))).bind(P)
          for a, b in [(0.5, 1.5), (0.7, 1.2), (0.9, 1.1), (0.6, 2.0)]]
    menu = SignMenu(X, 4)
    r = maximise_welfare(us, menu)
    ref = maximise_welfare(us, menu, method="lp")
    assert r.method == "active-set" and r.certified
    assert r.welfare == pytest.approx(ref.welfare, rel=1e-9)


@pytest.mark.parametrize("factor", [100.0, 1e-6], ids=["cents", "millions"])
def test_active_set_rescaling(factor):
    X, us, w = _box_pool(5)
    base = maximise_welfare(us, SignMenu(X, len(us)), weights=w)
    scaled = maximise_welfare([u.scaled(factor) for u in us], SignMenu(factor * X, len(us)),
                              weights=w)
    assert base.method == scaled.method == "active-set"
    assert scaled.welfare == pytest.approx(factor * base.welfare, rel=1e-9)
    assert scaled.relative_gap <= 1e-9


def test_tiny_probabilities_gain_goes_to_the_right_agent():
    """A gain in a state of probability 5e-8: agent 1 values it at P (its only prior),
    agent 0 at lo = 4.69e-8 < P, so agent 1 takes it and W* = P[1] exactly. Both the
    active-set method and the LP must find that (bounds meet to rounding here)."""
    P = np.array([5.396938531824081e-08, 5.396938531824081e-08, 9.999998920612294e-01])
    X = np.array([0.0, 1.0, 0.0])
    lo0 = np.array([4.689866999227931e-08, 4.689866999227931e-08, 8.689864569245616e-01])
    hi0 = np.array([1.979808783287581e-07, 1.979808783287581e-07, 1.0])
    us = [MaxMin(Expectation(), IntervalSet(lo0, hi0)).bind(P),
          MaxMin(Expectation(), IntervalSet(np.zeros(3), P)).bind(P)]
    menu = SignMenu(X, 2)
    for method in ("active-set", "lp"):
        r = maximise_welfare(us, menu, method=method)
        assert r.method == method and r.certified, r.message
        assert r.welfare == pytest.approx(P[1], rel=1e-9)
        assert r.allocation[1, 1] == pytest.approx(1.0, abs=1e-9)


def test_active_set_cap_ties_use_the_states_own_scale():
    """One gain state of probability 2e-9 among states of probability 0.1-0.4, weights
    from 1e-3 to 150: the agents at the cap of the gain state must be told apart by
    their own numbers, not by the pool's (the optimum gives the gain to one agent)."""
    P = np.array([2e-9, 2e-9, 2e-9, 2e-9, 0.38645653816236319, 0.13599629445282660,
                  0.18910323221008424, 0.2884439272215755])
    P = P / P.sum()
    X = np.zeros(8)
    X[0] = 292807.28656367696
    w = np.array([147.787, 2.0554, 1.0331e-3, 6.8290])
    tiny = P[0]
    lo = [np.zeros(8), np.zeros(8), np.r_[tiny, tiny, 0.5 * tiny, 0.6 * tiny, 0.28, 0.065, 0.0,
                                          0.02], np.zeros(8)]
    hi = [np.r_[3.7 * tiny * np.ones(4), 1.0, 0.506, 0.704, 1.0], np.ones(8),
          np.r_[tiny, tiny, 2.5 * tiny, 1.1 * tiny, 1.0, 0.211, 0.0, 0.433], np.ones(8)]
    us = [MaxMin(Expectation(), IntervalSet(a, b)).bind(P) for a, b in zip(lo, hi, strict=True)]
    menu = SignMenu(X, 4)
    r = maximise_welfare(us, menu, weights=w, method="active-set")
    ref = maximise_welfare(us, menu, weights=w, method="lp")
    assert r.certified and ref.certified
    assert r.welfare == pytest.approx(ref.welfare, rel=1e-9)


def test_lp_in_huge_money_units():
    """Aggregate of 1e12 USD: the LP works in units of the largest block internally."""
    X, us, w = _box_pool(7)
    factor = 1e12 / np.abs(X).max()
    menu = SignMenu(factor * X, len(us))
    scaled = [u.scaled(factor) for u in us]
    r = maximise_welfare(scaled, menu, weights=w, method="lp")
    a = maximise_welfare(scaled, menu, weights=w, method="active-set")
    assert r.certified and a.certified
    assert r.welfare == pytest.approx(a.welfare, rel=1e-9)


def test_interior_point_with_bounds_met_to_rounding():
    """A mixed pool (15 box agents, some with lo == hi or hi == 0 entries, and one
    entropic agent) on which the interior point used to divide by a distance of 1e-300
    to a bound met to rounding and blow up one step before convergence."""
    import pathlib

    data = np.load(pathlib.Path(__file__).parent / "data" / "mixed_bound_rounding.npz")
    P = data["P"]
    us = [MaxMin(Expectation(), IntervalSet(lo, hi)).bind(P)
          for lo, hi in zip(data["lo"], data["hi"], strict=True)]
    us.append(Entropic(float(data["gamma"]), prior=P))
    r = maximise_welfare(us, SignMenu(data["X"], len(us)))
    assert r.method == "ipm"
    assert r.certified and r.relative_gap <= 1e-9, r.message


def test_zero_aggregate_everywhere_is_a_single_point():
    P = np.array([0.5, 0.3, 0.2])
    us = [Entropic(2.0, prior=P), MaxMin(Expectation(), IntervalSet(0.5 * P, 1.5 * P)).bind(P),
          Expectation(prior=P)]
    r = maximise_welfare(us, SignMenu(np.zeros(3), 3))
    assert r.certified and r.gap == 0.0 and r.uniqueness == "point"
    np.testing.assert_array_equal(r.allocation, 0.0)


def test_constant_holding_moved_is_cash_not_a_face():
    """Two expected-shortfall agents; the optimum gives agent A a constant -5 in every
    state. Moving part of it to B is a cash transfer: the efficient set is a line of
    cash moves, "up to cash", not a face (a brute-force search of the menu finds no
    other optimum)."""
    X = np.array([[0.0, -10.0, -30.0], [-5.0, 0.0, -20.0]]).sum(axis=0)
    P = np.array([0.5, 0.3, 0.2])
    us = [ExpectedShortfall(0.3, prior=P), ExpectedShortfall(0.6, prior=P)]
    r = maximise_welfare(us, SignMenu(X, 2))
    assert r.certified
    np.testing.assert_allclose(r.allocation[0], r.allocation[0][0], atol=1e-9)
    assert r.uniqueness == "up to cash"
