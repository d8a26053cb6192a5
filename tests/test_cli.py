"""The command line end to end: run, verify, settle, example; exit codes and errors.

The default Florida run (bundled data, ten co-operatives, 1,610 simulated
years) is made once for the module; its report must satisfy the identities of
MECHANISM.md §7, §9 and §10: cash sums to zero, payoffs equal ∫U_i dμ + S/n,
bids equal S(n-1)/n, the certificate's gap is within tolerance and every check
passed.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from riskshare.cli import EXIT_CHECK, EXIT_INPUT, EXIT_OK, _Progress, main

SMALL = """
[states]
probabilities = [0.5, 0.2, 0.2, 0.1]

[[agents]]
name = "Ana"
positions = [0.0, -20.0, 0.0, -90.0]
utility = { kind = "entropic", tolerance = 50.0 }

[[agents]]
name = "Ben"
positions = [0.0, 0.0, -30.0, -60.0]
utility = { kind = "expected_shortfall", level = 0.25 }

[[agents]]
name = "Caro"
positions = [0.0, -10.0, -10.0, -40.0]
utility = { kind = "expectation" }
credal = { kind = "contamination", epsilon = 0.1 }

[mechanism]
seed = 5
draws = 4096
"""


def _main(argv) -> int:
    return main([str(a) for a in argv])


def _run(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name
                  or ".replaced-" in p.name)


def _invariants(doc: dict) -> None:
    n = doc["pool"]["n"]
    S = doc["surplus"]["value"]
    scale = max(1.0, abs(doc["pool"]["aggregate"]["worst"]))
    tol = 1e-9 * scale * n
    agents = doc["agents"]
    cash = np.array([a["cash"] for a in agents])
    I = np.array([a["mu_integral"]["value"] for a in agents])
    payoff = np.array([a["payoff"] for a in agents])
    at_eff = np.array([a["at_efficient"] for a in agents])
    assert abs(cash.sum()) <= tol
    if doc["auction"]:
        np.testing.assert_allclose(payoff, I + S / n, rtol=0, atol=tol)
    else:       # fixed order (spec §7): the first mover keeps the surplus
        first = doc["pool"]["agents"].index(doc["order"][0])
        expect = I.copy()
        expect[first] = doc["efficient"]["welfare"] - (I.sum() - I[first])
        np.testing.assert_allclose(payoff, expect, rtol=0, atol=tol)
    np.testing.assert_allclose(cash, payoff - at_eff, rtol=0, atol=tol)
    if doc["auction"]:
        bids = np.array([a["bid"] for a in agents])
        np.testing.assert_allclose(bids, S * (n - 1) / n, rtol=0, atol=tol)
        assert doc["order"][0] == doc["auction"]["winner"]
    eff = doc["efficient"]
    assert eff["upper_bound"] >= eff["welfare"] - tol
    assert eff["gap"] <= 1e-7 * max(1.0, abs(eff["welfare"])) + tol
    assert doc["all_checks_passed"]
    assert all(c["passed"] for c in doc["checks"].values())
    assert doc["surplus"]["stderr"] >= 0


# --------------------------------------------------------------------------- florida


@pytest.fixture(scope="module")
def florida(tmp_path_factory):
    out = tmp_path_factory.mktemp("florida") / "run"
    code = _main(["run", "--out", str(out), "--quiet"])
    assert code == EXIT_OK
    return out


def test_default_florida_run(florida):
    doc = json.loads((florida / "report.json").read_text())
    assert doc["pool"]["n"] == 10 and doc["pool"]["m"] == 1610
    assert doc["pool"]["agents"][0] == "Homestead"
    assert doc["money"]["unit"] == "USD"
    assert len(doc["data_notes"]) >= 3
    _invariants(doc)
    with open(florida / "allocation.csv", newline="") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    assert rows == 16_100
    for name in ("losses", "simplex", "payoffs", "collateral"):
        assert (florida / "figures" / f"{name}.png").stat().st_size > 10_000
    kinds = {a["utility"]["kind"] for a in doc["agents"]}
    assert len(kinds) >= 3
    assert any(a["worst_case_prior"] for a in doc["agents"])
    assert "Who pays whom" in (florida / "report.md").read_text()


def test_verify_passes_on_the_florida_run(florida, capsys):
    code, out, err = _run(["verify", florida], capsys)
    assert code == EXIT_OK, out + err
    assert "all checks passed" in out


def test_existing_out_is_not_overwritten(florida, capsys):
    before = (florida / "report.json").read_bytes()
    code, out, err = _run(["run", "--out", florida, "--quiet"], capsys)
    assert code == EXIT_INPUT
    assert "--out" in err and "--force" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert (florida / "report.json").read_bytes() == before
    assert _leftovers(florida.parent) == []


# --------------------------------------------------------------------------- small spec


@pytest.fixture
def small_spec(tmp_path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_small_spec_json_output_and_invariants(small_spec, tmp_path, capsys):
    out = tmp_path / "runs" / "small"
    code, stdout, err = _run(["run", small_spec, "--out", out, "--json"], capsys)
    assert code == EXIT_OK, err
    payload = json.loads(stdout)
    assert payload["out"] == str(out) and payload["all_checks_passed"] is True
    assert [a["name"] for a in payload["agents"]] == ["Ana", "Ben", "Caro"]
    doc = json.loads((out / "report.json").read_text())
    _invariants(doc)
    assert payload["welfare"] == doc["efficient"]["welfare"]
    assert (out / "inputs" / "small.toml").read_text() == SMALL
    assert _leftovers(out.parent) == []


def test_settle_writes_a_record_that_replays(small_spec, tmp_path, capsys):
    from riskshare.settlement import SettlementRecord, replay, settlement_plan
    from riskshare.verify import read_run

    out = tmp_path / "run"
    assert _main(["run", small_spec, "--out", out, "--quiet"]) == EXIT_OK
    code, stdout, err = _run(["settle", out, "--scenario", "3"], capsys)
    assert code == EXIT_OK, err
    assert "pays" in stdout
    path = out / "settlements" / "scenario-3.json"
    record = SettlementRecord.from_json(path.read_text())
    assert sum(record.payments_units) == 0
    run = read_run(out)
    plan = settlement_plan(run.positions, run.allocation, run.agent_values("cash"), run.names,
                           unit=0.01, money="USD", state_names=run.state_names)
    assert replay(record, plan).digest == record.digest
    # the record equals the unrounded receipts of that scenario to within a cent
    np.testing.assert_allclose(np.array(record.payments_units) / 100, run.receipt[:, 3],
                               atol=0.01)
    # not overwritten without --force; rewritten identically with it
    before = path.read_bytes()
    code, _, err = _run(["settle", out, "--scenario", "3"], capsys)
    assert code == EXIT_INPUT and "--force" in err
    assert _main(["settle", out, "--scenario", "3", "--force", "--quiet"]) == EXIT_OK
    assert path.read_bytes() == before
    # verify replays the record, and catches an altered one
    assert _main(["verify", out, "--quiet"]) == EXIT_OK
    data = json.loads(before)
    data["payments_units"][0] += 1
    data["payments_units"][1] -= 1
    path.write_text(json.dumps(data))
    code, stdout, _ = _run(["verify", out], capsys)
    assert code == EXIT_CHECK and "settlement[scenario-3.json]" in stdout
    code, _, err = _run(["settle", out, "--scenario", "99"], capsys)
    assert code == EXIT_INPUT and "scenario" in err


def test_tampered_cash_fails_verify(small_spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert _main(["run", small_spec, "--out", out, "--quiet"]) == EXIT_OK
    doc = json.loads((out / "report.json").read_text())
    doc["agents"][2]["cash"] += 0.25
    (out / "report.json").write_text(json.dumps(doc))
    code, stdout, err = _run(["verify", out, "--json"], capsys)
    assert code == EXIT_CHECK
    result = json.loads(stdout)
    assert result["passed"] is False
    assert not result["checks"]["cash"]["passed"]
    assert not result["checks"]["cash-balance"]["passed"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("edit, field", [
    (lambda s: s.replace("tolerance = 50.0", "tolerance = -5.0"), "agents[0].utility"),
    (lambda s: s.replace("level = 0.25", "level = 1.5"), "agents[1].utility"),
    (lambda s: s.replace("seed = 5", "seed = 5\nsede = 6"), "mechanism"),
    (lambda s: s.replace("[0.5, 0.2, 0.2, 0.1]", "[0.5, 0.2, 0.2, 0.2]"), "probabilities"),
], ids=["tolerance", "level", "unknown-field", "probabilities"])
def test_wrong_spec_is_one_line_naming_the_field(edit, field, tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text(edit(SMALL), encoding="utf-8")
    out = tmp_path / "run"
    code, stdout, err = _run(["run", spec, "--out", out], capsys)
    assert code == EXIT_INPUT
    lines = err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], err
    assert "Traceback" not in err and stdout == ""
    assert not out.exists() and _leftovers(tmp_path) == []


def test_wrong_spec_under_json_and_debug(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text(SMALL.replace("tolerance = 50.0", "tolerance = 0"), encoding="utf-8")
    code, stdout, _ = _run(["run", spec, "--out", tmp_path / "r", "--json"], capsys)
    assert code == EXIT_INPUT
    assert json.loads(stdout)["error"]["field"].startswith("agents[0]")
    with pytest.raises(ValueError):
        _main(["run", str(spec), "--out", str(tmp_path / "r"), "--debug"])


def test_missing_spec_and_missing_run(tmp_path, capsys):
    code, _, err = _run(["run", tmp_path / "nope.toml", "--out", tmp_path / "r"], capsys)
    assert code == EXIT_INPUT and "pool file" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(["verify", tmp_path / "nothing"], capsys)
    assert code == EXIT_INPUT and "Traceback" not in err
    code, _, err = _run(["settle", tmp_path, "--scenario", "0"], capsys)
    assert code == EXIT_INPUT and "report.json" in err


def test_json_error_is_printed_once_on_stdout(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text(SMALL.replace("tolerance = 50.0", "tolerance = -5.0"), encoding="utf-8")
    code, stdout, err = _run(["run", spec, "--out", tmp_path / "r", "--json"], capsys)
    assert code == EXIT_INPUT
    assert err == "", err                                   # not a second, text copy
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    error = json.loads(lines[0])["error"]
    assert error["field"] == "agents[0].utility.tolerance" and error["exit_code"] == EXIT_INPUT
    assert error["message"].startswith("agents[0].utility.tolerance: ")
    assert "Fix: give a positive risk tolerance" in error["message"]
    # the same error without --json: one text line on stderr, nothing on stdout
    code, stdout, err = _run(["run", spec, "--out", tmp_path / "r"], capsys)
    assert code == EXIT_INPUT and stdout == ""
    assert err.splitlines() == [f"riskshare: error: {error['message']}"]


@pytest.mark.parametrize("old, new, field, hint", [
    ('kind = "entropic"', 'kind = "entropc"', "agents[0].utility.kind", "'entropic'"),
    ("tolerance = 50.0", "tolerence = 1e5", "agents[0].utility.tolerence", "'tolerance'"),
    ('kind = "contamination"', 'kind = "contaminaton"', "agents[2].credal.kind",
     "'contamination'"),
    ("epsilon = 0.1", "epsilom = 0.1", "agents[2].credal.epsilom", "'epsilon'"),
], ids=["utility-kind", "utility-key", "credal-kind", "credal-key"])
def test_typo_in_a_utility_or_credal_table_suggests_the_name(old, new, field, hint, tmp_path,
                                                            capsys):
    spec = tmp_path / "typo.toml"
    assert old in SMALL
    spec.write_text(SMALL.replace(old, new), encoding="utf-8")
    code, stdout, err = _run(["run", spec, "--out", tmp_path / "r"], capsys)
    assert code == EXIT_INPUT and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"riskshare: error: {field}: ")
    assert lines[0].endswith(f"Fix: did you mean {hint}?"), lines[0]


NESTED_CREDAL = SMALL.replace(
    'utility = { kind = "expectation" }\ncredal = { kind = "contamination", epsilon = 0.1 }',
    '[agents.utility]\nkind = "expectation"\n\n[agents.utility.credal]\n'
    'kind = "intervall"\nlower = [0.4, 0.1, 0.1, 0.05]\nupper = [0.6, 0.3, 0.3, 0.2]\n')


def test_typo_in_a_credal_table_inside_the_utility(tmp_path, capsys):
    assert NESTED_CREDAL != SMALL
    spec = tmp_path / "nested.toml"
    spec.write_text(NESTED_CREDAL, encoding="utf-8")
    code, stdout, _ = _run(["run", spec, "--out", tmp_path / "r", "--json"], capsys)
    assert code == EXIT_INPUT
    error = json.loads(stdout)["error"]
    assert error["field"] == "agents[2].utility.credal.kind"
    assert "got 'intervall'" in error["message"]
    assert error["message"].endswith("Fix: did you mean 'interval'?")
    # spelt right, the same file runs
    spec.write_text(NESTED_CREDAL.replace('"intervall"', '"interval"'), encoding="utf-8")
    assert _main(["run", spec, "--out", tmp_path / "ok", "--quiet"]) == EXIT_OK


NAMED = SMALL.replace("probabilities = [0.5, 0.2, 0.2, 0.1]",
                      "probabilities = [0.5, 0.2, 0.2, 0.1]\n"
                      'names = ["calm", "flood", "drought", "storm"]')


@pytest.fixture(scope="module")
def named_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("named")
    spec = folder / "named.toml"
    spec.write_text(NAMED, encoding="utf-8")
    out = folder / "run"
    assert _main(["run", spec, "--out", out, "--quiet"]) == EXIT_OK
    return out


@pytest.mark.parametrize("typed, value, fix", [
    ("4", "got 4;", "Fix: give --scenario a number from 0 to 3, or a name such as 'calm'"),
    ("-1", "got -1;", "Fix: give --scenario a number from 0 to 3, or a name such as 'calm'"),
    ("strom", "got 'strom';", "Fix: did you mean --scenario 'storm'?"),
    ("hail", "got 'hail';", "Fix: give --scenario a number from 0 to 3, or a name such as "
                            "'calm'"),
])
def test_settle_bad_scenario_names_the_option(named_run, typed, value, fix, capsys):
    code, stdout, err = _run(["settle", named_run, "--scenario", typed], capsys)
    assert code == EXIT_INPUT and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    line = lines[0]
    assert line.startswith("riskshare: error: --scenario: "), line
    assert value in line and "a scenario index from 0 to 3" in line
    assert "or a scenario name" in line and line.endswith(fix), line
    assert not (named_run / "settlements" / f"scenario-{typed}.json").exists()


def test_settle_scenario_by_name_and_json_error(named_run, capsys):
    code, stdout, err = _run(["settle", named_run, "--scenario", "storm", "--json"], capsys)
    assert code == EXIT_OK, err
    assert json.loads(stdout)["scenario"] == 3
    code, stdout, err = _run(["settle", named_run, "--scenario", "99", "--json"], capsys)
    assert code == EXIT_INPUT and err == ""
    error = json.loads(stdout)["error"]
    assert error["field"] == "--scenario" and error["exit_code"] == EXIT_INPUT
    assert "from 0 to 3" in error["message"]


def test_settle_scenario_without_names_says_so(small_spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert _main(["run", small_spec, "--out", out, "--quiet"]) == EXIT_OK
    code, _, err = _run(["settle", out, "--scenario", "storm"], capsys)
    assert code == EXIT_INPUT
    assert err.strip() == ("riskshare: error: --scenario: invalid input: got 'storm'; a scenario "
                           "index from 0 to 3 (the 'scenario' column of allocation.csv); this "
                           "run's scenarios have no names. Fix: give --scenario a number from "
                           "0 to 3")


# --------------------------------------------------------------------------- output dir


def test_force_replaces_only_a_riskshare_run(small_spec, tmp_path, capsys):
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("do not lose me")
    code, _, err = _run(["run", small_spec, "--out", mine, "--force"], capsys)
    assert code == EXIT_INPUT and "report.json" in err
    assert (mine / "thesis.txt").read_text() == "do not lose me"

    run = tmp_path / "run"
    assert _main(["run", small_spec, "--out", run, "--quiet"]) == EXIT_OK
    before = (run / "report.json").read_bytes()
    assert _main(["run", small_spec, "--out", run, "--quiet", "--force"]) == EXIT_OK
    assert (run / "report.json").read_bytes() != before     # replaced (a new timestamp)
    assert _leftovers(tmp_path) == []


def test_force_refuses_a_run_holding_files_the_user_added(small_spec, tmp_path, capsys):
    """A run folder is replaced only when it holds nothing but riskshare's own files."""
    run = tmp_path / "run"
    assert _main(["run", small_spec, "--out", run, "--quiet"]) == EXIT_OK
    (run / "NOTES.txt").write_text("what the board decided")
    before = (run / "report.json").read_bytes()
    code, out, err = _run(["run", small_spec, "--out", run, "--force"], capsys)
    assert code == EXIT_INPUT and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--out" in err and "NOTES.txt" in err and "move" in err
    assert (run / "NOTES.txt").read_text() == "what the board decided"
    assert (run / "report.json").read_bytes() == before and _leftovers(tmp_path) == []

    # many of them, also inside riskshare's own folders: a few are named, the rest counted
    for rel in ("figures/mine.png", "inputs/extra.csv", "a.txt", "b.txt"):
        (run / rel).write_text("x")
    code, _, err = _run(["run", small_spec, "--out", run, "--force", "--quiet"], capsys)
    assert code == EXIT_INPUT and "5 file(s)" in err and "and 2 more" in err
    assert "a.txt" in err

    for rel in ("NOTES.txt", "figures/mine.png", "inputs/extra.csv", "a.txt", "b.txt"):
        (run / rel).unlink()
    assert _main(["run", small_spec, "--out", run, "--quiet", "--force"]) == EXIT_OK
    assert (run / "report.json").read_bytes() != before


