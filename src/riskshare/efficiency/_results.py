"""Frozen results of the efficiency module: the efficient allocation and its certificate."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["Certificate", "EfficientAllocation"]


@dataclass(frozen=True, eq=False)
class Certificate:
    """Weak-duality certificate of an allocation ``Y`` with dual priors ``Q``.

    Attributes
    ----------
    welfare : float
        ``W(Y) = sum_i w_i U_i(Y_i)``, evaluated by the utilities themselves.
    upper_bound : float
        ``D(Q) = sum_b max_i w_i <Q_i, e_b> + sum_i w_i alpha_i(Q_i)`` after each
        ``Q_i`` was moved into the domain of ``alpha_i`` (``W* <= D(Q)``). For a
        finite menu: the exact maximum of ``W`` over the items.
    gap : float
        ``upper_bound - welfare`` (``>= 0`` up to rounding; reported as computed).
    relative_gap : float
        ``gap / max(|welfare|, scale)`` (``0`` when both are ``0``).
    scale : float
        Money scale of the problem: ``max_i w_i * E_Pbar |X|`` with ``Pbar`` the
        mean of the agents' own (or centre) priors and ``X`` the aggregate; for a
        finite menu the largest ``sum_i w_i E_{P_i} |Z_i|`` over the items.
    menu_gap : float
        ``sum_b max_i w_i <Q_i, e_b> - sum_i w_i <Q_i, Y_i>``: how far ``Y`` is from
        maximising the linearised welfare over the menu (0 for finite menus).
    supergradient_residuals : ndarray, shape (n,)
        ``alpha_i(Q_i) - (U_i(Y_i) - <Q_i, Y_i>) >= 0``: how far ``Q_i`` is from the
        superdifferential of ``U_i`` at ``Y_i`` (0 exactly when it is a supergradient).
    in_domain : ndarray of bool, shape (n,)
        Whether the ``Q_i`` given was already in the domain of ``alpha_i``
        (probability vector within ``PENALTY_TOL`` and finite penalty).
    repair : ndarray, shape (n,)
        Largest change ``max_omega |Q_i - Q_i given|`` made to bring ``Q_i`` into the domain.
    utility_values : ndarray, shape (n,)
        ``U_i(Y_i)`` (unweighted).
    penalties : ndarray, shape (n,)
        ``alpha_i(Q_i)`` of the repaired priors (unweighted).
    priors : ndarray, shape (n, m)
        The repaired priors the bound was computed with.
    in_menu : bool
        Whether ``Y`` lies in the menu (``menu.contains``).
    """

    welfare: float
    upper_bound: float
    gap: float
    relative_gap: float
    scale: float
    menu_gap: float
    supergradient_residuals: np.ndarray
    in_domain: np.ndarray
    repair: np.ndarray
    utility_values: np.ndarray
    penalties: np.ndarray
    priors: np.ndarray
    in_menu: bool

    def summary(self) -> dict:
        """JSON-ready summary (scalars only)."""
        return {"welfare": self.welfare, "upper_bound": self.upper_bound, "gap": self.gap,
                "relative_gap": self.relative_gap, "scale": self.scale,
                "menu_gap": self.menu_gap,
                "max_supergradient_residual": float(np.max(self.supergradient_residuals,
                                                           initial=0.0)),
                "all_in_domain": bool(np.all(self.in_domain)), "in_menu": self.in_menu}


@dataclass(frozen=True, eq=False)
class EfficientAllocation:
    """A welfare-maximising allocation with its certificate.

    Attributes
    ----------
    method : str
        How it was computed: ``"greedy"``, ``"newton"``, ``"active-set"``, ``"ipm"``,
        ``"barrier"``, ``"lp"`` or ``"enumeration"`` (finite menus); see
        ``docs/efficiency.md``.
    allocation : ndarray, shape (n, m)
        The allocation ``Y``.
    shares : ndarray, shape (n, B), or int
        Block shares ``s`` with ``Y = menu.allocation(s)``; for a finite menu the
        index of the chosen item. Computed from ``allocation`` on first access (an
        ``n x B`` array is not held unless asked for).
    welfare, upper_bound, gap, relative_gap : float
        ``W(Y)``, the certified bound ``W* <= upper_bound`` and their difference
        (from :class:`Certificate`).
    status : str
        Solver status (``"optimal"``, ``"time limit"``, ``"iteration limit"``, ...).
    seconds : float
        Wall time of the solve including the certificate.
    supergradients : ndarray, shape (n, m)
        The priors ``Q_i`` the certificate used.
    uniqueness : str
        ``"point"``, ``"up to cash"`` or ``"face"`` (rule in ``docs/efficiency.md``).
    ties : tuple of (str, tuple of int)
        For ``"face"``: the blocks (state or layer labels) whose risk can be split
        in several efficient ways, with the agents that can share it. For a
        finite menu: ``(("items", indices),)`` when several items are optimal.
    iterations : int
        Outer iterations of the method (LP: simplex/IPM iterations).
    certified : bool
        ``relative_gap <= tolerance`` (``tolerance`` below).
    tolerance : float
        The relative-gap tolerance the result was checked against.
    weights : ndarray, shape (n,)
        The welfare weights ``w_i``.
    certificate : Certificate
        The full certificate.
    message : str
        Human-readable account of what was done.
    menu : Menu
        The menu the allocation belongs to.
    item : int or None
        For a finite menu, the index of the chosen item.
    """

    method: str
    allocation: np.ndarray
    welfare: float
    upper_bound: float
    gap: float
    relative_gap: float
    status: str
    seconds: float
    supergradients: np.ndarray
    uniqueness: str
    ties: tuple
    iterations: int
    certified: bool
    tolerance: float
    weights: np.ndarray
    certificate: Certificate
    message: str = ""
    menu: object = field(default=None, repr=False)
    item: int | None = None

    @cached_property
    def shares(self) -> np.ndarray | int:
        """Block shares (finite menus: the item's index); see the class docstring."""
        if self.item is not None:
            return self.item
        return self.menu.shares(self.allocation)

    def summary(self) -> dict:
        """JSON-ready summary of the result (no arrays)."""
        return {"method": self.method, "welfare": self.welfare,
                "upper_bound": self.upper_bound, "gap": self.gap,
                "relative_gap": self.relative_gap, "status": self.status,
                "seconds": self.seconds, "uniqueness": self.uniqueness,
                "ties": [[label, list(agents)] for label, agents in self.ties],
                "iterations": self.iterations, "certified": self.certified,
                "tolerance": self.tolerance, "message": self.message}
