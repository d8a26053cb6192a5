"""Exceptions of riskshare, one per broken rule.

Every exception subclasses :class:`ValueError` (through :class:`RiskshareInputError`)
and carries the field that was wrong, the value received, what is allowed and the
fix, so that a command-line front end can print one clear line.
"""

from __future__ import annotations

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


def _short(value: object, limit: int = 160) -> str:
    """``repr`` of the value, shortened in the middle so both ends stay readable
    (a long path keeps its file name)."""
    text = repr(value)
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
        msg = f"{field}: {self.rule}: got {_short(value)}; {allowed}"
        if fix:
            msg += f". Fix: {fix}"
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
    rule = "a settlement record is never overwritten"
