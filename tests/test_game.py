"""The n-player price-and-choose game (spec §6–8).

Reference values: the identities of spec §6–7 (equalising schedules, payoffs
``max W − Σ_{k>=2} ∫U_k dμ`` and ``∫U_k dμ``, stage cash, budget balance), the
closed form of the entropic common-prior pool (spec §4: ``Y_i = (γ_i/Γ) X``),
and the defining properties of best replies.
"""

import itertools
import zlib
from dataclasses import replace

import numpy as np
import pytest

from riskshare import ComonotoneMenu, SignMenu
from riskshare.efficiency import maximise_welfare
from riskshare.game import (
    Objective,
    chooser_best_reply,
    continuation_objective,
    deviation_payoff,
    maximise_objective,
    poster_best_reply,
    solve_game,
    worst_case_priors,
)
from riskshare.measures import DirichletMeasure
from riskshare.schedules import Schedule, distance, equalising_schedule
from riskshare.utilities import (
    Contamination,
    DensityBand,
    Distortion,
    Entropic,
    Expectation,
    ExpectedShortfall,
    FinitePriors,
    IntervalSet,
    MaxMin,
    PowerDistortion,
    WangDistortion,
)

DRAWS = 512


def family(name, P, rng):
    """One utility of the named family (random parameters)."""
    m = P.size
    other = rng.dirichlet(np.ones(m) * 2)
    table = {
        "expectation": lambda: Expectation(other),
        "entropic": lambda: Entropic(float(rng.uniform(0.5, 3.0))),
        "shortfall": lambda: ExpectedShortfall(float(rng.uniform(0.1, 0.9))),
        "power": lambda: Distortion(PowerDistortion(float(rng.uniform(0.3, 0.9)))),
        "wang": lambda: Distortion(WangDistortion(float(rng.uniform(0.1, 0.8)))),
        "maxmin-contamination": lambda: MaxMin(Expectation(), Contamination(0.2)),
        "maxmin-interval": lambda: MaxMin(Expectation(), IntervalSet(0.5 * P,
                                                                     np.minimum(1, 1.8 * P))),
        "maxmin-band": lambda: MaxMin(Expectation(), DensityBand(0.7, 1.4)),
        "maxmin-priors": lambda: MaxMin(Expectation(), FinitePriors(np.stack([P, other]))),
        "maxmin-entropic": lambda: MaxMin(Entropic(1.0), Contamination(0.1)),
    }
    return table[name]().bind(P)


FAMILIES = ["expectation", "entropic", "shortfall", "power", "wang", "maxmin-contamination",
            "maxmin-interval", "maxmin-band", "maxmin-priors", "maxmin-entropic"]


def pool(n, m, seed, families):
    rng = np.random.default_rng(seed)
    X = -rng.gamma(1.2, 1.0, size=(n, m)) * (rng.random((n, m)) < 0.7)
    X[0, 0] += 0.5                                       # a state with a gain for someone
    P = rng.dirichlet(np.ones(m) * 3)
    utilities = [family(families[i % len(families)], P, rng) for i in range(n)]
    return X, P, utilities


def identities(utilities, menu, measure, order, out, efficient):
    """Spec §6–7 identities of a solved game."""
    n = len(order)
    mu = measure.integrals(utilities, DRAWS, 0)
    Y = out.allocation
    W = float(sum(u.value(Y[i]) for i, u in enumerate(utilities)))
    scale = 1e-9 * (1 + np.abs(menu.aggregate).sum())
    assert W == pytest.approx(efficient.welfare, abs=scale)
    first = order[0]
    expected = np.array([e.value for e in mu])
    expected[first] = W - sum(mu[j].value for j in order[1:])
    np.testing.assert_allclose(out.stage_payoffs, expected, atol=scale)
    assert abs(out.cash.sum()) < scale
    at_y = np.array([float(u.value(Y[i])) for i, u in enumerate(utilities)])
    for k in range(2, n + 1):                            # stage cash of k >= 2
        j = order[k - 1]
        assert out.cash[j] == pytest.approx(mu[j].value - at_y[j], abs=scale)
    W2 = sum(at_y[j] for j in order[1:])
    assert out.cash[first] == pytest.approx(W2 - sum(mu[j].value for j in order[1:]), abs=scale)
    rng = np.random.default_rng(1)
    Z = np.concatenate([measure.sample(50, rng), menu.random_vertices(rng, 50)])
    for k, p in enumerate(out.schedules, start=1):      # W_{k+1} − p_k is constant
        later = order[k:]
        h = sum(utilities[j].value(Z[:, j]) for j in later) - p.value(Z)
        assert np.ptp(h) < scale * 10
        assert h[0] == pytest.approx(out.continuation_integrals[k - 1].value, abs=scale)


