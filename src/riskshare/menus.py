r"""Menus: the sets of allocations the chooser may pick from (spec §3).

Notation: ``X`` is the aggregate (m,), an allocation ``Y`` is an (n, m) array
whose rows sum to ``X``.

The two convex menus are products of scaled simplices over *blocks*:

* sign-constrained (``SignMenu``): one block per state with ``X(ω) != 0``;
  agent ``i`` takes the share ``s_i(ω)`` of ``X(ω)``. A state with ``X(ω) = 0``
  contributes a single point (everyone gets 0).
* anchored comonotone (``ComonotoneMenu``): the distinct values of ``X`` and 0,
  sorted, cut the line into loss layers (below 0) and gain layers (above 0);
  agent ``i`` takes the share ``s_{i,l}`` of layer ``l`` of width ``w_l``.

In both, an allocation is ``Y_i = sum_b s_{i,b} e_b`` where ``e_b`` (m,) is the
block's payoff vector and the shares ``s_{., b}`` lie in the unit simplex. The
menus expose that map, its adjoint (``marginal_values``: ``<Q_i, e_b>``),
membership, vertices and sampling, all with a leading batch axis.

``FiniteMenu`` is the original price-and-choose menu: a list of K outcomes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ._errors import MenuError, ShapeError
from ._validate import finite_array

__all__ = ["Menu", "BlockMenu", "SignMenu", "ComonotoneMenu", "FiniteMenu", "make_menu"]


class Menu(ABC):
    """A set of allocations of ``n`` agents on ``m`` states."""

    kind: str = "abstract"
    n: int
    m: int

    @abstractmethod
    def contains(self, Y, tol: float = 1e-9) -> bool:
        """Whether the (n, m) allocation ``Y`` lies in the menu (up to ``tol``,
        relative to the largest absolute aggregate)."""

    @abstractmethod
    def describe(self) -> dict:
        """JSON-ready description of the menu."""


class BlockMenu(Menu):
    """A product of scaled simplices: ``Y_i = sum_b s_{i,b} e_b``.

    Subclasses fill ``aggregate`` (m,), ``block_scale`` (B,) and implement the
    linear map and its adjoint.
    """

    aggregate: np.ndarray

    @property
    @abstractmethod
    def n_blocks(self) -> int:
        """Number of blocks ``B``."""

    @abstractmethod
    def allocation(self, shares) -> np.ndarray:
        """Map shares (..., n, B) to allocations (..., n, m)."""

    @abstractmethod
    def marginal_values(self, Q) -> np.ndarray:
        """Adjoint map: ``<Q_i, e_b>`` for (..., n, m) -> (..., n, B)."""

    @abstractmethod
    def shares(self, Y) -> np.ndarray:
        """Inverse map for an allocation of the menu: (..., n, m) -> (..., n, B)."""

    @abstractmethod
    def block_labels(self) -> list[str]:
        """Human-readable name of each block (a state, or a layer ``[a, b]``)."""

    # ------------------------------------------------------------------ generic
    def contains(self, Y, tol: float = 1e-9) -> bool:
        Y = np.asarray(Y, dtype=float)
        if Y.shape != (self.n, self.m):
            return False
        scale = max(1.0, float(np.max(np.abs(self.aggregate), initial=0.0)))
        if np.max(np.abs(Y.sum(axis=0) - self.aggregate), initial=0.0) > tol * scale:
            return False
        S = self.shares(Y)
        if S.size and (S.min() < -tol or S.max() > 1 + tol):
            return False
        return bool(np.max(np.abs(self.allocation(S) - Y), initial=0.0) <= tol * scale)

    @property
    def n_vertices(self) -> int:
        """Number of vertices ``n ** B`` (one agent takes each whole block)."""
        return self.n ** self.n_blocks

    def vertex_shares(self, owner) -> np.ndarray:
        """Shares of the vertex where block ``b`` goes wholly to agent ``owner[..., b]``."""
        owner = np.asarray(owner, dtype=int)
        S = np.zeros(owner.shape[:-1] + (self.n, self.n_blocks))
        np.put_along_axis(S, owner[..., None, :], 1.0, axis=-2)
        return S

    def vertices(self, limit: int = 100_000) -> Iterator[np.ndarray]:
        """Yield every vertex allocation; refuse when there are more than ``limit``."""
        if self.n_vertices > limit:
            raise MenuError("vertices", self.n_vertices, f"at most {limit} vertices enumerated",
                            "sample vertices with random_vertices() instead")
        for code in range(self.n_vertices):
            owner = np.array([(code // self.n ** b) % self.n for b in range(self.n_blocks)])
            yield self.allocation(self.vertex_shares(owner))

    def random_vertices(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` vertex allocations with owners drawn uniformly, (size, n, m)."""
        owner = rng.integers(0, self.n, size=(size, self.n_blocks))
        return self.allocation(self.vertex_shares(owner))

    def sample_shares(self, rng: np.random.Generator, size: int, concentration=None) -> np.ndarray:
        """Independent Dirichlet shares per block, (size, n, B).

        ``concentration`` is (n,) or (n, B); default all ones (uniform on the menu).
        """
        n, B = self.n, self.n_blocks
        a = np.ones((n, B)) if concentration is None else np.broadcast_to(
            np.asarray(concentration, dtype=float).reshape(n, -1), (n, B))
        G = rng.standard_gamma(a[None, :, :], size=(size, n, B))
        tot = G.sum(axis=1, keepdims=True)
        return G / np.where(tot > 0, tot, 1.0)

    def sample(self, rng: np.random.Generator, size: int, concentration=None) -> np.ndarray:
        """Allocations with independent Dirichlet shares per block, (size, n, m)."""
        return self.allocation(self.sample_shares(rng, size, concentration))