def test_force_refuses_a_run_with_settlement_records(small_spec, tmp_path, capsys):
    """Settlement records are records of money movements: --force never deletes them."""
    run = tmp_path / "run"
    assert _main(["run", small_spec, "--out", run, "--quiet"]) == EXIT_OK
    assert _main(["settle", run, "--scenario", "3", "--quiet"]) == EXIT_OK
    record = run / "settlements" / "scenario-3.json"
    before = record.read_bytes(), (run / "report.json").read_bytes()
    code, out, err = _run(["run", small_spec, "--out", run, "--force"], capsys)
    assert code == EXIT_INPUT and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--out" in err and "settlements/scenario-3.json" in err
    assert "choose another --out" in err and "move" in err
    assert (record.read_bytes(), (run / "report.json").read_bytes()) == before
    assert _leftovers(tmp_path) == []
    # with the records moved away, the run is replaced as before
    (run / "settlements").rename(tmp_path / "kept-settlements")
    assert _main(["run", small_spec, "--out", run, "--quiet", "--force"]) == EXIT_OK
    assert (tmp_path / "kept-settlements" / "scenario-3.json").read_bytes() == before[0]
    # an empty settlements folder holds no record: replaced too
    (run / "settlements").mkdir()
    assert _main(["run", small_spec, "--out", run, "--quiet", "--force"]) == EXIT_OK
    assert not (run / "settlements").exists()


