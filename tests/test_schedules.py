"""The price-schedule language (spec §5): evaluation, Lipschitz bound, normalisation, JSON.

Reference values: the defining properties of the objects (``|p(Y) − p(Z)| <=
L_p d(Y, Z)``; ``∫ p dμ = 0`` recomputed by plain Monte Carlo over joint draws
from μ; the equalising schedule leaves the chooser indifferent at every
allocation; the perturbed one makes the anchor the unique best reply).
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskshare import ComonotoneMenu, LipschitzCapError, SignMenu
from riskshare.measures import DirichletMeasure
from riskshare.schedules import (
    CAP_SLACK,
    Schedule,
    cap_requirement,
    check_cap,
    distance,
    equalising_schedule,
    perturbed_schedule,
    resolve_cap,
)
from riskshare.utilities import (
    Contamination,
    Entropic,
    Expectation,
    ExpectedShortfall,
    IntervalSet,
    MaxMin,
)


def _setup(seed=0, n=3, m=6, menu_cls=SignMenu):
    rng = np.random.default_rng(seed)
    X = -rng.gamma(1.5, 1.0, size=(n, m)) * (rng.random((n, m)) < 0.8)
    P = rng.dirichlet(np.ones(m) * 2)
    menu = menu_cls(X.sum(0), n)
    families = [Entropic(1.0 + seed % 3), ExpectedShortfall(0.3), Expectation(),
                MaxMin(Expectation(), Contamination(0.2)),
                MaxMin(Expectation(), IntervalSet(0.5 * P, np.minimum(1, 2 * P)))]
    utilities = [families[(seed + i) % len(families)].bind(P) for i in range(n)]
    return menu, P, utilities, rng


def _random_schedule(rng, menu, utilities, P, metric):
    n, m = menu.n, menu.m
    terms = tuple((int(j), float(rng.normal())) for j in rng.integers(0, n, size=3))
    anchors = menu.sample(rng, 2)
    dist = tuple((float(abs(rng.normal())), anchors[k]) for k in range(2))
    return Schedule(n, m, terms, dist, constant=float(rng.normal()), metric=metric,
                    utilities=utilities, probabilities=P)


def test_distance_values():
    Y = np.array([[1.0, -2.0], [0.0, 3.0]])
    Z = np.zeros((2, 2))
    P = np.array([0.25, 0.75])
    assert distance(Y, Z, "sup") == pytest.approx(2.0 + 3.0)
    assert distance(Y, Z, "l1", P) == pytest.approx(0.25 + 1.5 + 0 + 2.25)
    assert distance(np.stack([Y, Z]), Z, "sup").shape == (2,)


@pytest.mark.parametrize("metric", ["sup", "l1"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_lipschitz_bound_holds(metric, seed):
    menu, P, utilities, rng = _setup(seed)
    p = _random_schedule(rng, menu, utilities, P, metric)
    L = p.lipschitz_bound()
    Y, Z = menu.sample(rng, 200), menu.random_vertices(rng, 200)
    lhs = np.abs(p.value(Y) - p.value(Z))
    d = np.array([distance(Y[k], Z[k], metric, P) for k in range(200)])
    assert np.all(lhs <= L * d * (1 + 1e-9) + 1e-12)


def test_lipschitz_bound_uses_agent_sums():
    menu, P, utilities, _ = _setup(1)
    p = Schedule(3, 6, ((0, 0.5), (0, 0.25), (1, -2.0)), metric="sup", utilities=utilities)
    assert p.lipschitz_bound() == pytest.approx(2.0)      # max(0.75, 2.0), not the sum
    q = Schedule(3, 6, ((0, 1.0),), ((0.3, menu.sample(np.random.default_rng(0), 1)[0]),),
                 utilities=utilities)
    assert q.lipschitz_bound() == pytest.approx(1.3)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), comonotone=st.booleans())
def test_normalisation_against_monte_carlo(seed, comonotone):
    menu, P, utilities, rng = _setup(seed, menu_cls=ComonotoneMenu if comonotone else SignMenu)
    mu = DirichletMeasure(menu, probabilities=P)
    p = _random_schedule(rng, menu, utilities, P, "sup").normalised(mu, draws=1024, seed=seed)
    Y = mu.sample(20_000, np.random.default_rng(seed + 1))
    v = p.value(Y)
    se = v.std(ddof=1) / np.sqrt(v.size)
    assert abs(v.mean()) <= 6 * np.hypot(se, p.constant_stderr) + 1e-12
    assert abs(p.mu_integral(mu, 1024, seed).value) < 1e-12 + 1e-12 * abs(p.constant)


@pytest.mark.parametrize("metric", ["sup", "l1"])
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_json_round_trip(metric, seed):
    menu, P, utilities, rng = _setup(seed)
    p = _random_schedule(rng, menu, utilities, P, metric)
    text = p.to_json()
    data = json.loads(text)
    assert data["utility_terms"][0]["agent"] == p.utility_terms[0][0]
    q = Schedule.from_json(text, utilities, P)
    Y = menu.sample(rng, 7)
    np.testing.assert_array_equal(q.value(Y), p.value(Y))
    assert q.to_json() == text
    with pytest.raises(ValueError):
        Schedule.from_json(json.dumps({**data, "format": "other"}))


def test_equalising_schedule_makes_the_chooser_indifferent():
    menu, P, utilities, rng = _setup(2)
    mu = DirichletMeasure(menu)
    order = (2, 0, 1)
    p2 = equalising_schedule(2, order, utilities, mu, draws=1024)
    assert p2.coefficients().tolist() == [0.0, 1.0, 0.0] and p2.poster == 0
    Y = np.concatenate([menu.sample(rng, 100), np.stack(list(menu.vertices()))])
    chooser = utilities[1].value(Y[:, 1]) - p2.value(Y)
    assert np.ptp(chooser) < 1e-12
    assert chooser[0] == pytest.approx(mu.integral(utilities[1], 1, 1024).value)
    p1 = equalising_schedule(1, order, utilities, mu, draws=1024)
    assert p1.coefficients().tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError):
        equalising_schedule(3, order, utilities, mu)


def test_perturbed_schedule_makes_anchor_unique_best():
    menu, P, utilities, rng = _setup(3)
    mu = DirichletMeasure(menu)
    order = (0, 1, 2)
    Ystar = menu.sample(rng, 1)[0]
    p = perturbed_schedule(equalising_schedule(2, order, utilities, mu, draws=1024), 0.1,
                           Ystar, mu, draws=1024)
    assert p.label == "perturbed" and p.lipschitz_bound() == pytest.approx(1.1)
    Y = np.concatenate([menu.sample(rng, 300), np.stack(list(menu.vertices()))])
    payoff = utilities[2].value(Y[:, 2]) - p.value(Y)
    best = utilities[2].value(Ystar[2]) - p.value(Ystar)
    assert np.all(payoff <= best - 0.1 * distance(Y, Ystar) + 1e-12)
    assert perturbed_schedule(p, 0.0, Ystar, mu) is p
    with pytest.raises(ValueError):
        perturbed_schedule(p, -1.0, Ystar, mu)


def test_cap_rules_and_messages():
    menu, P, utilities, _ = _setup(4)
    need, required = cap_requirement(utilities, (0, 1, 2), "sup", P, epsilon=0.2)
    assert need == 1.0 and required == pytest.approx(max(1 + CAP_SLACK, 1.2))
    assert resolve_cap("auto", utilities, (0, 1, 2), "sup", P, 0.2) == pytest.approx(2.0)
    assert resolve_cap(1.5, utilities, (0, 1, 2)) == 1.5
    with pytest.raises(LipschitzCapError) as err:
        resolve_cap(1.0, utilities, (0, 1, 2))
    assert "1.05" in str(err.value) and "got 1.0" in str(err.value)
    steep = Schedule(3, 6, ((1, 3.0),), utilities=utilities)
    with pytest.raises(LipschitzCapError) as err:
        check_cap(steep, 2.0, "schedules[1]")
    assert "3" in str(err.value) and "2" in str(err.value)
    need_l1, _ = cap_requirement(utilities, (0, 1, 2), "l1", P)
    assert need_l1 == pytest.approx(max(u.lipschitz("l1", P) for u in utilities[1:]))


def test_algebra_and_item_prices():
    menu, P, utilities, rng = _setup(5)
    mu = DirichletMeasure(menu)
    p = equalising_schedule(1, (0, 1, 2), utilities, mu, draws=1024)
    q = p.scaled(2.0)
    Y = menu.sample(rng, 5)
    np.testing.assert_allclose(q.value(Y), 2 * p.value(Y))
    r = p.plus(q)
    np.testing.assert_allclose(r.value(Y), 3 * p.value(Y))
    items = menu.sample(rng, 4)
    s = Schedule(3, 6, item_prices=np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(s.value_items(items), [1, 2, 3, 4])
    with pytest.raises(ValueError):
        Schedule(3, 6, ((5, 1.0),))
    with pytest.raises(ValueError):
        Schedule(3, 6, ((0, 1.0),)).value(Y)
