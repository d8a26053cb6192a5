"""`riskshare verify`: its own menu code against the library's menus, and tampered runs.

The pure functions of verify.py (membership, the per-block maximum of the
certificate, the allocation of one agent from its shares) are written apart
from menus.py; here each is compared with the library's menus or with brute
force over the vertices. The end-to-end part runs a small mixed pool through
the CLI once, then alters one number at a time in a copy of the run directory
and checks that verify names what was altered.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskshare import ComonotoneMenu, SignMenu
from riskshare.verify import (
    _comonotone_violation,
    _menu_max,
    _own_allocation,
    _sign_violation,
)

aggregates = arrays(np.float64, st.integers(1, 5),
                    elements=st.sampled_from([-5.0, -3.0, -1.5, 0.0, 2.0, -0.25, 4.0]))


def _blocks_of(menu):
    if menu.kind == "sign":
        return {"kind": "sign", "states": menu.block_states}
    values = np.unique(np.concatenate([menu.aggregate, [0.0]]))
    return {"kind": "comonotone", "values": values,
            "where": np.searchsorted(values, menu.aggregate),
            "zero": int(np.searchsorted(values, 0.0))}


def _to_verify_order(menu, S):
    """Library comonotone blocks run 0 -> down, then 0 -> up; verify's run bottom -> top."""
    if menu.kind == "sign":
        return S
    n_loss = int(np.sum(menu.layer_bounds[:, 1] <= 0))
    return np.concatenate([S[..., :n_loss][..., ::-1], S[..., n_loss:]], axis=-1)


@pytest.mark.parametrize("cls", [SignMenu, ComonotoneMenu], ids=["sign", "comonotone"])
@settings(max_examples=40, deadline=None)
@given(X=aggregates, n=st.integers(2, 3), seed=st.integers(0, 2**31))
def test_own_menu_code_agrees_with_the_library(cls, X, n, seed):
    rng = np.random.default_rng(seed)
    menu = cls(X, n)
    S = menu.sample_shares(rng, 4)
    Y = menu.allocation(S)
    blocks = _blocks_of(menu)
    Sv = _to_verify_order(menu, S)
    for k in range(4):
        assert _sign_violation(Y[k], X) <= 1e-12
        if cls is ComonotoneMenu:
            assert _comonotone_violation(Y[k], X) <= 1e-12
        for i in range(n):
            np.testing.assert_allclose(_own_allocation(Sv[k, i][None, :], blocks, X)[0],
                                       Y[k, i], atol=1e-12)


@pytest.mark.parametrize("cls", [SignMenu, ComonotoneMenu], ids=["sign", "comonotone"])
@settings(max_examples=40, deadline=None)
@given(X=aggregates, n=st.integers(2, 3), seed=st.integers(0, 2**31))
def test_menu_max_equals_brute_force_over_vertices(cls, X, n, seed):
    rng = np.random.default_rng(seed)
    menu = cls(X, n)
    Q = rng.dirichlet(np.ones(X.size), size=n)
    if menu.n_blocks == 0:
        assert _menu_max(menu.kind, Q, X) == 0.0
        return
    best = max(float(np.sum(Q * V)) for V in menu.vertices())
    assert _menu_max(menu.kind, Q, X) == pytest.approx(best, abs=1e-12)


def test_membership_catches_allocations_outside_the_menu():
    X = np.array([-4.0, -2.0, 0.0, 3.0])
    inside = np.array([[-1.0, -2.0, 0.0, 1.0], [-3.0, 0.0, 0.0, 2.0]])
    assert _sign_violation(inside, X) == 0.0
    gains_in_a_loss = inside + np.array([[1.5, 0, 0, 0], [-1.5, 0, 0, 0]])
    assert _sign_violation(gains_in_a_loss, X) == pytest.approx(0.5)
    # comonotone: agent 0 takes more of the small loss than of the large one
    not_monotone = np.array([[-1.0, -1.5, 0.0, 1.0], [-3.0, -0.5, 0.0, 2.0]])
    assert _sign_violation(not_monotone, X) == 0.0
    assert _comonotone_violation(not_monotone, X) == pytest.approx(0.5)
    # something paid where the pool neither gains nor loses
    zero_state = np.array([[-2.0, -1.0, 1.0, 1.0], [-2.0, -1.0, -1.0, 2.0]])
    assert _comonotone_violation(zero_state, X) == pytest.approx(1.0)
    comonotone = np.array([[-2.0, -1.0, 0.0, 1.0], [-2.0, -1.0, 0.0, 2.0]])
    assert _comonotone_violation(comonotone, X) == 0.0


