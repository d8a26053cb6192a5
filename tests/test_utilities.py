"""Monetary utilities: closed forms, axioms, supergradients, penalties, rescaling, factory.

Reference values are computed by hand in the comments (closed forms of spec §2)
or recomputed independently: an LP over the utility's polytope (HiGHS), brute
force over all events for the distortion core.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskshare import (
    ProbabilityError,
    SpecError,
    UnsupportedError,
    UtilityParameterError,
)
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
    WangDistortion,
    utility_from_spec,
)

M = 5
#: an uneven reference probability with a small atom
P_REF = np.array([0.02, 0.08, 0.3, 0.1, 0.5])
Q_OWN = np.array([0.3, 0.1, 0.2, 0.25, 0.15])
OUTCOMES = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [1, 1]])


def _sqrt(u):
    return np.sqrt(u)


def family_cases():
    """(id, utility bound to P_REF) for every family and supported max-min combination."""
    lo, hi = 0.5 * P_REF, np.minimum(1.0, 2.0 * P_REF)
    priors = np.array([[0.1, 0.1, 0.4, 0.2, 0.2], [0.3, 0.0, 0.3, 0.3, 0.1],
                       [0.05, 0.05, 0.1, 0.1, 0.7]])
    sets = {
        "interval": IntervalSet(lo, hi),
        "contamination": Contamination(0.3, centre=Q_OWN),
        "density_band": DensityBand(0.4, 1.8),
        "finite": FinitePriors(priors),
        "events": IndependentEvents(OUTCOMES, [0.1, 0.2], [0.4, 0.6]),
        "kl": KLBall(0.2),
    }
    table = TableDistortion([0.0, 0.1, 0.5, 1.0], [0.0, 0.4, 0.85, 1.0])
    cases = [
        ("expectation", Expectation(Q_OWN)),
        ("expectation-ref", Expectation()),
        ("entropic", Entropic(7.0, Q_OWN)),
        ("es-0.05", ExpectedShortfall(0.05)),
        ("es-0.25", ExpectedShortfall(0.25, Q_OWN)),
        ("es-uniform", ExpectedShortfall(0.3, np.full(M, 1 / M))),
        ("es-1", ExpectedShortfall(1.0)),
        ("power", Distortion(PowerDistortion(0.6))),
        ("wang", Distortion(WangDistortion(0.7), Q_OWN)),
        ("table", Distortion(table)),
        ("callable", Distortion(_sqrt)),
        ("wang-uniform", Distortion(WangDistortion(0.4), np.full(M, 1 / M))),
    ]
    for name, C in sets.items():
        cases.append((f"maxmin-expectation-{name}", MaxMin(Expectation(), C)))
        cases.append((f"maxmin-entropic-{name}", MaxMin(Entropic(5.0), C)))
    for name in ("interval", "contamination", "density_band", "finite", "events"):
        cases.append((f"maxmin-es-{name}", MaxMin(ExpectedShortfall(0.3), sets[name])))
    for name in ("interval", "contamination", "density_band"):
        cases.append((f"maxmin-power-{name}", MaxMin(Distortion(PowerDistortion(0.5)),
                                                     sets[name])))
        cases.append((f"maxmin-table-{name}", MaxMin(Distortion(table), sets[name])))
    return [(name, u.bind(P_REF)) for name, u in cases]


CASES = family_cases()
IDS = [c[0] for c in CASES]
UTILS = [c[1] for c in CASES]

# payoffs with ties (integers) and without (floats)
entries = st.one_of(st.integers(-6, 6).map(float), st.floats(-60, 60, allow_nan=False))
batch = arrays(np.float64, (6, M), elements=entries)
AXIOMS = settings(max_examples=25, deadline=None)


# -- closed forms ---------------------------------------------------------------------------------
LAW_Y = np.array([-10.0, -5.0, 0.0, 5.0])
LAW_Q = np.array([0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("level, expected", [
    (0.05, -10.0),                        # below the smallest atom: the worst state
    (0.1, -10.0),                         # exactly the first atom
    (0.25, (0.1 * -10 + 0.15 * -5) / 0.25),  # tail cuts through the atom at -5: -7
    (0.3, (0.1 * -10 + 0.2 * -5) / 0.3),  # exactly two atoms: -20/3
    (0.6, (-1 - 1 + 0) / 0.6),            # cuts through the atom at 0
    (1.0, LAW_Q @ LAW_Y),                 # the mean
], ids=["below-atom", "one-atom", "through-atom", "two-atoms", "through-zero", "mean"])
def test_expected_shortfall_of_a_discrete_law(level, expected):
    u = ExpectedShortfall(level, LAW_Q)
    value, R = u.value_and_supergradient(LAW_Y)
    assert value == pytest.approx(expected, abs=1e-12)
    assert R @ LAW_Y == pytest.approx(expected, abs=1e-12)
    assert np.all(R <= LAW_Q / level + 1e-12) and R.sum() == pytest.approx(1.0)
    # independent recomputation: LP over the polytope {0 <= R <= Q/α, Σ R = 1}
    assert u.credal_polytope().minimise(LAW_Y)[0] == pytest.approx(expected, abs=1e-9)


def test_expected_shortfall_uniform_path_matches_general_path():
    rng = np.random.default_rng(0)
    Y = rng.integers(-4, 4, size=(50, 7)).astype(float)
    uniform = np.full(7, 1 / 7)
    for level in (0.01, 1 / 7, 0.2, 3 / 7, 0.5, 0.99):
        u = ExpectedShortfall(level, uniform)
        v_fast, R_fast = u.value_and_supergradient(Y)
        v_gen, R_gen = u.evaluate_at(Y, np.broadcast_to(uniform, Y.shape) * (1 + 0 * Y))
        np.testing.assert_allclose(v_fast, v_gen, atol=1e-12)
        np.testing.assert_allclose(v_fast, u.value(Y), atol=1e-12)
        assert np.all(u.penalty(R_fast) == 0) and np.all(u.penalty(R_gen) == 0)


def test_expected_shortfall_ties_at_the_quantile():
    # three states tied at the 1/3-quantile: every split of the tail mass among them is optimal
    Y = np.array([-5.0, -5.0, -5.0, 0.0, 3.0])
    Q = np.full(5, 0.2)
    u = ExpectedShortfall(0.3, Q)
    value, R = u.value_and_supergradient(Y)
    assert value == pytest.approx(-5.0)
    assert R[3:].sum() == pytest.approx(0.0)
    # the superdifferential is a set: other splits pass the penalty identity too
    for other in ([1 / 3, 1 / 3, 1 / 3, 0, 0], [2 / 3, 1 / 3, 0, 0, 0], [0, 1 / 3, 2 / 3, 0, 0]):
        other = np.array(other)
        assert u.penalty(other) == 0
        assert other @ Y + u.penalty(other) == pytest.approx(value)
    # ... and the supergradient inequality
    Z = np.random.default_rng(1).normal(size=(200, 5)) * 4
    assert np.all(u.value(Z) <= value + (Z - Y) @ R + 1e-9)


def test_expected_shortfall_level_below_smallest_atom_is_the_minimum():
    rng = np.random.default_rng(2)
    Q = np.array([0.3, 0.3, 0.4])
    Y = rng.normal(size=(100, 3))
    np.testing.assert_allclose(ExpectedShortfall(0.01, Q).value(Y), Y.min(axis=1))


def test_power_distortion_by_hand():
    # F = (1/4, 1/2, 1), g = sqrt: weights 1/2, 1/√2 - 1/2, 1 - 1/√2
    u = Distortion(PowerDistortion(0.5), [0.25, 0.25, 0.5])
    value, W = u.value_and_supergradient([-4.0, 0.0, 2.0])
    assert value == pytest.approx(-math.sqrt(2), abs=1e-14)
    np.testing.assert_allclose(W, [0.5, 1 / math.sqrt(2) - 0.5, 1 - 1 / math.sqrt(2)])


def test_wang_distortion_by_hand():
    # two equally likely states: the worst gets g(1/2) = Φ(λ); Φ(0.5) = 0.691462461274013
    u = Distortion(WangDistortion(0.5), [0.5, 0.5])
    assert u.value([0.0, -1.0]) == pytest.approx(-0.691462461274013, abs=1e-13)
    assert u.value([3.0, 1.0]) == pytest.approx(1 + 2 * (1 - 0.691462461274013), abs=1e-13)


def test_entropic_by_hand():
    u = Entropic(1.0, [0.5, 0.5])
    assert u.value([0.0, -1.0]) == pytest.approx(-math.log(0.5 + 0.5 * math.e))


@pytest.mark.parametrize("level", [0.05, 0.2, 0.5, 1.0])
def test_table_distortion_min_u_over_level_is_expected_shortfall(level):
    rng = np.random.default_rng(3)
    Q = rng.dirichlet(np.ones(6))
    Y = rng.integers(-3, 3, size=(40, 6)).astype(float)
    g = TableDistortion([0.0, level, 1.0], [0.0, 1.0, 1.0]) if level < 1 else \
        TableDistortion([0.0, 1.0], [0.0, 1.0])
    np.testing.assert_allclose(Distortion(g, Q).value(Y), ExpectedShortfall(level, Q).value(Y),
                               atol=1e-12)


def test_identity_distortions_are_the_expectation():
    rng = np.random.default_rng(4)
    Q = rng.dirichlet(np.ones(6))
    Y = rng.normal(size=(20, 6))
    for g in (PowerDistortion(1.0), WangDistortion(0.0)):
        np.testing.assert_allclose(Distortion(g, Q).value(Y), Y @ Q, atol=1e-12)


def test_distortion_value_ignores_how_ties_are_broken():
    Q = np.array([0.1, 0.4, 0.2, 0.3])
    u = Distortion(WangDistortion(0.8), Q)
    Y = np.array([-1.0, -1.0, 2.0, 2.0])
    perm = [1, 0, 3, 2]
    u_perm = Distortion(WangDistortion(0.8), Q[perm])
    assert u.value(Y) == pytest.approx(u_perm.value(Y[perm]), abs=1e-14)


@pytest.mark.parametrize("g", [PowerDistortion(0.4), WangDistortion(1.2),
                               TableDistortion([0, 0.3, 1], [0, 0.6, 1])], ids=str)
def test_distortion_core_prefix_test_matches_all_events(g):
    # brute force over all 2^m events against the m-prefix test of the docstring
    rng = np.random.default_rng(5)
    m = 6
    Q0 = rng.dirichlet(np.ones(m))
    events = np.array(list(itertools.product([0, 1], repeat=m)), dtype=float)
    u = Distortion(g, Q0)
    cap = g(np.clip(events @ Q0, 0, 1))
    agree = 0
    for _ in range(300):
        # a mixture of core vertices (inside), pushed toward a random prior (maybe outside)
        R = rng.dirichlet(np.ones(3)) @ u.supergradient(rng.normal(size=(3, m)))
        w = rng.choice([0.0, 0.02, 0.1, 0.5])
        R = (1 - w) * R + w * rng.dirichlet(np.ones(m) * rng.choice([0.3, 1, 5]))
        brute = np.all(events @ R <= cap + 1e-9)
        assert (u.penalty(R) == 0) == brute
        agree += brute
    assert 20 < agree < 280  # both answers occur


def test_distortion_polytope_is_the_core():
    rng = np.random.default_rng(6)
    for Q0, g in ((rng.dirichlet(np.ones(5)), TableDistortion([0, .2, .7, 1], [0, .5, .9, 1])),
                  (np.full(5, 0.2), WangDistortion(0.6)), (np.full(5, 0.2), PowerDistortion(.3))):
        u = Distortion(g, Q0)
        poly = u.credal_polytope()
        for Y in rng.integers(-5, 5, size=(5, 5)).astype(float):
            assert poly.minimise(Y)[0] == pytest.approx(u.value(Y), abs=1e-8)
    assert Distortion(PowerDistortion(0.5), rng.dirichlet(np.ones(5))).credal_polytope() is None


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("g, fragment", [
    (lambda u: u ** 2, "concave"),
    (lambda u: 0.5 + 0.5 * u, "g(0) = 0"),
    (lambda u: np.where((u > 0.4) & (u < 0.6), 0.5, np.minimum(2 * u, 1)), "nondecreasing"),
    (lambda u: np.where(u > 0.5, np.nan, u), "finite"),
], ids=["convex", "not-normalised", "decreasing", "nan"])
def test_bad_user_distortion_is_refused(g, fragment):
    with pytest.raises(UtilityParameterError, match="distortion.g") as info:
        Distortion(g)
    assert fragment in str(info.value)


def test_scalar_only_user_distortion_is_accepted():
    def g(u: float) -> float:
        return math.sqrt(u)

    u = Distortion(g, [0.25, 0.75])
    assert u.value([-1.0, 0.0]) == pytest.approx(-0.5)


@pytest.mark.parametrize("build, field", [
    (lambda: ExpectedShortfall(0.0), "expected_shortfall.level"),
    (lambda: ExpectedShortfall(1.5), "expected_shortfall.level"),
    (lambda: PowerDistortion(1.5), "distortion.g.exponent"),
    (lambda: PowerDistortion(0.0), "distortion.g.exponent"),
    (lambda: WangDistortion(-0.1), "distortion.g.shift"),
    (lambda: TableDistortion([0, 0.5, 1], [0, 0.2, 1]), "distortion.g.g"),
    (lambda: TableDistortion([0, 0.5], [0, 1]), "distortion.g.u"),
    (lambda: TableDistortion([0, 0.6, 0.5, 1], [0, 0.7, 0.8, 1]), "distortion.g.u"),
    (lambda: MaxMin(Expectation([0.5, 0.5]), Contamination(0.1)), "maxmin.base.prior"),
])
def test_bad_parameters_name_the_field(build, field):
    with pytest.raises(UtilityParameterError) as info:
        build()
    assert info.value.field == field


@pytest.mark.parametrize("base, credal", [
    (ExpectedShortfall(0.2), KLBall(0.1)),
    (Distortion(PowerDistortion(0.5)), FinitePriors([[0.5, 0.5]])),
    (Distortion(WangDistortion(0.5)), KLBall(0.1)),
    (Distortion(PowerDistortion(0.5)), IndependentEvents([[0], [1]], [0.1], [0.2])),
])
def test_unsupported_maxmin_combinations_say_so(base, credal):
    credal.field = "agents[1].credal"
    with pytest.raises(UnsupportedError) as info:
        MaxMin(base, credal)
    assert info.value.field == "agents[1].credal"
    assert base.name in str(info.value) and credal.kind in str(info.value)


def test_unbound_utility_asks_for_binding():
    with pytest.raises(UtilityParameterError, match="bind"):
        ExpectedShortfall(0.1).value([1.0, 2.0])


# -- axioms (spec §1) as properties ---------------------------------------------------------------
@pytest.mark.parametrize("u", UTILS, ids=IDS)
@AXIOMS
@given(Y=batch, c=st.floats(-50, 50))
def test_cash_invariance_and_normalisation(u, Y, c):
    np.testing.assert_allclose(u.value(Y + c), u.value(Y) + c, atol=1e-9 * (1 + np.abs(Y).max()))
    assert u.value(np.zeros(M)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("u", UTILS, ids=IDS)
@AXIOMS
@given(Y=batch, D=arrays(np.float64, (6, M), elements=st.floats(0, 20)))
def test_monotone_and_one_lipschitz_in_sup_norm(u, Y, D):
    tol = 1e-9 * (1 + np.abs(Y).max() + np.abs(D).max())
    assert np.all(u.value(Y + D) >= u.value(Y) - tol)
    gap = np.abs(u.value(Y + D) - u.value(Y))
    assert np.all(gap <= np.max(np.abs(D), axis=-1) + tol)


@pytest.mark.parametrize("u", UTILS, ids=IDS)
@AXIOMS
@given(Y=batch, Z=batch, t=st.floats(0, 1))
def test_concave_along_segments(u, Y, Z, t):
    tol = 1e-9 * (1 + np.abs(Y).max() + np.abs(Z).max())
    mid = u.value(t * Y + (1 - t) * Z)
    assert np.all(mid >= t * u.value(Y) + (1 - t) * u.value(Z) - tol)


@pytest.mark.parametrize("u", UTILS, ids=IDS)
@AXIOMS
@given(Y=batch, Z=batch)
def test_supergradient_inequality_and_penalty_identity(u, Y, Z):
    scale = 1 + np.abs(Y).max() + np.abs(Z).max()
    value, Q = u.value_and_supergradient(Y)
    assert np.all(Q >= -1e-12)
    np.testing.assert_allclose(Q.sum(axis=-1), 1.0, atol=1e-12)
    # U(Z) <= U(Y) + <Q, Z - Y>
    assert np.all(u.value(Z) <= value + np.sum(Q * (Z - Y), axis=-1) + 1e-9 * scale)
    # U(Y) = <Q, Y> + α(Q) at the supergradient (with the hint Y)
    penalty = u.penalty(Q, Y)
    np.testing.assert_allclose(np.sum(Q * Y, axis=-1) + penalty, value, atol=1e-9 * scale)
    # and α bounds U everywhere: U(Z) <= <Q, Z> + α(Q)
    assert np.all(u.value(Z) <= np.sum(Q * Z, axis=-1) + penalty + 1e-9 * scale)


@pytest.mark.parametrize("u", UTILS, ids=IDS)
@AXIOMS
@given(Y=batch, Z=batch)
def test_l1_lipschitz_constant_is_a_bound(u, Y, Z):
    L = u.lipschitz("l1", P_REF)
    assert L >= 1 - 1e-12   # U(Y + c) - U(Y) = c while E_P|c| = c
    dist = np.abs(Y - Z) @ P_REF
    tol = 1e-9 * (1 + np.abs(Y).max() + np.abs(Z).max())
    assert np.all(np.abs(u.value(Y) - u.value(Z)) <= L * dist + tol)
    assert u.lipschitz("sup") == 1.0


@pytest.mark.parametrize("u", UTILS, ids=IDS)
def test_batch_axes_and_description(u):
    rng = np.random.default_rng(7)
    Y = rng.normal(size=(2, 3, M)) * 10
    values, grads = u.value_and_supergradient(Y)
    assert values.shape == (2, 3) and grads.shape == (2, 3, M)
    for i, j in itertools.product(range(2), range(3)):
        assert values[i, j] == pytest.approx(float(u.value(Y[i, j])), abs=1e-10)
    assert u.worst_case_prior(Y).shape == (2, 3, M)
    description = json.loads(json.dumps(u.describe()))
    assert description["kind"] == u.describe()["kind"]


@pytest.mark.parametrize("u", UTILS, ids=IDS)
@pytest.mark.parametrize("factor", [100.0, 1e-6])
def test_rescaled_utility_scales_exactly(u, factor):
    rng = np.random.default_rng(8)
    Y = rng.normal(size=(20, M)) * 30
    scaled = u.scaled(factor)
    np.testing.assert_allclose(scaled.value(factor * Y), factor * u.value(Y),
                               rtol=1e-12, atol=1e-12 * factor * 30)
    # the pricing priors do not change with the unit
    np.testing.assert_allclose(scaled.supergradient(factor * Y), u.supergradient(Y), atol=1e-9)


def test_rescaling_factor_is_checked():
    with pytest.raises(UtilityParameterError, match="factor"):
        Entropic(1.0).scaled(-2)


@pytest.mark.parametrize("u", [u for u in UTILS if u.polyhedral and u.credal_polytope()],
                         ids=[i for i, u in zip(IDS, UTILS, strict=True)
                              if u.polyhedral and u.credal_polytope()])
def test_polyhedral_value_is_the_lp_over_its_polytope(u):
    poly = u.credal_polytope()
    rng = np.random.default_rng(9)
    for Y in np.vstack([rng.normal(size=(4, M)) * 5, rng.integers(-2, 2, size=(3, M))]):
        assert poly.minimise(Y)[0] == pytest.approx(float(u.value(Y)), abs=1e-8)
        assert poly.contains(u.supergradient(Y), tol=1e-8)


# -- factory (pool-file tables) -------------------------------------------------------------------
def test_factory_builds_every_kind():
    m = 3
    specs = [
        ({"kind": "expectation"}, None, Expectation),
        ({"kind": "expectation", "prior": [0.2, 0.3, 0.5]}, None, Expectation),
        ({"kind": "entropic", "tolerance": 50.0}, None, Entropic),
        ({"kind": "expected_shortfall", "level": 0.1}, None, ExpectedShortfall),
        ({"kind": "distortion", "g": {"kind": "power", "exponent": 0.5}}, None, Distortion),
        ({"kind": "distortion", "g": {"kind": "wang", "shift": 0.3}}, None, Distortion),
        ({"kind": "distortion", "g": {"kind": "table", "u": [0, 0.5, 1], "g": [0, 0.8, 1]}},
         None, Distortion),
        ({"kind": "expectation"}, {"kind": "finite", "priors": [[0.2, 0.3, 0.5], [1, 0, 0]]},
         MaxMin),
        ({"kind": "entropic", "tolerance": 5}, {"kind": "interval", "lower": [0.1, 0.1, 0.1],
                                                "upper": [0.5, 0.5, 0.8]}, MaxMin),
        ({"kind": "expected_shortfall", "level": 0.5}, {"kind": "contamination",
                                                        "epsilon": 0.2}, MaxMin),
        ({"kind": "expectation"}, {"kind": "density_band", "lower": 0.5, "upper": 2,
                                   "centre": [0.2, 0.3, 0.5]}, MaxMin),
        ({"kind": "expectation"}, {"kind": "density_band", "lower": 0.0, "upper": "inf"},
         MaxMin),
        ({"kind": "expectation"}, {"kind": "kl_ball", "radius": 0.1}, MaxMin),
    ]
    P = np.array([0.2, 0.3, 0.5])
    for spec, credal, cls in specs:
        u = utility_from_spec(spec, m, "agents[0].utility", credal=credal).bind(P)
        assert isinstance(u, cls)
        assert np.isfinite(u.value([-1.0, 0.0, 2.0]))
    events = {"kind": "independent_events", "outcomes": [[0], [1], [1]], "lower": [0.1],
              "upper": [0.3]}
    u = utility_from_spec({"kind": "expectation", "credal": events}, 3, "agents[0].utility")
    assert isinstance(u.bind(P), MaxMin)


@pytest.mark.parametrize("spec, credal, field, error", [
    ({"kind": "entropic"}, None, "agents[2].utility.tolerance", SpecError),
    ({"kind": "entropic", "tolerance": -1}, None, "agents[2].utility.tolerance",
     UtilityParameterError),
    ({"kind": "entropic", "tolerance": "big"}, None, "agents[2].utility.tolerance", SpecError),
    ({"kind": "expected_shortfall", "level": 2}, None, "agents[2].utility.level",
     UtilityParameterError),
    ({"kind": "expected_shortfall", "level": 0.1, "levle": 3}, None, "agents[2].utility.levle",
     SpecError),
    ({"kind": "cvar", "level": 0.1}, None, "agents[2].utility.kind", SpecError),
    ({"kind": "expectation", "prior": [0.5, 0.5]}, None, "agents[2].utility.prior",
     Exception),
    ({"kind": "expectation", "prior": [0.5, 0.6, -0.1]}, None, "agents[2].utility.prior",
     ProbabilityError),
    ({"kind": "distortion", "g": {"kind": "power", "exponent": 2}}, None,
     "agents[2].utility.g.exponent", UtilityParameterError),
    ({"kind": "distortion", "g": {"kind": "wang", "shift": 1, "x": 0}}, None,
     "agents[2].utility.g.x", SpecError),
    ({"kind": "distortion", "g": {"kind": "table", "u": [0, 0.5, 1], "g": [0, 0.1, 1]}}, None,
     "agents[2].utility.g.g", UtilityParameterError),
    ({"kind": "expectation", "prior": [0.2, 0.3, 0.5]}, {"kind": "kl_ball", "radius": 0.1},
     "agents[2].utility.prior", SpecError),
    ({"kind": "distortion", "g": {"kind": "power", "exponent": 0.5}},
     {"kind": "kl_ball", "radius": 0.1}, "agents[2].credal", UnsupportedError),
    ({"kind": "expectation"}, {"kind": "interval", "lower": [0.5, 0.5, 0.5],
                               "upper": [1, 1, 1]}, "agents[2].credal.lower", Exception),
    ({"kind": "expectation"}, {"kind": "interval", "lower": [0.1, 0.1],
                               "upper": [1, 1]}, "agents[2].credal.lower", Exception),
    ({"kind": "expectation"}, {"kind": "ball", "radius": 1}, "agents[2].credal.kind",
     SpecError),
    ({"kind": "expectation"}, {"kind": "kl_ball", "radius": 1, "center": [1, 0, 0]},
     "agents[2].credal.center", SpecError),
    ({"kind": "expectation"}, {"kind": "finite", "priors": [[0.5, 0.5, 0], [0.5, 0.5]]},
     "agents[2].credal.priors[1]", Exception),
])
def test_factory_errors_name_the_field(spec, credal, field, error):
    with pytest.raises(error) as info:
        utility_from_spec(spec, 3, "agents[2].utility", credal=credal)
    assert getattr(info.value, "field", None) == field, str(info.value)
    assert field in str(info.value)


def test_factory_refuses_a_non_table():
    with pytest.raises(SpecError) as info:
        utility_from_spec("entropic", 3, "agents[0].utility")
    assert info.value.field == "agents[0].utility"


# -- large batches ------------------------------------------------------------------------------
@pytest.mark.parametrize("u", UTILS, ids=IDS)
def test_blocks_of_rows_give_the_same_answer(u, monkeypatch):
    # force the kernels to cut a batch into many small blocks of rows
    from riskshare.utilities import _kernels

    Y = np.random.default_rng(10).normal(size=(37, M)) * 10
    whole_v, whole_g = u.value_and_supergradient(Y)
    monkeypatch.setattr(_kernels, "CHUNK_ELEMENTS", 3 * M)
    cut_v, cut_g = u.value_and_supergradient(Y)
    np.testing.assert_allclose(cut_v, whole_v, atol=1e-12)
    np.testing.assert_allclose(cut_g, whole_g, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("make", [
    lambda P: ExpectedShortfall(0.05).bind(P),
    lambda P: Distortion(WangDistortion(0.5)).bind(P),
    lambda P: MaxMin(Expectation(), IntervalSet(0.5 * P, 2 * P)).bind(P),
    lambda P: MaxMin(ExpectedShortfall(0.1), DensityBand(0.5, 2.0)).bind(P),
], ids=["es", "wang", "maxmin-interval", "maxmin-es-band"])
def test_ten_thousand_allocations_by_ten_thousand_states(make):
    m, n = 10_000, 10_000
    P = np.full(m, 1 / m)
    u = make(P)
    Y = np.random.default_rng(12).normal(size=(n, m))
    values = u.value(Y)
    assert values.shape == (n,) and np.all(np.isfinite(values))
    np.testing.assert_allclose(values[::997], u.value(Y[::997]), atol=1e-12)
