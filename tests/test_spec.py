"""The pool file: every way of giving states, utilities, credal sets, menus, μ and
mechanism settings; TOML and JSON alike; one clear error naming the field.

Reference values: the three-farmer closed form (MECHANISM.md §4: entropic,
common prior, ``W* = −Γ log E_P[exp(−X/Γ)]``, shares ``γ_i/Γ``); Florida
positions recomputed with the hazard loader.
"""

from __future__ import annotations

import copy
import json
import shutil
import tomllib

import numpy as np
import pytest

from riskshare import (
    ComonotoneMenu,
    FiniteMenu,
    RiskshareInputError,
    SignMenu,
    SpecError,
    UnsupportedError,
)
from riskshare.io import hazard as hz
from riskshare.io.spec import example_path, load_spec, parse_spec, read_document

FLORIDA = ["Homestead", "Immokalee", "Belle Glade", "Arcadia", "Fort Pierce", "Plant City",
           "DeLand", "Ocala", "Starke", "Live Oak"]


def base_doc() -> dict:
    """A small inline pool: three agents, three states."""
    return {
        "states": {"probabilities": [0.5, 0.3, 0.2], "names": ["calm", "storm", "major"]},
        "agents": [
            {"name": "Ana", "positions": [0.0, -20.0, -90.0],
             "utility": {"kind": "entropic", "tolerance": 50.0}},
            {"name": "Ben", "positions": [0.0, -10.0, -60.0],
             "utility": {"kind": "entropic", "tolerance": 30.0}},
            {"name": "Caro", "positions": [0.0, 0.0, -30.0],
             "utility": {"kind": "expectation"}},
        ],
    }


def parse(doc, base_dir=None):
    return parse_spec(doc, base_dir or example_path("florida").parent)


# --------------------------------------------------------------------------- inline states
def test_three_farmers_example_closed_form():
    spec = load_spec(example_path("three-farmers"))
    pool = spec.pool
    assert pool.names == ("Ana", "Ben", "Caro")
    np.testing.assert_allclose(pool.probabilities, [0.6, 0.15, 0.15, 0.1])
    np.testing.assert_allclose(pool.aggregate, [0, -30_000, -40_000, -190_000])
    gammas = np.array([u.tolerance for u in spec.utilities])
    np.testing.assert_allclose(gammas, [50_000, 30_000, 20_000])
    G = gammas.sum()
    W = -G * np.log(pool.probabilities @ np.exp(-pool.aggregate / G))
    Y = np.outer(gammas / G, pool.aggregate)
    total = sum(u.value(y) for u, y in zip(spec.utilities, Y, strict=True))
    assert total == pytest.approx(W, rel=1e-12)
    assert W == pytest.approx(-52_758.95, abs=0.01)        # the number quoted in the file
    assert isinstance(spec.menu, SignMenu) and spec.settings.money == "USD"
    assert spec.path == example_path("three-farmers") and spec.data_notes == ()


def test_inline_probabilities_omitted_are_equal():
    doc = base_doc()
    del doc["states"]
    spec = parse(doc)
    np.testing.assert_allclose(spec.pool.probabilities, [1 / 3] * 3)
    assert spec.pool.state_names is None and spec.pool.source == "inline"


def test_inline_positions_and_names():
    spec = parse(base_doc())
    np.testing.assert_array_equal(spec.pool.positions[0], [0.0, -20.0, -90.0])
    assert spec.pool.state_names == ("calm", "storm", "major")
    assert [a["name"] for a in spec.agent_fields] == ["Ana", "Ben", "Caro"]


# --------------------------------------------------------------------------- table states
def _table_rows():
    with open(example_path("table").with_suffix(".csv")) as fh:
        header, *rows = [line.strip().split(",") for line in fh if line.strip()]
    return header, rows


def test_table_example_csv():
    spec = load_spec(example_path("table"))
    header, rows = _table_rows()
    assert spec.pool.names == ("North", "South", "East", "Reserve")
    for name in spec.pool.names:
        col = header.index(name)
        np.testing.assert_array_equal(spec.pool.positions[spec.pool.index(name)],
                                      [float(r[col]) for r in rows])
    np.testing.assert_allclose(spec.pool.probabilities,
                               [float(r[header.index("probability")]) for r in rows])
    assert spec.pool.state_names[0] == "none" and spec.pool.state_names[-1] == "north+south+east"
    assert isinstance(spec.menu, ComonotoneMenu)
    assert spec.settings.order == ("Reserve", "North", "South", "East")
    assert spec.settings.mu_kappa == 2.0 and spec.settings.mu_centre == (0.25,) * 4


