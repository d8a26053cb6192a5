"""run_mechanism end to end (spec §5–10).

Reference values: the entropic common-prior closed form (spec §4), the
equilibrium bids ``S (n−1)/n`` and payoffs ``∫U_i dμ + S/n`` (spec §9), the
receipts and collateral of spec §10, and the checker's verdicts.
"""

import numpy as np
import pytest

from riskshare import (
    ComonotoneMenu,
    FiniteMenu,
    LipschitzCapError,
    Pool,
    ShapeError,
    SignMenu,
    UtilityParameterError,
)
from riskshare.mechanism import MechanismResult, MechanismSettings, run_mechanism
from riskshare.utilities import (
    Contamination,
    DensityBand,
    Entropic,
    Expectation,
    ExpectedShortfall,
    MaxMin,
)


def entropic_pool(seed=0, n=4, m=8):
    rng = np.random.default_rng(seed)
    X = -rng.gamma(1.0, 1.0, size=(n, m)) * (rng.random((n, m)) < 0.7)
    X[:, 0] -= 0.1                                        # no zero-aggregate state
    P = rng.dirichlet(np.ones(m) * 2)
    gammas = rng.uniform(0.5, 3.0, size=n)
    return Pool(X, P), [Entropic(g) for g in gammas], gammas


def test_entropic_common_prior_end_to_end():
    pool, utilities, gammas = entropic_pool()
    n = pool.n
    menu = SignMenu(pool.aggregate, n)
    result = run_mechanism(pool, utilities, menu, MechanismSettings(draws=1024))
    assert isinstance(result, MechanismResult) and result.passed, [
        c for c in result.checks if not c.passed]

    G, X, P = gammas.sum(), pool.aggregate, pool.probabilities
    # unique up to cash (spec §4): the difference to Y_i = (γ_i/Γ) X is a constant per agent
    diff = result.efficient.allocation - np.outer(gammas / G, X)
    np.testing.assert_allclose(diff, diff[:, :1] * np.ones_like(diff), atol=1e-6)
    assert abs(diff[:, 0].sum()) < 1e-9
    Wstar = -G * np.log(P @ np.exp(-X / G))
    assert result.efficient.welfare == pytest.approx(Wstar, abs=1e-8)

    # μ-integrals by quadrature, checked against brute-force Monte Carlo over joint draws
    rng = np.random.default_rng(1)
    Y = menu.sample(rng, 100_000)
    for i, u in enumerate(result.utilities):
        v = u.value(Y[:, i])
        assert result.mu_integrals[i].method == "quadrature"
        assert abs(result.mu_integrals[i].value - v.mean()) < 6 * v.std() / np.sqrt(v.size)
    S = Wstar - sum(e.value for e in result.mu_integrals)
    assert result.surplus.value == pytest.approx(S, abs=1e-8)
    np.testing.assert_allclose(result.bids, S * (n - 1) / n, atol=1e-9)
    expected = np.array([e.value for e in result.mu_integrals]) + S / n
    np.testing.assert_allclose(result.payoffs, expected, atol=1e-8)
    assert result.order[0] == result.auction.winner
    assert result.auction.tied == tuple(range(n))        # equilibrium bids all tie
    np.testing.assert_allclose(result.cash, expected - result.at_efficient, atol=1e-8)
    assert abs(result.cash.sum()) < 1e-9


def test_receipts_collateral_and_final_wealth():
    pool, utilities, _ = entropic_pool(1)
    menu = SignMenu(pool.aggregate, pool.n)
    result = run_mechanism(pool, utilities, menu, MechanismSettings(draws=1024))
    Y = result.efficient.allocation
    r = Y - pool.positions + result.cash[:, None]
    np.testing.assert_allclose(result.receipts, r, atol=1e-12)
    np.testing.assert_allclose(result.receipts.sum(axis=0), 0.0, atol=1e-9)
    owe = np.maximum(0.0, (-r).max(axis=1))
    assert np.all(result.collateral >= owe - 1e-9)
    assert np.all(result.collateral < owe + 0.01 + 1e-9)
    cents = result.collateral / 0.01
    np.testing.assert_allclose(cents, np.round(cents), atol=1e-6)
    np.testing.assert_allclose(result.final_wealth, pool.positions + r, atol=1e-12)