def _identities_case(n, first):
    """A pool of ``n`` agents whose families rotate through FAMILIES from ``first``."""
    m = 5 if n < 20 else 4
    names = [FAMILIES[(first + i) % len(FAMILIES)] for i in range(len(FAMILIES))]
    X, P, utilities = pool(n, m, seed=zlib.crc32(f"{n}-{first}".encode()) % 1000,
                           families=names)
    menu = SignMenu(X.sum(0), n)
    measure = DirichletMeasure(menu, probabilities=P)
    eff = maximise_welfare(utilities, menu)
    order = tuple(np.random.default_rng(n).permutation(n))
    out = solve_game(utilities, menu, measure, order, efficient=eff, draws=DRAWS,
                     probabilities=P)
    identities(utilities, menu, measure, order, out, eff)


# every family appears for every n: the pools' families rotate through the list
COVER = [(2, k) for k in range(0, 10, 2)] + [(3, k) for k in (0, 3, 6, 9)] + [(5, 0), (5, 5),
                                                                               (20, 0)]


@pytest.mark.parametrize("n,first", COVER, ids=[f"n{n}-from-{FAMILIES[k]}" for n, k in COVER])
def test_identities_every_family(n, first):
    _identities_case(n, first)


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3, 5, 20])
@pytest.mark.parametrize("first", range(len(FAMILIES)))
def test_identities_every_family_first(n, first):
    _identities_case(n, first)


@pytest.fixture(scope="module")
def three():
    X, P, utilities = pool(3, 6, seed=3, families=["entropic", "shortfall", "maxmin-band"])
    menu = ComonotoneMenu(X.sum(0), 3)
    measure = DirichletMeasure(menu, probabilities=P)
    return utilities, menu, measure, maximise_welfare(utilities, menu)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_order_of_three(order, three):
    utilities, menu, measure, eff = three
    out = solve_game(utilities, menu, measure, order, efficient=eff, draws=DRAWS)
    identities(utilities, menu, measure, order, out, eff)
    assert out.order == order and out.schedules[0].poster == order[0]


def test_entropic_common_prior_closed_form():
    """Spec §4: Y_i = (γ_i / Γ) X, W* = −Γ log E_P exp(−X/Γ); spec §7 payoffs."""
    rng = np.random.default_rng(4)
    X = -rng.gamma(1.0, 1.0, size=(3, 7))
    P = rng.dirichlet(np.ones(7))
    gammas = np.array([0.5, 1.0, 2.5])
    utilities = [Entropic(g).bind(P) for g in gammas]
    menu = SignMenu(X.sum(0), 3)
    measure = DirichletMeasure(menu)
    eff = maximise_welfare(utilities, menu)
    G = gammas.sum()
    agg = X.sum(0)
    diff = eff.allocation - np.outer(gammas / G, agg)   # unique up to cash (spec §4)
    np.testing.assert_allclose(diff, diff[:, :1] * np.ones_like(diff), atol=1e-6)
    Wstar = -G * np.log(P @ np.exp(-agg / G))
    out = solve_game(utilities, menu, measure, (2, 0, 1), efficient=eff)
    ints = [measure.integral(u, i).value for i, u in enumerate(utilities)]
    assert out.stage_payoffs[2] == pytest.approx(Wstar - ints[0] - ints[1], abs=1e-7)
    assert out.stage_payoffs[0] == pytest.approx(ints[0], abs=1e-12)
    assert out.stage_payoff_stderr.max() < 1e-6          # quadrature, not sampling


def test_epsilon_perturbation_payoffs_and_cap():
    X, P, utilities = pool(3, 5, seed=5, families=["entropic", "expectation", "shortfall"])
    menu = SignMenu(X.sum(0), 3)
    measure = DirichletMeasure(menu)
    eff = maximise_welfare(utilities, menu)
    eps = 0.05
    out = solve_game(utilities, menu, measure, (0, 1, 2), efficient=eff, epsilon=eps,
                     draws=DRAWS)
    dint = measure.integral_distance(eff.allocation, "sup", DRAWS, 0)
    zero = solve_game(utilities, menu, measure, (0, 1, 2), efficient=eff, draws=DRAWS)
    shift = out.stage_payoffs - zero.stage_payoffs
    np.testing.assert_allclose(shift, [-eps * dint.value, 0.0, eps * dint.value], atol=1e-12)
    assert out.epsilon_term.value == pytest.approx(eps * dint.value)
    assert out.lipschitz_cap == pytest.approx(2.0)
    assert all(p.lipschitz_bound() == pytest.approx(1 + eps) for p in out.schedules)
    # the chooser's unique best reply is Y*: its payoff drops by ε d(Y, Y*) elsewhere
    Z = measure.sample(200, np.random.default_rng(0))
    p = out.schedules[-1]
    v = utilities[2].value(Z[:, 2]) - p.value(Z)
    v_star = utilities[2].value(eff.allocation[2]) - p.value(eff.allocation)
    assert np.all(v <= v_star - eps * distance(Z, eff.allocation) + 1e-10)


