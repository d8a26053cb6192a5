"""The independent checker: it passes a correct equilibrium and catches planted errors.

Each planted error (a wrong schedule, an inefficient choice, a wrong payment,
a wrong integral, wrong bids, short collateral, a schedule above the cap)
must make at least the named check fail.
"""

import ast
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from riskshare import Pool, SignMenu
from riskshare.checks import Check, check_equilibrium, check_result, claim_from_result
from riskshare.measures import Estimate, make_measure
from riskshare.mechanism import MechanismSettings, run_mechanism
from riskshare.schedules import Schedule
from riskshare.utilities import (
    Contamination,
    Entropic,
    Expectation,
    ExpectedShortfall,
    MaxMin,
)


@pytest.fixture(scope="module")
def solved():
    rng = np.random.default_rng(11)
    X = -rng.gamma(1.3, 1.0, size=(3, 6)) * (rng.random((3, 6)) < 0.8)
    P = rng.dirichlet(np.ones(6) * 3)
    pool = Pool(X, P)
    utilities = [Entropic(1.5).bind(P), ExpectedShortfall(0.4).bind(P),
                 MaxMin(Expectation(), Contamination(0.2)).bind(P)]
    menu = SignMenu(pool.aggregate, 3)
    result = run_mechanism(pool, utilities, menu, MechanismSettings(draws=2048, seed=3))
    measure = make_measure(menu, positions=pool.positions, probabilities=P)
    return result, measure


def run_checks(result, measure, claim):
    checks = check_equilibrium(result.pool, result.utilities, result.menu, measure, claim,
                               seed=5)
    return {c.name: c for c in checks}


def test_correct_equilibrium_passes(solved):
    result, measure = solved
    checks = run_checks(result, measure, claim_from_result(result))
    failed = [c for c in checks.values() if not c.passed]
    assert not failed, failed
    assert {"chooser-indifference", "deviation[1]", "deviation[2]", "budget-balance",
            "payoffs-spec7", "payoffs-spec9", "efficiency-certificate", "bids", "cash",
            "collateral-covers", "normalisation[1]"} <= set(checks)
    for c in checks.values():
        assert isinstance(c, Check) and c.tolerance >= 0 and c.detail
    assert all(c.passed for c in check_result(result))


def test_details_name_agents_by_their_pool_names(solved):
    """A detail names an agent by its pool name (with its index); numbers do not change."""
    result, measure = solved
    claim = claim_from_result(result)
    names = ("Ana", "Ben", "Caro")
    pool = Pool(result.pool.positions, result.pool.probabilities, names)
    named = {c.name: c for c in check_equilibrium(pool, result.utilities, result.menu,
                                                  measure, claim, seed=5)}
    plain = run_checks(result, measure, claim)
    assert list(named) == list(plain)
    for key, c in named.items():
        assert (c.passed, c.value, c.tolerance) == (plain[key].passed, plain[key].value,
                                                    plain[key].tolerance), key
    worst = re.search(r"worst agent (\w+) \(index (\d)\)", named["mu-integrals"].detail)
    assert worst is not None and names[int(worst.group(2))] == worst.group(1)
    for k in range(1, len(claim.order)):
        mover = claim.order[k - 1]
        assert f"stage {k}, played by {names[mover]} (index {mover})," in \
            named[f"deviation[{k}]"].detail
    assert not any(re.search(r"agent \d", c.detail) for c in named.values())


def _fails(checks, *names):
    return all(not checks[name].passed for name in names)


def test_catches_a_scaled_schedule(solved):
    result, measure = solved
    claim = claim_from_result(result)
    bad = (claim.schedules[0].scaled(1.1),) + claim.schedules[1:]
    checks = run_checks(result, measure, replace(claim, schedules=bad))
    assert _fails(checks, "indifference[1]", "stage-payments")


