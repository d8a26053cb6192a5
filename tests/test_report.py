"""The report layer: report.json, allocation.csv, report.md and the figures.

The result objects here are built by hand for an entropic pool with one common
prior, whose efficient split is known in closed form (MECHANISM.md §4, the
paper's Example 1): ``Y_i = (γ_i/Γ) X``. The μ-integrals are plain Monte Carlo
estimates made in this file, so every identity of spec §9-10 holds by
construction and the tests check that the files carry the numbers faithfully.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from riskshare import Entropic, Pool, SignMenu
from riskshare.report import (
    ALLOCATION_COLUMNS,
    SubPoolPicture,
    describe_utility,
    summary_json,
    summary_text,
    write_run,
)
from riskshare.report._format import jsonable, money, money_unit, slug
from riskshare.report._tables import write_allocation_csv
from riskshare.schedules import Schedule

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _estimate(value, stderr, method="monte-carlo", draws=2000):
    return SimpleNamespace(value=float(value), stderr=float(stderr), exact=stderr == 0,
                           draws=draws, method=method)


def _check(name, value, tolerance):
    return SimpleNamespace(name=name, passed=value <= tolerance, value=value,
                           tolerance=tolerance, detail=f"{name} recomputed")


def _settings(seed=7, order="auction"):
    return SimpleNamespace(metric="sup", lipschitz_cap="auto", epsilon=0.0, order=order,
                           seed=seed, draws=2000, money="USD", settlement_unit=0.01,
                           mu_kappa=0.0, mu_centre="status-quo", mu_weights=None,
                           tie_break_secrets=None)


def entropic_result(positions, probabilities, gammas, names, state_names=None, seed=7):
    """A result object with the fields of the mechanism contract, built by hand."""
    pool = Pool(positions, probabilities, names, state_names, "USD", "inline test pool")
    n, m = pool.n, pool.m
    P = pool.probabilities
    utils = tuple(Entropic(g).bind(P) for g in gammas)
    X = pool.aggregate
    G = float(np.sum(gammas))
    Y = np.outer(np.asarray(gammas) / G, X)
    tilt = P * np.exp(-X / G)
    Q = np.tile(tilt / tilt.sum(), (n, 1))
    at_eff = np.array([float(u.value(y)) for u, y in zip(utils, Y, strict=True)])
    W = float(at_eff.sum())
    rng = np.random.default_rng(seed)
    menu = SignMenu(X, n)
    ests = []
    for u in utils:
        s = rng.beta(1.0, n - 1.0, size=(2000, menu.n_blocks))
        Yi = np.zeros((2000, m))
        Yi[:, menu.block_states] = s * menu.block_scale
        v = u.value(Yi)
        ests.append(_estimate(v.mean(), v.std(ddof=1) / math.sqrt(v.size)))
    I = np.array([e.value for e in ests])
    S = W - I.sum()
    payoffs = I + S / n
    cash = payoffs - at_eff
    receipts = Y - pool.positions + cash[:, None]
    collateral = np.ceil(np.round(np.maximum(0, np.max(-receipts, axis=1)) / 0.01, 6)) * 0.01
    bids = np.full(n, S * (n - 1) / n)
    auction = SimpleNamespace(bids=bids, winner=0, tied=tuple(range(n)),
                              tie_break={"protocol": "test", "index": 0},
                              payment=float(bids[0]), rebate_each=float(bids[0]) / (n - 1))
    order = tuple(range(n))
    stage = I.copy()
    stage[0] = W - I[1:].sum()
    schedules = tuple(Schedule(n, m, tuple((j, 1.0) for j in range(k + 1, n)),
                               constant=-float(I[k + 1:].sum()), label="equalising",
                               stage=k + 1, poster=k, utilities=utils)
                      for k in range(n - 1))
    efficient = SimpleNamespace(allocation=Y, welfare=W, upper_bound=W + 1e-9, gap=1e-9,
                                relative_gap=1e-9 / abs(W), uniqueness="up to cash", ties=[],
                                method="closed form (test)", seconds=0.001, supergradients=Q)
    return SimpleNamespace(
        pool=pool, utilities=utils, menu=menu, settings=_settings(seed), efficient=efficient,
        standalone=np.array([float(u.value(x)) for u, x in zip(utils, pool.positions,
                                                               strict=True)]),
        at_efficient=at_eff, mu_integrals=tuple(ests), surplus=_estimate(
            S, math.sqrt(sum(e.stderr ** 2 for e in ests))),
        lipschitz_cap=2.0 * n, auction=auction, order=order, schedules=schedules,
        stage_payoffs=stage, payoffs=payoffs, bids=bids, cash=cash, receipts=receipts,
        collateral=collateral, worst_case_priors={1: Q[1]},
        checks=(_check("budget balance", abs(cash.sum()), 1e-6),
                _check("chooser indifferent", 1e-12, 1e-8)),
        timings={"efficiency": 0.01, "integrals": 0.02},
        versions={"riskshare": "test", "numpy": np.__version__})


def _spec(tmp_path: Path, result) -> SimpleNamespace:
    path = tmp_path / "pool.toml"
    path.write_text("# test pool\n", encoding="utf-8")
    raw = {"states": {"probabilities": result.pool.probabilities.tolist()},
           "agents": [{"name": s, "positions": x.tolist(),
                       "utility": {"kind": "entropic", "tolerance": u.tolerance}}
                      for s, x, u in zip(result.pool.names, result.pool.positions,
                                         result.utilities, strict=True)]}
    return SimpleNamespace(raw=raw, path=path, agent_fields=tuple(raw["agents"]),
                           data_notes=("test data: made up",), data=None)


X_THREE = [[0.0, -20000.0, 0.0, -90000.0, -5000.0],
           [0.0, 0.0, -30000.0, -60000.0, 0.0],
           [0.0, -10000.0, -10000.0, -40000.0, 0.0]]
P_THREE = [0.5, 0.15, 0.15, 0.1, 0.1]
NAMES = ("Ana", "Ben, the inland grower", "Caro")


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("three")
    result = entropic_result(X_THREE, P_THREE, [50000.0, 30000.0, 20000.0], NAMES,
                             ["calm", "coast", "inland", "major", "small"])
    spec = _spec(tmp, result)
    picture = SubPoolPicture(
        names=NAMES, shares=result.menu.shares(result.efficient.allocation),
        block_sizes=np.abs(result.menu.block_scale),
        mu_draws=np.random.default_rng(1).dirichlet(np.ones(3), 300), status_quo=None,
        block_word="scenario", welfare=result.efficient.welfare,
        upper_bound=result.efficient.upper_bound, method="closed form")
    out = tmp / "run"
    out.mkdir()
    doc = write_run(result, spec, out, subpool=picture, timings={"load": 0.1})
    return SimpleNamespace(result=result, spec=spec, out=out, doc=doc)


def _strict_json(path: Path) -> dict:
    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_report_json_has_every_field_of_the_issue(three):
    doc = _strict_json(three.out / "report.json")
    assert doc == json.loads(json.dumps(three.doc))
    assert set(doc["pool"]) >= {"agents", "n", "m", "source"}
    assert doc["pool"]["agents"] == list(NAMES) and (doc["pool"]["n"], doc["pool"]["m"]) == (3, 5)
    assert set(doc["efficient"]) >= {"welfare", "upper_bound", "gap", "uniqueness", "method",
                                     "seconds"}
    assert doc["efficient"]["uniqueness"] == "up to cash"
    for key in ("menu", "timings", "order", "versions", "seed", "money", "data_notes"):
        assert key in doc
    assert doc["money"]["unit"] == "USD"
    assert doc["seed"] == 7
    assert doc["order"] == list(NAMES)
    agent_keys = {"name", "utility", "standalone", "at_efficient", "mu_integral", "bid",
                  "payoff", "cash", "collateral", "worst_case_prior"}
    for a in doc["agents"]:
        assert set(a) >= agent_keys
        assert set(a["mu_integral"]) >= {"value", "stderr"}
    assert set(doc["surplus"]) >= {"value", "stderr"}
    assert set(doc["auction"]) >= {"bids", "winner", "tie_break", "rebate_each"}
    for c in doc["checks"].values():
        assert set(c) >= {"passed", "value", "tolerance"}
    assert doc["timings"]["load"] == 0.1 and "mechanism.efficiency" in doc["timings"]


def test_report_json_numbers_are_the_results(three):
    doc, r = three.doc, three.result
    for i, a in enumerate(doc["agents"]):
        assert a["cash"] == r.cash[i] and a["payoff"] == r.payoffs[i]
        assert a["mu_integral"]["value"] == r.mu_integrals[i].value
        assert a["gain_from_pooling"] == pytest.approx(r.payoffs[i] - r.standalone[i])
    assert doc["efficient"]["welfare"] == r.efficient.welfare
    assert doc["auction"]["winner"] == NAMES[0]
    assert doc["auction"]["bids"][NAMES[1]] == r.bids[1]
    assert doc["agents"][1]["worst_case_prior"] == "priors/ben-the-inland-grower.csv"
    assert doc["agents"][0]["worst_case_prior"] is None
    assert doc["schedules"][0]["posted_by"] == NAMES[0]
    assert doc["schedules"][0]["paid_by"] == NAMES[1]
    assert doc["schedules"][1]["utility_terms"] == [{"agent": NAMES[2], "coefficient": 1.0}]
    assert doc["schedules"][1]["constant"] == -r.mu_integrals[2].value
    full = json.loads((three.out / doc["schedules"][1]["file"]).read_text())
    assert full["utility_terms"] == [{"agent": 2, "coefficient": 1.0}]
    assert doc["all_checks_passed"] is True


def test_allocation_csv_round_trips_exactly(three):
    r = three.result
    with open(three.out / "allocation.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == ALLOCATION_COLUMNS
    assert len(rows) == r.pool.n * r.pool.m
    X, Y = r.pool.positions, r.efficient.allocation
    for row in rows:
        w, i = int(row["scenario"]), NAMES.index(row["agent"])
        assert float(row["position"]) == X[i, w]
        assert float(row["allocation"]) == Y[i, w]
        assert float(row["indemnity"]) == Y[i, w] - X[i, w]
        assert float(row["receipt"]) == Y[i, w] - X[i, w] + r.cash[i]
        assert float(row["probability"]) == r.pool.probabilities[w]
        if X[:, w].sum() == 0:
            assert row["share"] == ""
        else:
            assert float(row["share"]) == pytest.approx(Y[i, w] / X[:, w].sum(), rel=1e-15)
    assert rows[0]["scenario_name"] == "calm"


def test_large_allocation_is_streamed_in_blocks(tmp_path):
    rng = np.random.default_rng(3)
    n, m = 3, 10_007
    X = -rng.exponential(1.0, (n, m)) * (rng.random((n, m)) < 0.3)
    Y = X.sum(axis=0) * np.array([[0.2], [0.3], [0.5]])
    rows = write_allocation_csv(tmp_path / "a.csv", ["a", "b", "c"], np.full(m, 1 / m), X, Y,
                                np.array([1.0, -0.5, -0.5]))
    assert rows == n * m
    data = np.genfromtxt(tmp_path / "a.csv", delimiter=",", skip_header=1,
                         usecols=(0, 3, 5))
    assert data.shape == (n * m, 3)
    np.testing.assert_array_equal(data[:, 0], np.repeat(np.arange(m), n))
    np.testing.assert_array_equal(data[:, 1], X.T.ravel())
    np.testing.assert_array_equal(data[:, 2], Y.T.ravel())


def test_supergradients_and_priors_files(three):
    r = three.result
    with open(three.out / "certificate" / "supergradients.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][1:4] == list(NAMES)
    Q = np.array([[float(x) for x in row[1:4]] for row in rows[1:]]).T
    np.testing.assert_array_equal(Q, r.efficient.supergradients)
    with open(three.out / "priors" / "ben-the-inland-grower.csv", newline="") as fh:
        prior = [float(row["worst_case_prior"]) for row in csv.DictReader(fh)]
    np.testing.assert_array_equal(prior, r.worst_case_priors[1])


def test_inputs_are_copied(three):
    spec_copy = json.loads((three.out / "inputs" / "spec.json").read_text())
    assert spec_copy == three.spec.raw
    assert (three.out / "inputs" / "pool.toml").read_text() == "# test pool\n"
    assert set(three.doc["files"]["inputs_sha256"]) == {"inputs/pool.toml", "inputs/spec.json"}


def test_table_reference_is_rewritten_to_the_copy(tmp_path):
    table = tmp_path / "data" / "positions.csv"
    table.parent.mkdir()
    table.write_text("a,b\n-1,0\n", encoding="utf-8")
    spec = SimpleNamespace(raw={"states": {"table": "data/positions.csv"}, "agents": []},
                           path=tmp_path / "pool.json")
    spec.path.write_text("{}", encoding="utf-8")
    from riskshare.report import copy_inputs

    out = tmp_path / "run"
    out.mkdir()
    copy_inputs(spec, out)
    copied = json.loads((out / "inputs" / "spec.json").read_text())
    assert copied["states"]["table"] == "positions.csv"
    assert (out / "inputs" / "positions.csv").read_text() == "a,b\n-1,0\n"
    assert (out / "inputs" / "original-spec.json").exists() is False
    assert (out / "inputs" / "pool.json").read_text() == "{}"


def test_markdown_page_for_an_accountant(three):
    text = (three.out / "report.md").read_text(encoding="utf-8")
    r = three.result
    for name in NAMES:
        assert name in text
    assert "Who pays whom" in text
    worst = int(np.argmin(r.pool.aggregate))
    table = text.split("Who pays whom")[1].split("\n## ")[0]
    first_row = [ln for ln in table.splitlines() if ln.startswith("| ")][1]
    assert first_row.startswith(f"| {worst} (major)")
    assert "190,000" in first_row                       # the pooled loss of that year
    assert table.count("| 0 (calm) |") == 1           # the no-loss year is among the 5
    assert "scenarios with no loss" not in table
    assert "test data: made up" in text                 # the data's limits
    assert "budget balance" in text and "chooser indifferent" in text
    assert "All 2 checks passed." in text
    assert "figures/simplex.png" in text


def test_figures_are_png(three):
    for name in ("losses", "simplex", "payoffs", "collateral"):
        data = (three.out / "figures" / f"{name}.png").read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 10_000, name
    assert set(three.doc["figure_captions"]) == {f"figures/{k}.png" for k in
                                                 ("losses", "simplex", "payoffs", "collateral")}


def test_losses_legend_has_the_colours_of_every_panel(three):
    """Each legend entry is drawn in the colour of the dots it names, in every panel."""
    from matplotlib.colors import to_rgba

    from riskshare.report._figures import losses_figure

    r = three.result
    fig = losses_figure(r.pool.names, r.pool.positions, r.efficient.allocation, r.cash, "USD")
    legend = fig.legends[0]
    handles = legend.legend_handles
    assert [t.get_text() for t in legend.get_texts()] == [
        "own loss before sharing", "share of the pooled loss after sharing"]
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.collections]
    assert len(panels) == r.pool.n
    for ax in panels:
        for handle, dots in zip(handles, ax.collections[:2], strict=True):
            for colour in dots.get_facecolors():
                np.testing.assert_allclose(colour, to_rgba(handle.get_facecolor()[0]),
                                           err_msg=ax.get_title())
    fig.clear()


def _bar_tops(ax) -> np.ndarray:
    return np.array([p.get_y() + p.get_height() for p in ax.patches])


def test_collateral_chart_keeps_small_amounts_readable():
    """One dominant member: log scale, every bar at its amount and labelled with it."""
    from riskshare.report._figures import collateral_figure, compact

    names = ("Big", "Mid", "Small", "Nil")
    C = np.array([8.13e6, 1.53e5, 695.0, 0.0])
    t = np.array([1.8e5, -1.3e5, -695.0, -49_305.0])
    fig, log = collateral_figure(names, C, t, "USD")
    top, bottom = fig.axes
    assert log and top.get_yscale() == "log"
    tops = _bar_tops(top)
    np.testing.assert_allclose(tops[:3], C[:3], rtol=1e-12)
    assert tops[3] <= top.get_ylim()[0]                  # no bar for nothing locked
    labels = [a.get_text() for a in top.texts]
    assert labels == [compact(c) for c in C] == ["8.13M", "153k", "695", "0"]
    # the smallest positive bar stands clear of the axis (on a linear axis: 695/8.13M)
    y = top.transAxes.inverted().transform(top.transData.transform((0.0, 695.0)))[1]
    assert y > 0.1
    np.testing.assert_allclose([p.get_height() for p in bottom.patches], t, rtol=1e-12)
    assert [a.get_text() for a in bottom.texts] == ["+180k", "-130k", "-695", "-49.3k"]
    fig.clear()

    close = np.array([300.0, 200.0, 100.0, 0.0])         # similar amounts: linear scale
    fig, log = collateral_figure(names, close, t, "USD")
    assert not log and fig.axes[0].get_yscale() == "linear"
    np.testing.assert_allclose(_bar_tops(fig.axes[0]), close, rtol=1e-12)
    fig.clear()


def test_two_agents_without_subpool_and_fixed_order(tmp_path):
    result = entropic_result([[-1.0, 0.0, -3.0], [0.0, -2.0, -1.0]], None, [2.0, 1.0],
                             ("a", "b"))
    result = SimpleNamespace(**{**vars(result), "auction": None, "bids": np.zeros(0),
                                "worst_case_priors": {}})
    out = tmp_path / "run"
    out.mkdir()
    doc = write_run(result, _spec(tmp_path, result), out)
    assert doc["auction"] is None
    assert doc["agents"][0]["bid"] is None
    assert not (out / "figures" / "simplex.png").exists()
    assert not (out / "priors").exists()
    assert "Fixed order of moves" in (out / "report.md").read_text()


def test_failed_check_is_reported(tmp_path):
    result = entropic_result([[-1.0, 0.0, -3.0], [0.0, -2.0, -1.0]], None, [2.0, 1.0],
                             ("a", "b"))
    result = SimpleNamespace(**{**vars(result), "checks": (_check("planted", 1.0, 1e-9),)})
    out = tmp_path / "run"
    out.mkdir()
    doc = write_run(result, _spec(tmp_path, result), out)
    assert doc["all_checks_passed"] is False
    assert "1 of 1 checks FAILED" in (out / "report.md").read_text()
    assert "FAILED: planted" in summary_text(doc, str(out))
    assert summary_json(doc, str(out))["failed_checks"] == ["planted"]


def test_summaries(three):
    text = summary_text(three.doc, "RUN")
    for name in NAMES:
        assert name in text
    assert "checks: all 2 passed" in text and "RUN/report.md" in text
    payload = json.loads(json.dumps(summary_json(three.doc, "RUN")))
    assert payload["winner"] == "Ana" and len(payload["agents"]) == 3
    assert payload["agents"][2]["cash"] == three.result.cash[2]


def test_jsonable_and_formatting():
    out = jsonable({"a": np.float64(np.nan), "b": np.arange(3), "c": b"\x01\xff",
                    "d": (np.int64(2), np.bool_(True)), 3: float("inf")})
    assert out == {"a": None, "b": [0, 1, 2], "c": "01ff", "d": [2, True], "3": None}
    json.dumps(out, allow_nan=False)
    assert money(-1234567.4, "USD") == "-1,234,567 USD"
    assert money(-0.4, "USD") == "0 USD"
    assert money_unit([2.5e6, -1.0]) == (1e6, "M")
    assert money_unit([25.0]) == (1.0, "")
    assert slug("Fort Pierce") == "fort-pierce" and slug("***") == "agent"
    text = describe_utility({"kind": "max_min", "base": {"kind": "entropic",
                                                         "tolerance": 8e5},
                             "credal": {"kind": "density_band", "lower": 0.9, "upper": 1.1}})
    assert text.startswith("max min") and "tolerance 800,000" in text and "upper 1.1" in text