def test_best_replies():
    X, P, utilities = pool(3, 5, seed=6, families=["entropic", "entropic", "entropic"])
    menu = SignMenu(X.sum(0), 3)
    measure = DirichletMeasure(menu)
    eff = maximise_welfare(utilities, menu)
    order = (0, 1, 2)
    mu = measure.integrals(utilities)

    # chooser facing the perturbed schedule: certified reply at Y*
    out = solve_game(utilities, menu, measure, order, efficient=eff, epsilon=0.2)
    reply = chooser_best_reply(out.schedules[-1], 2, utilities, menu, measure=measure,
                               anchors=[eff.allocation])
    assert reply.certified and reply.gap < 1e-5
    assert reply.value == pytest.approx(mu[2].value + out.epsilon_term.value, abs=1e-5)

    # poster of stage 2 after the equalising p_1: its best payoff is ∫U_2 dμ
    p1 = equalising_schedule(1, order, utilities, measure, mu_integrals=mu)
    poster = poster_best_reply(2, p1, order, utilities, menu, measure, mu_integrals=mu)
    assert poster.payoff.value == pytest.approx(mu[1].value, abs=1e-6)
    assert poster.schedule.coefficients().tolist() == [0, 0, 1]

    # the first mover's best payoff is max W − ∫W_2 dμ; a scaled schedule does no better
    first = poster_best_reply(1, None, order, utilities, menu, measure, mu_integrals=mu)
    bound = eff.welfare - mu[1].value - mu[2].value
    assert first.payoff.value == pytest.approx(bound, abs=1e-6)
    for lam in (0.5, 1.5):
        steep = replace(p1.scaled(lam), label="scaled")
        pay, rep = deviation_payoff(1, steep, None, order, utilities, menu, measure=measure)
        assert pay <= bound + rep.gap + 1e-6


def test_nonconcave_reply_is_not_certified():
    X, P, utilities = pool(2, 4, seed=7, families=["entropic", "shortfall"])
    menu = SignMenu(X.sum(0), 2)
    bad = Schedule(2, 4, ((1, 2.0),), utilities=utilities)   # U_2 − 2 U_2: convex in Y_2
    reply = chooser_best_reply(bad, 1, utilities, menu)
    assert not reply.certified and reply.upper_bound == np.inf
    obj = continuation_objective(bad, [1], 2)
    assert not obj.concave
    vertices = np.stack(list(menu.vertices()))
    assert reply.value >= obj.value(vertices, utilities).max() - 1e-12


def test_weighted_objective_certified():
    X, P, utilities = pool(3, 5, seed=8, families=["shortfall", "maxmin-band", "entropic"])
    menu = SignMenu(X.sum(0), 3)
    obj = Objective(np.array([1.0, 0.5, 2.0]))
    reply = maximise_objective(obj, utilities, menu)
    assert reply.certified and reply.gap <= 1e-6 * (1 + abs(reply.value))
    Z = menu.sample(np.random.default_rng(0), 500)
    assert obj.value(Z, utilities).max() <= reply.upper_bound + 1e-9


def test_worst_case_priors_of_maxmin_agents():
    X, P, utilities = pool(3, 5, seed=9, families=["maxmin-interval", "entropic",
                                                    "maxmin-contamination"])
    menu = SignMenu(X.sum(0), 3)
    eff = maximise_welfare(utilities, menu)
    priors = worst_case_priors(utilities, eff.allocation)
    assert sorted(priors) == [0, 2]
    for i, q in priors.items():
        assert q.sum() == pytest.approx(1.0)
        assert float(q @ eff.allocation[i]) == pytest.approx(
            float(utilities[i].value(eff.allocation[i])), abs=1e-9)


def test_final_wealth_does_not_depend_on_the_efficient_point():
    """Two efficient points differing by cash (spec §4) give the same final wealth."""
    rng = np.random.default_rng(10)
    X = -rng.uniform(1.0, 3.0, size=(3, 4))              # every state a loss: room for cash
    P = np.full(4, 0.25)
    utilities = [Entropic(g).bind(P) for g in (1.0, 2.0, 1.5)]
    menu = SignMenu(X.sum(0), 3)
    measure = DirichletMeasure(menu)
    eff = maximise_welfare(utilities, menu)
    c = 0.1 * float(np.min(np.abs(eff.allocation)))
    moved = eff.allocation.copy()
    moved[0] += c                                        # agent 0 gets cash c from agent 1
    moved[1] -= c
    assert menu.contains(moved)
    other = replace(eff, allocation=moved) if hasattr(eff, "__dataclass_fields__") else None
    a = solve_game(utilities, menu, measure, (0, 1, 2), efficient=eff)
    b = solve_game(utilities, menu, measure, (0, 1, 2), efficient=other)
    wealth_a = a.allocation + (a.stage_payoffs - [u.value(a.allocation[i])
                                                  for i, u in enumerate(utilities)])[:, None]
    wealth_b = b.allocation + (b.stage_payoffs - [u.value(b.allocation[i])
                                                  for i, u in enumerate(utilities)])[:, None]
    np.testing.assert_allclose(wealth_a, wealth_b, atol=1e-9)
    assert not np.allclose(a.cash, b.cash)
