r"""What the efficient set looks like around a certified optimum (spec §4).

Notation: block menu with shares ``s_{i,b}``, certificate priors ``Q_i``,
weighted marginal values ``V_{i,b} = w_i <Q_i, e_b>``. Every efficient
allocation is complementary to the certificate's ``Q`` (weak duality is tight
at every optimum), so block ``b`` can only be held by agents in the *tie set*
``T_b = {i : V_{i,b} >= max_j V_{j,b} - tol_b}`` with
``tol_b = 1e-7 max(max_i |V_{i,b}|, max_i w_i |e_b| / m)`` (``|e_b|`` the block's size,
``1/m`` a typical state probability).

The rule, applied in this order (see ``docs/efficiency.md``):

1. ``"point"`` when every tie set is a single agent: the shares are forced.
2. ``"face"`` when risk can move between two tied agents without lowering ``W``.
   Only agents that are not smooth are tried (a smooth utility is strictly
   concave up to cash, so moving risk onto or off it always costs welfare).
   Two kinds of moves are tried, with ``δ = 4^{-k}`` (``k = 0, 2, 4, 6``): first the
   fraction ``δ`` of the whole of ``Y_i`` to an agent ``j`` tied wherever ``i``
   holds; if none is free, ``δ s_{i,b}`` of one block ``b`` from a holder ``i`` to
   ``j`` in ``T_b``. A move is
   free when it loses at most ``1e-11 (|W| + scale)``; the blocks and agents
   of the free moves are the ties reported (at most 1000). The search is
   bounded: 8 agent pairs for whole-holding moves (it stops at the first free
   one), then the 32 single-block moves on the largest blocks. Faces that only
   other moves reach are not searched for.
3. ``"up to cash"`` when two agents with equal weights can exchange a small
   constant amount and stay in the menu (``menu.contains``): cash invariance
   keeps ``W`` exactly, and final wealth after the mechanism's cash is the same.
4. ``"point"`` otherwise.
"""

from __future__ import annotations

import numpy as np

from ..menus import BlockMenu, FiniteMenu

__all__ = ["classify_block_optimum", "classify_finite_optimum"]

_TIE = 1e-7
_FACE = 1e-11
_MAX_MOVES = 32
_MAX_PAIRS = 8
_MAX_TIES = 1000


def classify_block_optimum(utilities, menu: BlockMenu, Y, shares, Q, w, welfare: float,
                           scale: float) -> tuple[str, tuple]:
    """``(uniqueness, ties)`` for an optimum of a block menu (rule in the docstring).

    ``shares`` is the ``(n, B)`` array of block shares, or a function returning it
    (called only when a face search needs it)."""
    if menu.n_blocks == 0:
        return "point", ()
    tied = _tie_sets(menu, Q, w)
    if np.all(tied.sum(axis=0) <= 1):
        return "point", ()
    faces = _face_moves(utilities, menu, Y, shares, tied, w, welfare, scale)
    if faces:
        labels = menu.block_labels()
        return "face", tuple((labels[b], agents) for b, agents in faces)
    if _cash_moves(menu, Y, tied, w, scale):
        return "up to cash", ()
    return "point", ()