def test_empty_directory_and_a_file_as_out(small_spec, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _main(["run", small_spec, "--out", empty, "--quiet"]) == EXIT_OK
    assert (empty / "report.json").exists()
    afile = tmp_path / "file"
    afile.write_text("x")
    code, _, err = _run(["run", small_spec, "--out", afile, "--quiet", "--force"], capsys)
    assert code == EXIT_INPUT and afile.read_text() == "x"


def test_a_failure_while_writing_leaves_nothing(small_spec, tmp_path, capsys, monkeypatch):
    import riskshare.report

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", "allocation.csv")
    monkeypatch.setattr(riskshare.report, "write_run", broken)
    out = tmp_path / "run"
    code, _, err = _run(["run", small_spec, "--out", out], capsys)
    assert code == EXIT_INPUT and "No space left" in err
    assert not out.exists() and _leftovers(tmp_path) == []


# --------------------------------------------------------------------------- example, misc


def test_example_three_farmers(capsys):
    code, out, err = _run(["example", "three-farmers"], capsys)
    assert code == EXIT_OK, out + err
    assert "agree within tolerance" in out
    assert "0.5" in out and "-52,758.95" in out          # shares and W* of the example
    code, out, _ = _run(["example", "three-farmers", "--json"], capsys)
    payload = json.loads(out)
    assert payload["agree"] is True
    welfare = next(r for r in payload["rows"] if r["quantity"] == "welfare W*")
    assert welfare["closed_form"] == pytest.approx(-52758.95, abs=0.01)


def test_progress_bars_go_to_stderr_and_respect_quiet(capsys, monkeypatch):
    monkeypatch.setattr(_Progress, "DELAY", 0.0)
    bars = _Progress(enabled=True)
    bars("integrals", 0.5)
    with bars.step("loading"):
        pass
    bars.close()
    out, err = capsys.readouterr()
    assert out == "" and "integrals" in err and "loading" in err
    quiet = _Progress(enabled=False)
    quiet("integrals", 0.5)
    quiet.close()
    assert capsys.readouterr() == ("", "")


def test_python_dash_m(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "riskshare", "run", "--help"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and "--out" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "riskshare", "frobnicate"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2


def test_progress_inside_a_step_moves_one_bar(capsys, monkeypatch):
    monkeypatch.setattr(_Progress, "DELAY", 0.0)
    bars = _Progress(enabled=True)
    with bars.step("running the mechanism"):
        bars("measure", 0.25)
        bars("efficiency", 0.5)
    bars.close()
    err = capsys.readouterr().err
    assert "running the mechanism" in err and "efficiency done" in err
    assert "measure:" not in err          # sub-steps do not open bars of their own


FINITE = """
[states]
probabilities = [0.5, 0.5]

[[agents]]
name = "A"
positions = [0.0, -10.0]
utility = { kind = "entropic", tolerance = 10.0 }

[[agents]]
name = "B"
positions = [0.0, 0.0]
utility = { kind = "expectation" }

[menu]
kind = "finite"
items = [ [[0.0, -10.0], [0.0, 0.0]], [[0.0, -5.0], [0.0, -5.0]], [[0.0, 0.0], [0.0, -10.0]] ]

[mu]
kind = "weights"
weights = [0.25, 0.5, 0.25]
"""

COMONOTONE = SMALL.replace("[mechanism]", """[menu]
kind = "comonotone"

[mechanism]
order = ["Ben", "Ana", "Caro"]""")


@pytest.mark.parametrize("text", [COMONOTONE, FINITE, None],
                         ids=["comonotone-fixed-order", "finite-menu", "table-example"])
def test_other_menus_and_inputs_run_and_verify(text, tmp_path, capsys):
    from riskshare.io.spec import example_path

    if text is None:
        spec = example_path("table")
    else:
        spec = tmp_path / "pool.toml"
        spec.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    code, _, err = _run(["run", spec, "--out", out, "--quiet"], capsys)
    assert code == EXIT_OK, err
    doc = json.loads((out / "report.json").read_text())
    _invariants(doc)
    if text is COMONOTONE:
        assert doc["auction"] is None and doc["order"] == ["Ben", "Ana", "Caro"]
        assert doc["menu"]["kind"] == "comonotone"
    code, stdout, _ = _run(["verify", out], capsys)
    assert code == EXIT_OK, stdout
    if text is None:
        assert json.loads((out / "inputs" / "spec.json").read_text())["states"]["table"] \
            == "table_example.csv"


def test_simplex_agents_option(small_spec, tmp_path, capsys):
    code, _, err = _run(["run", small_spec, "--out", tmp_path / "a", "--simplex-agents",
                         "Ana,Ben,Nobody"], capsys)
    assert code == EXIT_INPUT and "--simplex-agents" in err and "Nobody" in err
    assert not (tmp_path / "a").exists()
    out = tmp_path / "b"
    assert _main(["run", small_spec, "--out", out, "--simplex-agents", "Caro,Ana,Ben",
                  "--quiet"]) == EXIT_OK
    doc = json.loads((out / "report.json").read_text())
    assert "Caro / Ana / Ben" in doc["figure_captions"]["figures/simplex.png"]


def test_out_may_not_contain_the_working_directory(small_spec, tmp_path, capsys, monkeypatch):
    work = tmp_path / "project" / "here"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for target in (".", ".."):
        code, _, err = _run(["run", small_spec, "--out", target, "--force"], capsys)
        assert code == EXIT_INPUT and "current directory" in err
    assert work.exists() and _leftovers(work.parent) == []
