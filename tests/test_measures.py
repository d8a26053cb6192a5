"""Reference measures μ and their integrals (spec §5).

Reference values: closed forms of the Beta law (mean ``a/(a+b)``, CDF of
Beta(1, b) ``1 − (1−x)^b``), one-state pools where every utility is linear,
and brute-force Monte Carlo over *joint* Dirichlet draws (a different code
path from the per-agent RQMC and quadrature under test).
"""

import numpy as np
import pytest
from scipy import integrate, stats

from riskshare import ComonotoneMenu, FiniteMenu, MenuError, SignMenu, UtilityParameterError
from riskshare.measures import (
    DirichletMeasure,
    Estimate,
    FiniteMeasure,
    _beta_cdf,
    _beta_ppf,
    _expected_min_sign,
    combine,
    make_measure,
)
from riskshare.utilities import (
    Contamination,
    Entropic,
    Expectation,
    ExpectedShortfall,
    MaxMin,
)


def _pool(seed=0, n=3, m=8, sign=-1.0):
    rng = np.random.default_rng(seed)
    X = sign * rng.gamma(1.5, 1.0, size=(n, m)) * (rng.random((n, m)) < 0.7)
    P = rng.dirichlet(np.ones(m) * 3)
    return X, P


def _mc(measure, func, agent, size=200_000, seed=5):
    """Plain Monte Carlo of ∫ f(Y_agent) dμ over joint draws, with its standard error."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(size // 20_000):
        Y = measure.sample(20_000, rng)[:, agent, :]
        vals.append(func(Y))
    v = np.concatenate(vals)
    return v.mean(), v.std(ddof=1) / np.sqrt(v.size)


# ----------------------------------------------------------------------------- estimates
def test_combine_root_sum_of_squares_and_method():
    a = Estimate(1.0, 0.3, False, 100, "rqmc-sobol")
    b = Estimate(2.0, 0.4, False, 0, "quadrature")
    c = Estimate(5.0)
    out = combine([(2.0, a), (-1.0, b), (3.0, c)], constant=0.5)
    assert out.value == pytest.approx(0.5 + 2 - 2 + 15)
    assert out.stderr == pytest.approx(np.hypot(0.6, 0.4))
    assert out.method == "rqmc-sobol" and not out.exact and out.draws == 100
    assert combine([(1.0, c)]).exact


def test_estimate_rejects_nan_and_negative_error():
    with pytest.raises(ValueError):
        Estimate(np.nan)
    with pytest.raises(ValueError):
        Estimate(1.0, -1.0)


# ----------------------------------------------------------------------------- Beta laws
@pytest.mark.parametrize("a,b", [(1.0, 4.0), (1.0, 2.5), (1.7, 3.2)])
def test_beta_cdf_and_inverse_match_scipy(a, b):
    x = np.linspace(0, 1, 41)
    np.testing.assert_allclose(_beta_cdf(np.full(41, a), np.full(41, b), x),
                               stats.beta.cdf(x, a, b), atol=1e-13)
    u = np.linspace(0.001, 0.999, 37)
    np.testing.assert_allclose(_beta_ppf(np.full(37, a), np.full(37, b), u),
                               stats.beta.ppf(u, a, b), atol=1e-10)


def test_marginals_and_means():
    X, P = _pool()
    menu = SignMenu(X.sum(0), 3)
    mu = DirichletMeasure(menu, kappa=2.0, centre=[0.5, 0.3, 0.2])
    a, b = mu.marginal(0)
    np.testing.assert_allclose(a, 1 + 2 * 0.5)
    np.testing.assert_allclose(a + b, 3 + 2.0)
    np.testing.assert_allclose(mu.mean_shares().sum(axis=0), 1.0)
    S = mu.sample_shares(40_000, np.random.default_rng(1))
    np.testing.assert_allclose(S.mean(axis=0), mu.mean_shares(), atol=0.01)
    Y = mu.sample(5, np.random.default_rng(2))
    assert all(menu.contains(y) for y in Y)


def test_centre_resolution():
    X = np.array([[-1.0, -2.0, 0.0], [-3.0, 0.0, 1.0]])
    menu = SignMenu(X.sum(0), 2)
    mu = DirichletMeasure(menu, kappa=5.0, positions=X)
    assert mu.centre_label == "status-quo shares"
    np.testing.assert_allclose(mu.centre[:, 0], [0.25, 0.75])
    mixed = np.array([[-1.0, 2.0], [3.0, -1.0]])        # shares outside [0, 1]
    mu = DirichletMeasure(SignMenu(mixed.sum(0), 2), kappa=5.0, positions=mixed)
    assert mu.centre_label.startswith("equal shares")
    mu = DirichletMeasure(ComonotoneMenu(X.sum(0), 2), kappa=5.0, positions=X)
    assert "layer" in mu.centre_label
    with pytest.raises(UtilityParameterError):
        DirichletMeasure(menu, kappa=-1.0)
    with pytest.raises(UtilityParameterError):
        DirichletMeasure(menu, centre=[0.2, 0.2])
    with pytest.raises(MenuError):
        DirichletMeasure(FiniteMenu(np.zeros((2, 2, 3))))


# ----------------------------------------------------------------------------- integrals
def test_expectation_is_exact_and_linear():
    X, P = _pool(1)
    menu = SignMenu(X.sum(0), 3)
    mu = DirichletMeasure(menu, kappa=1.5, positions=X)
    u = Expectation(np.roll(P, 1))
    est = mu.integral(u, 1)
    assert est.exact and est.method == "exact-linear" and est.stderr == 0
    assert est.value == pytest.approx(float(u.value(mu.mean_allocation()[1])))
    ref, se = _mc(mu, u.value, 1)
    assert abs(est.value - ref) < 6 * se


def test_one_state_entropic_is_the_mean_share():
    """With one state every utility is cash: ∫U dμ = X E[s] = X/n."""
    menu = SignMenu(np.array([-6.0]), 4)
    est = DirichletMeasure(menu).integral(Entropic(0.7).bind(np.ones(1)), 2)
    assert est.value == pytest.approx(-1.5, abs=1e-12)
    assert est.stderr < 1e-9


@pytest.mark.parametrize("kappa", [0.0, 3.0])
def test_entropic_quadrature_matches_monte_carlo(kappa):
    X, P = _pool(2, m=6)
    X[:, 2] = 0.0                                        # a zero state
    X[0, 4] = 2.0                                        # a gain state
    X[1:, 4] = 0.0
    menu = SignMenu(X.sum(0), 3)
    mu = DirichletMeasure(menu, kappa=kappa, positions=X)
    u = Entropic(0.8, prior=P)
    est = mu.integral(u, 0)
    assert est.method == "quadrature" and est.stderr < 1e-7
    ref, se = _mc(mu, u.value, 0)
    assert abs(est.value - ref) < 6 * se


def test_entropic_quadrature_two_states_against_dblquad():
    X = np.array([-3.0, -1.0])
    P = np.array([0.3, 0.7])
    menu = SignMenu(X, 3)
    g = 0.5
    est = DirichletMeasure(menu).integral(Entropic(g).bind(P), 0)

    def f(s2, s1):
        dens = 2 * (1 - s1) * 2 * (1 - s2)               # Beta(1, 2) densities
        val = -g * np.log(P[0] * np.exp(-s1 * X[0] / g) + P[1] * np.exp(-s2 * X[1] / g))
        return val * dens

    ref, _ = integrate.dblquad(f, 0, 1, 0, 1, epsabs=1e-12, epsrel=1e-12)
    assert est.value == pytest.approx(ref, abs=1e-9)


def test_expected_min_against_dblquad_and_zero_state():
    X = np.array([-3.0, -1.0])
    menu = SignMenu(X, 3)
    a, b = np.ones(2), np.full(2, 2.0)

    def dens(s1, s2):
        return 4 * (1 - s1) * (1 - s2)

    # split where s1 X_1 = s2 X_2 (s2 = 3 s1) so that each piece is a polynomial
    first, _ = integrate.dblquad(lambda s2, s1: s1 * X[0] * dens(s1, s2), 0, 1, 0,
                                 lambda s1: min(1.0, 3 * s1), epsabs=1e-13)
    second, _ = integrate.dblquad(lambda s2, s1: s2 * X[1] * dens(s1, s2), 0, 1 / 3,
                                  lambda s1: 3 * s1, 1, epsabs=1e-13)
    ref = first + second
    assert _expected_min_sign(menu, a, b) == pytest.approx(ref, abs=1e-9)
    # a gain state and a zero state: min Y = min(s X_loss, 0)
    menu = SignMenu(np.array([-3.0, 0.0, 2.0]), 3)
    assert _expected_min_sign(menu, a, b) == pytest.approx(-1.0, abs=1e-12)


@pytest.mark.parametrize("menu_cls", [SignMenu, ComonotoneMenu], ids=["sign", "comonotone"])
@pytest.mark.parametrize("family", ["es", "maxmin"])
def test_rqmc_unbiased_against_monte_carlo(menu_cls, family):
    X, P = _pool(3, m=10)
    menu = menu_cls(X.sum(0), 3)
    mu = DirichletMeasure(menu)
    u = (ExpectedShortfall(0.25, prior=P) if family == "es"
         else MaxMin(Entropic(1.0), Contamination(0.2))).bind(P)
    est = mu.integral(u, 2, draws=4096, seed=3)
    assert est.method == "rqmc-sobol" and est.draws == 4096
    if menu_cls is ComonotoneMenu and family == "es":
        # comonotone payoffs share the tail states of X: ES is linear in the layer shares,
        # so the linear control variate removes all the variance
        assert est.stderr < 1e-12
        assert est.value == pytest.approx(float(u.value(mu.mean_allocation()[2])))
    else:
        assert est.stderr > 0
    ref, se = _mc(mu, u.value, 2)
    assert abs(est.value - ref) < 6 * np.hypot(se, est.stderr)


def test_rqmc_standard_error_is_honest():
    """Over independent seeds the estimates scatter like their standard errors say."""
    X, P = _pool(4, m=12)
    menu = SignMenu(X.sum(0), 3)
    mu = DirichletMeasure(menu)
    u = ExpectedShortfall(0.2).bind(P)
    ests = [mu.integral(u, 0, draws=512, seed=s) for s in range(30)]
    values = np.array([e.value for e in ests])
    se = np.median([e.stderr for e in ests])
    ratio = values.std(ddof=1) / se
    assert 0.4 < ratio < 2.5


def test_contamination_control_variate_makes_it_exact():
    """(1−ε) E_P Y + ε min Y is spanned by the control variates: zero spread."""
    X, P = _pool(5, m=9)
    mu = DirichletMeasure(SignMenu(X.sum(0), 3), probabilities=P)
    u = MaxMin(Expectation(), Contamination(0.3)).bind(P)
    est = mu.integral(u, 1, draws=1024)
    ref, se = _mc(mu, u.value, 1)
    assert est.stderr < 1e-9 * abs(est.value) + 1e-12
    assert abs(est.value - ref) < 6 * se


def test_reproducible_and_seed_dependent():
    X, P = _pool(6)
    u = ExpectedShortfall(0.3).bind(P)
    a = DirichletMeasure(SignMenu(X.sum(0), 3)).integral(u, 0, 1024, seed=9)
    b = DirichletMeasure(SignMenu(X.sum(0), 3)).integral(u, 0, 1024, seed=9)
    c = DirichletMeasure(SignMenu(X.sum(0), 3)).integral(u, 0, 1024, seed=10)
    assert a == b and a.value != c.value
    with pytest.raises(UtilityParameterError):
        DirichletMeasure(SignMenu(X.sum(0), 3)).integral(u, 0, draws=8)


def test_concentrated_measure_tends_to_standalone():
    X, P = _pool(7)
    menu = SignMenu(X.sum(0), 3)
    mu = DirichletMeasure(menu, kappa=1e5, positions=X)
    u = Entropic(1.0).bind(P)
    est = mu.integral(u, 1)
    assert est.value == pytest.approx(float(u.value(X[1])), abs=2e-3)


def test_integral_welfare_and_distance():
    X, P = _pool(8)
    menu = SignMenu(X.sum(0), 3)
    mu = DirichletMeasure(menu)
    us = [Entropic(1.0).bind(P), ExpectedShortfall(0.5).bind(P), Expectation(P)]
    parts = mu.integrals(us, 2048, 1)
    w = mu.integral_welfare(us, [1, 2], 2048, 1)
    assert w.value == pytest.approx(parts[1].value + parts[2].value)
    assert w.stderr == pytest.approx(np.hypot(parts[1].stderr, parts[2].stderr))
    Z = mu.mean_allocation()
    for metric in ("sup", "l1"):
        est = mu.integral_distance(Z, metric, 4096, 2, probabilities=P)
        diff = np.abs(mu.sample(100_000, np.random.default_rng(3)) - Z)
        d = diff.max(-1).sum(-1) if metric == "sup" else (diff @ P).sum(-1)
        assert abs(est.value - d.mean()) < 6 * np.hypot(est.stderr, d.std() / np.sqrt(d.size))


def test_finite_measure_sums():
    items = np.random.default_rng(0).normal(size=(4, 2, 3))
    menu = FiniteMenu(items)
    w = np.array([0.1, 0.2, 0.3, 0.4])
    mu = make_measure(menu, weights=w)
    assert isinstance(mu, FiniteMeasure)
    u = Entropic(1.0).bind(np.full(3, 1 / 3))
    est = mu.integral(u, 1)
    assert est.exact and est.method == "finite-sum"
    assert est.value == pytest.approx(float(w @ u.value(items[:, 1, :])))
    with pytest.raises(ValueError):
        make_measure(menu, weights=[0.5, 0.5])


def test_entropic_with_tolerance_tiny_next_to_losses_goes_to_rqmc():
    """Losses 9,000 times the risk tolerance: the quadrature grid would be enormous (it
    used to run for minutes); the integral is taken by RQMC instead, and agrees with
    plain Monte Carlo."""
    X = np.array([[0.0, -20000.0, 0.0, -90000.0], [0.0, 0.0, -30000.0, -60000.0]])
    P = np.array([0.6, 0.2, 0.15, 0.05])
    menu = SignMenu(X.sum(axis=0), 2)
    measure = DirichletMeasure(menu, probabilities=P)
    u = Entropic(10.0, prior=P)
    est = measure.integral(u, 0, draws=4096, seed=3)
    assert est.method == "rqmc-sobol" and np.isfinite(est.value)
    rng = np.random.default_rng(8)
    Y = measure.sample(100_000, rng)[:, 0, :]
    mc = np.asarray(u.value(Y), float)
    assert est.value == pytest.approx(mc.mean(), abs=6 * mc.std() / np.sqrt(mc.size)
                                      + 6 * est.stderr)
