"""Exceptions of riskshare, one per broken rule.

Every exception subclasses :class:`ValueError` (through :class:`RiskshareInputError`)
and carries the field that was wrong, the value received, what is allowed and the
fix, so that a command-line front end can print one clear line.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "RiskshareInputError",
    "NonFiniteError",
    "ShapeError",
    "ProbabilityError",
    "DuplicateNameError",
    "TooFewAgentsError",
    "UtilityParameterError",
    "CredalSetError",
    "MenuError",
    "LipschitzCapError",
    "SpecError",
    "DataFileError",
    "CommitRevealError",
    "SettlementError",
    "RecordTamperedError",
    "UnsupportedError",
    "SiteError",
    "OutputDirectoryError",
    "RunDirectoryError",
    "RecordExistsError",
]


#: a numpy scalar's repr (``np.float64(0.1)``, ``np.int64(3)``, ``np.True_``) inside a text
_NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|complex)\d*\(([^()]*)\)|\bnp\.(True|False)_")


def _plain(value: object) -> object:
    """numpy scalars and arrays (also inside tuples and lists) as the plain Python
    numbers and lists they hold, so that a message shows ``0.1``, not ``np.float64(0.1)``."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if type(value) in (tuple, list):
        return type(value)(_plain(v) for v in value)
    return value


def plain_text(text: str) -> str:
    """``text`` with every numpy scalar repr replaced by the number it holds
    (``'sum np.float64(0.75)'`` -> ``'sum 0.75'``), for texts built by callers."""
    return _NUMPY_REPR.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2),
                           text)


def _short(value: object, limit: int = 160) -> str:
    """``repr`` of the value as plain Python (no numpy reprs), shortened in the middle
    so both ends stay readable (a long path keeps its file name)."""
    text = plain_text(repr(_plain(value)))
    if len(text) <= limit:
        return text
    head = limit // 3
    return text[:head] + "..." + text[len(text) - (limit - head - 3):]


class RiskshareInputError(ValueError):
    """Base class: an input broke a rule.

    Parameters
    ----------
    field : str
        Where the bad value sits, e.g. ``"agents[2].utility.tolerance"``.
    value : object
        The value received (shortened in the message).
    allowed : str
        What the rule allows.
    fix : str, optional
        How to repair the input.
    """

    rule = "invalid input"

    def __init__(self, field: str, value: object, allowed: str, fix: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.fix = fix
        msg = f"{field}: {self.rule}: got {_short(value)}; {plain_text(str(allowed))}"
        if fix:
            msg += f". Fix: {plain_text(str(fix))}"
        super().__init__(msg)


class NonFiniteError(RiskshareInputError):
    rule = "values must be finite (no NaN or infinity)"


class ShapeError(RiskshareInputError):
    rule = "wrong shape"


class ProbabilityError(RiskshareInputError):
    rule = "not a probability vector"


class DuplicateNameError(RiskshareInputError):
    rule = "names must be unique"


class TooFewAgentsError(RiskshareInputError):
    rule = "a pool needs at least two agents"


class UtilityParameterError(RiskshareInputError):
    rule = "utility parameter out of range"


class CredalSetError(RiskshareInputError):
    rule = "invalid credal set"


class MenuError(RiskshareInputError):
    rule = "invalid menu"


class LipschitzCapError(RiskshareInputError):
    rule = "Lipschitz cap violated"


class SpecError(RiskshareInputError):
    rule = "invalid pool file"


class DataFileError(RiskshareInputError):
    rule = "data file is not what it claims"


class CommitRevealError(RiskshareInputError):
    rule = "commit-reveal draw failed"


class SettlementError(RiskshareInputError):
    rule = "settlement rule violated"


class RecordTamperedError(RiskshareInputError):
    rule = "record does not match its digest"


class UnsupportedError(RiskshareInputError):
    rule = "combination not supported"


class SiteError(RiskshareInputError):
    rule = "invalid site (place or value of an exposed asset)"


class OutputDirectoryError(RiskshareInputError):
    rule = "output directory is not free"


class RunDirectoryError(RiskshareInputError):
    rule = "not a complete riskshare run directory"


class RecordExistsError(RiskshareInputError):
    rule = "settlement records are kept"