def test_catches_an_unnormalised_schedule(solved):
    result, measure = solved
    claim = claim_from_result(result)
    p = claim.schedules[-1]
    shifted = replace(p, constant=p.constant + 0.5 * np.abs(result.pool.aggregate).mean())
    checks = run_checks(result, measure, replace(claim, schedules=claim.schedules[:-1]
                                                 + (shifted,)))
    assert _fails(checks, "normalisation[2]", "stage-payments")


def test_catches_a_schedule_for_the_wrong_agents(solved):
    result, measure = solved
    claim = claim_from_result(result)
    p = claim.schedules[-1]
    wrong = replace(p, utility_terms=((claim.order[0], 1.0),)).normalised(measure, 2048, 3)
    checks = run_checks(result, measure, replace(claim, schedules=claim.schedules[:-1]
                                                 + (wrong,)))
    assert _fails(checks, "chooser-indifference")


def test_catches_an_inefficient_choice(solved):
    result, measure = solved
    claim = claim_from_result(result)
    Y = measure.mean_allocation()
    checks = run_checks(result, measure, replace(claim, allocation=Y))
    assert _fails(checks, "welfare", "efficiency-certificate", "deviation[1]")


def test_catches_a_wrong_payment(solved):
    result, measure = solved
    claim = claim_from_result(result)
    cash = claim.cash.copy()
    cash[1] += 0.01
    checks = run_checks(result, measure, replace(claim, cash=cash))
    assert _fails(checks, "cash", "cash-balance", "receipts")
    stage = claim.stage_payoffs.copy()
    stage[claim.order[0]] += 0.01
    checks = run_checks(result, measure, replace(claim, stage_payoffs=stage))
    assert _fails(checks, "stage-payments", "payoffs-spec7")


def test_catches_a_wrong_integral_and_bids(solved):
    result, measure = solved
    claim = claim_from_result(result)
    ints = list(claim.mu_integrals)
    ints[1] = Estimate(ints[1].value + 0.2, ints[1].stderr, False, 2048, "rqmc-sobol")
    checks = run_checks(result, measure, replace(claim, mu_integrals=tuple(ints)))
    assert _fails(checks, "mu-integrals", "payoffs-spec7", "surplus")
    checks = run_checks(result, measure, replace(claim, bids=claim.bids * 1.01))
    assert _fails(checks, "bids")


def test_catches_short_collateral_and_a_cap_violation(solved):
    result, measure = solved
    claim = claim_from_result(result)
    coll = claim.collateral.copy()
    coll[np.argmax(coll)] -= 0.05
    checks = run_checks(result, measure, replace(claim, collateral=coll))
    assert _fails(checks, "collateral-covers")
    checks = run_checks(result, measure, replace(claim, lipschitz_cap=0.5))
    assert _fails(checks, "lipschitz[1]", "lipschitz[2]")


def test_catches_a_chooser_who_is_not_indifferent():
    """A schedule with a distance term the checker must evaluate from its terms."""
    rng = np.random.default_rng(12)
    X = -rng.gamma(1.0, 1.0, size=(2, 5))
    pool = Pool(X)
    utilities = [Entropic(1.0).bind(pool.probabilities), Entropic(2.0).bind(pool.probabilities)]
    menu = SignMenu(pool.aggregate, 2)
    result = run_mechanism(pool, utilities, menu, MechanismSettings(draws=1024, order=(
        "agent 1", "agent 2")))
    measure = make_measure(menu, positions=pool.positions)
    claim = claim_from_result(result)
    p = claim.schedules[0]
    Z = menu.random_vertices(rng, 1)[0]
    bumped = p.plus(Schedule(2, 5, (), ((0.3, Z),), utilities=p.utilities).normalised(
        measure, 1024, 0))
    checks = run_checks(result, measure, replace(claim, schedules=(bumped,)))
    assert _fails(checks, "chooser-indifference", "choice")


def test_checks_module_does_not_import_game():
    source = Path(__file__).parents[1] / "src" / "riskshare" / "checks.py"
    tree = ast.parse(source.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not any("game" in name for name in imported)
