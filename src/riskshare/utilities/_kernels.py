r"""Vectorised kernels shared by the utility families and the credal sets.

Notation: payoffs arrive as row blocks ``Y`` of shape ``(B, m)`` (one row per
allocation of the batch). ``order`` is the stable ascending argsort of each row
(worst state first), ``Ys`` the sorted payoffs, and a trailing ``s`` marks any
array permuted to that order. A probability vector ``Q`` is either shared by
all rows, shape ``(m,)``, or given per row, shape ``(B, m)``.

:func:`map_rows` feeds a batch to a kernel in blocks of rows so that the
temporaries stay below about ``CHUNK_ELEMENTS`` numbers whatever the batch
size; inside a block everything is one numpy call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "CHUNK_ELEMENTS",
    "as_rows",
    "from_rows",
    "rows_of",
    "map_rows",
    "sort_rows",
    "gather",
    "scatter",
    "fill_sorted",
    "shortfall_sorted",
    "choquet_sorted",
    "log_sum_exp",
    "rowdot",
]

#: rough number of doubles a kernel may allocate per temporary array
CHUNK_ELEMENTS = 2**22


def as_rows(Y: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Flatten the leading batch axes: ``(..., m) -> (B, m)`` and the batch shape."""
    lead = Y.shape[:-1]
    return Y.reshape(-1, Y.shape[-1]), lead


def from_rows(a: np.ndarray, lead: tuple[int, ...]) -> np.ndarray:
    """Undo :func:`as_rows` for an output of shape ``(B,)`` or ``(B, k)``."""
    return a.reshape(lead + a.shape[1:])


def rows_of(Q: np.ndarray | None, lead: tuple[int, ...], m: int) -> np.ndarray | None:
    """Per-row priors broadcast against a batch of shape ``lead`` (or a shared ``(m,)``)."""
    if Q is None or Q.ndim == 1:
        return Q
    return np.broadcast_to(Q, lead + (m,)).reshape(-1, m)


def map_rows(fn: Callable[[slice], tuple], n_rows: int, m: int, factor: int = 4) -> tuple:
    """Call ``fn(rows)`` on consecutive row slices and concatenate its outputs.

    ``fn`` returns a tuple of arrays whose first axis runs over the rows of the
    slice (``None`` entries stay ``None``). ``factor`` is the number of
    ``(rows, m)`` temporaries the kernel needs, used to size the blocks.
    """
    step = max(1, CHUNK_ELEMENTS // max(1, m * factor))
    if n_rows <= step:
        return fn(slice(0, n_rows))
    parts = [fn(slice(s, min(s + step, n_rows))) for s in range(0, n_rows, step)]
    return tuple(None if p[0] is None else np.concatenate(p) for p in zip(*parts, strict=True))


def sort_rows(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable ascending order of each row and the sorted rows."""
    order = np.argsort(Y, axis=-1, kind="stable")
    return order, np.take_along_axis(Y, order, axis=-1)


def gather(v: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Permute ``v`` (shared ``(m,)`` or per row ``(B, m)``) into each row's order."""
    if v.ndim == 1:
        return v[order]
    return np.take_along_axis(v, order, axis=-1)


def scatter(vs: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Inverse of :func:`gather`: put sorted values back in state order."""
    out = np.empty_like(vs)
    np.put_along_axis(out, order, vs, axis=-1)
    return out


def rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise inner product of two ``(B, m)`` arrays (or one broadcast ``(m,)``)."""
    if a.ndim == 1:
        return b @ a
    if b.ndim == 1:
        return a @ b
    return np.einsum("ij,ij->i", a, b)


def fill_sorted(lo_s: np.ndarray, hi_s: np.ndarray) -> np.ndarray:
    """Greedy member of ``{lo <= Q <= hi, sum Q = 1}`` charging the first states most.

    With states in ascending payoff order this is the minimiser of ``<Q, Y>``
    over the box, and it maximises ``Q(first k states)`` for every ``k`` at once
    (requires ``sum lo <= 1 <= sum hi``).
    """
    room = hi_s - lo_s
    slack = 1.0 - lo_s.sum(axis=-1, keepdims=True)
    before = np.cumsum(room, axis=-1) - room
    return lo_s + np.minimum(room, np.clip(slack - before, 0.0, None))


def shortfall_sorted(Ys: np.ndarray, Qs: np.ndarray, level: float):
    """Expected shortfall at ``level`` of sorted payoffs under the sorted prior.

    Returns ``(value, Rs)``: the mean of the worst ``level``-fraction and the
    minimising density-capped prior ``0 <= R <= Q/level`` (in sorted order).
    An atom that straddles the quantile gets the fractional remainder.
    """
    cap = Qs / level
    before = np.cumsum(cap, axis=-1) - cap
    Rs = np.minimum(cap, np.clip(1.0 - before, 0.0, None))
    Rs = Rs / Rs.sum(axis=-1, keepdims=True)
    return rowdot(Rs, Ys), Rs


def choquet_sorted(Ys: np.ndarray, Qs: np.ndarray, g: Callable) -> tuple[np.ndarray, np.ndarray]:
    """Choquet integral of sorted payoffs for the capacity ``g(Q(.))``.

    The weight of the ``k``-th worst state is ``g(F_k) - g(F_{k-1})`` with
    ``F_k`` the prior mass of the ``k`` worst states; states tied in value get
    weights summing to the same total in any order, so the value does not depend
    on how ties are broken. Returns ``(value, Ws)`` (weights in sorted order).
    """
    F = np.cumsum(Qs, axis=-1)
    F = np.clip(F / F[..., -1:], 0.0, 1.0)
    G = g(F)
    G[..., -1] = 1.0
    Ws = np.diff(G, axis=-1, prepend=0.0)
    Ws = np.clip(Ws, 0.0, None)
    Ws = Ws / Ws.sum(axis=-1, keepdims=True)
    return rowdot(Ws, Ys), Ws


def log_sum_exp(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log sum exp z`` along ``axis``, stable, ``-inf`` for an all ``-inf`` slice."""
    zmax = np.max(z, axis=axis, keepdims=True)
    zmax = np.where(np.isfinite(zmax), zmax, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(z - zmax), axis=axis))
    return out + np.squeeze(zmax, axis=axis)
