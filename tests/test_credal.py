"""Credal sets and max-min utilities: closed forms, independent recomputations, errors.

Reference values: the worst cases of spec §2's table (contamination, density
band greedy), an LP over each set's polytope (HiGHS), a scipy 1-D minimisation
of the KL dual, brute force over a grid of event probabilities, and an LP of
expected shortfall over the hull of finite priors.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from riskshare import CredalSetError
from riskshare.utilities import (
    Contamination,
    DensityBand,
    Distortion,
    Entropic,
    Expectation,
    ExpectedShortfall,
    FinitePriors,
    IndependentEvents,
    IntervalSet,
    KLBall,
    MaxMin,
    PowerDistortion,
    TableDistortion,
    credal_from_spec,
)

#: an uneven reference probability (a rare state, a dominant one)
P = np.array([0.01, 0.04, 0.15, 0.3, 0.5])
CENTRE = np.array([0.3, 0.1, 0.2, 0.25, 0.15])
RNG_SEED = 11


def payoffs(n=40, m=5, seed=RNG_SEED):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(n, m)) * 10, rng.integers(-3, 3, size=(n, m))])


def polyhedral_sets():
    priors = np.array([[0.1, 0.1, 0.4, 0.2, 0.2], [0.3, 0.0, 0.3, 0.3, 0.1],
                       [0.05, 0.05, 0.1, 0.1, 0.7]])
    outcomes = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [1, 1]])
    return {
        "interval": IntervalSet(0.5 * P, np.minimum(1, 3 * P)),
        "contamination": Contamination(0.25),
        "contamination-centre": Contamination(0.4, centre=CENTRE),
        "density_band": DensityBand(0.3, 2.5),
        "density_band-centre": DensityBand(0.0, 3.0, centre=CENTRE),
        "finite": FinitePriors(priors),
        "events": IndependentEvents(outcomes, [0.05, 0.2], [0.3, 0.6]),
    }


SETS = polyhedral_sets()


# -- closed forms ---------------------------------------------------------------------------------
@pytest.mark.parametrize("centre", [None, CENTRE], ids=["reference", "uneven-centre"])
@pytest.mark.parametrize("eps", [0.0, 0.2, 1.0])
def test_contamination_is_mixture_of_mean_and_minimum(centre, eps):
    C = Contamination(eps, centre=centre).bind(P)
    c = P if centre is None else CENTRE
    Y = payoffs()
    value, Q = C.worst_case(Y)
    np.testing.assert_allclose(value, (1 - eps) * Y @ c + eps * Y.min(axis=1), atol=1e-12)
    assert np.all(C.contains(Q))


def test_density_band_greedy_by_hand():
    # c = (0.2, 0.3, 0.5), 0.5 <= dQ/dc <= 1.5, Y = (3, -1, 2): worst state -1 gets 0.45,
    # next worst (2) gets as much as it can, 0.45; the best keeps its floor 0.1
    C = DensityBand(0.5, 1.5).bind([0.2, 0.3, 0.5])
    value, Q = C.worst_case([3.0, -1.0, 2.0])
    np.testing.assert_allclose(Q, [0.1, 0.45, 0.45])
    assert value == pytest.approx(0.3 - 0.45 + 0.9)


def test_interval_greedy_by_hand():
    # floors (0.1, 0.2, 0.1) leave 0.6 to place: the worst state (-2) rises to its cap 0.5,
    # the next (1) to its cap 0.3, the best (5) keeps the rest, 0.2
    C = IntervalSet([0.1, 0.2, 0.1], [0.6, 0.3, 0.5]).bind([1 / 3] * 3)
    value, Q = C.worst_case([5.0, 1.0, -2.0])
    np.testing.assert_allclose(Q, [0.2, 0.3, 0.5])
    assert value == pytest.approx(1.0 + 0.3 - 1.0)


def test_expected_shortfall_is_the_density_band_zero_to_one_over_alpha():
    Y = payoffs()
    for level in (0.05, 0.3, 1.0):
        band = DensityBand(0.0, 1 / level, centre=CENTRE).bind(P)
        np.testing.assert_allclose(band.worst_case(Y)[0],
                                   ExpectedShortfall(level, CENTRE).value(Y), atol=1e-12)


@pytest.mark.parametrize("name", list(SETS))
def test_worst_case_is_the_lp_over_the_polytope(name):
    C = SETS[name].bind(P)
    poly = C.polytope()
    Y = payoffs(n=6)
    values, Q = C.worst_case(Y)
    for y, v, q in zip(Y, values, Q, strict=True):
        assert poly.minimise(y)[0] == pytest.approx(v, abs=1e-9)
        assert v == pytest.approx(q @ y, abs=1e-12)
    assert np.all(C.contains(Q))


@pytest.mark.parametrize("name", list(SETS))
def test_upper_state_probabilities_are_the_lp_maxima(name):
    C = SETS[name].bind(P)
    poly = C.polytope()
    for w in range(5):
        assert -poly.minimise(-np.eye(5)[w])[0] == pytest.approx(
            C.upper_state_probabilities()[w], abs=1e-9)
    assert C.max_density_ratio() == pytest.approx(np.max(C.upper_state_probabilities() / P))


@pytest.mark.parametrize("name", list(SETS))
def test_members_and_non_members(name):
    C = SETS[name].bind(P)
    assert C.contains(C.member())
    # a point mass on the rarest state lies outside every set here
    assert not C.contains(np.eye(5)[0])


def test_finite_priors_best_of_dot_products():
    C = SETS["finite"].bind(P)
    Y = payoffs()
    np.testing.assert_allclose(C.worst_case(Y)[0], np.min(Y @ C.priors.T, axis=1))


# -- independent events -------------------------------------------------------------------------
def test_independent_events_match_brute_force_over_the_box():
    # four states = all outcomes of two events; the minimum over a grid of θ (with the
    # corners) equals the vertex minimum, and no grid point goes below it
    outcomes = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    lo, hi = np.array([0.1, 0.3]), np.array([0.4, 0.5])
    Pu = np.array([0.4, 0.2, 0.3, 0.1])
    C = IndependentEvents(outcomes, lo, hi).bind(Pu)
    grid = np.linspace(0, 1, 21)
    thetas = np.array([[lo[0] + a * (hi[0] - lo[0]), lo[1] + b * (hi[1] - lo[1])]
                       for a, b in itertools.product(grid, grid)])
    law = np.array([[(t1 if o1 else 1 - t1) * (t2 if o2 else 1 - t2) for o1, o2 in outcomes]
                    for t1, t2 in thetas])
    assert C.vertex_priors().shape == (4, 4)
    for y in payoffs(m=4):
        value, Q = C.worst_case(y)
        assert value == pytest.approx(np.min(law @ y), abs=1e-12)
        assert np.any(np.all(np.isclose(C.vertex_priors(), Q), axis=1))


def test_independent_events_split_an_outcome_by_the_reference():
    # states 3 and 4 share the outcome (1, 1): they split its probability 1:2 like P
    outcomes = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [1, 1]])
    Pu = np.array([0.3, 0.2, 0.2, 0.1, 0.2])
    C = IndependentEvents(outcomes, [0.5, 0.5], [0.5, 0.5]).bind(Pu)
    np.testing.assert_allclose(C.prior_for([0.5, 0.5]), [0.25, 0.25, 0.25, 0.25 / 3, 0.5 / 3])


def test_independent_events_fixed_events_and_missing_outcomes():
    outcomes = np.array([[0, 0], [1, 0]])     # event 2 never happens in any state
    C = IndependentEvents(outcomes, [0.1, 0.0], [0.4, 0.0]).bind([0.5, 0.5])
    assert C.vertex_priors().shape == (2, 2)
    with pytest.raises(CredalSetError) as info:
        IndependentEvents(outcomes, [0.1, 0.0], [0.4, 0.1], field="agents[4].credal").bind(
            [0.5, 0.5])
    assert info.value.field == "agents[4].credal.outcomes"
    assert "(0, 1)" in str(info.value)


def test_independent_events_refuse_too_many_events():
    K = 17
    with pytest.raises(CredalSetError) as info:
        IndependentEvents(np.zeros((2, K)), np.zeros(K), np.full(K, 0.5), field="agents[0].credal")
    assert info.value.field == "agents[0].credal.lower"
    assert "2^17" in str(info.value)


# -- KL ball ------------------------------------------------------------------------------------
def kl_reference(y, c, r):
    """``min <Q, y>`` over the ball from the dual ``max_η -η log E_c e^{-y/η} - η r`` (scipy)."""
    if r == 0:
        return c @ y
    s = y.min()

    def negative_dual(log_eta):
        eta = np.exp(log_eta)
        return eta * np.log(c @ np.exp(-(y - s) / eta)) + eta * r

    res = minimize_scalar(negative_dual, bounds=(-25, 25), method="bounded",
                          options={"xatol": 1e-13})
    return max(s - res.fun, s)


@pytest.mark.parametrize("radius", [0.0, 1e-8, 1e-3, 0.1, 1.0, 3.0, 100.0])
@pytest.mark.parametrize("centre", [None, CENTRE], ids=["reference", "uneven-centre"])
def test_kl_ball_matches_the_scipy_dual(radius, centre):
    C = KLBall(radius, centre=centre).bind(P)
    c = P if centre is None else CENTRE
    Y = payoffs(n=10)
    values, Q = C.worst_case(Y)
    for y, v in zip(Y, values, strict=True):
        assert v == pytest.approx(kl_reference(y, c, radius), abs=1e-8 * (1 + np.abs(y).max()))
    assert np.all(C.contains(Q, tol=1e-12))
    # primal (feasible prior) and dual bound agree to rounding
    np.testing.assert_allclose(values, C.dual_bound(Y), atol=1e-11 * (1 + np.abs(Y).max()))


def test_kl_ball_huge_radius_conditions_on_the_worst_states():
    C = KLBall(50.0).bind(P)
    value, Q = C.worst_case([1.0, -2.0, 0.0, -2.0, 5.0])
    assert value == pytest.approx(-2.0)
    np.testing.assert_allclose(Q, [0, 0.04 / 0.34, 0, 0.3 / 0.34, 0])


def test_kl_ball_ignores_states_of_zero_centre_mass():
    centre = np.array([0.0, 0.5, 0.5, 0.0, 0.0])
    C = KLBall(0.05, centre=centre).bind(P)
    value, Q = C.worst_case([-100.0, 1.0, 2.0, -50.0, 0.0])
    assert np.all(Q[[0, 3, 4]] == 0)
    assert value == pytest.approx(kl_reference(np.array([1.0, 2.0]), np.array([.5, .5]), 0.05),
                                  abs=1e-10)


def test_kl_ball_tiny_payoff_differences():
    # states that differ by 1e-57 still count as different: the tilt is found, no NaN
    C = KLBall(0.2).bind(P)
    value, Q = C.worst_case([1.0, 0, 0, 0, 6e-58])
    assert np.all(np.isfinite(Q)) and Q.sum() == pytest.approx(1.0)
    assert C.contains(Q, tol=1e-9)
    assert value == pytest.approx(0.0, abs=1e-50)


def test_kl_ball_upper_state_probabilities():
    C = KLBall(0.3).bind(P)
    up = C.upper_state_probabilities()
    for w, q in enumerate(up):
        # moving mass q to state w, the rest in proportion: the binary KL is the radius
        if q < 1:
            c = P[w]
            kl = q * np.log(q / c) + (1 - q) * np.log((1 - q) / (1 - c))
            assert kl == pytest.approx(0.3, abs=1e-9)


# -- max-min utilities ----------------------------------------------------------------------------
def test_es_over_finite_priors_uses_the_hull():
    # ES is convex in the prior: the hull can do strictly better than the best vertex
    y = np.array([1.19604455, -0.16312366, 0.69685423, 0.54280458])
    priors = np.array([[0.4705769, 0.11301247, 0.00680025, 0.40961037],
                       [0.00152784, 0.001863, 0.17188944, 0.82471972]])
    priors /= priors.sum(axis=1, keepdims=True)
    level = 0.8787459576949899
    u = MaxMin(ExpectedShortfall(level), FinitePriors(priors)).bind(np.full(4, 0.25))
    best_vertex = min(ExpectedShortfall(level, q).value(y) for q in priors)
    value = float(u.value(y))
    assert value < best_vertex - 1e-3
    assert value == pytest.approx(u.credal_polytope().minimise(y)[0], abs=1e-9)
    Q = u.worst_case_prior(y)
    assert ExpectedShortfall(level, Q).value(y) == pytest.approx(value, abs=1e-12)


def test_es_over_finite_priors_against_lp_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(40):
        m, K = rng.integers(2, 7), rng.integers(1, 5)
        priors = rng.dirichlet(np.ones(m) * 0.5, size=K)
        priors[priors < 0.05] = 0
        priors /= priors.sum(axis=1, keepdims=True)
        level = float(rng.choice([0.01, rng.uniform(0.05, 1), 1.0]))
        u = MaxMin(ExpectedShortfall(level), FinitePriors(priors)).bind(np.full(m, 1 / m))
        Y = rng.integers(-3, 3, size=(5, m)).astype(float)
        values, R = u.value_and_supergradient(Y)
        poly = u.credal_polytope()
        for y, v in zip(Y, values, strict=True):
            assert v == pytest.approx(poly.minimise(y)[0], abs=1e-9)
        assert np.all(u.penalty(R) == 0)


def test_es_over_finite_priors_dual_needs_no_lp_fallback(monkeypatch):
    # ties in the payoffs (integers) are where a one-variable search is easy to get wrong
    from riskshare.utilities import _maxmin

    def refuse(*args):
        raise AssertionError("the exact dual left a gap: LP fallback used")

    monkeypatch.setattr(_maxmin, "_shortfall_hull_lp", refuse)
    rng = np.random.default_rng(4)
    for trial in range(60):
        m, K = rng.integers(2, 25), rng.integers(1, 6)
        priors = rng.dirichlet(np.ones(m) * 0.5, size=K)
        priors[priors < 0.02] = 0
        priors /= priors.sum(axis=1, keepdims=True)
        level = float(rng.choice([0.01, rng.uniform(0.02, 1), 1.0]))
        Y = rng.integers(-3, 3, size=(20, m)).astype(float) if trial % 2 else \
            rng.normal(size=(20, m)) * 1e6
        u = MaxMin(ExpectedShortfall(level), FinitePriors(priors)).bind(np.full(m, 1 / m))
        values = u.value(Y)
        poly = u.credal_polytope()
        for y, v in zip(Y[:3], values[:3], strict=True):
            assert v == pytest.approx(poly.minimise(y)[0], abs=1e-8 * (1 + np.abs(y).max()))


@pytest.mark.parametrize("name", ["interval", "contamination-centre", "density_band"])
def test_es_and_distortion_over_ordered_sets_against_lp(name):
    C = SETS[name]
    table = TableDistortion([0, 0.2, 0.6, 1], [0, 0.5, 0.9, 1])
    for base in (ExpectedShortfall(0.2), Distortion(table)):
        u = MaxMin(base, C).bind(P)
        poly = u.credal_polytope()
        for y in payoffs(n=5):
            assert float(u.value(y)) == pytest.approx(poly.minimise(y)[0], abs=1e-8)


@pytest.mark.parametrize("name", list(SETS) + ["kl"])
def test_entropic_maxmin_is_the_linear_maximum_of_the_tilt(name):
    C = (SETS[name] if name != "kl" else KLBall(0.4, centre=CENTRE)).bind(P)
    gamma = 3.0
    u = MaxMin(Entropic(gamma), C).bind(P)
    for y in payoffs(n=6):
        Z = np.exp(-(y - y.min()) / gamma)
        if name == "kl":
            best = -kl_reference(-Z, CENTRE, 0.4)
        else:
            best = -C.polytope().minimise(-Z)[0]
        assert float(u.value(y)) == pytest.approx(y.min() - gamma * np.log(best), abs=1e-8)


def test_entropic_maxmin_without_overflow():
    C = FinitePriors([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]]).bind([1 / 3] * 3)
    u = MaxMin(Entropic(1.0), C).bind([1 / 3] * 3)
    y = np.array([-1e4, -2e4, 1e3])   # e^{2e4} overflows a double
    # worst prior puts 1/2 on -2e4: U = -log(0.5 e^{2e4} + ...) = 2e4*(-1) + log 2
    assert float(u.value(y)) == pytest.approx(-2e4 + np.log(2), abs=1e-9)


def test_maxmin_reports_the_worst_case_prior():
    C = Contamination(0.5, centre=CENTRE)
    u = MaxMin(Expectation(), C).bind(P)
    y = np.array([0.0, -10.0, 3.0, 1.0, 2.0])
    Q = u.worst_case_prior(y)
    np.testing.assert_allclose(Q, 0.5 * CENTRE + 0.5 * np.eye(5)[1])
    assert float(u.value(y)) == pytest.approx(Q @ y)


def test_maxmin_penalty_of_expectation_is_the_indicator_of_the_set():
    u = MaxMin(Expectation(), SETS["interval"]).bind(P)
    inside = SETS["interval"].bind(P).member()
    assert u.penalty(inside) == 0 and u.penalty(np.eye(5)[0]) == np.inf


def test_es_box_penalty_matches_the_lifted_polytope():
    rng = np.random.default_rng(5)
    u = MaxMin(ExpectedShortfall(0.4), SETS["density_band"]).bind(P)
    poly = u.credal_polytope()
    hits = 0
    for _ in range(60):
        R = rng.dirichlet(np.ones(5) * rng.choice([0.3, 1.0, 5.0]))
        exact = poly.contains(R, tol=1e-9)
        assert (u.penalty(R) == 0) == exact
        hits += exact
    assert 0 < hits < 60


def test_entropic_box_penalty_is_the_kl_projection():
    # for R in the box the penalty is 0; outside it is γ min KL(R || Q) > 0
    u = MaxMin(Entropic(2.0), SETS["interval"]).bind(P)
    C = SETS["interval"].bind(P)
    assert u.penalty(C.member()) == pytest.approx(0.0, abs=1e-12)
    R = np.array([0.5, 0.1, 0.1, 0.2, 0.1])
    pen = float(u.penalty(R))
    # any member gives an upper bound; the projection must do at least as well
    rng = np.random.default_rng(6)
    members = [C.worst_case(y)[1] for y in rng.normal(size=(50, 5))]
    kls = [2.0 * np.sum(R * np.log(R / q)) for q in members if np.all(q > 0)]
    assert 0 < pen <= min(kls) + 1e-12


@pytest.mark.parametrize("name", ["interval", "finite", "kl"])
def test_maxmin_l1_lipschitz_is_attained_scale(name):
    C = SETS[name] if name != "kl" else KLBall(0.3)
    u = MaxMin(Expectation(), C).bind(P)
    assert u.lipschitz("l1", P) == pytest.approx(C.bind(P).max_density_ratio(P))
    es = MaxMin(ExpectedShortfall(0.1), C).bind(P) if name != "kl" else None
    if es is not None:
        up = C.bind(P).upper_state_probabilities()
        assert es.lipschitz("l1", P) == pytest.approx(np.max(np.minimum(1, up / 0.1) / P))


def test_power_distortion_maxmin_over_interval_by_brute_force():
    # min over members of the Choquet integral: a dense sample of members never goes below
    C = SETS["interval"].bind(P)
    u = MaxMin(Distortion(PowerDistortion(0.5)), C).bind(P)
    rng = np.random.default_rng(7)
    members = np.array([C.worst_case(y)[1] for y in rng.normal(size=(300, 5))])
    for y in payoffs(n=5):
        per_member = Distortion(PowerDistortion(0.5)).evaluate_at(y, members)[0]
        assert float(u.value(y)) <= per_member.min() + 1e-12
        assert float(u.value(y)) == pytest.approx(per_member.min(), abs=1e-12)


# -- errors that name the field -------------------------------------------------------------------
F = "agents[3].credal"


@pytest.mark.parametrize("build, field", [
    (lambda: IntervalSet([0.5, 0.6], [0.9, 0.9], field=F), f"{F}.lower"),          # Σ lo > 1
    (lambda: IntervalSet([0.1, 0.1], [0.3, 0.3], field=F), f"{F}.upper"),          # Σ hi < 1
    (lambda: IntervalSet([0.5, 0.2], [0.4, 0.9], field=F), f"{F}.lower[0]"),       # lo > hi
    (lambda: IntervalSet([0.1, 0.2], [0.9, 0.9, 0.9], field=F), f"{F}.upper"),     # lengths
    (lambda: IntervalSet([-0.1, 0.2], [0.9, 0.9], field=F), f"{F}.lower[0]"),      # range
    (lambda: IntervalSet([0.1, 0.1], [90, 90], field=F), f"{F}.upper[0]"),         # percent
    (lambda: IntervalSet([0.1, 0.2], [0.9, 0.9], field=F).bind([0.2, 0.3, 0.5]),
     f"{F}.lower"),                                                                 # length vs m
    (lambda: IntervalSet([0.1, 0.0], [0.9, 0.1], field=F).bind([1.0, 0.0]),
     f"{F}.upper[1]"),                                                              # P has none
    (lambda: Contamination(1.5, field=F), f"{F}.epsilon"),
    (lambda: Contamination(0.1, centre=[0.5, 0.6], field=F), f"{F}.centre"),
    (lambda: Contamination(0.1, centre=[0.5, 0.5], field=F).bind([1.0, 0.0]),
     f"{F}.centre[1]"),                                                             # P has none
    (lambda: DensityBand(1.2, 2.0, field=F), f"{F}.lower"),
    (lambda: DensityBand(0.2, 0.9, field=F), f"{F}.upper"),
    (lambda: DensityBand(-0.2, 2.0, field=F), f"{F}.lower"),
    (lambda: DensityBand([0.9, 0.9], [0.95, 0.95], centre=[0.5, 0.5], field=F).bind([.5, .5]),
     f"{F}.upper"),                                                                 # Σ b c < 1
    (lambda: DensityBand([0.2, 0.2, 0.2], 2.0, field=F).bind([0.5, 0.5]), f"{F}.lower"),
    (lambda: FinitePriors([], field=F), f"{F}.priors"),
    (lambda: FinitePriors([[0.5, 0.5], [0.7, 0.7]], field=F), f"{F}.priors[1]"),
    (lambda: FinitePriors([[0.5, 0.5], [0.2, 0.3, 0.5]], field=F), f"{F}.priors[1]"),
    (lambda: FinitePriors([[0.5, 0.5], [0.0, 1.0]], field=F).bind([1.0, 0.0]),
     f"{F}.priors[0][1]"),
    (lambda: KLBall(-1, field=F), f"{F}.radius"),
    (lambda: KLBall(float("inf"), field=F), f"{F}.radius"),
    (lambda: KLBall(0.1, centre=[0.3, 0.7], field=F).bind([1.0, 0.0]), f"{F}.centre[1]"),
    (lambda: IndependentEvents([[0, 2], [1, 1]], [0.1, 0.1], [0.2, 0.2], field=F),
     f"{F}.outcomes"),
    (lambda: IndependentEvents([[0], [1]], [0.3], [0.2], field=F), f"{F}.lower[0]"),
    (lambda: IndependentEvents([[0], [1]], [0.1, 0.1], [0.2, 0.2], field=F), f"{F}.lower"),
    (lambda: IndependentEvents([[0], [1]], [0.1], [0.2], field=F).bind([0.2, 0.3, 0.5]),
     f"{F}.outcomes"),
    (lambda: IndependentEvents([[0], [1]], [0.1], [0.2], field=F).bind([1.0, 0.0]),
     f"{F}.outcomes"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_bad_credal_sets_name_the_field(build, field):
    with pytest.raises(CredalSetError) as info:
        build()
    assert info.value.field == field, str(info.value)
    assert str(info.value).startswith(field)


def test_unbound_set_asks_for_binding():
    with pytest.raises(CredalSetError, match="bind"):
        Contamination(0.1).worst_case([1.0, 2.0])


def test_credal_from_spec_passes_the_field():
    with pytest.raises(CredalSetError) as info:
        credal_from_spec({"kind": "interval", "lower": [0.6, 0.6], "upper": [1, 1]}, 2,
                         "agents[7].credal")
    assert info.value.field == "agents[7].credal.lower"
    with pytest.raises(CredalSetError) as info:
        credal_from_spec({"kind": "kl_ball", "radius": 0.1, "centre": [0.5, 0.5]}, 3,
                         "agents[7].credal")
    assert info.value.field == "agents[7].credal.centre"


@pytest.mark.parametrize("base, credal, smooth, polyhedral", [
    (Entropic(1.0), FinitePriors([CENTRE]), True, False),
    (Entropic(1.0), Contamination(0.2), False, False),
    (Entropic(1.0), KLBall(0.0), True, False),
    (Expectation(), KLBall(0.3), False, False),
    (Expectation(), SETS["finite"], False, True),
    (ExpectedShortfall(0.2), SETS["events"], False, True),
    (Distortion(PowerDistortion(0.5)), SETS["interval"], False, True),
], ids=["entropic-one-prior", "entropic-box", "entropic-kl0", "expectation-kl",
        "expectation-finite", "es-events", "power-interval"])
def test_maxmin_flags(base, credal, smooth, polyhedral):
    u = MaxMin(base, credal).bind(P)
    assert u.smooth is smooth and u.polyhedral is polyhedral
    assert (u.credal_polytope() is not None) == (polyhedral and base.name != "distortion")
