"""Small validators shared by the library (arrays, probabilities)."""

from __future__ import annotations

import numpy as np

from ._errors import NonFiniteError, ProbabilityError, ShapeError

PROB_ATOL = 1e-9


def finite_array(field: str, value, ndim: int | None = None, shape=None) -> np.ndarray:
    """Return ``value`` as a float array, checking finiteness and shape."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ShapeError(field, value, "expected numbers",
                         "give a list or array of numbers") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ShapeError(field, arr.shape, f"expected a {ndim}-dimensional array",
                         f"give an array with {ndim} axes")
    if shape is not None and arr.shape != tuple(shape):
        raise ShapeError(field, arr.shape, f"expected shape {tuple(shape)}",
                         "give one value per state (and per agent)")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0].tolist()
        raise NonFiniteError(field, f"{arr[tuple(bad)]} at index {bad}",
                             "every entry must be a finite number", "remove NaN/inf entries")
    return arr


def probability_vector(field: str, value, m: int | None = None, positive: bool = False,
                       atol: float = PROB_ATOL) -> np.ndarray:
    """Validate a probability vector (nonnegative, sums to one)."""
    q = finite_array(field, value, ndim=1, shape=None if m is None else (m,))
    if q.size == 0:
        raise ProbabilityError(field, q, "need at least one state", "give one entry per state")
    if np.any(q < 0):
        i = int(np.argmin(q))
        raise ProbabilityError(field, f"{q[i]} at index {i}", "entries must be >= 0",
                               "use nonnegative probabilities")
    if positive and np.any(q == 0):
        i = int(np.argmin(q))
        raise ProbabilityError(field, f"0 at index {i}", "every state needs positive mass",
                               "drop states of probability zero")
    total = float(q.sum())
    if abs(total - 1.0) > atol * max(1, q.size):
        raise ProbabilityError(field, f"sum {total!r}", "entries must sum to 1",
                               "normalise the vector (divide by its sum)")
    return q / total
