"""State tables: positions given as a CSV or Parquet file.

One row per state, one column per agent (the column header is the agent's
name, the cells are its positions: money, losses negative), an optional
``probability`` column (the reference probability ``P``; omitted: equally
likely states) and an optional ``state`` column (names of the states).
Any other column is an error, so that a misspelt agent name is caught.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import SpecError
from ._fields import suggest

__all__ = ["StateTable", "read_state_table", "PROBABILITY_COLUMN", "STATE_COLUMN"]

PROBABILITY_COLUMN = "probability"
STATE_COLUMN = "state"


@dataclass(frozen=True, eq=False)
class StateTable:
    """What a state table holds, in the agents' order.

    Attributes
    ----------
    positions : ndarray, shape (n, m)
    probabilities : ndarray of shape (m,) or None
        The ``probability`` column, unchecked (``None`` when absent).
    state_names : tuple of str or None
    path : Path
    """

    positions: np.ndarray
    probabilities: np.ndarray | None
    state_names: tuple[str, ...] | None
    path: Path


def read_state_table(path: Path, agents: list[str], field: str = "states.table") -> StateTable:
    """Read the positions of ``agents`` from a ``.csv`` or ``.parquet`` table.

    Raises
    ------
    SpecError
        Missing or unreadable file, unknown extension, a column that is
        neither an agent, ``probability`` nor ``state``, a missing agent
        column, a cell that is not a finite number, an empty table.
    """
    _check_reserved(agents, field)
    if not path.is_file():
        raise SpecError(field, str(path), "an existing file (paths are relative to the pool file)",
                        "check the file name and where it lies")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        columns = _read_csv(path, field)
    elif suffix in (".parquet", ".pq"):
        columns = _read_parquet(path, field)
    else:
        raise SpecError(field, path.name, "a .csv or .parquet file",
                        "save the table as CSV or Parquet")
    return _assemble(columns, agents, path, field)


def _check_reserved(agents: list[str], field: str) -> None:
    for k, name in enumerate(agents):
        if name in (PROBABILITY_COLUMN, STATE_COLUMN):
            raise SpecError(f"agents[{k}].name", name,
                            f"any name but {PROBABILITY_COLUMN!r} or {STATE_COLUMN!r} "
                            f"(reserved columns of {field})", "rename the agent")


def _read_csv(path: Path, field: str) -> dict[str, list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SpecError(field, path.name, "a UTF-8 CSV file",
                        f"re-save the table ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise SpecError(field, path.name, "a header row and one row per state",
                        "write the table")
    header = [h.strip() for h in rows[0]]
    _check_header(header, path, field)
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise SpecError(field, f"{path.name} line {line}: {len(row)} cells",
                            f"{len(header)} cells, as in the header", "fix the row")
    return {h: [row[j].strip() for row in rows[1:]] for j, h in enumerate(header)}


def _check_header(header: list[str], path: Path, field: str) -> None:
    seen: set[str] = set()
    for h in header:
        if not h:
            raise SpecError(field, f"{path.name}: empty column name", "a name for every column",
                            "name the column after its agent")
        if h in seen:
            raise SpecError(field, f"{path.name}: column {h!r} twice",
                            "each column once", "remove the duplicate column")
        seen.add(h)


def _read_parquet(path: Path, field: str) -> dict[str, list]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise SpecError(field, path.name, "a readable Parquet file",
                        f"re-save the table ({exc})") from None
    _check_header(list(table.column_names), path, field)
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _assemble(columns: dict[str, list], agents: list[str], path: Path,
              field: str) -> StateTable:
    known = [*agents, PROBABILITY_COLUMN, STATE_COLUMN]
    for name in columns:
        if name not in known:
            best = suggest(name, known)
            fix = f"did you mean {best!r}?" if best else "name each column after an agent"
            raise SpecError(field, f"{path.name}: column {name!r}",
                            f"columns: the agents ({', '.join(agents)}), optional "
                            f"{PROBABILITY_COLUMN!r} and {STATE_COLUMN!r}", fix)
    for name in agents:
        if name not in columns:
            raise SpecError(field, f"{path.name}: no column {name!r}",
                            "one column per agent, headed by its name",
                            f"add a column {name!r} with that agent's positions")
    m = len(next(iter(columns.values())))
    if m == 0:
        raise SpecError(field, f"{path.name}: no rows", "one row per state", "add the states")
    X = np.array([_numbers(columns[a], a, path, field) for a in agents])
    P = (np.array(_numbers(columns[PROBABILITY_COLUMN], PROBABILITY_COLUMN, path, field))
         if PROBABILITY_COLUMN in columns else None)
    names = tuple(str(s) for s in columns[STATE_COLUMN]) if STATE_COLUMN in columns else None
    return StateTable(X, P, names, path)


def _numbers(cells: list, column: str, path: Path, field: str) -> list[float]:
    out = []
    for row, cell in enumerate(cells, start=1):
        try:
            x = float(cell) if not isinstance(cell, bool) else math.nan
        except (TypeError, ValueError):
            x = math.nan
        if not math.isfinite(x):
            raise SpecError(field, f"{path.name} data row {row}, column {column!r}: {cell!r}",
                            "a finite number in every cell", "fill in the number")
        out.append(x)
    return out
