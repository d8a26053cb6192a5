"""A thin, quiet wrapper around HiGHS (``highspy``) for sparse linear programs.

The LP is ``min c^T x`` subject to ``row_lo <= A x <= row_hi`` and
``col_lo <= x <= col_hi`` with ``A`` a ``scipy.sparse`` matrix.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

__all__ = ["INF", "LPResult", "solve_lp", "new_highs"]

INF = highspy.kHighsInf
_banner_lock = threading.Lock()
_banner_done = False


def new_highs(options: dict | None = None) -> highspy.Highs:
    """A silent ``Highs`` instance (the one-time banner is kept off the terminal)."""
    global _banner_done
    with _banner_lock:
        if not _banner_done:
            h = _construct_without_banner()
            _banner_done = True
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    return h


def _construct_without_banner() -> highspy.Highs:
    """HiGHS prints a banner on stdout when the first instance is built; hide it."""
    try:
        saved = os.dup(1)
    except OSError:
        return highspy.Highs()
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                return highspy.Highs()
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)


@dataclass(frozen=True)
class LPResult:
    """Primal and dual solution of one LP solve."""

    x: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    objective: float
    status: str
    iterations: int
    seconds: float


def solve_lp(cost, A, row_lo, row_hi, col_lo, col_hi, *, options: dict | None = None,
             time_limit: float | None = None) -> LPResult:
    """Solve ``min cost^T x`` over the box and the rows with HiGHS."""
    A = sparse.csc_matrix(A)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = np.asarray(cost, float)
    lp.col_lower_ = np.asarray(col_lo, float)
    lp.col_upper_ = np.asarray(col_hi, float)
    lp.row_lower_ = np.asarray(row_lo, float)
    lp.row_upper_ = np.asarray(row_hi, float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    opts = dict(options or {})
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    start = time.perf_counter()
    h = new_highs(opts)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus()).lower()
    if "infeasible" in status and "presolve" not in opts:
        # presolve can call a feasible LP infeasible when bounds meet to rounding
        # (probabilities of 1e-9 and below): ask again without it
        h = new_highs({**opts, "presolve": "off"})
        h.passModel(lp)
        h.run()
        status = h.modelStatusToString(h.getModelStatus()).lower()
    seconds = time.perf_counter() - start
    sol = h.getSolution()
    info = h.getInfo()
    iterations = int(info.simplex_iteration_count) + max(0, int(info.ipm_iteration_count))
    return LPResult(np.asarray(sol.col_value), np.asarray(sol.row_dual),
                    np.asarray(sol.col_dual), float(info.objective_function_value), status,
                    iterations, seconds)
