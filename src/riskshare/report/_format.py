"""Formatting helpers shared by the report writers: JSON conversion, money, names.

Nothing here computes a number of the mechanism; it only turns numbers into text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np

__all__ = ["jsonable", "money", "money_unit", "slug", "fmt_number"]


def jsonable(obj):
    """Convert ``obj`` to plain JSON types.

    numpy scalars and arrays become Python numbers and lists, ``bytes`` become
    hex strings, tuples become lists and non-finite floats become ``None``
    (strict JSON has no NaN or infinity; the report says so where it matters).
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).hex()
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "to_json"):
        return jsonable(obj.to_json())
    return str(obj)


def money_unit(amounts) -> tuple[float, str]:
    """A display divisor and suffix for amounts of this size: (1e6, "M"), (1e3, "k") or (1, "")."""
    arr = np.abs(np.asarray(amounts, dtype=float))
    top = float(np.max(arr[np.isfinite(arr)], initial=0.0))
    if top >= 1e6:
        return 1e6, "M"
    if top >= 1e4:
        return 1e3, "k"
    return 1.0, ""


def money(x: float, unit: str = "", digits: int = 0) -> str:
    """``x`` with thousands separators and the unit, e.g. ``-1,234,567 USD``."""
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    text = f"{float(x):,.{digits}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    return f"{text} {unit}".strip()


def fmt_number(x: float, digits: int = 4) -> str:
    """Short general format for a check value or tolerance."""
    if x is None:
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def slug(name: str) -> str:
    """A file-name-safe version of an agent name: ``"Fort Pierce"`` -> ``"fort-pierce"``."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text or "agent"