@pytest.mark.parametrize("menu_cls", [SignMenu, ComonotoneMenu], ids=["sign", "comonotone"])
def test_mixed_pool_passes_every_check(menu_cls):
    rng = np.random.default_rng(2)
    n, m = 5, 9
    X = -rng.gamma(1.2, 1.0, size=(n, m)) * (rng.random((n, m)) < 0.6)
    X[0, :] -= 0.05
    pool = Pool(X, rng.dirichlet(np.ones(m) * 3), names=list("ABCDE"))
    P = pool.probabilities
    utilities = [Entropic(1.0), MaxMin(Expectation(), Contamination(0.15)),
                 ExpectedShortfall(0.3), MaxMin(Expectation(), DensityBand(0.8, 1.3)),
                 MaxMin(Entropic(2.0), Contamination(0.1))]
    menu = menu_cls(pool.aggregate, n)
    result = run_mechanism(pool, utilities, menu, MechanismSettings(draws=2048, epsilon=0.01))
    assert result.passed, [c for c in result.checks if not c.passed]
    assert sorted(result.worst_case_priors) == [1, 3, 4]
    for q in result.worst_case_priors.values():
        assert q.shape == (m,) and q.sum() == pytest.approx(1.0)
    assert set(result.timings) == {"measure", "efficiency", "auction", "game", "settlement",
                                   "checks"}
    assert {"riskshare", "numpy", "scipy", "highspy"} <= set(result.versions)
    assert result.measure["kind"] == "dirichlet"
    assert len(result.schedules) == n - 1
    assert result.schedules[0].to_json().startswith("{")
    assert np.all(result.payoff_stderr >= 0) and P.size == m


def test_fixed_order_and_progress():
    pool, utilities, _ = entropic_pool(3, n=3)
    menu = SignMenu(pool.aggregate, 3)
    seen = []
    names = ("agent 3", "agent 1", "agent 2")
    result = run_mechanism(pool, utilities, menu, MechanismSettings(draws=512, order=names),
                           progress=lambda step, f: seen.append((step, f)))
    assert result.auction is None and result.bids.size == 0
    assert result.order == (2, 0, 1)
    np.testing.assert_allclose(result.payoffs, result.stage_payoffs)
    ints = [e.value for e in result.mu_integrals]
    assert result.payoffs[2] == pytest.approx(result.efficient.welfare - ints[0] - ints[1])
    assert [s for s, _ in seen] == ["measure", "efficiency", "auction", "game", "settlement",
                                    "checks"]
    assert seen[-1][1] == 1.0
    assert result.passed
    with pytest.raises(ShapeError):
        run_mechanism(pool, utilities, menu, MechanismSettings(order=("agent 1", "agent 2")))


def test_supplied_secrets_and_l1_metric():
    pool, utilities, _ = entropic_pool(4, n=3)
    menu = SignMenu(pool.aggregate, 3)
    secrets = {name: (name * 8).encode() for name in pool.names}
    result = run_mechanism(pool, utilities, menu, MechanismSettings(
        draws=512, metric="l1", tie_break_secrets=secrets))
    assert result.auction.tie_break["secret_source"] == "supplied"
    assert result.passed
    need = max(u.lipschitz("l1", pool.probabilities) for u in result.utilities)
    assert result.lipschitz_cap >= need


def test_finite_menu_dispatch():
    rng = np.random.default_rng(5)
    X = -rng.uniform(0.5, 2.0, size=(3, 4))
    pool = Pool(X)
    menu_items = SignMenu(pool.aggregate, 3).random_vertices(rng, 6)
    menu = FiniteMenu(menu_items)
    utilities = [Entropic(1.0), Entropic(2.0), Expectation()]
    result = run_mechanism(pool, utilities, menu, MechanismSettings(draws=64, epsilon=0.01))
    assert result.passed, [c for c in result.checks if not c.passed]
    assert all(p.item_prices is not None for p in result.schedules)
    assert all(e.method == "finite-sum" for e in result.mu_integrals)
    W = [sum(u.value(item[i]) for i, u in enumerate(result.utilities)) for item in menu.items]
    assert result.efficient.welfare == pytest.approx(max(W))


def test_input_errors():
    pool, utilities, _ = entropic_pool(6, n=3)
    menu = SignMenu(pool.aggregate, 3)
    with pytest.raises(LipschitzCapError) as err:
        run_mechanism(pool, utilities, menu, MechanismSettings(draws=256, lipschitz_cap=1.0))
    assert "1.05" in str(err.value)
    with pytest.raises(ShapeError):
        run_mechanism(pool, utilities[:2], menu)
    with pytest.raises(ShapeError):
        run_mechanism(pool, utilities, SignMenu(pool.aggregate * 2, 3))
    for bad in ({"metric": "l2"}, {"epsilon": -1.0}, {"draws": 8}, {"order": "random"},
                {"lipschitz_cap": 0.0}, {"settlement_unit": 0.0}):
        with pytest.raises(UtilityParameterError):
            MechanismSettings(**bad)
