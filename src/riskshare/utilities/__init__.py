"""Monetary utilities and credal sets (spec §2).

Families: :class:`Expectation`, :class:`Entropic`, :class:`ExpectedShortfall`,
:class:`Distortion` (with :class:`PowerDistortion`, :class:`WangDistortion`,
:class:`TableDistortion` or any concave function) and :class:`MaxMin`, the
worst case of a base family over a credal set (:mod:`.credal`). Every family
acts on payoffs of shape ``(..., m)`` and shares the :class:`MonetaryUtility`
interface. :func:`utility_from_spec` builds them from a pool file's tables.
"""

from ._base import PENALTY_TOL, Entropic, Expectation, MonetaryUtility
from ._distortion import (
    CallableDistortion,
    Distortion,
    DistortionFunction,
    PowerDistortion,
    TableDistortion,
    WangDistortion,
)
from ._factory import credal_from_spec, utility_from_spec
from ._maxmin import MaxMin
from ._polytope import Polytope
from ._shortfall import ExpectedShortfall
from .credal import (
    Contamination,
    CredalSet,
    DensityBand,
    FinitePriors,
    IndependentEvents,
    IntervalSet,
    KLBall,
)

__all__ = [
    "MonetaryUtility",
    "Expectation",
    "Entropic",
    "ExpectedShortfall",
    "Distortion",
    "DistortionFunction",
    "PowerDistortion",
    "WangDistortion",
    "TableDistortion",
    "CallableDistortion",
    "MaxMin",
    "CredalSet",
    "FinitePriors",
    "IntervalSet",
    "Contamination",
    "DensityBand",
    "IndependentEvents",
    "KLBall",
    "Polytope",
    "PENALTY_TOL",
    "utility_from_spec",
    "credal_from_spec",
]
