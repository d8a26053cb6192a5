"""riskshare: risk sharing without an insurer.

A pool of agents with monetary utilities and (possibly vague) beliefs splits
its pooled loss through the price-and-choose mechanism with a first-mover
auction; the split is welfare-maximising and comes with a certificate.
"""

from ._errors import *  # noqa: F401,F403
from .menus import ComonotoneMenu, FiniteMenu, SignMenu, make_menu
from .pool import Pool
from .utilities import Entropic, Expectation, MonetaryUtility

__version__ = "0.1.0"