def test_menu_max_by_hand():
    # two agents, loss states; the one with the smaller price of a loss takes it
    X = np.array([-2.0, -1.0])
    Q = np.array([[0.3, 0.7], [0.6, 0.4]])
    assert _menu_max("sign", Q, X) == pytest.approx(-0.3 * 2 - 0.4 * 1)
    # comonotone: layers [-2,-1] (paid where X <= -2) and [-1, 0] (paid where X <= -1)
    expected = max(-0.3, -0.6) * 1 + max(-1.0, -1.0) * 1
    assert _menu_max("comonotone", Q, X) == pytest.approx(expected)


# --------------------------------------------------------------------------- end to end

SMALL_SPEC = """
# a small mixed pool: entropic, expected shortfall, max-min over an interval credal set
[states]
probabilities = [0.4, 0.2, 0.2, 0.1, 0.1]
names = ["calm", "wind", "flood", "storm", "hurricane"]

[[agents]]
name = "Ana"
positions = [0.0, -10.0, 0.0, -30.0, -80.0]
utility = { kind = "entropic", tolerance = 40.0 }

[[agents]]
name = "Ben"
positions = [0.0, 0.0, -20.0, -25.0, -60.0]
utility = { kind = "expected_shortfall", level = 0.3 }

[[agents]]
name = "Caro"
positions = [0.0, -5.0, -5.0, -10.0, -40.0]
utility = { kind = "expectation" }

[agents.credal]
kind = "interval"
lower = [0.3, 0.15, 0.15, 0.05, 0.05]
upper = [0.5, 0.3, 0.3, 0.2, 0.2]

[mechanism]
seed = 11
draws = 4096
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from riskshare.cli import main

    def _main(argv):
        return main([str(a) for a in argv])

    tmp = tmp_path_factory.mktemp("verify")
    spec = tmp / "small.toml"
    spec.write_text(SMALL_SPEC, encoding="utf-8")
    out = tmp / "run"
    assert _main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(run, target)
    return target


def _verify(path: Path):
    from riskshare.verify import verify_run

    return verify_run(path, draws=2048)


def _edit_report(path: Path, change) -> None:
    doc = json.loads((path / "report.json").read_text())
    change(doc)
    (path / "report.json").write_text(json.dumps(doc))


def _edit_csv(path: Path, name: str, change) -> None:
    with open(path / name, newline="") as fh:
        rows = list(csv.reader(fh))
    change(rows)
    with open(path / name, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_verify_passes_on_a_good_run(small_run):
    result = _verify(small_run)
    assert result.passed, [(c.name, c.detail) for c in result.failed]
    names = {c.name for c in result.checks}
    assert {"allocation-in-menu", "efficiency-certificate", "mu-integrals", "payoffs-spec9",
            "bids", "cash", "cash-balance", "collateral-covers", "collateral-rounding",
            "reported-checks-passed"} <= names


def _failed(path: Path) -> set[str]:
    return {c.name for c in _verify(path).failed}


def test_tampered_cash_is_caught(small_run, tmp_path):
    run = _copy(small_run, tmp_path)

    def change(doc):
        doc["agents"][0]["cash"] += 1.0
    _edit_report(run, change)
    failed = _failed(run)
    assert {"cash", "cash-balance"} <= failed


def test_shifted_allocation_is_caught(small_run, tmp_path):
    run = _copy(small_run, tmp_path)

    def change(rows):   # move 1 from Ana to Ben in the hurricane year: still sums to X
        for row in rows[1:]:
            if row[0] == "4" and row[1] in ("Ana", "Ben"):
                row[5] = repr(float(row[5]) + (1.0 if row[1] == "Ana" else -1.0))
    _edit_csv(run, "allocation.csv", change)
    failed = _failed(run)
    assert "allocation-sums-to-aggregate" not in failed
    assert {"at-efficient", "welfare", "allocation-columns"} & failed


def test_tampered_bid_surplus_and_check_are_caught(small_run, tmp_path):
    run = _copy(small_run, tmp_path)

    def change(doc):
        doc["auction"]["bids"]["Caro"] *= 1.01
        doc["surplus"]["value"] += 0.5
        name = next(iter(doc["checks"]))
        doc["checks"][name]["passed"] = False
    _edit_report(run, change)
    failed = _failed(run)
    assert {"bids", "surplus", "reported-checks-passed"} <= failed


def test_tampered_certificate_is_caught(small_run, tmp_path):
    run = _copy(small_run, tmp_path)

    def change(rows):   # give Ana's certificate prior a different shape
        col = rows[0].index("Ana")
        vals = np.array([float(r[col]) for r in rows[1:]])
        vals = np.roll(vals, 1)
        for r, v in zip(rows[1:], vals, strict=True):
            r[col] = repr(float(v))
    _edit_csv(run, "certificate/supergradients.csv", change)
    assert "efficiency-certificate" in _failed(run)


def test_tampered_collateral_is_caught(small_run, tmp_path):
    run = _copy(small_run, tmp_path)

    def change(doc):
        doc["agents"][1]["collateral"] -= 0.02
    _edit_report(run, change)
    assert "collateral-covers" in _failed(run)


def test_tampered_mu_integral_is_caught(small_run, tmp_path):
    run = _copy(small_run, tmp_path)

    def change(doc):
        a = doc["agents"][0]
        a["mu_integral"]["value"] += 0.05 * abs(doc["pool"]["aggregate"]["expected"]) + 1.0
    _edit_report(run, change)
    assert "mu-integrals" in _failed(run)


def test_missing_files_are_input_errors(small_run, tmp_path):
    from riskshare import RiskshareInputError

    run = _copy(small_run, tmp_path)
    (run / "allocation.csv").unlink()
    with pytest.raises(RiskshareInputError, match="allocation.csv"):
        _verify(run)
    with pytest.raises(RiskshareInputError, match="report.json"):
        _verify(tmp_path)


def test_tampered_schedules_are_caught(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    first = run / "schedules" / "stage-1.json"
    body = json.loads(first.read_text())
    body["constant"] += 1.0
    first.write_text(json.dumps(body))
    assert "stage-payments" in _failed(run)

    run2 = _copy(small_run, tmp_path / "second")
    last = run2 / "schedules" / "stage-2.json"
    body = json.loads(last.read_text())
    body["utility_terms"][0]["coefficient"] = 0.9
    last.write_text(json.dumps(body))
    assert "chooser-indifference" in _failed(run2)


# --------------------------------------------------------------------------- names

#: checks verify makes under the name of the run's own check of the same fact
SHARED = {"allocation-in-menu", "welfare", "efficiency-certificate", "mu-integrals",
          "lipschitz[1]", "lipschitz[2]", "normalisation[1]", "normalisation[2]",
          "chooser-indifference", "stage-payments", "surplus", "payoffs-spec7",
          "payoffs-spec9", "bids", "cash", "cash-balance", "collateral-covers",
          "collateral-rounding"}


def test_verify_names_its_checks_as_report_json_does(small_run):
    """A user can match verify's checks with report.json's: same fact, same name."""
    result = _verify(small_run)
    names = [c.name for c in result.checks]
    assert len(names) == len(set(names))            # --json keys them by name
    reported = set(json.loads((small_run / "report.json").read_text())["checks"])
    assert SHARED <= set(names) & reported
    assert not any("_" in name.split("[")[0] for name in names)
    # every name verify gives is in the table of docs/cli.md, with its report.json twin
    table = (Path(__file__).parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in names:
        generic = name.split("[")[0] + ("[" if "[" in name else "")
        assert f"`{generic}" in table, name
    detail = next(c.detail for c in result.checks if c.name == "reported-checks-passed")
    assert f"{len(SHARED)} of them recomputed here under the same name" in detail


def test_tampered_normalisation_and_collateral_rounding_are_named(small_run, tmp_path):
    """Per-stage and split checks name exactly what was altered."""
    run = _copy(small_run, tmp_path)
    doc = json.loads((run / "report.json").read_text())
    unit = float(doc["settings"]["settlement_unit"])

    def change(d):
        d["agents"][0]["collateral"] += 3 * unit       # locks too much: rounding, not cover
    _edit_report(run, change)
    failed = _failed(run)
    assert "collateral-rounding" in failed and "collateral-covers" not in failed

    run2 = _copy(small_run, tmp_path / "second")
    first = run2 / "schedules" / "stage-1.json"
    body = json.loads(first.read_text())
    body["constant"] += 0.5 * abs(doc["pool"]["aggregate"]["expected"]) + 1.0
    first.write_text(json.dumps(body))
    failed = _failed(run2)
    assert "normalisation[1]" in failed and "normalisation[2]" not in failed


def test_missing_collateral_fails(small_run, tmp_path):
    """A collateral written as null (NaN) is not taken as covered."""
    run = _copy(small_run, tmp_path)

    def change(doc):
        doc["agents"][2]["collateral"] = None
    _edit_report(run, change)
    assert {"collateral-covers", "collateral-rounding"} <= _failed(run)


def test_verify_accounts_for_the_perturbation(tmp_path):
    """With ε > 0 the first mover gives ε ∫d(·,Y*)dμ to the chooser (spec §7): a good run
    verifies, and a payoff moved by less than that amount is still caught."""
    from riskshare.cli import main

    spec = tmp_path / "eps.toml"
    spec.write_text(SMALL_SPEC.replace("seed = 11", "seed = 11\nepsilon = 0.05"),
                    encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    result = _verify(out)
    assert result.passed, [(c.name, c.value, c.tolerance) for c in result.failed]
    doc = json.loads((out / "report.json").read_text())
    first = doc["order"][0]
    shifted = next(a for a in doc["agents"] if a["name"] == first)
    # the first mover's and the chooser's payoffs carry the error of ε ∫d(·,Y*)dμ too
    se = np.array([a["mu_integral"]["stderr"] for a in doc["agents"]])
    n = se.size
    formula = np.sqrt((1 - 1 / n) ** 2 * se**2 + (np.sum(se**2) - se**2) / n**2)
    i = [a["name"] for a in doc["agents"]].index(first)
    assert shifted["payoff_stderr"] > formula[i] * (1 + 1e-9)
    check = next(c for c in result.checks if c.name == "payoffs-spec9")
    bad = _copy(out, tmp_path)

    def move(d):
        agent = next(a for a in d["agents"] if a["name"] == first)
        agent["payoff"] = shifted["payoff"] + 3 * check.tolerance + 1e-9

    _edit_report(bad, move)
    assert "payoffs-spec9" in _failed(bad)


# --------------------------------------------------------------------------- bookkeeping
#
# Each number of report.json that the writer derives (digests, the efficiency summary,
# gains, descriptions, standard errors, report.md's table) altered alone in a copy: verify
# names the check that recomputes it.

BOOKKEEPING = {"files-present", "inputs-sha256", "gain-from-pooling", "utility-descriptions",
               "efficient-gap", "efficient-relative-gap", "efficient-certified",
               "efficient-uniqueness", "surplus-stderr", "payoff-stderr", "report-md-matches"}


def test_good_run_passes_every_bookkeeping_check(small_run):
    result = _verify(small_run)
    by_name = {c.name: c for c in result.checks}
    assert BOOKKEEPING <= set(by_name)
    assert all(by_name[k].passed for k in BOOKKEEPING), \
        [(k, by_name[k].detail) for k in BOOKKEEPING if not by_name[k].passed]


def _agent(doc: dict, k: int = 0) -> dict:
    return doc["agents"][k]


TAMPERS = {
    "digest-of-the-spec-copy": (
        lambda d: d["files"]["inputs_sha256"].update({"inputs/spec.json": "0" * 64}),
        {"inputs-sha256"}),
    "no-digests": (lambda d: d["files"].pop("inputs_sha256"),
                   {"inputs-sha256", "files-present"}),
    "certified-flag": (lambda d: d["efficient"].update(certified=not d["efficient"]["certified"]),
                       {"efficient-certified"}),
    "gap": (lambda d: d["efficient"].update(gap=d["efficient"]["gap"] + 1e-3),
            {"efficient-gap", "efficient-relative-gap"}),
    "relative-gap": (lambda d: d["efficient"].update(relative_gap=0.5),
                     {"efficient-relative-gap", "efficient-certified"}),
    "uniqueness-word": (lambda d: d["efficient"].update(uniqueness="unique"),
                        {"efficient-uniqueness"}),
    "face-without-ties": (lambda d: d["efficient"].update(uniqueness="face", ties=[]),
                          {"efficient-uniqueness"}),
    "point-with-ties": (lambda d: d["efficient"].update(
        uniqueness="point", ties=[{"block": "state 4", "agents": ["Ana", "Ben"]}]),
        {"efficient-uniqueness"}),
    "tie-with-a-stranger": (lambda d: d["efficient"].update(
        uniqueness="face", ties=[{"block": "state 4", "agents": ["Ana", "Zed"]}]),
        {"efficient-uniqueness"}),
    "all-checks-passed-flag": (lambda d: d.update(all_checks_passed=False),
                               {"reported-checks-passed"}),
    "no-checks": (lambda d: d.update(checks={}), {"reported-checks-passed"}),
    "gain": (lambda d: _agent(d).update(gain_from_pooling=_agent(d)["gain_from_pooling"] + 0.5),
             {"gain-from-pooling", "report-md-matches"}),
    "utility-description": (lambda d: _agent(d)["utility"].update(tolerance=400.0),
                            {"utility-descriptions"}),
    "negative-payoff-stderr": (lambda d: _agent(d, 1).update(payoff_stderr=-1e-3),
                               {"payoff-stderr"}),
    "missing-payoff-stderr": (lambda d: _agent(d, 1).update(payoff_stderr=None),
                              {"payoff-stderr"}),
    "payoff-stderr": (lambda d: _agent(d, 2).update(payoff_stderr=2 * _agent(d, 2)[
        "payoff_stderr"] + 1e-6), {"payoff-stderr"}),
    "surplus-stderr": (lambda d: d["surplus"].update(stderr=3 * d["surplus"]["stderr"] + 1e-6),
                       {"surplus-stderr"}),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampered_summary_numbers_are_named(small_run, tmp_path, name):
    change, expected = TAMPERS[name]
    assert expected <= {c.name for c in _verify(small_run).checks}
    run = _copy(small_run, tmp_path)
    _edit_report(run, change)
    failed = _failed(run)
    assert expected <= failed, failed
    assert failed <= expected | {"reported-checks-passed"}, failed - expected


def test_edited_inputs_are_caught_by_their_digest(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    original = run / "inputs" / "small.toml"
    original.write_text(original.read_text() + "\n# edited afterwards\n")
    result = _verify(run)
    assert {c.name for c in result.failed} == {"inputs-sha256"}
    detail = next(c.detail for c in result.failed)
    assert "inputs/small.toml (digest differs)" in detail


def test_missing_figure_fails_files_present(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    (run / "figures" / "payoffs.png").unlink()
    result = _verify(run)
    assert {c.name for c in result.failed} == {"files-present"}
    assert "figures/payoffs.png" in result.failed[0].detail


def test_missing_schedule_fails_files_present(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    (run / "schedules" / "stage-1.json").unlink()
    result = _verify(run)
    assert {c.name for c in result.failed} == {"files-present"}
    assert "schedules/stage-1.json" in result.failed[0].detail


def test_listed_file_outside_the_run_fails_files_present(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    (tmp_path / "elsewhere.png").write_bytes(b"x")
    _edit_report(run, lambda d: d["files"]["figures"].append("../elsewhere.png"))
    assert "files-present" in _failed(run)


def _edit_md(path: Path, old: str, new: str) -> None:
    text = (path / "report.md").read_text(encoding="utf-8")
    assert old in text
    (path / "report.md").write_text(text.replace(old, new, 1), encoding="utf-8")


def _table_row(path: Path, name: str) -> str:
    return next(line for line in (path / "report.md").read_text().splitlines()
                if line.startswith(f"| {name} | "))


@pytest.mark.parametrize("column", [3, 5, 6], ids=["payoff", "cash", "collateral"])
def test_edited_amount_in_report_md_is_caught(small_run, tmp_path, column):
    run = _copy(small_run, tmp_path)
    row = _table_row(run, "Ben")
    cells = row.split(" | ")
    cells[column] = "1" + cells[column].lstrip("-")
    _edit_md(run, row, " | ".join(cells))
    result = _verify(run)
    assert {c.name for c in result.failed} == {"report-md-matches"}
    assert "Ben" in result.failed[0].detail


def test_renamed_member_in_report_md_is_caught(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    _edit_md(run, "| Caro | ", "| Carol | ")
    assert _failed(run) == {"report-md-matches"}


def test_missing_report_md_fails(small_run, tmp_path):
    run = _copy(small_run, tmp_path)
    (run / "report.md").unlink()
    assert _failed(run) == {"files-present", "report-md-matches"}


def test_report_md_formatting_is_the_writers():
    """verify formats amounts with its own code; it must agree with the writer's."""
    from riskshare.report._format import money
    from riskshare.verify import _money_text

    values = [0.0, -0.0, -0.004, 0.005, -0.5, 0.5, 1.5, 2.5, -1234.5, 1e6 + 0.49, -3645.41,
              12345678.9, float("nan"), None]
    for digits in (0, 2):
        for x in values:
            assert _money_text(x, digits) == money(x, "", digits), (x, digits)


