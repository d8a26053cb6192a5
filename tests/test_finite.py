"""Price-and-choose on finite menus (riskshare.finite).

Reference values of the hand-worked games are our own derivations, written out
in the comments next to each case (equal weights 1/K unless stated).
"""

from dataclasses import dataclass
from fractions import Fraction as F

import numpy as np
import pytest

from riskshare import MenuError, ShapeError, TooFewAgentsError
from riskshare.finite import (
    chooser_best_reply,
    equalising_schedules,
    finite_values,
    poster_payoff,
    solve_finite_game,
)
from riskshare.utilities import Expectation


@dataclass(frozen=True)
class HandGame:
    values: list
    order: tuple
    weights: tuple | None
    chosen: int
    efficient: tuple
    schedules: list          # (n-1, K)
    stage_payoffs: list
    cash: list               # by stage
    surplus: F
    target: int | None = None


CASES = {
    # n = 2, K = 3, agent 0 posts, agent 1 chooses.
    # W = (5, 6, 4): item 1 efficient. ∫U_1 dμ = (1+5+2)/3 = 8/3,
    # p = V[:,1] - 8/3 = (-5/3, 7/3, -2/3). Chooser gets 8/3 everywhere.
    # Poster: U_0(item 1) + p(1) = 1 + 7/3 = 10/3 = max W - ∫U_1 = 6 - 8/3.
    # ∫U_0 = 7/3, surplus = 6 - 7/3 - 8/3 = 1.
    "n2-poster0": HandGame([[4, 1], [1, 5], [2, 2]], (0, 1), None, 1, (1,),
                           [[F(-5, 3), F(7, 3), F(-2, 3)]], [F(10, 3), F(8, 3)],
                           [F(7, 3), F(-7, 3)], F(1)),
    # Same game, agent 1 posts: p = V[:,0] - 7/3 = (5/3, -4/3, -1/3).
    # Poster (agent 1): 5 - 4/3 = 11/3 = 6 - 7/3; chooser (agent 0): 1 + 4/3 = 7/3.
    "n2-poster1": HandGame([[4, 1], [1, 5], [2, 2]], (1, 0), None, 1, (1,),
                           [[F(5, 3), F(-4, 3), F(-1, 3)]], [F(11, 3), F(7, 3)],
                           [F(-4, 3), F(4, 3)], F(1)),
    # Tie: W = (3, 3, 2), items 0 and 1 efficient; ∫U_1 = 4/3,
    # p = (-4/3, 5/3, -1/3); the chooser is indifferent and the tie goes to item 0.
    # Poster: 3 - 4/3 = 5/3; chooser: 0 + 4/3 = 4/3. At item 1: 0 + 5/3 and 3 - 5/3, the same.
    "n2-tie": HandGame([[3, 0], [0, 3], [1, 1]], (0, 1), None, 0, (0, 1),
                       [[F(-4, 3), F(5, 3), F(-1, 3)]], [F(5, 3), F(4, 3)],
                       [F(-4, 3), F(4, 3)], F(3) - F(4, 3) - F(4, 3)),
    "n2-tie-target1": HandGame([[3, 0], [0, 3], [1, 1]], (0, 1), None, 1, (0, 1),
                               [[F(-4, 3), F(5, 3), F(-1, 3)]], [F(5, 3), F(4, 3)],
                               [F(5, 3), F(-5, 3)], F(1, 3), target=1),
    # n = 3, order (0, 1, 2). W = (3, 3, 5): item 2 efficient.
    # W_3 = V[:,2] = (1, 0, 3), ∫ = 4/3, p_2 = (-1/3, -4/3, 5/3).
    # W_2 = V[:,1] + V[:,2] = (1, 3, 4), ∫ = 8/3, p_1 = (-5/3, 1/3, 4/3).
    # Stage 1: 1 + 4/3 = 7/3 = 5 - 4/3 - 4/3; stage 2: 1 + 5/3 - 4/3 = 4/3;
    # stage 3: 3 - 5/3 = 4/3. Cash (4/3, 1/3, -5/3). ∫U_0 = 1, surplus = 5 - 1 - 8/3 = 4/3.
    "n3": HandGame([[2, 0, 1], [0, 3, 0], [1, 1, 3]], (0, 1, 2), None, 2, (2,),
                   [[F(-5, 3), F(1, 3), F(4, 3)], [F(-1, 3), F(-4, 3), F(5, 3)]],
                   [F(7, 3), F(4, 3), F(4, 3)], [F(4, 3), F(1, 3), F(-5, 3)], F(4, 3)),
    # n = 3 with a tie, order (2, 0, 1), weights (1/2, 1/4, 1/4). W = (3, 3, 2).
    # W_3 = V[:,1] = (1, 0, 0), ∫ = 1/2, p_2 = (1/2, -1/2, -1/2).
    # W_2 = V[:,0] + V[:,1] = (2, 3, 0), ∫ = 1 + 3/4 = 7/4, p_1 = (1/4, 5/4, -7/4).
    # Item 0: stage 1 (agent 2) 1 + 1/4 = 5/4 = 3 - 5/4 - 1/2; stage 2 (agent 0)
    # 1 + 1/2 - 1/4 = 5/4 = ∫U_0; stage 3 (agent 1) 1 - 1/2 = 1/2 = ∫U_1.
    # ∫U_2 = 1/2 + 0 + 1/2 = 1, surplus = 3 - 5/4 - 1/2 - 1 = 1/4.
    "n3-tie-weights": HandGame([[1, 1, 1], [3, 0, 0], [0, 0, 2]], (2, 0, 1),
                               (F(1, 2), F(1, 4), F(1, 4)), 0, (0, 1),
                               [[F(1, 4), F(5, 4), F(-7, 4)], [F(1, 2), F(-1, 2), F(-1, 2)]],
                               [F(5, 4), F(5, 4), F(1, 2)], [F(1, 4), F(1, 4), F(-1, 2)], F(1, 4)),
    # Target item 1 of the same game: stage 1: 0 + 5/4; stage 2: 3 - 1/2 - 5/4 = 5/4;
    # stage 3: 0 + 1/2. Same payoffs, other cash: (5/4, -7/4, 1/2).
    "n3-tie-target1": HandGame([[1, 1, 1], [3, 0, 0], [0, 0, 2]], (2, 0, 1),
                               (F(1, 2), F(1, 4), F(1, 4)), 1, (0, 1),
                               [[F(1, 4), F(5, 4), F(-7, 4)], [F(1, 2), F(-1, 2), F(-1, 2)]],
                               [F(5, 4), F(5, 4), F(1, 2)], [F(5, 4), F(-7, 4), F(1, 2)], F(1, 4),
                               target=1),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hand_worked_games_exact(case):
    out = solve_finite_game(case.values, case.weights, case.order, exact=True, target=case.target)

    assert out.exact and out.chosen == case.chosen and out.efficient == case.efficient
    assert out.schedules.tolist() == case.schedules
    assert list(out.stage_payoffs) == case.stage_payoffs
    assert list(out.cash) == case.cash and sum(out.cash) == 0
    assert out.surplus == case.surplus
    assert all(isinstance(x, F) for x in out.schedules.ravel())
    assert list(out.poster_gaps) == [0] * (len(case.order) - 1)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_float_mode_agrees_with_exact(case):
    weights = None if case.weights is None else [float(w) for w in case.weights]
    out = solve_finite_game(case.values, weights, case.order, target=case.target)

    assert not out.exact and out.chosen == case.chosen and out.efficient == case.efficient
    np.testing.assert_allclose(out.schedules, np.array(case.schedules, float), atol=1e-12)
    np.testing.assert_allclose(out.stage_payoffs, [float(x) for x in case.stage_payoffs],
                               atol=1e-12)
    assert abs(out.cash.sum()) < 1e-12


def test_epsilon_perturbation_by_hand():
    # Tie game above, ε = 1/10, target item 0: the bump is ε[y≠0] - ε(1 - 1/3) =
    # (-1/15, 1/30, 1/30), so p = (-7/5, 17/10, -3/10). Chooser: item 0 gives
    # 0 + 7/5 = 7/5, items 1 and 2 give 13/10: item 0 is the unique best reply.
    # Poster: 3 - 7/5 = 8/5 = W(Y*) - ∫U_1 - ε ∫d(., Y*) dμ = 3 - 4/3 - (1/10)(2/3).
    out = solve_finite_game([[3, 0], [0, 3], [1, 1]], epsilon=F(1, 10), exact=True)

    assert out.schedules.tolist() == [[F(-7, 5), F(17, 10), F(-3, 10)]]
    assert chooser_best_reply(out.values, out.schedules[0], 1) == (0,)
    assert list(out.stage_payoffs) == [F(8, 5), F(7, 5)]
    assert list(out.poster_gaps) == [F(1, 15)]


def _random_game(rng, K, n, exact):
    V = rng.integers(-20, 21, size=(K, n))
    w = rng.integers(1, 6, size=K)
    if exact:
        return [[F(int(v), 4) for v in row] for row in V], [F(int(x), int(w.sum())) for x in w]
    return V / 4.0, w / w.sum()


@pytest.mark.parametrize("n", [2, 3, 5])
def test_spec_identities_on_random_games(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        V, w = _random_game(rng, int(rng.integers(1, 7)), n, exact=True)
        order = tuple(int(i) for i in rng.permutation(n))
        out = solve_finite_game(V, w, order, exact=True)
        mu = out.mu_integrals

        W = [sum(row) for row in V]
        assert out.welfare == max(W) and out.chosen in out.efficient
        assert out.stage_payoffs[0] == max(W) - sum(mu[a] for a in order[1:])
        assert all(out.stage_payoffs[k] == mu[order[k]] for k in range(1, n))
        assert sum(out.cash) == 0 and sum(out.stage_payoffs) == out.welfare
        assert all(np.dot(w, p) == 0 for p in out.schedules)           # normalised
        chooser = np.array(V, dtype=object)[:, order[-1]] - out.schedules[-1]
        assert len(set(chooser)) == 1                                   # indifferent


@pytest.mark.parametrize("order", [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1),
                                   (2, 1, 0)])
def test_no_stage_gains_by_deviating(order):
    rng = np.random.default_rng(sum(i * 10**k for k, i in enumerate(order)))
    V, w = _random_game(rng, 4, 3, exact=True)
    out = solve_finite_game(V, w, order, exact=True)

    for k in (1, 2):
        previous = None if k == 1 else out.schedules[k - 2]
        eq, _ = poster_payoff(out.values, order, k, out.schedules[k - 1], previous)
        assert eq == out.stage_payoffs[k - 1] == out.poster_bounds[k - 1]
        for _ in range(60):
            dev = np.array([F(int(x), 3) for x in rng.integers(-30, 31, size=4)], dtype=object)
            dev = dev - np.dot(out.weights, dev)                        # normalised
            assert poster_payoff(out.values, order, k, dev, previous)[0] <= eq
        for j in range(4):                                              # favour item j
            dev = out.schedules[k - 1] - F(5) * (np.arange(4) == j)
            dev = dev - np.dot(out.weights, dev)
            assert poster_payoff(out.values, order, k, dev, previous)[0] <= eq


def test_chooser_best_reply_two_players_brute_force():
    # Against any price vector the chooser's reply is what a direct scan finds,
    # and a poster facing the reply never beats max W - ∫U_2 dμ.
    rng = np.random.default_rng(7)
    V, w = _random_game(rng, 5, 2, exact=True)
    out = solve_finite_game(V, w, exact=True)
    for _ in range(100):
        p = np.array([F(int(x), 2) for x in rng.integers(-40, 41, size=5)], dtype=object)
        p = p - np.dot(out.weights, p)
        replies = chooser_best_reply(out.values, p, 1)
        net = [V[y][1] - p[y] for y in range(5)]
        assert replies == tuple(y for y in range(5) if net[y] == max(net))
        best_for_poster = max(V[y][0] + p[y] for y in replies)
        assert best_for_poster <= out.stage_payoffs[0]


def test_final_payoffs_do_not_depend_on_the_efficient_item():
    V = [[2, 1, 0], [0, 3, 0], [1, 0, 2], [3, 0, 0]]   # W = (3, 3, 3, 3): all efficient
    outs = [solve_finite_game(V, order=(1, 2, 0), exact=True, target=t) for t in range(4)]

    assert outs[0].efficient == (0, 1, 2, 3)
    assert [o.chosen for o in outs] == [0, 1, 2, 3]
    assert all(list(o.agent_payoffs) == list(outs[0].agent_payoffs) for o in outs)


def test_epsilon_makes_target_unique_at_every_stage():
    V = [[2, 1, 0], [0, 3, 0], [1, 0, 2], [3, 0, 0]]
    eps = F(1, 100)
    for target in range(4):
        out = solve_finite_game(V, order=(2, 0, 1), epsilon=eps, exact=True, target=target)
        assert out.chosen == target
        assert chooser_best_reply(out.values, out.schedules[-1], 1) == (target,)
        assert all(g == eps * (1 - F(1, 4)) for g in out.poster_gaps)


def test_single_item_is_a_trivial_game():
    out = solve_finite_game([[F(3), F(-1), F(2)]], exact=True)

    assert out.chosen == 0 and out.efficient == (0,)
    assert out.schedules.tolist() == [[0], [0]]
    assert list(out.stage_payoffs) == [3, -1, 2] and out.surplus == 0


def test_float_inputs_read_as_decimals_in_exact_mode():
    out = solve_finite_game([[0.1, 0.2], [0.3, 0.0]], weights=[0.3, 0.7], exact=True)

    assert out.weights.tolist() == [F(3, 10), F(7, 10)]
    assert out.values[0, 0] == F(1, 10)
    # ∫U_1 = 0.3 * 0.2 = 3/50; p = (0.2 - 3/50, -3/50) = (7/50, -3/50); W = (3/10, 3/10):
    # tie, item 0 chosen; poster 1/10 + 7/50 = 6/25.
    assert out.schedules.tolist() == [[F(7, 50), F(-3, 50)]]
    assert out.stage_payoffs[0] == F(6, 25)


def test_exact_and_float_agree_on_random_real_values():
    rng = np.random.default_rng(11)
    for n in (2, 3, 4):
        V = rng.normal(size=(6, n))
        exact = solve_finite_game(V, exact=True)
        approx = solve_finite_game(V)
        assert exact.chosen == approx.chosen
        np.testing.assert_allclose(approx.stage_payoffs, exact.stage_payoffs.astype(float),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(approx.schedules, exact.schedules.astype(float), atol=1e-12)


def test_values_from_utilities():
    items = np.array([[[-1.0, 0.0], [0.0, -2.0]], [[-0.5, -1.0], [-0.5, -1.0]]])
    us = [Expectation(prior=[0.5, 0.5]), Expectation(prior=[0.25, 0.75])]
    V = finite_values(items, us)
    np.testing.assert_allclose(V, [[-0.5, -1.5], [-0.75, -0.875]])


@pytest.mark.parametrize("kwargs, error", [
    ({"values": [[1, 2], [3, 4]], "order": (0, 0)}, ShapeError),
    ({"values": [[1, 2], [3, 4]], "weights": [0.5, 0.6]}, ShapeError),
    ({"values": [[1, 2], [3, 4]], "weights": [1.0, 0.0]}, ShapeError),
    ({"values": [[1, 2], [3, 4]], "weights": [F(1, 3), F(1, 3)], "exact": True}, ShapeError),
    ({"values": [[1, 2], [3, 4]], "target": 0}, MenuError),
    ({"values": [[1], [3]]}, TooFewAgentsError),
    ({"values": [[1, 2], [3, 4]], "epsilon": -1}, ShapeError),
    ({"values": [[1, float("nan")]]}, ShapeError),
], ids=["order", "weights-sum", "weight-zero", "exact-weights-sum", "target", "one-agent",
        "epsilon", "nan"])
def test_bad_input(kwargs, error):
    with pytest.raises(error):
        solve_finite_game(**kwargs)


def test_equalising_schedules_match_solver():
    V = [[2, 0, 1], [0, 3, 0], [1, 1, 3]]
    assert equalising_schedules(V, order=(0, 1, 2), exact=True).tolist() == \
        CASES["n3"].schedules


def test_planted_wrong_schedules_leave_a_gap():
    # A poster who posts a schedule steering the choice to an inefficient item, or
    # the equalising schedule of the wrong continuation, earns less than its bound.
    V = [[2, 0, 1], [0, 3, 0], [1, 1, 3]]
    out = solve_finite_game(V, order=(0, 1, 2), exact=True)
    bound = out.poster_bounds[0]

    steer = out.schedules[0] - F(3) * (np.arange(3) == 0)
    steer = steer - np.dot(out.weights, steer)
    wrong = out.schedules[1]                         # stage 2's schedule posted at stage 1
    for p in (steer, wrong):
        payoff, item = poster_payoff(out.values, (0, 1, 2), 1, p)
        assert payoff < bound and item not in out.efficient
