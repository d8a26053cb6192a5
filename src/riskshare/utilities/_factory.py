"""Build utilities and credal sets from the tables of a pool file (POOL_FILE.md).

Notation: ``spec`` is the dict of one agent's ``utility`` table (``credal`` the
dict of its optional ``credal`` table), ``m`` the number of states and
``field`` the path of the table in the pool file, e.g. ``"agents[2].utility"``;
every error names the offending field under that path. The utilities come back
unbound (priors that were not given refer to the pool's probabilities).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._errors import CredalSetError, RiskshareInputError, SpecError
from .._validate import finite_array, probability_vector
from ._base import Entropic, Expectation, MonetaryUtility
from ._distortion import Distortion, PowerDistortion, TableDistortion, WangDistortion
from ._maxmin import MaxMin
from ._shortfall import ExpectedShortfall
from .credal import (
    Contamination,
    CredalSet,
    DensityBand,
    FinitePriors,
    IndependentEvents,
    IntervalSet,
    KLBall,
)

__all__ = ["utility_from_spec", "credal_from_spec", "UTILITY_KINDS", "CREDAL_KINDS"]

#: utility kind -> (required keys, optional keys)
UTILITY_KINDS = {
    "expectation": ((), ("prior",)),
    "entropic": (("tolerance",), ("prior",)),
    "expected_shortfall": (("level",), ("prior",)),
    "distortion": (("g",), ("prior",)),
}
#: distortion g kind -> required keys
G_KINDS = {"power": ("exponent",), "wang": ("shift",), "table": ("u", "g")}
#: credal kind -> (required keys, optional keys)
CREDAL_KINDS = {
    "finite": (("priors",), ()),
    "interval": (("lower", "upper"), ()),
    "contamination": (("epsilon",), ("centre",)),
    "density_band": (("lower", "upper"), ("centre",)),
    "independent_events": (("outcomes", "lower", "upper"), ()),
    "kl_ball": (("radius",), ("centre",)),
}


def utility_from_spec(spec: dict, m: int, field: str = "utility", credal: dict | None = None,
                      credal_field: str | None = None) -> MonetaryUtility:
    """The monetary utility described by a pool file's ``utility`` (and ``credal``) tables.

    Parameters
    ----------
    spec : dict
        ``{"kind": ..., parameters}`` as in POOL_FILE.md. A ``"credal"`` key
        inside it is accepted as an alternative to the ``credal`` argument.
    m : int
        Number of states (lengths of priors and vectors are checked against it).
    field : str
        Path of the table, used in error messages (``"agents[2].utility"``).
    credal : dict, optional
        The agent's ``credal`` table: the utility becomes the max-min of the
        base over that set.
    credal_field : str, optional
        Path of the credal table; default: ``field`` with its last part
        replaced by ``credal`` (``"agents[2].credal"``).

    Raises
    ------
    SpecError
        Unknown kind or key, missing key, wrong type, ``prior`` given with a credal set.
    UtilityParameterError, ProbabilityError, ShapeError, CredalSetError
        A parameter out of range, each naming its field under ``field``.
    """
    table = _table(spec, field)
    if "credal" in table:
        if credal is not None:
            raise SpecError(f"{field}.credal", "given twice",
                            "give the credal table once", "keep only the agent's credal table")
        credal, credal_field = table.pop("credal"), f"{field}.credal"
    kind = _kind(table, field, UTILITY_KINDS)
    _check_keys(table, field, *UTILITY_KINDS[kind])
    if credal is not None and "prior" in table:
        raise SpecError(f"{field}.prior", "given with a credal set",
                        "with a credal set the priors come from the set",
                        "drop the prior (or give the set a centre)")
    prior = None
    if "prior" in table:
        prior = probability_vector(f"{field}.prior", _numbers(table["prior"], f"{field}.prior"),
                                   m=m)
    base = _reprefix(kind, field, lambda: _BUILDERS[kind](table, prior, field))
    if credal is None:
        return base
    if credal_field is None:
        credal_field = field.rsplit(".", 1)[0] + ".credal" if "." in field else "credal"
    credal_set = credal_from_spec(credal, m, credal_field)
    return _reprefix("maxmin", field, lambda: MaxMin(base, credal_set))


def credal_from_spec(spec: dict, m: int, field: str = "credal") -> CredalSet:
    """The credal set described by a pool file's ``credal`` table (unbound).

    Raises
    ------
    SpecError
        Unknown kind or key, missing key, wrong type.
    CredalSetError
        An empty or malformed set, naming the field under ``field``.
    """
    table = _table(spec, field)
    kind = _kind(table, field, CREDAL_KINDS)
    _check_keys(table, field, *CREDAL_KINDS[kind])
    args = {k: _credal_value(k, v, f"{field}.{k}") for k, v in table.items() if k != "kind"}
    credal = _CREDAL_BUILDERS[kind](args, field)
    _check_lengths(credal, kind, args, m, field)
    return credal


# -- helpers --------------------------------------------------------------------------------------
def _table(spec, field: str) -> dict:
    if not isinstance(spec, dict):
        raise SpecError(field, spec, "must be a table (a dict with a kind)",
                        'write e.g. { kind = "entropic", tolerance = 50.0 }')
    return dict(spec)


def _did_you_mean(word, options, otherwise: str) -> str:
    """``did you mean 'x'?`` for a close known name, else ``otherwise``."""
    from ..io._fields import suggest  # here, not at the top: riskshare.io imports this module

    best = suggest(str(word), options)
    return f"did you mean {best!r}?" if best is not None else otherwise


def _kind(table: dict, field: str, kinds: dict) -> str:
    listed = "one of " + ", ".join(kinds)
    if "kind" not in table:
        raise SpecError(f"{field}.kind", None, f"required: {listed}",
                        f"add kind = \"{next(iter(kinds))}\" (or another listed kind)")
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in kinds:
        raise SpecError(f"{field}.kind", kind, listed, _did_you_mean(
            kind, kinds, "spell the kind as in the pool-file documentation"))
    return kind


def _check_keys(table: dict, field: str, required, optional) -> None:
    allowed = sorted({"kind", *required, *optional})
    for key in table:
        if key not in allowed:
            raise SpecError(f"{field}.{key}", table[key], "allowed keys: " + ", ".join(allowed),
                            _did_you_mean(key, allowed, "remove or rename the key"))
    for key in required:
        if key not in table:
            raise SpecError(f"{field}.{key}", None, "required", f"add {key} to the table")


def _number(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise SpecError(field, value, "must be a number", "write a plain number")
    return float(value)


def _numbers(value, field: str) -> np.ndarray:
    if isinstance(value, str | bytes | dict) or np.ndim(value) == 0:
        raise SpecError(field, value, "must be a list of numbers", "write [x, y, ...]")
    try:
        return finite_array(field, value)
    except RiskshareInputError as exc:
        raise SpecError(field, exc.value, exc.allowed, exc.fix) from exc


def _credal_value(key: str, value, field: str):
    if key in ("epsilon", "radius"):
        return _number(value, field)
    if key in ("lower", "upper") and np.ndim(value) == 0 and not isinstance(value, str):
        return _number(value, field)
    if key == "upper" and isinstance(value, str) and value.lower() in ("inf", "infinity"):
        return np.inf
    if key == "priors":
        if not isinstance(value, list | tuple | np.ndarray) or len(value) == 0:
            raise SpecError(field, value, "must be a list of probability vectors",
                            "write [[...], [...]]")
        return [_numbers(v, f"{field}[{k}]") for k, v in enumerate(value)]
    return _numbers(value, field)


def _reprefix(old: str, new: str, build: Callable):
    """Run ``build`` and rename the leading ``old`` of any error field to ``new``."""
    try:
        return build()
    except RiskshareInputError as exc:
        if exc.field == old or exc.field.startswith(old + "."):
            raise type(exc)(new + exc.field[len(old):], exc.value, exc.allowed,
                            exc.fix) from exc
        raise


def _build_g(spec, field: str):
    table = _table(spec, field)
    kind = _kind(table, field, G_KINDS)
    _check_keys(table, field, G_KINDS[kind], ())
    if kind == "power":
        return PowerDistortion(_number(table["exponent"], f"{field}.exponent"))
    if kind == "wang":
        return WangDistortion(_number(table["shift"], f"{field}.shift"))
    return TableDistortion(_numbers(table["u"], f"{field}.u"), _numbers(table["g"], f"{field}.g"))


_BUILDERS = {
    "expectation": lambda t, prior, f: Expectation(prior),
    "entropic": lambda t, prior, f: Entropic(_number(t["tolerance"], f"{f}.tolerance"), prior),
    "expected_shortfall": lambda t, prior, f: ExpectedShortfall(
        _number(t["level"], f"{f}.level"), prior),
    "distortion": lambda t, prior, f: Distortion(
        _reprefix("distortion.g", f"{f}.g", lambda: _build_g(t["g"], f"{f}.g")), prior),
}

_CREDAL_BUILDERS = {
    "finite": lambda a, f: FinitePriors(a["priors"], field=f),
    "interval": lambda a, f: IntervalSet(a["lower"], a["upper"], field=f),
    "contamination": lambda a, f: Contamination(a["epsilon"], a.get("centre"), field=f),
    "density_band": lambda a, f: DensityBand(a["lower"], a["upper"], a.get("centre"), field=f),
    "independent_events": lambda a, f: IndependentEvents(a["outcomes"], a["lower"], a["upper"],
                                                         field=f),
    "kl_ball": lambda a, f: KLBall(a["radius"], a.get("centre"), field=f),
}


def _check_lengths(credal: CredalSet, kind: str, args: dict, m: int, field: str) -> None:
    """Vectors must have one entry per state (the sets check this again at bind)."""
    if kind == "finite":
        sizes = {f"{field}.priors[{k}]": len(v) for k, v in enumerate(args["priors"])}
    elif kind == "independent_events":
        sizes = {f"{field}.outcomes": len(args["outcomes"])}
    else:
        sizes = {f"{field}.{k}": np.size(v) for k, v in args.items()
                 if k in ("lower", "upper", "centre") and np.ndim(v)}
    for name, size in sizes.items():
        if size != m:
            raise CredalSetError(name, f"length {size}", f"the pool has {m} states",
                                 "give one entry per state")
