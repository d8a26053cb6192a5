"""The pool file: one TOML or JSON document describing a whole run.

The format is fixed by ``POOL_FILE.md`` (names are a contract); what
riskshare adds and how it reads the places where that page is silent is in
``docs/pool_file.md``. Notation: ``n`` agents, ``m`` states, positions ``X``
of shape (n, m) in money with losses negative, reference probability ``P``.

States come one of three ways:

* inline: ``[states] probabilities, names`` and each agent's ``positions``;
* a table: ``[states] table = "file.csv"`` (or ``.parquet``), a column per agent;
* the bundled hurricane data: ``[states] hazard = "florida"`` and each agent's
  ``site = {latitude, longitude, value}``; positions are minus the annual losses.

Every error is a :class:`~riskshare._errors.RiskshareInputError` whose
``field`` is the path in the document (``agents[2].utility.tolerance``,
``mechanism.order[1]``); unknown fields are errors.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .._errors import LipschitzCapError, SpecError, TooFewAgentsError
from .._validate import probability_vector
from ..mechanism import MechanismSettings
from ..menus import FiniteMenu, Menu, make_menu
from ..pool import Pool
from ..schedules import CAP_SLACK, cap_requirement
from ..utilities import MonetaryUtility
from ..utilities._factory import utility_from_spec
from . import hazard as hz
from ._fields import (
    check_keys,
    get_choice,
    get_int,
    get_number,
    get_numbers,
    get_str,
    get_table,
    join,
    suggest,
)
from .tables import read_state_table

__all__ = ["RunSpec", "load_spec", "parse_spec", "read_document", "example_path", "EXAMPLES"]

TOP_KEYS = ("states", "agents", "menu", "mu", "mechanism", "report")
AGENT_KEYS = ("name", "positions", "site", "utility", "credal", "description")
STATE_KEYS = ("probabilities", "names", "table", "hazard", "members", "damage_curve")
SITE_KEYS = ("latitude", "longitude", "value")
MENU_KEYS = ("kind", "items")
MU_KEYS = ("kind", "kappa", "centre", "weights")
MECHANISM_KEYS = ("metric", "lipschitz_cap", "epsilon", "order", "seed", "draws", "money",
                  "settlement_unit")
REPORT_KEYS = ("simplex_agents",)
REWEIGHT_KEYS = ("kind", "factor", "where")

#: the bundled example pool files, by the name the command line uses
EXAMPLES = {"florida": "florida.toml", "three-farmers": "three_farmers.toml",
            "table": "table_example.toml"}
HAZARDS = ("florida",)

_MODES = {"inline": ("probabilities", "names"), "table": ("table",),
          "hazard": ("hazard", "members", "damage_curve")}


@dataclass(frozen=True, eq=False)
class RunSpec:
    """A parsed and validated pool file, ready to run.

    Attributes
    ----------
    pool : Pool
        States, reference probability, names, positions, money and source.
    utilities : tuple of MonetaryUtility
        One per agent, bound to ``pool.probabilities``.
    menu : Menu
        Sign-constrained, comonotone or finite.
    settings : MechanismSettings
        From ``[mechanism]`` and ``[mu]``.
    path : Path or None
        The pool file (``None`` for the bundled default).
    raw : dict
        The parsed document, as written.
    agent_fields : tuple of dict
        Each agent's table as written (name, site, utility, credal, description).
    data_notes : tuple of str
        Known limits of the data source (hazard runs), for the report.
    simplex_agents : tuple of str or None
        ``[report] simplex_agents``: the three agents of the simplex picture.
    data : dict or None
        Where the states came from: for the hazard, the file and its sha256,
        the damage curve, the members kept and each site's grid cell.
    """

    pool: Pool
    utilities: tuple[MonetaryUtility, ...]
    menu: Menu
    settings: MechanismSettings
    path: Path | None
    raw: dict
    agent_fields: tuple[dict, ...]
    data_notes: tuple[str, ...]
    simplex_agents: tuple[str, ...] | None = None
    data: dict | None = None


@dataclass(frozen=True, eq=False)
class _States:
    positions: np.ndarray
    probabilities: np.ndarray | None
    state_names: tuple[str, ...] | None
    source: str
    notes: tuple[str, ...] = ()
    data: dict | None = None


# --------------------------------------------------------------------------- files
def example_path(name: str = "florida") -> Path:
    """Path of a bundled example pool file (``florida``, ``three-farmers``, ``table``)."""
    if name not in EXAMPLES:
        best = suggest(name, EXAMPLES)
        raise SpecError("example", name, f"one of {', '.join(EXAMPLES)}",
                        f"did you mean {best!r}?" if best else "choose a listed example")
    return Path(str(resources.files("riskshare").joinpath("examples", EXAMPLES[name])))


def read_document(path: str | Path) -> dict:
    """Parse a ``.toml`` or ``.json`` pool file into a dict (no validation yet)."""
    path = Path(path)
    if path.suffix.lower() not in (".toml", ".json"):
        raise SpecError("pool file", str(path), "a .toml or .json file",
                        "give the pool file in TOML or JSON")
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise SpecError("pool file", str(path), "an existing .toml or .json file",
                        "check the path") from None
    if path.suffix.lower() == ".toml":
        return _parse_toml(data, path)
    return _parse_json(data, path)


def _parse_toml(data: bytes, path: Path) -> dict:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError("pool file", f"{path.name}: {exc}", "valid TOML",
                        "fix the syntax at the place named") from None


def _no_duplicates(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise SpecError("pool file", f"key {key!r} twice in one object",
                            "each key once per object", "remove the duplicate key")
        out[key] = value
    return out


def _parse_json(data: bytes, path: Path) -> dict:
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SpecError("pool file", f"{path.name}: {exc}", "valid JSON",
                        "fix the syntax at the place named") from None
    if not isinstance(doc, dict):
        raise SpecError("pool file", type(doc).__name__, "a JSON object at the top level",
                        "wrap the pool in { ... }")
    return doc


def load_spec(path: str | Path | None = None) -> RunSpec:
    """Read and validate a pool file; ``None`` reads the bundled Florida pool.

    Raises
    ------
    RiskshareInputError
        (``SpecError`` or a more specific class) naming the field that is wrong.
    """
    file = example_path("florida") if path is None else Path(path)
    doc = read_document(file)
    return parse_spec(doc, file.parent, path=None if path is None else file)


# --------------------------------------------------------------------------- parse
def parse_spec(doc: dict, base_dir: Path, path: Path | None = None) -> RunSpec:
    """Validate a parsed pool document and build the run it describes.

    Parameters
    ----------
    doc : dict
        The document (from TOML or JSON).
    base_dir : Path
        Folder against which a ``states.table`` path is resolved.
    path : Path, optional
        The file the document came from (recorded in the result).
    """
    if not isinstance(doc, dict):
        raise SpecError("pool file", type(doc).__name__, "a table of fields", "see POOL_FILE.md")
    check_keys(doc, "", TOP_KEYS, required=("agents",))
    agents = _agent_tables(doc["agents"])
    names = [_agent_name(a, k) for k, a in enumerate(agents)]
    _check_unique(names)
    mechanism = get_table(doc, "mechanism", "", {})
    check_keys(mechanism, "mechanism", MECHANISM_KEYS)

    states = _states(get_table(doc, "states", "", {}), agents, names, Path(base_dir))
    pool = _pool(states, names, mechanism)
    utilities = tuple(_utility(a, k, pool) for k, a in enumerate(agents))
    menu = _menu(get_table(doc, "menu", "", {}), pool)
    settings = _settings(mechanism, get_table(doc, "mu", "", {}), names, menu)
    _check_cap(settings, utilities, pool, menu)
    simplex = _simplex_agents(get_table(doc, "report", "", {}), names)
    return RunSpec(pool, utilities, menu, settings, path, doc, tuple(dict(a) for a in agents),
                   states.notes, simplex, states.data)


def _agent_tables(value) -> list[dict]:
    if not isinstance(value, list):
        raise SpecError("agents", value, "a list of agent tables ([[agents]] in TOML)",
                        "write one [[agents]] block per agent")
    if len(value) < 2:
        raise TooFewAgentsError("agents", f"{len(value)} agent(s)", "n >= 2",
                                "add agents: risk sharing needs at least two")
    for k, agent in enumerate(value):
        if not isinstance(agent, dict):
            raise SpecError(f"agents[{k}]", agent, "an agent table (name, utility, ...)",
                            "write the agent as a table")
        check_keys(agent, f"agents[{k}]", AGENT_KEYS, required=("name", "utility"))
        if "description" in agent:
            get_str(agent, "description", f"agents[{k}]")
    return value


def _agent_name(agent: dict, k: int) -> str:
    return get_str(agent, "name", f"agents[{k}]")


def _check_unique(names: list[str]) -> None:
    for k, name in enumerate(names):
        if name in names[:k]:
            raise SpecError(f"agents[{k}].name", name, "each agent needs its own name",
                            f"rename one of the agents called {name!r}")


# --------------------------------------------------------------------------- states
def _states(table: dict, agents: list[dict], names: list[str], base_dir: Path) -> _States:
    check_keys(table, "states", STATE_KEYS)
    mode = _mode(table)
    for other, keys in _MODES.items():
        for key in keys:
            if other != mode and key in table:
                raise SpecError(f"states.{key}", table[key], f"not used with {mode} states",
                                _mode_fix(mode, key))
    reader = {"inline": _inline_states, "table": _table_states, "hazard": _hazard_states}[mode]
    return reader(table, agents, names, base_dir)


def _mode(table: dict) -> str:
    if "hazard" in table and "table" in table:
        raise SpecError("states.table", table["table"], "either states.table or states.hazard",
                        "keep one way of giving the states")
    if "hazard" in table:
        return "hazard"
    return "table" if "table" in table else "inline"


def _mode_fix(mode: str, key: str) -> str:
    if mode == "table" and key == "probabilities":
        return "put the probabilities in a 'probability' column of the table"
    if mode == "table" and key == "names":
        return "put the state names in a 'state' column of the table"
    if mode == "hazard" and key in ("probabilities", "names"):
        return "remove it: the simulated years are equally likely and named by the data"
    if key in _MODES["hazard"]:
        return f"set states.hazard = \"florida\" to use the bundled data, or remove states.{key}"
    return f"remove states.{key}"


def _forbid(agents: list[dict], key: str, mode: str, fix: str) -> None:
    for k, agent in enumerate(agents):
        if key in agent:
            raise SpecError(f"agents[{k}].{key}", agent[key], f"not used with {mode} states", fix)


def _inline_states(table, agents, names, base_dir) -> _States:
    _forbid(agents, "site", "inline",
            "give positions, or set states.hazard = \"florida\" to use sites")
    probabilities = table.get("probabilities")
    m = None
    if probabilities is not None:
        m = len(get_numbers(probabilities, "states.probabilities"))
    rows = []
    for k, agent in enumerate(agents):
        if "positions" not in agent:
            raise SpecError(f"agents[{k}].positions", None, "required with inline states",
                            "give the agent's position in each state (losses negative)")
        row = get_numbers(agent["positions"], f"agents[{k}].positions", m)
        m = len(row) if m is None else m
        rows.append(row)
    if m == 0:
        raise SpecError("agents[0].positions", [], "at least one state", "add states")
    P = _probabilities(probabilities, "states.probabilities", m)
    state_names = _state_names(table, m)
    return _States(np.array(rows), P, state_names, "inline")


def _probabilities(value, field: str, m: int) -> np.ndarray | None:
    if value is None:
        return None
    return probability_vector(field, value, m=m, positive=True)


def _state_names(table: dict, m: int) -> tuple[str, ...] | None:
    names = table.get("names")
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        raise SpecError("states.names", names, "a list of strings", "write [\"calm\", ...]")
    if len(names) != m:
        raise SpecError("states.names", f"{len(names)} names", f"exactly {m} (one per state)",
                        "give one name per state")
    return tuple(names)


def _table_states(table, agents, names, base_dir) -> _States:
    for key in ("positions", "site"):
        _forbid(agents, key, "table", "the table holds every agent's positions: remove it")
    rel = get_str(table, "table", "states")
    path = (base_dir / rel).resolve()
    data = read_state_table(path, names)
    P = None
    if data.probabilities is not None:
        P = probability_vector("states.table", data.probabilities, m=data.positions.shape[1],
                               positive=True)
    return _States(data.positions, P, data.state_names, f"table {rel}",
                   data={"kind": "table", "path": str(path)})


def _hazard_states(table, agents, names, base_dir) -> _States:
    _forbid(agents, "positions", "hazard",
            "remove it: positions are minus the farm's annual storm losses")
    get_choice(table, "hazard", "states", HAZARDS)
    members = get_choice(table, "members", "states", ("all", "historical"), "all")
    curve_name = get_choice(table, "damage_curve", "states", ("TDR", "RMSF"), "TDR")
    sites = [_site(agent, k) for k, agent in enumerate(agents)]
    hazard = hz.load_florida_hazard()
    curve = hz.damage_curve("NA2", curve_name)
    fields = [f"agents[{k}].site" for k in range(len(agents))]
    losses, labels = hz.annual_losses(hazard, sites, members, curve, fields)
    data = _hazard_record(hazard, curve, members, sites, names, len(labels))
    source = (f"hazard florida: {Path(hazard.source).name}, {len(labels):,} simulated years "
              f"({'all members' if members == 'all' else 'observed storms only'}), damage curve "
              f"NA2 {curve.table} (v_half {curve.v_half:.1f} m/s)")
    return _States(-losses.T, None, labels, source, hz.KNOWN_LIMITS, data)


def _site(agent: dict, k: int) -> hz.Site:
    path = f"agents[{k}]"
    if "site" not in agent:
        raise SpecError(join(path, "site"), None, "required with states.hazard",
                        "give site = { latitude = ..., longitude = ..., value = ... }")
    site = get_table(agent, "site", path)
    check_keys(site, f"{path}.site", SITE_KEYS, required=SITE_KEYS)
    lat = get_number(site, "latitude", f"{path}.site", lo=-90, hi=90)
    lon = get_number(site, "longitude", f"{path}.site", lo=-180, hi=180)
    value = get_number(site, "value", f"{path}.site", lo=0, lo_open=True,
                       fix="give the insured value in the pool's money")
    return hz.Site(lat, lon, value)


def _hazard_record(hazard, curve, members, sites, names, years) -> dict:
    cells, dist = hz.nearest_centroids(hazard, [s.latitude for s in sites],
                                       [s.longitude for s in sites])
    rows = [{"agent": name, "latitude": s.latitude, "longitude": s.longitude, "value": s.value,
             "cell": int(c), "cell_latitude": float(hazard.lat[c]),
             "cell_longitude": float(hazard.lon[c]), "distance_km": float(d)}
            for name, s, c, d in zip(names, sites, cells, dist, strict=True)]
    return {"kind": "hazard", "hazard": hazard.describe(), "members": members,
            "years": years, "damage_curve": curve.describe(), "sites": rows}


def _pool(states: _States, names: list[str], mechanism: dict) -> Pool:
    money = get_str(mechanism, "money", "mechanism", "USD")
    return Pool(states.positions, states.probabilities, names, states.state_names, money,
                states.source)


# --------------------------------------------------------------------------- utilities
def _utility(agent: dict, k: int, pool: Pool) -> MonetaryUtility:
    path = f"agents[{k}]"
    tables = {key: agent[key] for key in ("utility", "credal") if key in agent}
    tables = _expand_priors(tables, path, pool, k)
    utility = utility_from_spec(tables["utility"], pool.m, f"{path}.utility",
                                credal=tables.get("credal"), credal_field=f"{path}.credal")
    return utility.bind(pool.probabilities)


def _expand_priors(spec: dict, path: str, pool: Pool, k: int) -> dict:
    """Replace a compact ``prior``/``centre`` table (``kind = "reweight"``) by its vector."""
    out = {}
    for part, table in spec.items():
        if isinstance(table, dict):
            table = dict(table)
            for key in ("prior", "centre"):
                if isinstance(table.get(key), dict):
                    table[key] = _reweight(table[key], f"{path}.{part}.{key}", pool, k).tolist()
        out[part] = table
    return out


def _reweight(table: dict, path: str, pool: Pool, k: int) -> np.ndarray:
    """``Q ∝ P · factor`` on the chosen states, ``P`` elsewhere."""
    check_keys(table, path, REWEIGHT_KEYS, required=("kind", "factor"))
    get_choice(table, "kind", path, ("reweight",))
    factor = get_number(table, "factor", path, lo=0, lo_open=True)
    where = get_choice(table, "where", path, ("pool-loss", "own-loss"), "pool-loss")
    row = pool.aggregate if where == "pool-loss" else pool.positions[k]
    weight = np.where(row < 0, factor, 1.0) * pool.probabilities
    return weight / weight.sum()


# --------------------------------------------------------------------------- menu, mu
def _menu(table: dict, pool: Pool) -> Menu:
    check_keys(table, "menu", MENU_KEYS)
    kind = get_choice(table, "kind", "menu", ("sign", "comonotone", "finite"), "sign")
    if kind != "finite":
        if "items" in table:
            raise SpecError("menu.items", "given", "items only with kind = \"finite\"",
                            "remove menu.items or set menu.kind = \"finite\"")
        return make_menu(kind, pool.aggregate, pool.n)
    if "items" not in table:
        raise SpecError("menu.items", None, "required with kind = \"finite\"",
                        "give a list of n x m outcomes")
    return FiniteMenu(_items(table["items"], pool.n, pool.m))


def _items(value, n: int, m: int) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise SpecError("menu.items", value, "a non-empty list of n x m outcomes",
                        "write items = [ [[...], [...]], ... ]")
    out = []
    for k, item in enumerate(value):
        field = f"menu.items[{k}]"
        if not isinstance(item, list) or len(item) != n:
            got = f"{len(item)} rows" if isinstance(item, list) else item
            raise SpecError(field, got, f"exactly {n} rows (one per agent)",
                            "give each agent's outcome in every state")
        out.append([get_numbers(row, join(field, i), m) for i, row in enumerate(item)])
    return np.array(out)


def _mu(table: dict, names: list[str], menu: Menu) -> dict:
    check_keys(table, "mu", MU_KEYS)
    finite = isinstance(menu, FiniteMenu)
    kind = get_choice(table, "kind", "mu", ("dirichlet", "weights"),
                      "weights" if finite else "dirichlet")
    if finite != (kind == "weights"):
        allowed = "\"weights\" for a finite menu" if finite else "\"dirichlet\" for this menu"
        raise SpecError("mu.kind", kind, allowed, f"set mu.kind = {allowed.split()[0]}")
    fields = ("weights",) if finite else ("kappa", "centre")
    for key in table:
        if key != "kind" and key not in fields:
            raise SpecError(f"mu.{key}", table[key], f"not used with mu.kind = \"{kind}\"",
                            f"remove mu.{key}")
    if finite:
        return {"mu_weights": _weights(table, menu.size)}
    kappa = get_number(table, "kappa", "mu", 0.0, lo=0)
    return {"mu_kappa": kappa, "mu_centre": _centre(table, len(names))}


def _weights(table: dict, size: int):
    if "weights" not in table:
        return None
    w = np.array(get_numbers(table["weights"], "mu.weights", size, per="item"))
    if np.any(w <= 0):
        k = int(np.argmin(w))
        raise SpecError(f"mu.weights[{k}]", float(w[k]), "a weight > 0 (mu needs full support)",
                        "give every item a positive weight")
    return tuple(float(x) for x in w / w.sum())


def _centre(table: dict, n: int):
    value = table.get("centre", "status-quo")
    if isinstance(value, str):
        if value != "status-quo":
            raise SpecError("mu.centre", value, "\"status-quo\" or a list of n shares",
                            "write centre = \"status-quo\"")
        return value
    shares = get_numbers(value, "mu.centre", n, per="agent")
    return tuple(float(x) for x in probability_vector("mu.centre", shares, m=n))


# --------------------------------------------------------------------------- mechanism
def _settings(mechanism: dict, mu: dict, names: list[str], menu: Menu) -> MechanismSettings:
    values = {
        "metric": get_choice(mechanism, "metric", "mechanism", ("sup", "l1"), "sup"),
        "lipschitz_cap": _cap(mechanism),
        "epsilon": get_number(mechanism, "epsilon", "mechanism", 0.0, lo=0),
        "order": _order(mechanism, names),
        "seed": get_int(mechanism, "seed", "mechanism", 20261204, lo=0),
        "draws": get_int(mechanism, "draws", "mechanism", 65536, lo=1),
        "money": get_str(mechanism, "money", "mechanism", "USD"),
        "settlement_unit": get_number(mechanism, "settlement_unit", "mechanism", 0.01, lo=0,
                                      lo_open=True),
    }
    values.update(_mu(mu, names, menu))
    return MechanismSettings(**values)




def _cap(mechanism: dict):
    value = mechanism.get("lipschitz_cap", "auto")
    if value == "auto":
        return "auto"
    return get_number(mechanism, "lipschitz_cap", "mechanism", lo=0, lo_open=True,
                      fix="give a number > 0 or \"auto\"")


def _check_cap(settings: MechanismSettings, utilities, pool: Pool, menu: Menu) -> None:
    """A numeric cap that no order of moves can use fails here, naming
    ``mechanism.lipschitz_cap`` (the game would refuse it later, naming only the
    setting). Under an auction the order is not known yet; the order that needs the
    lowest cap is the one whose first mover has the largest Lipschitz constant."""
    cap = settings.lipschitz_cap
    if isinstance(cap, str) or isinstance(menu, FiniteMenu):
        return
    P, metric = pool.probabilities, settings.metric
    if settings.order == "auction":
        L = [float(u.lipschitz(metric, P)) for u in utilities]
        first = int(np.argmax(L))
        order = (first, *(i for i in range(pool.n) if i != first))
        whose = " whichever member wins the auction"
    else:
        order = tuple(pool.index(s) for s in settings.order)
        whose = ""
    need, required = cap_requirement(utilities, order, metric, P, settings.epsilon)
    if float(cap) < required:
        raise LipschitzCapError(
            "mechanism.lipschitz_cap", float(cap),
            f"the equalising schedules need at least {required:.6g}{whose} (Lipschitz "
            f"constant {need:.6g} of the continuation welfare for the '{metric}' metric, "
            f"plus {CAP_SLACK:.0%} slack and epsilon = {float(settings.epsilon):g})",
            f"raise lipschitz_cap to {required:.6g} or more, or write lipschitz_cap = \"auto\"")


def _order(mechanism: dict, names: list[str]):
    value = mechanism.get("order", "auction")
    if value == "auction":
        return "auction"
    if not isinstance(value, list):
        raise SpecError("mechanism.order", value, "\"auction\" or a list of agent names",
                        "write order = \"auction\" or order = [\"name\", ...]")
    for i, name in enumerate(value):
        _order_entry(name, i, names, value[:i])
    missing = [s for s in names if s not in value]
    if missing:
        raise SpecError("mechanism.order", value, "every agent exactly once",
                        f"add {', '.join(repr(s) for s in missing)}")
    return tuple(value)


def _order_entry(name, i: int, names: list[str], before: list) -> None:
    field = f"mechanism.order[{i}]"
    if not isinstance(name, str) or name not in names:
        best = suggest(str(name), names)
        raise SpecError(field, name, f"an agent name: {', '.join(names)}",
                        f"did you mean {best!r}?" if best else "use the agents' names")
    if name in before:
        raise SpecError(field, name, "each agent once", "remove the repeated name")


def _simplex_agents(table: dict, names: list[str]) -> tuple[str, ...] | None:
    check_keys(table, "report", REPORT_KEYS)
    value = table.get("simplex_agents")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 3:
        raise SpecError("report.simplex_agents", value, "a list of three agent names",
                        "name the three agents of the simplex picture")
    for i, name in enumerate(value):
        field = f"report.simplex_agents[{i}]"
        if not isinstance(name, str) or name not in names:
            best = suggest(str(name), names)
            raise SpecError(field, name, f"an agent name: {', '.join(names)}",
                            f"did you mean {best!r}?" if best else "use the agents' names")
        if name in value[:i]:
            raise SpecError(field, name, "three different agents", "remove the repeated name")
    return tuple(value)
