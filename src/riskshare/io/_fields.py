"""Reading typed fields out of a parsed pool file, with errors that name the field.

A *path* is where a value sits in the document, written the way a user would
point at it: ``agents[2].site.latitude``, ``mechanism.order[1]``. Every reader
takes the mapping, the key and the path of the mapping, and raises
:class:`~riskshare._errors.SpecError` naming ``path.key`` with the value
received, what is allowed and the fix.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence

from .._errors import SpecError

__all__ = [
    "MISSING",
    "join",
    "suggest",
    "check_keys",
    "require",
    "get_table",
    "get_str",
    "get_choice",
    "get_number",
    "get_int",
    "get_numbers",
    "is_number",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: marker for "no default: the field is required"
MISSING = _Missing()


def join(path: str, key: str | int) -> str:
    """Path of ``key`` inside the value at ``path``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def suggest(word: str, options: Iterable[str]) -> str | None:
    """The closest known name to ``word``, if one is close enough to be a typo."""
    options = list(options)
    lowered = {o.lower(): o for o in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    starts = [o for o in options if len(word) >= 3 and o.lower().startswith(word.lower())]
    if len(starts) == 1:
        return starts[0]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _did_you_mean(word: str, options: Iterable[str], otherwise: str) -> str:
    best = suggest(str(word), options)
    return f"did you mean {best!r}?" if best is not None else otherwise


def check_keys(doc: Mapping, path: str, allowed: Sequence[str],
               required: Sequence[str] = ()) -> None:
    """Every key of ``doc`` must be in ``allowed``; every key of ``required`` present."""
    for key in doc:
        if key not in allowed:
            fix = _did_you_mean(key, allowed, "remove it (unknown fields are errors)")
            raise SpecError(join(path, str(key)), doc[key],
                            f"unknown field; known fields here: {', '.join(allowed)}", fix)
    for key in required:
        if key not in doc:
            raise SpecError(join(path, key), None, "this field is required",
                            f"add {key} to {path or 'the top level'}")


def require(doc: Mapping, key: str, path: str, default=MISSING):
    """``doc[key]``, or ``default``; a missing required field is an error."""
    if key in doc:
        return doc[key]
    if default is MISSING:
        raise SpecError(join(path, key), None, "this field is required",
                        f"add {key} to {path or 'the top level'}")
    return default


def get_table(doc: Mapping, key: str, path: str, default=MISSING) -> dict:
    """A sub-table (TOML table, JSON object)."""
    value = require(doc, key, path, default)
    if value is default and default is not MISSING:
        return value
    if not isinstance(value, Mapping):
        raise SpecError(join(path, key), value, "a table (TOML) or object (JSON)",
                        f"write {key} = {{ ... }}")
    return dict(value)


def get_str(doc: Mapping, key: str, path: str, default=MISSING) -> str:
    """A non-empty string."""
    value = require(doc, key, path, default)
    if value is default and default is not MISSING:
        return value
    if not isinstance(value, str) or not value.strip():
        raise SpecError(join(path, key), value, "a non-empty string", f"write {key} = \"...\"")
    return value


def get_choice(doc: Mapping, key: str, path: str, choices: Sequence[str], default=MISSING) -> str:
    """A string from ``choices``."""
    value = require(doc, key, path, default)
    if value is default and default is not MISSING:
        return value
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        fix = _did_you_mean(str(value), choices, f"use one of {listed}")
        raise SpecError(join(path, key), value, f"one of {listed}", fix)
    return value


def is_number(value) -> bool:
    """An int or float (not a bool) with a finite value."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _range_text(lo, hi, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"a number {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"a number {'<' if hi_open else '<='} {hi:g}"
    return "a finite number"


def _in_range(x: float, lo, hi, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (x <= lo if lo_open else x < lo):
        return False
    return not (hi is not None and (x >= hi if hi_open else x > hi))


def get_number(doc: Mapping, key: str, path: str, default=MISSING, lo=None, hi=None,
               lo_open: bool = False, hi_open: bool = False, fix: str | None = None) -> float:
    """A finite number in the given range."""
    value = require(doc, key, path, default)
    if value is default and default is not MISSING:
        return value
    allowed = _range_text(lo, hi, lo_open, hi_open)
    if not is_number(value) or not _in_range(float(value), lo, hi, lo_open, hi_open):
        raise SpecError(join(path, key), value, allowed, fix or f"give {key} as {allowed}")
    return float(value)


def get_int(doc: Mapping, key: str, path: str, default=MISSING, lo: int | None = None) -> int:
    """A whole number (``>= lo``)."""
    value = require(doc, key, path, default)
    if value is default and default is not MISSING:
        return value
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or (lo is not None and value < lo):
        allowed = "a whole number" + (f" >= {lo}" if lo is not None else "")
        raise SpecError(join(path, key), value, allowed, f"give {key} as {allowed}")
    return int(value)


def get_numbers(value, path: str, length: int | None = None, per: str = "state"
                ) -> list[float]:
    """A list of finite numbers (``length`` of them when given, one per ``per``)."""
    if not isinstance(value, list | tuple):
        raise SpecError(path, value, "a list of numbers", "write [x1, x2, ...]")
    for k, x in enumerate(value):
        if not is_number(x):
            raise SpecError(join(path, k), x, "a finite number", "write plain numbers")
    if length is not None and len(value) != length:
        raise SpecError(path, f"{len(value)} values", f"exactly {length} (one per {per})",
                        f"give one value per {per}")
    return [float(x) for x in value]