def test_fixed_order_with_epsilon_bounds_the_outer_stderrs(tmp_path):
    """Fixed order, ε > 0: the first mover's and the chooser's payoff errors carry the
    ε-term's error (not in report.json): below the bound fails, above passes."""
    from riskshare.cli import main

    spec = tmp_path / "fixed.toml"
    spec.write_text(SMALL_SPEC.replace(
        "seed = 11", 'seed = 11\nepsilon = 0.05\norder = ["Ben", "Ana", "Caro"]'),
        encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    assert _verify(out).passed
    doc = json.loads((out / "report.json").read_text())
    se = {a["name"]: a["mu_integral"]["stderr"] for a in doc["agents"]}
    below = np.sqrt(se["Ana"] ** 2 + se["Caro"] ** 2) * 0.5
    bad = _copy(out, tmp_path)
    _edit_report(bad, lambda d: d["agents"][1].update(payoff_stderr=float(below)))
    assert _failed(bad) == {"payoff-stderr"}


FINITE_TIED = """
[states]
probabilities = [0.5, 0.5]

[[agents]]
name = "A"
positions = [0.0, -10.0]
utility = { kind = "expectation" }

[[agents]]
name = "B"
positions = [0.0, 0.0]
utility = { kind = "entropic", tolerance = 5.0 }

[menu]
kind = "finite"
items = [ [[0.0, -10.0], [0.0, 0.0]], [[0.0, -5.0], [0.0, -5.0]], [[-2.0, -12.0], [2.0, 2.0]] ]
"""


def test_finite_menu_ties_are_checked_against_the_items(tmp_path):
    """On a finite menu the tied items are re-valued. Items 0 and 2 differ by a constant
    per member (equally good: "up to cash"); item 1 puts risk on the risk-averse B."""
    from riskshare.cli import main

    spec = tmp_path / "finite.toml"
    spec.write_text(FINITE_TIED, encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["efficient"]["uniqueness"] == "up to cash"
    assert sorted(doc["efficient"]["ties"][0]["items"]) == [0, 2]
    assert _verify(out).passed

    for k, ties in enumerate(([0, 1], [0, 7])):    # a worse item; an item not in the menu
        bad = _copy(out, tmp_path / str(k))
        _edit_report(bad, lambda d, t=ties: d["efficient"].update(
            ties=[{"block": "items", "items": t}]))
        assert _failed(bad) == {"efficient-uniqueness"}

    point = _copy(out, tmp_path / "point")
    _edit_report(point, lambda d: d["efficient"].update(uniqueness="point"))
    assert _failed(point) == {"efficient-uniqueness"}