def _tie_sets(menu: BlockMenu, Q, w) -> np.ndarray:
    """``T_b`` as an (n, B) boolean array, computed agent-chunk by agent-chunk."""
    n, B = menu.n, menu.n_blocks
    step = max(1, 2 ** 22 // max(1, B))
    best = np.full(B, -np.inf)
    largest = np.zeros(B)
    for s in range(0, n, step):
        V = menu.marginal_values(Q[s:s + step]) * w[s:s + step, None]
        best = np.maximum(best, V.max(axis=0))
        largest = np.maximum(largest, np.abs(V).max(axis=0))
    typical = np.max(w, initial=0.0) * np.abs(menu.block_scale) / menu.m
    tol = _TIE * np.maximum(largest, typical) + 1e-300
    tied = np.empty((n, B), bool)
    for s in range(0, n, step):
        V = menu.marginal_values(Q[s:s + step]) * w[s:s + step, None]
        tied[s:s + step] = V >= best - tol
    return tied


def _face_moves(utilities, menu, Y, shares, tied, w, welfare, scale):
    """Blocks where risk moves between two non-smooth tied agents at no loss."""
    rough = np.array([not getattr(u, "smooth", False) for u in utilities])
    if np.count_nonzero(rough) < 2:
        return []
    if callable(shares):
        shares = shares()
    cap = max(4, min(_MAX_MOVES, 1_000_000 // (7 * menu.m)))
    candidates = []
    order = np.argsort(-np.abs(menu.block_scale), kind="stable")
    for b in order:
        agents = np.flatnonzero(tied[:, b] & rough)
        if agents.size < 2:
            continue
        holders = agents[shares[agents, b] > 1e-9]
        for i in holders:
            for j in agents:
                if j != i:
                    candidates.append((b, i, j))
        if len(candidates) >= cap:
            break
    found: dict[int, set] = {}
    steps = [4.0 ** -k for k in range(0, 7, 2)]
    limit = _FACE * (abs(welfare) + scale)
    for i, j in _proportional_pairs(shares, tied, rough):
        spread = float(np.ptp(Y[i])) if Y.shape[1] else 0.0
        if spread <= 1e-12 * max(float(np.max(np.abs(Y[i]), initial=0.0)), 1e-300):
            continue                  # Y_i is constant: moving part of it is a cash move
        if _proportional_loss(utilities, Y, i, j, steps, w) <= limit:
            for b in np.flatnonzero(shares[i] > 1e-9)[:_MAX_TIES]:
                found.setdefault(int(b), set()).update((int(i), int(j)))
            break
    # in batches of ``cap`` pairs (a block with many tied agents gives many), stopping
    # at the first batch with a free move
    for start in range(0, len(candidates) if not found else 0, cap):
        batch = candidates[start:start + cap]
        loss = _move_losses(utilities, menu, Y, shares, batch, steps, w)
        for (b, i, j), row in zip(batch, loss, strict=True):
            if np.any(row <= limit):
                found.setdefault(int(b), set()).update((int(i), int(j)))
        if found:
            break
    return [(b, tuple(sorted(agents))) for b, agents in sorted(found.items())][:_MAX_TIES]


def _proportional_pairs(shares, tied, rough):
    """Pairs (holder i, j) of non-smooth agents with j tied wherever i holds."""
    pairs = []
    for i in np.flatnonzero(rough & (shares.max(axis=1) > 1e-9)):
        held = shares[i] > 1e-9
        for j in np.flatnonzero(rough):
            if j != i and np.all(tied[j, held]):
                pairs.append((int(i), int(j)))
    return pairs[:_MAX_PAIRS]


def _proportional_loss(utilities, Y, i, j, steps, w) -> float:
    """Smallest welfare loss over moving the fraction ``δ`` of ``Y_i`` to agent ``j``."""
    frac = np.asarray(steps)[:, None]
    total = np.zeros(len(steps))
    for agent, sign in ((i, -1.0), (j, 1.0)):
        if w[agent] == 0:
            continue
        base = float(utilities[agent].value(Y[agent]))
        moved = Y[agent][None, :] + sign * frac * Y[i][None, :]
        total += w[agent] * (base - np.asarray(utilities[agent].value(moved), float))
    return float(total.min())


def _move_losses(utilities, menu, Y, shares, candidates, steps, w):
    """Welfare lost by moving ``δ`` of block ``b`` from ``i`` to ``j`` (batched per agent)."""
    K, S = len(candidates), len(steps)
    unit = {}
    for b in sorted({b for b, _, _ in candidates}):
        e = np.zeros((1, 1, menu.n_blocks))
        e[0, 0, b] = 1.0
        unit[b] = menu.allocation(e)[0, 0]
    loss = np.zeros((K, S))
    per_agent: dict[int, list] = {}
    for k, (b, i, j) in enumerate(candidates):
        amount = shares[i, b] * np.asarray(steps)
        per_agent.setdefault(i, []).append((k, -amount, b))
        per_agent.setdefault(j, []).append((k, amount, b))
    for agent, moves in per_agent.items():
        if w[agent] == 0:
            continue
        base = float(utilities[agent].value(Y[agent]))
        batch = np.array([[Y[agent] + a * unit[b] for a in amounts] for _, amounts, b in moves])
        values = np.asarray(utilities[agent].value(batch), float)
        for (k, _, _), row in zip(moves, values, strict=True):
            loss[k] += w[agent] * (base - row)
    return loss


def _cash_moves(menu, Y, tied, w, scale) -> bool:
    """Whether two agents with equal weights, tied in every block, can swap cash."""
    always = np.flatnonzero(tied.all(axis=1))
    if always.size < 2:
        return False
    c = 1e-6 * max(scale, 1e-300)
    for a_idx, i in enumerate(always):
        for j in always[a_idx + 1:]:
            if w[i] != w[j]:
                continue
            for sign in (1.0, -1.0):
                Z = Y.copy()
                Z[i] += sign * c
                Z[j] -= sign * c
                if menu.contains(Z, tol=1e-12):
                    return True
    return False


def classify_finite_optimum(menu: FiniteMenu, welfare_of_items: np.ndarray, best: int,
                            tol: float) -> tuple[str, tuple]:
    """Ties among the items of a finite menu: a single best item is a ``"point"``;
    tied items that differ by constants per agent are ``"up to cash"``; else ``"face"``."""
    tied = np.flatnonzero(welfare_of_items >= welfare_of_items[best] - tol)
    if tied.size == 1:
        return "point", ()
    ties = (("items", tuple(int(k) for k in tied)),)
    diffs = menu.items[tied] - menu.items[best]
    spread = diffs.max(axis=2) - diffs.min(axis=2)
    size = max(1.0, float(np.abs(menu.items).max()))
    if np.all(spread <= 1e-12 * size):
        return "up to cash", ties
    return "face", ties