def test_table_parquet_matches_csv(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    header, rows = _table_rows()
    cols = {h: [r[j] if h == "state" else float(r[j]) for r in rows] for j, h in enumerate(header)}
    pq.write_table(pa.table(cols), tmp_path / "t.parquet")
    doc = read_document(example_path("table"))
    doc["states"]["table"] = "t.parquet"
    from_parquet = parse_spec(doc, tmp_path)
    from_csv = load_spec(example_path("table"))
    np.testing.assert_array_equal(from_parquet.pool.positions, from_csv.pool.positions)
    np.testing.assert_array_equal(from_parquet.pool.probabilities, from_csv.pool.probabilities)
    assert from_parquet.pool.state_names == from_csv.pool.state_names


def test_table_without_probability_column(tmp_path):
    (tmp_path / "x.csv").write_text("Ana,Ben\n-1,0\n0,-2\n-3,-3\n0,0\n")
    doc = {"states": {"table": "x.csv"},
           "agents": [{"name": s, "utility": {"kind": "expectation"}} for s in ("Ana", "Ben")]}
    spec = parse_spec(doc, tmp_path)
    np.testing.assert_allclose(spec.pool.probabilities, [0.25] * 4)
    np.testing.assert_array_equal(spec.pool.positions, [[-1, 0, -3, 0], [0, -2, -3, 0]])
    assert spec.pool.state_names is None


# --------------------------------------------------------------------------- hazard states
@pytest.fixture(scope="module")
def florida():
    return load_spec(None)


def test_florida_example_agents(florida):
    pool = florida.pool
    assert pool.names == tuple(FLORIDA)
    assert pool.m == 1610 and pool.n == 10 and pool.money == "USD"
    np.testing.assert_allclose(pool.probabilities, 1 / 1610)
    assert florida.path is None and florida.simplex_agents == ("Homestead", "Immokalee",
                                                                "Fort Pierce")
    assert florida.data_notes == hz.KNOWN_LIMITS
    values = [a["site"]["value"] for a in florida.agent_fields]
    assert values == [3.5e6, 4.0e6, 5.0e6, 2.0e6, 3.0e6, 2.5e6, 0.8e6, 1.5e6, 0.6e6, 1.0e6]


def test_florida_positions_are_minus_losses(florida):
    sites = [(a["site"]["latitude"], a["site"]["longitude"], a["site"]["value"])
             for a in florida.agent_fields]
    losses, labels = hz.annual_losses(hz.load_florida_hazard(), sites)
    np.testing.assert_array_equal(florida.pool.positions, -losses.T)
    assert florida.pool.state_names == labels
    assert np.all(florida.pool.positions <= 0)


def test_florida_settings(florida):
    s = florida.settings
    assert (s.metric, s.lipschitz_cap, s.order, s.money) == ("sup", "auto", "auction", "USD")
    assert s.seed == 20261204 and 1 <= s.draws <= 65536
    assert isinstance(florida.menu, SignMenu)
    assert florida.data["sites"][0]["cell"] == 44 and florida.data["members"] == "all"


def test_florida_reweighted_prior(florida):
    """Belle Glade's own prior: 1.5 times the catalogue's weight on pool-loss years."""
    k = florida.pool.index("Belle Glade")
    P = florida.pool.probabilities
    w = np.where(florida.pool.aggregate < 0, 1.5, 1.0) * P
    np.testing.assert_allclose(florida.utilities[k].prior_vector(), w / w.sum(), rtol=1e-12)
    assert (w / w.sum())[florida.pool.aggregate < 0].sum() == pytest.approx(0.6548, abs=1e-4)


def test_florida_belief_families(florida):
    kinds = {a["name"]: (a["utility"]["kind"], a.get("credal", {}).get("kind"))
             for a in florida.agent_fields}
    assert kinds["Fort Pierce"] == ("expected_shortfall", None)
    assert kinds["Arcadia"] == ("expectation", "density_band")
    assert sum(k == ("entropic", None) for k in kinds.values()) >= 3


def test_hazard_historical_members():
    doc = read_document(example_path("florida"))
    doc["states"]["members"] = "historical"
    doc["agents"] = doc["agents"][:2]
    doc.pop("report")
    spec = parse(doc)
    assert spec.pool.m == 161 and spec.pool.state_names[-1] == "2011 observed"


# --------------------------------------------------------------------------- utilities
def four_state_doc() -> dict:
    """Four states: the outcomes of two independent events (probabilities 0.4 and 0.25)."""
    return {
        "states": {"probabilities": [0.45, 0.3, 0.15, 0.1]},
        "agents": [
            {"name": "Ana", "positions": [0.0, -20.0, -30.0, -90.0],
             "utility": {"kind": "expectation"}},
            {"name": "Ben", "positions": [0.0, -10.0, 0.0, -60.0],
             "utility": {"kind": "expectation"}},
        ],
    }


def _one_agent_kind(utility, credal=None, start=base_doc):
    doc = start()
    doc["agents"][0]["utility"] = utility
    if credal is not None:
        doc["agents"][0]["credal"] = credal
    return parse(doc).utilities[0]


UTILITIES = {
    "expectation": {"kind": "expectation"},
    "expectation-prior": {"kind": "expectation", "prior": [0.2, 0.3, 0.5]},
    "entropic": {"kind": "entropic", "tolerance": 25.0},
    "entropic-prior": {"kind": "entropic", "tolerance": 25.0, "prior": [0.2, 0.3, 0.5]},
    "expected_shortfall": {"kind": "expected_shortfall", "level": 0.25},
    "expected_shortfall-prior": {"kind": "expected_shortfall", "level": 1.0,
                                 "prior": [0.2, 0.3, 0.5]},
    "distortion-power": {"kind": "distortion", "g": {"kind": "power", "exponent": 0.5}},
    "distortion-wang": {"kind": "distortion", "g": {"kind": "wang", "shift": 0.3}},
    "distortion-table": {"kind": "distortion",
                         "g": {"kind": "table", "u": [0, 0.5, 1], "g": [0, 0.8, 1]}},
}

#: credal sets on the four-state pool; each contains the reference probability
CREDAL = {
    "finite": {"kind": "finite", "priors": [[0.45, 0.3, 0.15, 0.1], [0.3, 0.3, 0.2, 0.2]]},
    "interval": {"kind": "interval", "lower": [0.35, 0.2, 0.1, 0.05],
                 "upper": [0.55, 0.4, 0.2, 0.15]},
    "contamination": {"kind": "contamination", "epsilon": 0.1},
    "density_band": {"kind": "density_band", "lower": 0.5, "upper": 1.5},
    "independent_events": {"kind": "independent_events",
                           "outcomes": [[0, 0], [1, 0], [0, 1], [1, 1]],
                           "lower": [0.3, 0.2], "upper": [0.5, 0.3]},
    "kl_ball": {"kind": "kl_ball", "radius": 0.05},
}
BASES = {"expectation": {"kind": "expectation"},
         "entropic": {"kind": "entropic", "tolerance": 25.0},
         "expected_shortfall": {"kind": "expected_shortfall", "level": 0.5},
         "distortion": {"kind": "distortion", "g": {"kind": "power", "exponent": 0.7}}}
X4 = np.array([0.0, -20.0, -30.0, -90.0])


@pytest.mark.parametrize("name", list(UTILITIES))
def test_every_utility_kind(name):
    u = _one_agent_kind(UTILITIES[name])
    x = np.array([0.0, -20.0, -90.0])
    value = float(u.value(x))
    assert -90.0 <= value <= 0.0
    assert float(u.value(x + 7.0)) == pytest.approx(value + 7.0, rel=1e-9)   # cash invariance


@pytest.mark.parametrize("name", list(CREDAL))
@pytest.mark.parametrize("base", list(BASES))
def test_every_credal_kind(name, base):
    """Every credal kind parses; a base/set pair the library cannot evaluate exactly is
    refused with an error naming the agent's credal table."""
    try:
        u = _one_agent_kind(BASES[base], CREDAL[name], four_state_doc)
    except UnsupportedError as err:
        assert err.field == "agents[0].credal" and base != "expectation"
        return
    plain = _one_agent_kind(BASES[base], None, four_state_doc)
    assert float(u.value(X4)) <= float(plain.value(X4)) + 1e-7     # P is in every set
    q = np.asarray(u.worst_case_prior(X4))
    assert q.shape == (4,) and q.sum() == pytest.approx(1.0)


def test_credal_centre_and_worst_case():
    centre = [0.25, 0.25, 0.25, 0.25]
    u = _one_agent_kind({"kind": "expectation"},
                        {"kind": "contamination", "epsilon": 0.2, "centre": centre},
                        four_state_doc)
    assert float(u.value(X4)) == pytest.approx(0.8 * X4.mean() + 0.2 * X4.min())


def test_expected_shortfall_value():
    u = _one_agent_kind(UTILITIES["expected_shortfall"])
    # worst 25 %: 0.2 at -90 and 0.05 at -20
    assert float(u.value(np.array([0.0, -20.0, -90.0]))) == pytest.approx(
        (0.2 * -90 + 0.05 * -20) / 0.25)


def test_reweight_prior_in_utility_and_centre():
    """Q ∝ P · 2 on the agent's own loss states: P = (0.5, 0.3, 0.2) -> (1/3, 0.4, 4/15)."""
    prior = {"kind": "reweight", "factor": 2.0, "where": "own-loss"}
    q = np.array([0.5, 0.6, 0.4]) / 1.5
    u = _one_agent_kind({"kind": "expectation", "prior": prior})
    np.testing.assert_allclose(u.prior_vector(), q, rtol=1e-12)
    u = _one_agent_kind({"kind": "expectation"},
                        {"kind": "contamination", "epsilon": 0.0, "centre": prior})
    x = np.array([0.0, -20.0, -90.0])
    assert float(u.value(x)) == pytest.approx(q @ x, rel=1e-12)


# --------------------------------------------------------------------------- menus and mu
def test_menus():
    doc = base_doc()
    doc["menu"] = {"kind": "comonotone"}
    assert isinstance(parse(doc).menu, ComonotoneMenu)
    items = [[[0, -20, -90], [0, -10, -60], [0, 0, -30]],
             [[0, -10, -60], [0, -10, -60], [0, -10, -60]]]
    doc["menu"] = {"kind": "finite", "items": items}
    doc["mu"] = {"weights": [1, 3]}
    spec = parse(doc)
    assert isinstance(spec.menu, FiniteMenu) and spec.menu.size == 2
    np.testing.assert_array_equal(spec.menu.items, items)
    assert spec.settings.mu_weights == (0.25, 0.75)


def test_single_item_finite_menu_is_allowed():
    doc = base_doc()
    doc["menu"] = {"kind": "finite", "items": [[[0, 0, 0]] * 3]}
    assert parse(doc).menu.size == 1


def test_mechanism_fields():
    doc = base_doc()
    doc["mechanism"] = {"metric": "l1", "lipschitz_cap": 12.5, "epsilon": 0.01,
                        "order": ["Caro", "Ana", "Ben"], "seed": 3, "draws": 1024,
                        "money": "EUR", "settlement_unit": 1}
    doc["mu"] = {"kind": "dirichlet", "kappa": 4, "centre": [0.5, 0.25, 0.25]}
    s = parse(doc).settings
    assert (s.metric, s.lipschitz_cap, s.epsilon, s.order) == ("l1", 12.5, 0.01,
                                                               ("Caro", "Ana", "Ben"))
    assert (s.seed, s.draws, s.money, s.settlement_unit) == (3, 1024, "EUR", 1.0)
    assert (s.mu_kappa, s.mu_centre, s.mu_weights) == (4.0, (0.5, 0.25, 0.25), None)
    assert parse(doc).pool.money == "EUR"


# --------------------------------------------------------------------------- TOML = JSON
def _same_run(a, b):
    np.testing.assert_array_equal(a.pool.positions, b.pool.positions)
    np.testing.assert_array_equal(a.pool.probabilities, b.pool.probabilities)
    assert (a.pool.names, a.pool.state_names, a.pool.money) == (b.pool.names,
                                                               b.pool.state_names, b.pool.money)
    assert [u.describe() for u in a.utilities] == [u.describe() for u in b.utilities]
    assert a.menu.describe() == b.menu.describe() and a.settings == b.settings
    assert a.simplex_agents == b.simplex_agents and a.data_notes == b.data_notes


@pytest.mark.parametrize("example", ["three-farmers", "table", "florida"])
def test_toml_and_json_give_the_same_run(tmp_path, example):
    src = example_path(example)
    doc = tomllib.loads(src.read_text())
    target = tmp_path / "pool.json"
    target.write_text(json.dumps(doc, indent=2))
    if example == "table":
        shutil.copy(src.with_suffix(".csv"), tmp_path / "table_example.csv")
    _same_run(load_spec(src), load_spec(target))


# --------------------------------------------------------------------------- bad specs
def _hazard_doc():
    doc = base_doc()
    doc["states"] = {"hazard": "florida"}
    for a, lat in zip(doc["agents"], (25.5, 26.5, 27.5), strict=True):
        del a["positions"]
        a["site"] = {"latitude": lat, "longitude": -81.0, "value": 1e6}
    return doc


def _set(path, value):
    def apply(doc):
        *head, last = path
        node = doc
        for key in head:
            node = node[key]
        node[last] = value
    return apply


def _drop(path):
    def apply(doc):
        *head, last = path
        node = doc
        for key in head:
            node = node[key]
        del node[last]
    return apply


BAD = [
    # (id, starting document, mutation, field named in the error)
    ("top-typo", base_doc, _set(["mechansim"], {}), "mechansim"),
    ("no-agents", base_doc, _drop(["agents"]), "agents"),
    ("one-agent", base_doc, lambda d: d["agents"].pop() and d["agents"].pop(), "agents"),
    ("agent-not-table", base_doc, _set(["agents", 1], 3), "agents[1]"),
    ("members-inline", base_doc, _set(["states", "members"], "all"), "states.members"),
    ("agent-typo", base_doc, _set(["agents", 1, "utilty"], {}), "agents[1].utilty"),
    ("no-utility", base_doc, _drop(["agents", 2, "utility"]), "agents[2].utility"),
    ("no-name", base_doc, _drop(["agents", 0, "name"]), "agents[0].name"),
    ("dup-name", base_doc, _set(["agents", 2, "name"], "Ana"), "agents[2].name"),
    ("description", base_doc, _set(["agents", 0, "description"], 3), "agents[0].description"),
    ("positions-len", base_doc, _set(["agents", 1, "positions"], [0, -1]),
     "agents[1].positions"),
    ("positions-text", base_doc, _set(["agents", 0, "positions", 1], "x"),
     "agents[0].positions[1]"),
    ("positions-missing", base_doc, _drop(["agents", 1, "positions"]), "agents[1].positions"),
    ("site-inline", base_doc, _set(["agents", 1, "site"], {}), "agents[1].site"),
    ("prob-sum", base_doc, _set(["states", "probabilities"], [0.5, 0.3, 0.3]),
     "states.probabilities"),
    ("prob-zero", base_doc, _set(["states", "probabilities"], [0.8, 0.2, 0.0]),
     "states.probabilities"),
    ("names-len", base_doc, _set(["states", "names"], ["a", "b"]), "states.names"),
    ("states-typo", base_doc, _set(["states", "probabilites"], [1]), "states.probabilites"),
    ("hazard-name", _hazard_doc, _set(["states", "hazard"], "georgia"), "states.hazard"),
    ("hazard-members", _hazard_doc, _set(["states", "members"], "some"), "states.members"),
    ("hazard-curve", _hazard_doc, _set(["states", "damage_curve"], "XYZ"),
     "states.damage_curve"),
    ("hazard-probs", _hazard_doc, _set(["states", "probabilities"], [1.0]),
     "states.probabilities"),
    ("hazard-positions", _hazard_doc, _set(["agents", 0, "positions"], [0.0]),
     "agents[0].positions"),
    ("hazard-no-site", _hazard_doc, _drop(["agents", 1, "site"]), "agents[1].site"),
    ("site-lat", _hazard_doc, _set(["agents", 2, "site", "latitude"], 95.0),
     "agents[2].site.latitude"),
    ("site-value", _hazard_doc, _set(["agents", 0, "site", "value"], -5.0),
     "agents[0].site.value"),
    ("site-typo", _hazard_doc, _set(["agents", 0, "site", "lat"], 25.0), "agents[0].site.lat"),
    ("site-missing-key", _hazard_doc, _drop(["agents", 0, "site", "longitude"]),
     "agents[0].site.longitude"),
    ("site-off-grid", _hazard_doc, _set(["agents", 1, "site", "latitude"], 45.0),
     "agents[1].site"),
    ("table-and-hazard", _hazard_doc, _set(["states", "table"], "x.csv"), "states.table"),
    ("menu-kind", base_doc, _set(["menu"], {"kind": "triangle"}), "menu.kind"),
    ("menu-no-items", base_doc, _set(["menu"], {"kind": "finite"}), "menu.items"),
    ("menu-items-on-sign", base_doc, _set(["menu"], {"kind": "sign", "items": []}),
     "menu.items"),
    ("menu-item-rows", base_doc, _set(["menu"], {"kind": "finite", "items": [[[0, 0, 0]]]}),
     "menu.items[0]"),
    ("menu-item-len", base_doc,
     _set(["menu"], {"kind": "finite", "items": [[[0, 0, 0], [0, 0], [0, 0, 0]]]}),
     "menu.items[0][1]"),
    ("mu-kind", base_doc, _set(["mu"], {"kind": "weights"}), "mu.kind"),
    ("mu-kappa", base_doc, _set(["mu"], {"kappa": -1}), "mu.kappa"),
    ("mu-centre-len", base_doc, _set(["mu"], {"centre": [0.5, 0.5]}), "mu.centre"),
    ("mu-centre-sum", base_doc, _set(["mu"], {"centre": [0.5, 0.5, 0.5]}), "mu.centre"),
    ("mu-centre-word", base_doc, _set(["mu"], {"centre": "status quo"}), "mu.centre"),
    ("mu-weights-sign", base_doc, _set(["mu"], {"weights": [1, 2]}), "mu.weights"),
    ("mu-typo", base_doc, _set(["mu"], {"kapa": 1}), "mu.kapa"),
    ("metric", base_doc, _set(["mechanism"], {"metric": "l2"}), "mechanism.metric"),
    ("cap-negative", base_doc, _set(["mechanism"], {"lipschitz_cap": -1}),
     "mechanism.lipschitz_cap"),
    ("cap-word", base_doc, _set(["mechanism"], {"lipschitz_cap": "big"}),
     "mechanism.lipschitz_cap"),
    ("cap-too-small", base_doc, _set(["mechanism"], {"lipschitz_cap": 0.001}),
     "mechanism.lipschitz_cap"),
    ("cap-below-epsilon", base_doc,
     _set(["mechanism"], {"lipschitz_cap": 1.2, "epsilon": 0.5, "order": ["Ana", "Ben", "Caro"]}),
     "mechanism.lipschitz_cap"),
    ("epsilon", base_doc, _set(["mechanism"], {"epsilon": -0.1}), "mechanism.epsilon"),
    ("order-name", base_doc, _set(["mechanism"], {"order": ["Ana", "Bem", "Caro"]}),
     "mechanism.order[1]"),
    ("order-repeat", base_doc, _set(["mechanism"], {"order": ["Ana", "Ana", "Caro"]}),
     "mechanism.order[1]"),
    ("order-missing", base_doc, _set(["mechanism"], {"order": ["Ana", "Ben"]}),
     "mechanism.order"),
    ("order-word", base_doc, _set(["mechanism"], {"order": "random"}), "mechanism.order"),
    ("seed-negative", base_doc, _set(["mechanism"], {"seed": -1}), "mechanism.seed"),
    ("seed-float", base_doc, _set(["mechanism"], {"seed": 1.5}), "mechanism.seed"),
    ("draws", base_doc, _set(["mechanism"], {"draws": 0}), "mechanism.draws"),
    ("draws-bool", base_doc, _set(["mechanism"], {"draws": True}), "mechanism.draws"),
    ("money", base_doc, _set(["mechanism"], {"money": ""}), "mechanism.money"),
    ("unit", base_doc, _set(["mechanism"], {"settlement_unit": 0}),
     "mechanism.settlement_unit"),
    ("mechanism-typo", base_doc, _set(["mechanism"], {"seeds": 1}), "mechanism.seeds"),
    ("simplex-two", base_doc, _set(["report"], {"simplex_agents": ["Ana", "Ben"]}),
     "report.simplex_agents"),
    ("simplex-name", base_doc, _set(["report"], {"simplex_agents": ["Ana", "Ben", "Cora"]}),
     "report.simplex_agents[2]"),
    ("reweight-factor", base_doc,
     _set(["agents", 0, "utility", "prior"], {"kind": "reweight", "factor": 0}),
     "agents[0].utility.prior.factor"),
    ("reweight-kind", base_doc,
     _set(["agents", 0, "utility", "prior"], {"kind": "tilted", "factor": 2}),
     "agents[0].utility.prior.kind"),
    ("reweight-where", base_doc,
     _set(["agents", 0, "utility", "prior"], {"kind": "reweight", "factor": 2, "where": "x"}),
     "agents[0].utility.prior.where"),
    ("tolerance", base_doc, _set(["agents", 1, "utility", "tolerance"], -3.0),
     "agents[1].utility.tolerance"),
    ("utility-kind", base_doc, _set(["agents", 1, "utility", "kind"], "cara"),
     "agents[1].utility.kind"),
    ("prior-len", base_doc, _set(["agents", 2, "utility", "prior"], [0.5, 0.5]),
     "agents[2].utility.prior"),
    ("credal-kind", base_doc, _set(["agents", 2, "credal"], {"kind": "box"}),
     "agents[2].credal.kind"),
]


@pytest.mark.parametrize(("start", "mutate", "field"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_spec_names_the_field(start, mutate, field):
    doc = copy.deepcopy(start())
    mutate(doc)
    with pytest.raises(RiskshareInputError) as err:
        parse(doc)
    assert err.value.field == field, str(err.value)
    assert str(err.value).startswith(field) and "got" in str(err.value)


@pytest.mark.parametrize(("mutate", "hint"), [
    (_set(["mechansim"], {}), "'mechanism'"),
    (_set(["agents", 1, "utilty"], {}), "'utility'"),
    (_set(["mechanism"], {"order": ["Ana", "Bem", "Caro"]}), "'Ben'"),
    (_set(["mu"], {"center": [1, 0, 0]}), "'centre'"),
])
def test_did_you_mean(mutate, hint):
    doc = base_doc()
    mutate(doc)
    with pytest.raises(SpecError, match=f"did you mean {hint}"):
        parse(doc)


@pytest.mark.parametrize(("mutate", "field", "hint"), [
    (_set(["agents", 0, "utility", "kind"], "entropc"), "agents[0].utility.kind", "'entropic'"),
    (_set(["agents", 2, "utility", "kind"], "Expectation"), "agents[2].utility.kind",
     "'expectation'"),
    (_set(["agents", 1, "utility", "tolerence"], 1e5), "agents[1].utility.tolerence",
     "'tolerance'"),
    (_set(["agents", 2, "credal"], {"kind": "intervall", "lower": [0.4, 0.2, 0.1],
                                    "upper": [0.6, 0.4, 0.3]}),
     "agents[2].credal.kind", "'interval'"),
    (_set(["agents", 2, "utility", "credal"], {"kind": "intervall", "lower": [0.4, 0.2, 0.1],
                                               "upper": [0.6, 0.4, 0.3]}),
     "agents[2].utility.credal.kind", "'interval'"),
    (_set(["agents", 2, "credal"], {"kind": "kl_ball", "radius": 0.1, "center": [1, 0, 0]}),
     "agents[2].credal.center", "'centre'"),
    (_set(["agents", 2, "credal"], {"kind": "kl-ball", "radius": 0.1}),
     "agents[2].credal.kind", "'kl_ball'"),
    (_set(["agents", 0, "utility"], {"kind": "distortion", "g": {"kind": "wnag", "shift": 1}}),
     "agents[0].utility.g.kind", "'wang'"),
    (_set(["agents", 0, "utility"], {"kind": "distortion",
                                     "g": {"kind": "power", "exponnt": 0.5}}),
     "agents[0].utility.g.exponnt", "'exponent'"),
], ids=["utility-kind", "utility-kind-case", "utility-key", "credal-kind",
        "credal-inside-utility", "credal-key", "credal-kind-dash", "g-kind", "g-key"])
def test_did_you_mean_inside_utility_and_credal_tables(mutate, field, hint):
    doc = base_doc()
    mutate(doc)
    with pytest.raises(SpecError) as err:
        parse(doc)
    assert err.value.field == field, str(err.value)
    message = str(err.value)
    assert message.startswith(f"{field}: ") and "got" in message
    assert err.value.fix == f"did you mean {hint}?", message
    assert message.endswith(f"Fix: did you mean {hint}?")


@pytest.mark.parametrize(("mutate", "field", "fix"), [
    (_set(["agents", 1, "utility", "kind"], "cara"), "agents[1].utility.kind",
     "spell the kind as in the pool-file documentation"),
    (_set(["agents", 1, "utility", "kind"], 3), "agents[1].utility.kind",
     "spell the kind as in the pool-file documentation"),
    (_set(["agents", 1, "utility", "speed"], 3), "agents[1].utility.speed",
     "remove or rename the key"),
    (_set(["agents", 1, "utility"], {"tolerance": 3.0}), "agents[1].utility.kind",
     'add kind = "expectation" (or another listed kind)'),
])
def test_no_close_name_keeps_the_plain_fix(mutate, field, fix):
    doc = base_doc()
    mutate(doc)
    with pytest.raises(SpecError) as err:
        parse(doc)
    assert err.value.field == field and err.value.fix == fix, str(err.value)
    assert "did you mean" not in str(err.value)


def test_hazard_site_typo_suggests_latitude():
    doc = _hazard_doc()
    doc["agents"][0]["site"]["lat"] = 25.0
    with pytest.raises(SpecError, match="did you mean 'latitude'"):
        parse(doc)


@pytest.mark.parametrize(("csv", "needle"), [
    ("Ana,Bem,Caro\n-1,0,0\n", "did you mean 'Ben'"),
    ("Ana,Caro\n-1,0\n", "no column 'Ben'"),
    ("Ana,Ben,Caro\n-1,x,0\n", "data row 1, column 'Ben'"),
    ("Ana,Ben,Caro\n-1,0\n", "2 cells"),
    ("Ana,Ben,Caro\n", "no rows"),
    ("Ana,Ben,Caro,probability\n-1,0,0,0.5\n0,0,-1,0.4\n", "sum"),
])
def test_bad_table(tmp_path, csv, needle):
    (tmp_path / "t.csv").write_text(csv)
    doc = base_doc()
    doc["states"] = {"table": "t.csv"}
    for a in doc["agents"]:
        del a["positions"]
    with pytest.raises(RiskshareInputError, match=needle) as err:
        parse_spec(doc, tmp_path)
    assert err.value.field == "states.table"


def test_table_missing_file_is_named(tmp_path):
    doc = {"states": {"table": "nowhere.csv"},
           "agents": [{"name": s, "utility": {"kind": "expectation"}} for s in ("A", "B")]}
    with pytest.raises(SpecError, match="nowhere.csv") as err:
        parse_spec(doc, tmp_path)
    assert err.value.field == "states.table"


def test_table_with_inline_probabilities(tmp_path):
    (tmp_path / "t.csv").write_text("A,B\n-1,0\n")
    doc = {"states": {"table": "t.csv", "probabilities": [1.0]},
           "agents": [{"name": s, "utility": {"kind": "expectation"}} for s in ("A", "B")]}
    with pytest.raises(SpecError, match="probability' column") as err:
        parse_spec(doc, tmp_path)
    assert err.value.field == "states.probabilities"


# --------------------------------------------------------------------------- files
def test_missing_pool_file_is_named(tmp_path):
    with pytest.raises(SpecError, match="absent.toml"):
        load_spec(tmp_path / "absent.toml")


def test_wrong_extension(tmp_path):
    (tmp_path / "pool.yaml").write_text("a: 1\n")
    with pytest.raises(SpecError, match=".toml or .json"):
        load_spec(tmp_path / "pool.yaml")


def test_toml_syntax_error_says_where(tmp_path):
    (tmp_path / "pool.toml").write_text("[states]\nprobabilities = [0.5, 0.5]]\n")
    with pytest.raises(SpecError, match="line"):
        load_spec(tmp_path / "pool.toml")


def test_json_duplicate_key_and_non_object(tmp_path):
    (tmp_path / "a.json").write_text('{"agents": [], "agents": []}')
    with pytest.raises(SpecError, match="agents"):
        load_spec(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("[1, 2]")
    with pytest.raises(SpecError, match="object"):
        load_spec(tmp_path / "b.json")


def test_unknown_example():
    with pytest.raises(SpecError, match="three-farmers"):
        example_path("three_farmer")


# --------------------------------------------------------------------------- message text


def test_a_cap_the_schedules_can_use_is_accepted():
    """The reader refuses only caps below the requirement (1.05 for the sup metric)."""
    for cap in (1.05, 1.06, 40.0):
        doc = base_doc()
        doc["mechanism"] = {"lipschitz_cap": cap}
        assert parse(doc).settings.lipschitz_cap == cap
    doc = base_doc()
    doc["mechanism"] = {"lipschitz_cap": 1.0}
    with pytest.raises(RiskshareInputError, match=r"need at least 1\.05"):
        parse(doc)


INTERVAL = {"kind": "interval", "lower": [0.4, 0.2, 0.1], "upper": [0.6, 0.4, 0.3]}


@pytest.mark.parametrize(("credal", "needle"), [
    ({**INTERVAL, "lower": [0.4, 0.5, 0.1]}, "upper[1] = 0.4"),
    ({**INTERVAL, "lower": [0.5, 0.3, 0.25]}, "sum 1.05"),
    ({**INTERVAL, "upper": [0.45, 0.25, 0.15]}, "sum 0.85"),
], ids=["lower-above-upper", "lower-sum", "upper-sum"])
def test_numbers_in_messages_are_plain(credal, needle):
    """No numpy repr (``np.float64(0.4)``) in a message: numbers print as Python's."""
    doc = base_doc()
    doc["agents"][2]["credal"] = credal
    with pytest.raises(RiskshareInputError) as err:
        parse(doc)
    text = str(err.value)
    assert err.value.field.startswith("agents[2].credal")
    assert "np." not in text and needle in text, text


def test_error_values_print_as_plain_python():
    from riskshare._errors import plain_text

    cases = [(np.float64(0.1), "got 0.1;"), (np.int64(3), "got 3;"),
             (np.array([0.25, 0.5]), "got [0.25, 0.5];"),
             ([np.float64(1.5), np.int32(2)], "got [1.5, 2];"),
             ((np.float64(2.0), "x"), "got (2.0, 'x');"), (np.True_, "got True;")]
    for value, text in cases:
        assert text in str(SpecError("f", value, "allowed")), value
    message = str(SpecError("f", "sum np.float64(0.75)", "at most np.float64(1e-05)",
                            "use np.int64(2) or np.False_"))
    assert message == ("f: invalid pool file: got 'sum 0.75'; at most 1e-05. "
                       "Fix: use 2 or False")
    assert plain_text("np.float32(nan) and np.uint8(7)") == "nan and 7"
