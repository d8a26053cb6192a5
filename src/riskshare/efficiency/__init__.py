"""Efficient (welfare-maximising) allocations with a certificate (spec §4).

:func:`maximise_welfare` finds an allocation of the menu that maximises
``W = sum_i w_i U_i(Y_i)`` and returns an :class:`EfficientAllocation` that
records the method, the welfare, a certified upper bound on the optimum, the gap
and what the efficient set looks like (a point, a point up to cash, or a face).
:func:`certify` computes the weak-duality bound for any allocation and priors,
with code of its own.
"""

from ._certificate import certify
from ._results import Certificate, EfficientAllocation
from ._solve import METHODS, maximise_welfare

__all__ = ["maximise_welfare", "certify", "EfficientAllocation", "Certificate", "METHODS"]
