"""riskshare: risk sharing without an insurer.

A pool of agents with monetary utilities and (possibly vague) beliefs splits
its pooled loss through the price-and-choose mechanism with a first-mover
auction; the split is welfare-maximising and comes with a certificate.

The public names are collected here; the modules behind them are
:mod:`riskshare.pool`, :mod:`riskshare.utilities`, :mod:`riskshare.menus`,
:mod:`riskshare.efficiency`, :mod:`riskshare.measures`, :mod:`riskshare.schedules`,
:mod:`riskshare.game`, :mod:`riskshare.checks`, :mod:`riskshare.auction`,
:mod:`riskshare.settlement`, :mod:`riskshare.finite` and :mod:`riskshare.mechanism`.
"""

from ._errors import *  # noqa: F401,F403
from .auction import run_auction
from .efficiency import certify, maximise_welfare
from .mechanism import MechanismResult, MechanismSettings, run_mechanism
from .menus import ComonotoneMenu, FiniteMenu, SignMenu, make_menu
from .pool import Pool
from .settlement import settle, settlement_plan
from .utilities import (
    Contamination,
    DensityBand,
    Distortion,
    Entropic,
    Expectation,
    ExpectedShortfall,
    FinitePriors,
    IndependentEvents,
    IntervalSet,
    KLBall,
    MaxMin,
    MonetaryUtility,
    PowerDistortion,
    TableDistortion,
    WangDistortion,
)

__version__ = "0.1.0"

__all__ = [
    "Pool",
    "SignMenu",
    "ComonotoneMenu",
    "FiniteMenu",
    "make_menu",
    "MonetaryUtility",
    "Expectation",
    "Entropic",
    "ExpectedShortfall",
    "Distortion",
    "PowerDistortion",
    "WangDistortion",
    "TableDistortion",
    "MaxMin",
    "FinitePriors",
    "IntervalSet",
    "Contamination",
    "DensityBand",
    "IndependentEvents",
    "KLBall",
    "maximise_welfare",
    "certify",
    "MechanismSettings",
    "MechanismResult",
    "run_mechanism",
    "run_auction",
    "settlement_plan",
    "settle",
]
