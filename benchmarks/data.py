r"""Synthetic correlated farm losses for the benchmarks.

Notation: ``n`` farms, ``m`` equally likely simulated years. Farm ``i`` has an
insured value ``v_i``; in year ``ω`` its loss is

.. math:: L_i(ω) = v_i \min(1, B_i(ω) D_i(ω) + e_i S(ω)),

where ``B_i(ω)`` is an independent Bernoulli with the farm's own damage
probability ``p_i`` (between 5 % and 20 %), ``D_i(ω)`` a Beta(2, 5) damage ratio,
``S(ω)`` a common storm factor (a storm hits with probability 8 %, its severity
is Beta(2, 3)) and ``e_i`` the farm's exposure to it (between 0.2 and 0.8). The
position is the negative loss, ``X_i = -L_i``; years without any damage give
``X(ω) = 0`` in the aggregate when ``n`` is small.

Everything is drawn from one ``numpy.random.Generator`` with a fixed seed, in
chunks of years so that ``(1000, 10^5)`` never holds more than one chunk of
positions at a time unless the positions are asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FarmLosses", "farm_losses", "SEED"]

#: the benchmark seed (fixed: every run times the same problem)
SEED = 20261204


@dataclass(frozen=True)
class FarmLosses:
    """A synthetic pool: aggregate, optional positions, and the farm parameters."""

    aggregate: np.ndarray          # (m,) pooled position X = sum_i X_i (<= 0)
    positions: np.ndarray | None   # (n, m) or None when not kept
    values: np.ndarray             # (n,) insured values
    damage_probability: np.ndarray  # (n,) p_i
    exposure: np.ndarray           # (n,) e_i
    storm: np.ndarray              # (m,) common storm factor S
    probabilities: np.ndarray      # (m,) equal weights 1/m


def farm_losses(n: int, m: int, seed: int = SEED, keep_positions: bool = False,
                chunk: int = 10_000) -> FarmLosses:
    """Draw the correlated farm losses described in the module docstring.

    Parameters
    ----------
    n, m : int
        Farms and simulated years.
    seed : int
        Seed of the generator.
    keep_positions : bool
        Keep the (n, m) positions (8 n m bytes); otherwise only the aggregate.
    chunk : int
        Years drawn at a time.
    """
    rng = np.random.default_rng(seed)
    values = rng.lognormal(mean=np.log(2.0e6), sigma=0.6, size=n)
    p = rng.uniform(0.05, 0.20, size=n)
    exposure = rng.uniform(0.2, 0.8, size=n)
    hit = rng.random(m) < 0.08
    storm = np.where(hit, rng.beta(2.0, 3.0, size=m), 0.0)

    aggregate = np.zeros(m)
    positions = np.empty((n, m)) if keep_positions else None
    for start in range(0, m, chunk):
        stop = min(m, start + chunk)
        k = stop - start
        own = (rng.random((n, k)) < p[:, None]) * rng.beta(2.0, 5.0, size=(n, k))
        ratio = np.minimum(1.0, own + exposure[:, None] * storm[None, start:stop])
        block = -values[:, None] * ratio
        aggregate[start:stop] = block.sum(axis=0)
        if positions is not None:
            positions[:, start:stop] = block
    return FarmLosses(aggregate, positions, values, p, exposure, storm, np.full(m, 1.0 / m))