def _aggregate(field: str, aggregate, n: int) -> tuple[np.ndarray, int]:
    X = finite_array(field, aggregate, ndim=1)
    if int(n) < 1:
        raise MenuError("n", n, "at least one agent", "give the number of agents")
    return X, int(n)


class SignMenu(BlockMenu):
    """Sign-constrained menu: ``Y_i(ω) = s_i(ω) X(ω)``, shares in the simplex.

    Parameters
    ----------
    aggregate : array_like, shape (m,)
        Pooled position ``X``.
    n : int
        Number of agents.
    """

    kind = "sign"

    def __init__(self, aggregate, n: int):
        X, n = _aggregate("aggregate", aggregate, n)
        self.aggregate = X
        self.n, self.m = n, X.size
        self.block_states = np.flatnonzero(X != 0)
        self.block_scale = X[self.block_states]

    @property
    def n_blocks(self) -> int:
        return self.block_states.size

    def allocation(self, shares) -> np.ndarray:
        S = np.asarray(shares, dtype=float)
        Y = np.zeros(S.shape[:-1] + (self.m,))
        Y[..., self.block_states] = S * self.block_scale
        return Y

    def marginal_values(self, Q) -> np.ndarray:
        Q = np.asarray(Q, dtype=float)
        return Q[..., self.block_states] * self.block_scale

    def shares(self, Y) -> np.ndarray:
        Y = np.asarray(Y, dtype=float)
        out = Y[..., self.block_states]          # a copy (fancy indexing): divide in place
        out /= self.block_scale
        return out

    def block_labels(self) -> list[str]:
        return [f"state {int(w)}" for w in self.block_states]

    def describe(self) -> dict:
        return {"kind": self.kind, "n": self.n, "m": self.m, "blocks": int(self.n_blocks),
                "zero_states": int(self.m - self.n_blocks)}


