"""The efficiency certificate (spec §4): weak duality, repairs, residuals, scaling.

Defining property: for ANY priors ``Q`` the bound ``D(Q)`` is at least the optimum
``W*``; at an optimum with the right priors it equals ``W(Y)``. ``W*`` comes from
closed forms (spec §4) or from an exact enumeration of the menu's vertices
(linear utilities attain their optimum at a vertex).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskshare import ComonotoneMenu, FiniteMenu, SignMenu
from riskshare.efficiency import certify, maximise_welfare
from riskshare.utilities import (
    Entropic,
    Expectation,
    ExpectedShortfall,
    FinitePriors,
    IntervalSet,
    KLBall,
    MaxMin,
)


def _entropic_pool(m=6, seed=0):
    rng = np.random.default_rng(seed)
    X = -rng.gamma(1.0, 2.0, m)
    X[1] = 1.0
    P = rng.dirichlet(np.full(m, 2.0))
    gammas = np.array([0.5, 1.0, 2.5])
    us = [Entropic(g, prior=P) for g in gammas]
    G = gammas.sum()
    W_star = -G * np.log(P @ np.exp(-X / G))
    Y_star = np.outer(gammas / G, X)
    return rng, X, P, us, Y_star, W_star


def test_tight_at_the_closed_form_optimum():
    _, X, _, us, Y, W = _entropic_pool()
    Q = np.array([u.supergradient(Y[i]) for i, u in enumerate(us)])
    cert = certify(us, SignMenu(X, 3), Y, Q)
    assert cert.welfare == pytest.approx(W, rel=1e-13)
    assert abs(cert.gap) <= 1e-13
    np.testing.assert_allclose(cert.supergradient_residuals, 0.0, atol=1e-13)
    assert cert.in_menu and cert.in_domain.all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), spread=st.floats(0.0, 3.0))
def test_bound_holds_for_any_priors(seed, spread):
    rng, X, _, us, Y_star, W_star = _entropic_pool(seed=seed % 7)
    menu = SignMenu(X, 3)
    Y = menu.allocation(menu.sample_shares(rng, 1)[0])
    Q = rng.dirichlet(np.ones(X.size), size=3) * (1 + spread * rng.random((3, X.size)))
    cert = certify(us, menu, Y, Q)
    assert cert.upper_bound >= W_star - 1e-12
    assert cert.welfare <= W_star + 1e-12
    assert np.all(cert.supergradient_residuals >= -1e-12)


def test_bound_holds_for_priors_off_the_credal_set():
    rng = np.random.default_rng(3)
    m = 4
    X = np.array([-2.0, -1.0, 0.5, -3.0])
    P = np.full(m, 0.25)
    lo, hi = 0.15 * np.ones(m), 0.4 * np.ones(m)
    us = [MaxMin(Expectation(), IntervalSet(lo, hi)).bind(P),
          Expectation(prior=rng.dirichlet(np.ones(m)))]
    menu = SignMenu(X, 2)
    # linear utilities on a product of simplices: the optimum sits at a vertex
    W_star = max(sum(float(u.value(V[i])) for i, u in enumerate(us)) for V in menu.vertices())
    Q = np.array([[0.7, 0.1, 0.1, 0.1], rng.dirichlet(np.ones(m))])   # both off their sets
    Y = menu.allocation(menu.sample_shares(rng, 1)[0])
    cert = certify(us, menu, Y, Q)
    assert not cert.in_domain[0] and not cert.in_domain[1]
    assert cert.upper_bound >= W_star - 1e-12
    assert np.all(cert.priors[0] >= lo - 1e-15) and np.all(cert.priors[0] <= hi + 1e-15)
    assert cert.priors[0].sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_array_equal(cert.priors[1], us[1].prior)
    assert np.all(cert.repair > 0)


def test_lifted_polytope_repair_and_kl_mixing():
    rng = np.random.default_rng(4)
    m = 5
    X = -rng.gamma(1.0, 1.0, m)
    P = np.full(m, 0.2)
    hull = rng.dirichlet(np.ones(m), size=3)
    us = [MaxMin(Expectation(), FinitePriors(hull)).bind(P),
          MaxMin(Expectation(), KLBall(0.05)).bind(P)]
    menu = SignMenu(X, 2)
    Y = menu.allocation(np.full((2, m), 0.5))
    Q = np.tile(np.array([0.9, 0.1, 0.0, 0.0, 0.0]), (2, 1))
    cert = certify(us, menu, Y, Q)
    assert np.all(np.isfinite(cert.penalties))
    assert us[0].credal.contains(cert.priors[0], tol=1e-8)
    assert us[1].credal.contains(cert.priors[1], tol=1e-8)
    W_star = maximise_welfare(us, menu).welfare
    assert cert.upper_bound >= W_star - 1e-10


def test_residuals_detect_a_wrong_supergradient():
    _, X, P, us, Y, _ = _entropic_pool()
    Q = np.array([u.supergradient(Y[i]) for i, u in enumerate(us)])
    Q[0] = P
    cert = certify(us, SignMenu(X, 3), Y, Q)
    assert cert.supergradient_residuals[0] > 1e-6
    assert np.allclose(cert.supergradient_residuals[1:], 0.0, atol=1e-13)
    assert cert.gap > 1e-6


def test_gap_of_an_inefficient_allocation():
    _, X, _, us, Y_star, W_star = _entropic_pool()
    menu = SignMenu(X, 3)
    Y = menu.allocation(np.tile([[1.0], [0.0], [0.0]], (1, menu.n_blocks)))
    Q = np.array([u.supergradient(Y[i]) for i, u in enumerate(us)])
    cert = certify(us, menu, Y, Q)
    assert cert.welfare < W_star - 1e-3
    assert cert.upper_bound >= W_star
    assert cert.menu_gap > 0


@pytest.mark.parametrize("factor", [100.0, 1e-6])
def test_certificate_scales_with_money(factor):
    rng, X, P, us, Y, _ = _entropic_pool()
    menu = SignMenu(X, 3)
    Y = menu.allocation(menu.sample_shares(rng, 1)[0])
    Q = np.array([u.supergradient(Y[i]) for i, u in enumerate(us)])
    base = certify(us, menu, Y, Q)
    scaled = certify([u.scaled(factor) for u in us], SignMenu(factor * X, 3), factor * Y, Q)
    assert scaled.welfare == pytest.approx(factor * base.welfare, rel=1e-12)
    assert scaled.upper_bound == pytest.approx(factor * base.upper_bound, rel=1e-12)
    assert scaled.relative_gap == pytest.approx(base.relative_gap, rel=1e-9, abs=1e-15)


def test_weights_enter_the_bound():
    _, X, P, us, _, _ = _entropic_pool()
    w = np.array([1.0, 0.5, 2.0])
    r = maximise_welfare(us, SignMenu(X, 3), weights=w)
    cert = certify(us, SignMenu(X, 3), r.allocation, r.supergradients, weights=w)
    values = np.array([float(u.value(r.allocation[i])) for i, u in enumerate(us)])
    assert cert.welfare == pytest.approx(float(w @ values), rel=1e-13)
    assert cert.relative_gap <= 1e-9


def test_comonotone_menu_certificate():
    _, X, _, us, Y, W = _entropic_pool()
    menu = ComonotoneMenu(X, 3)
    Q = np.array([u.supergradient(Y[i]) for i, u in enumerate(us)])
    cert = certify(us, menu, Y, Q)
    assert cert.in_menu
    assert abs(cert.gap) <= 1e-12


def test_finite_menu_bound_is_the_best_item():
    P = np.array([0.4, 0.6])
    us = [ExpectedShortfall(0.5, prior=P), Entropic(1.0, prior=P)]
    items = np.random.default_rng(5).normal(size=(5, 2, 2))
    menu = FiniteMenu(items)
    values = [sum(float(u.value(items[k, i])) for i, u in enumerate(us)) for k in range(5)]
    Y = items[0]
    Q = np.array([u.supergradient(Y[i]) for i, u in enumerate(us)])
    cert = certify(us, menu, Y, Q)
    assert cert.upper_bound == pytest.approx(max(values), rel=1e-14)
    assert cert.gap == pytest.approx(max(values) - values[0], abs=1e-13)
