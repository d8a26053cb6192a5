r"""CSV files of a run: the allocation, the certificate's supergradients, worst-case priors.

Notation: ``X`` (n, m) initial positions, ``P`` (m,) reference probability,
``Y*`` (n, m) the efficient allocation, ``t`` (n,) the cash of the mechanism,
``r_i(ω) = Y*_i(ω) - X_i(ω) + t_i`` the net receipt at settlement.

Every float is written with Python's shortest round-trip representation, so a
reader gets back exactly the numbers the run computed. Files are streamed in
blocks of scenarios so that large pools do not build the whole text in memory.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["ALLOCATION_COLUMNS", "write_allocation_csv", "write_matrix_csv", "write_prior_csv"]

#: columns of allocation.csv, in order
ALLOCATION_COLUMNS = ("scenario", "agent", "probability", "position", "share", "allocation",
                      "indemnity", "receipt", "scenario_name")

_BLOCK = 4096


def _text(values: np.ndarray) -> list[str]:
    return [repr(v) for v in values.tolist()]


def write_allocation_csv(path: Path, names, probabilities, positions, allocation, cash,
                         state_names=None) -> int:
    """Write allocation.csv: one row per scenario and agent; return the number of rows.

    ``share`` is ``Y*_i(ω) / X(ω)``, the agent's fraction of the pooled position in
    that scenario (empty where ``X(ω) = 0``); ``indemnity`` is ``Y*_i - X_i``;
    ``receipt`` adds the cash ``t_i``.
    """
    X = np.asarray(positions, dtype=float)
    Y = np.asarray(allocation, dtype=float)
    t = np.asarray(cash, dtype=float)
    P = np.asarray(probabilities, dtype=float)
    n, m = X.shape
    aggregate = X.sum(axis=0)
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(ALLOCATION_COLUMNS)
        for start in range(0, m, _BLOCK):
            block = slice(start, min(m, start + _BLOCK))
            rows += _write_block(out, block, names, P, X, Y, t, aggregate, state_names)
    return rows


def _write_block(out, block, names, P, X, Y, t, aggregate, state_names) -> int:
    states = np.arange(block.start, block.stop)
    n = X.shape[0]
    agg = aggregate[block]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(agg != 0, Y[:, block] / np.where(agg != 0, agg, 1.0), np.nan)
    indemnity = Y[:, block] - X[:, block]
    columns = {
        "probability": _text(P[block]),
        "position": [_text(X[i, block]) for i in range(n)],
        "share": [["" if np.isnan(v) else repr(v) for v in share[i].tolist()] for i in range(n)],
        "allocation": [_text(Y[i, block]) for i in range(n)],
        "indemnity": [_text(indemnity[i]) for i in range(n)],
        "receipt": [_text(indemnity[i] + t[i]) for i in range(n)],
    }
    rows = []
    for k, w in enumerate(states.tolist()):
        label = state_names[w] if state_names is not None else ""
        for i in range(n):
            rows.append((w, names[i], columns["probability"][k], columns["position"][i][k],
                         columns["share"][i][k], columns["allocation"][i][k],
                         columns["indemnity"][i][k], columns["receipt"][i][k], label))
    out.writerows(rows)
    return len(rows)


def write_matrix_csv(path: Path, names, matrix, state_names=None) -> None:
    """Write an (n, m) array as one row per scenario and one column per agent."""
    A = np.asarray(matrix, dtype=float)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["scenario", *names, "scenario_name"])
        for start in range(0, A.shape[1], _BLOCK):
            stop = min(A.shape[1], start + _BLOCK)
            cols = [_text(A[i, start:stop]) for i in range(A.shape[0])]
            for k, w in enumerate(range(start, stop)):
                label = state_names[w] if state_names is not None else ""
                out.writerow([w, *(c[k] for c in cols), label])


def write_prior_csv(path: Path, reference, prior, state_names=None) -> None:
    """Write a worst-case prior next to the reference probability, one row per scenario."""
    P = np.asarray(reference, dtype=float)
    Q = np.asarray(prior, dtype=float)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["scenario", "reference_probability", "worst_case_prior", "ratio",
                      "scenario_name"])
        ratio = Q / P
        for w, (p, q, r) in enumerate(zip(P.tolist(), Q.tolist(), ratio.tolist(), strict=True)):
            label = state_names[w] if state_names is not None else ""
            out.writerow([w, repr(p), repr(q), repr(r), label])