class ComonotoneMenu(BlockMenu):
    """Anchored comonotone menu: ``Y_i = f_i(X)``, ``f_i`` nondecreasing, ``f_i(0) = 0``.

    Blocks are the loss layers (ordered from 0 downwards) followed by the gain
    layers (from 0 upwards). Layer ``l`` of width ``w_l`` has payoff
    ``e_l = -w_l 1[X <= lower end]`` (loss) or ``w_l 1[X >= upper end]`` (gain).
    """

    kind = "comonotone"

    def __init__(self, aggregate, n: int):
        X, n = _aggregate("aggregate", aggregate, n)
        self.aggregate = X
        self.n, self.m = n, X.size
        values = np.unique(np.concatenate([X, [0.0]]))
        zero = int(np.searchsorted(values, 0.0))
        neg = values[: zero + 1][::-1]          # 0 = u_0 > u_1 > ... (loss side)
        pos = values[zero:]                     # 0 = v_0 < v_1 < ... (gain side)
        self._n_loss = neg.size - 1
        self._n_gain = pos.size - 1
        self.layer_bounds = np.concatenate([
            np.stack([neg[1:], neg[:-1]], axis=1).reshape(-1, 2),
            np.stack([pos[:-1], pos[1:]], axis=1).reshape(-1, 2),
        ]) if (self._n_loss + self._n_gain) else np.zeros((0, 2))
        self.block_scale = self.layer_bounds[:, 1] - self.layer_bounds[:, 0]
        # level of each state: how many layers (from 0) lie between 0 and X(ω)
        self._loss_level = np.where(X < 0, np.searchsorted(-neg, -X), 0)
        self._gain_level = np.where(X > 0, np.searchsorted(pos, X), 0)

    @property
    def n_blocks(self) -> int:
        return self._n_loss + self._n_gain

    def allocation(self, shares) -> np.ndarray:
        S = np.asarray(shares, dtype=float)
        lead = S.shape[:-1]
        w = self.block_scale
        loss = np.cumsum(S[..., : self._n_loss] * w[: self._n_loss], axis=-1)
        gain = np.cumsum(S[..., self._n_loss:] * w[self._n_loss:], axis=-1)
        loss = np.concatenate([np.zeros(lead + (1,)), loss], axis=-1)
        gain = np.concatenate([np.zeros(lead + (1,)), gain], axis=-1)
        return -loss[..., self._loss_level] + gain[..., self._gain_level]

    def marginal_values(self, Q) -> np.ndarray:
        Q = np.asarray(Q, dtype=float)
        w = self.block_scale
        # mass of states at or beyond each level: tail[k] = Q(level >= k)
        loss_mass = _level_mass(Q, self._loss_level, self._n_loss)
        gain_mass = _level_mass(Q, self._gain_level, self._n_gain)
        loss_tail = np.cumsum(loss_mass[..., ::-1], axis=-1)[..., ::-1][..., 1:]
        gain_tail = np.cumsum(gain_mass[..., ::-1], axis=-1)[..., ::-1][..., 1:]
        return np.concatenate([-w[: self._n_loss] * loss_tail,
                               w[self._n_loss:] * gain_tail], axis=-1)

    def shares(self, Y) -> np.ndarray:
        Y = np.asarray(Y, dtype=float)
        lead = Y.shape[:-1]
        # value of f_i at each level, read from one state per level
        out = []
        for level, count, sign in ((self._loss_level, self._n_loss, -1.0),
                                   (self._gain_level, self._n_gain, 1.0)):
            rep = np.zeros(count + 1, dtype=int)
            seen = np.zeros(count + 1, dtype=bool)
            for k in range(1, count + 1):
                idx = np.flatnonzero(level == k)
                if idx.size:
                    rep[k], seen[k] = idx[0], True
            vals = np.zeros(lead + (count + 1,))
            vals[..., 1:] = sign * Y[..., rep[1:]]
            vals[..., ~seen] = np.nan if count else 0.0
            vals[..., 0] = 0.0
            out.append(np.diff(vals, axis=-1))
        S = np.concatenate(out, axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return S / self.block_scale

    def block_labels(self) -> list[str]:
        return [f"layer [{a:.6g}, {b:.6g}]" for a, b in self.layer_bounds]

    def describe(self) -> dict:
        return {"kind": self.kind, "n": self.n, "m": self.m, "blocks": int(self.n_blocks),
                "loss_layers": int(self._n_loss), "gain_layers": int(self._n_gain)}


def _level_mass(Q: np.ndarray, level: np.ndarray, count: int) -> np.ndarray:
    """Sum of ``Q`` over the states of each level 0..count (last axis)."""
    m = level.size
    indicator = sparse.csr_matrix((np.ones(m), (level, np.arange(m))), shape=(count + 1, m))
    flat = Q.reshape(-1, m)
    return (indicator @ flat.T).T.reshape(Q.shape[:-1] + (count + 1,))


@dataclass(frozen=True, eq=False)
class FiniteMenu(Menu):
    """A finite list of outcomes (the original price-and-choose menu).

    Parameters
    ----------
    items : array_like, shape (K, n, m)
        Outcome ``k`` gives agent ``i`` the payoff ``items[k, i]``. Items need not
        split the aggregate.
    """

    items: np.ndarray
    kind: str = "finite"

    def __init__(self, items):
        A = finite_array("menu.items", items)
        if A.ndim != 3 or A.shape[0] < 1:
            raise ShapeError("menu.items", A.shape, "expected K >= 1 items, each n x m",
                             "give a list of n x m outcomes")
        A.setflags(write=False)
        object.__setattr__(self, "items", A)

    @property
    def n(self) -> int:  # type: ignore[override]
        return self.items.shape[1]

    @property
    def m(self) -> int:  # type: ignore[override]
        return self.items.shape[2]

    @property
    def size(self) -> int:
        """Number of items ``K``."""
        return self.items.shape[0]

    def contains(self, Y, tol: float = 1e-9) -> bool:
        Y = np.asarray(Y, dtype=float)
        if Y.shape != (self.n, self.m):
            return False
        scale = max(1.0, float(np.max(np.abs(self.items))))
        return bool(np.any(np.max(np.abs(self.items - Y), axis=(1, 2)) <= tol * scale))

    def describe(self) -> dict:
        return {"kind": self.kind, "n": self.n, "m": self.m, "items": self.size}


def make_menu(kind: str, aggregate, n: int) -> BlockMenu:
    """Build a convex menu by name: ``"sign"`` or ``"comonotone"``."""
    table = {"sign": SignMenu, "comonotone": ComonotoneMenu}
    if kind not in table:
        raise MenuError("menu.kind", kind, "one of 'sign', 'comonotone', 'finite'",
                        "choose a listed menu kind")
    return table[kind](aggregate, n)
