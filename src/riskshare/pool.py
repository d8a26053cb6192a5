r"""The pool: states, reference probability, agents and their positions.

Notation (spec §1): agents :math:`i = 1..n`, states :math:`\omega = 1..m`.
``P`` is the reference probability on the states, ``X`` the (n, m) array of
initial positions (money; a loss is negative) and ``aggregate`` the pooled
position :math:`X(\omega) = \sum_i X_i(\omega)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._errors import DuplicateNameError, ShapeError, TooFewAgentsError
from ._validate import finite_array, probability_vector

__all__ = ["Pool"]


@dataclass(frozen=True, eq=False)
class Pool:
    """A pool of ``n`` agents holding positions on ``m`` states.

    Parameters
    ----------
    positions : array_like, shape (n, m)
        Initial position of each agent in each state (losses negative).
    probabilities : array_like, shape (m,), optional
        Reference probability ``P``; every state must have positive mass.
        Default: equally likely states (Monte Carlo draws).
    names : sequence of str, optional
        Agent names, unique. Default ``agent 1 .. agent n``.
    state_names : sequence of str, optional
        Names of the states (scenarios, simulated years).
    money : str
        Money unit of the positions, e.g. ``"USD"``.

    Raises
    ------
    ShapeError, NonFiniteError, ProbabilityError, DuplicateNameError, TooFewAgentsError
        When the input breaks the corresponding rule.
    """

    positions: np.ndarray
    probabilities: np.ndarray
    names: tuple[str, ...]
    state_names: tuple[str, ...] | None = None
    money: str = "USD"
    source: str = field(default="arrays", compare=False)

    def __init__(self, positions, probabilities=None, names=None, state_names=None,
                 money: str = "USD", source: str = "arrays"):
        X = finite_array("positions", positions, ndim=2)
        n, m = X.shape
        if n < 2:
            raise TooFewAgentsError("positions", f"{n} agent(s)", "n >= 2",
                                    "add agents: risk sharing needs at least two")
        if m < 1:
            raise ShapeError("positions", X.shape, "need at least one state", "add states")
        if probabilities is None:
            P = np.full(m, 1.0 / m)
        else:
            P = probability_vector("probabilities", probabilities, m=m, positive=True)
        if names is None:
            names = tuple(f"agent {i + 1}" for i in range(n))
        names = tuple(str(s) for s in names)
        if len(names) != n:
            raise ShapeError("names", len(names), f"expected {n} names (one per row of positions)",
                             "give one name per agent")
        seen: set[str] = set()
        for s in names:
            if s in seen:
                raise DuplicateNameError("names", s, "each agent needs its own name",
                                         f"rename one of the agents called {s!r}")
            seen.add(s)
        if state_names is not None:
            state_names = tuple(str(s) for s in state_names)
            if len(state_names) != m:
                raise ShapeError("state_names", len(state_names), f"expected {m} names",
                                 "give one name per state")
        X.setflags(write=False)
        P.setflags(write=False)
        object.__setattr__(self, "positions", X)
        object.__setattr__(self, "probabilities", P)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "state_names", state_names)
        object.__setattr__(self, "money", str(money))
        object.__setattr__(self, "source", str(source))

    @property
    def n(self) -> int:
        """Number of agents."""
        return self.positions.shape[0]

    @property
    def m(self) -> int:
        """Number of states."""
        return self.positions.shape[1]

    @property
    def aggregate(self) -> np.ndarray:
        """Pooled position ``X = sum_i X_i``, shape (m,)."""
        return self.positions.sum(axis=0)

    def index(self, name: str) -> int:
        """Row of the agent called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ShapeError("name", name, f"known agents: {', '.join(self.names)}",
                             "use one of the pool's agent names") from None

    def rescaled(self, factor: float) -> Pool:
        """The same pool with every amount multiplied by ``factor`` (> 0)."""
        return Pool(self.positions * float(factor), self.probabilities, self.names,
                    self.state_names, self.money, self.source)

    def __repr__(self) -> str:
        return f"Pool(n={self.n}, m={self.m}, money={self.money!r}, source={self.source!r})"
