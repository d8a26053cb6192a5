r"""Write the files of a run into a directory (the CLI makes that directory appear atomically).

Layout of a run directory (see docs/report.md):

``report.json``            everything computed, with units, checks, timings, versions
``report.md``              the run explained for a reader who keeps the books
``allocation.csv``         one row per scenario and member: X, share, Y*, indemnity, receipt
``certificate/supergradients.csv``   the priors ``Q_i`` behind the efficiency certificate
``priors/<member>.csv``    worst-case prior of each max-min member at its efficient share
``schedules/stage-<k>.json`` the price schedule posted at stage k, in full
``inputs/spec.json``       the pool file as parsed, with data references resolved
``inputs/<original>``      the pool file as given (and its table, if any)
``figures/*.png``          losses, simplex picture, payoffs, collateral

Notation as in :mod:`riskshare.report._document`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _figures
from ._document import build_report
from ._format import jsonable, slug
from ._markdown import render_markdown
from ._tables import write_allocation_csv, write_matrix_csv, write_prior_csv

__all__ = ["SubPoolPicture", "write_run", "copy_inputs", "SPEC_COPY"]

#: where the run directory keeps the parsed pool file
SPEC_COPY = "inputs/spec.json"


@dataclass(frozen=True)
class SubPoolPicture:
    """What the simplex figure shows: the efficient split of a three-member sub-pool.

    Attributes
    ----------
    names : tuple of str
        The three members.
    shares : ndarray, shape (3, B)
        Efficient share vector of each block of the sub-pool's menu.
    block_sizes : ndarray, shape (B,)
        The sub-pool's pooled amount in each block (scenario or layer width).
    mu_draws : ndarray, shape (K, 3)
        Draws of one block's shares under μ.
    status_quo : ndarray, shape (3, B) or None
        The members' own positions as shares of the sub-pool's aggregate.
    block_word : str
        ``"scenario"`` (sign-constrained menu) or ``"layer"`` (comonotone menu).
    welfare, upper_bound : float
        Certificate of the sub-pool's solve.
    method : str
        How the sub-pool's efficient split was computed.
    """

    names: tuple[str, ...]
    shares: np.ndarray
    block_sizes: np.ndarray
    mu_draws: np.ndarray
    status_quo: np.ndarray | None
    block_word: str
    welfare: float
    upper_bound: float
    method: str


def write_run(result, spec, out_dir: Path, *, subpool: SubPoolPicture | None = None,
              timings: dict | None = None, progress=None) -> dict:
    """Write every file of a run into ``out_dir`` (which must exist and be empty).

    Parameters
    ----------
    result : MechanismResult
    spec : RunSpec
    out_dir : Path
    subpool : SubPoolPicture, optional
        The three-member picture; without it the simplex figure is left out.
    timings : dict, optional
        Seconds of the steps before writing (loading the spec, ...); the
        mechanism's own timings and the writing steps are added.
    progress : callable, optional
        ``progress(step, fraction)`` after each file.

    Returns
    -------
    dict
        The report.json document.
    """
    out_dir = Path(out_dir)
    begin = time.perf_counter()
    step = progress or (lambda name, fraction: None)
    clock = dict(timings or {})
    clock.update({f"mechanism.{k}": float(v) for k, v in result.timings.items()})
    files: dict = {}
    jobs = [("inputs", _inputs_job), ("allocation", _allocation_job),
            ("certificate", _certificate_job), ("priors", _priors_job),
            ("schedules", _schedules_job), ("figures", _figures_job)]
    for k, (name, job) in enumerate(jobs):
        start = time.perf_counter()
        job(result, spec, out_dir, files, subpool)
        clock[f"write.{name}"] = time.perf_counter() - start
        step(name, (k + 1) / (len(jobs) + 1))
    return _write_documents(result, spec, out_dir, files, clock, step, begin)


def _write_documents(result, spec, out_dir: Path, files: dict, clock: dict, step,
                     begin: float) -> dict:
    start = time.perf_counter()
    files["report"] = "report.md"
    doc = build_report(result, spec, files=files, timings=clock)
    captions = files.pop("_captions", {})
    doc["figure_captions"] = captions
    doc["files"] = jsonable({k: v for k, v in files.items() if k not in ("priors", "schedules")})
    doc["files"]["schedules"] = [files["schedules"][k] for k in sorted(files["schedules"])]
    text = render_markdown(doc, result.pool.positions, result.efficient.allocation,
                           result.cash, result.pool.state_names, captions)
    (out_dir / "report.md").write_text(text, encoding="utf-8")
    doc["timings"]["write.report"] = time.perf_counter() - start
    doc["timings"]["write"] = time.perf_counter() - begin
    with open(out_dir / "report.json", "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
        fh.write("\n")
    step("report", 1.0)
    return doc


def _inputs_job(result, spec, out_dir, files, subpool) -> None:
    files.update(copy_inputs(spec, out_dir))


def _allocation_job(result, spec, out_dir, files, subpool) -> None:
    pool = result.pool
    write_allocation_csv(out_dir / "allocation.csv", pool.names, pool.probabilities,
                         pool.positions, result.efficient.allocation, result.cash,
                         pool.state_names)
    files["allocation"] = "allocation.csv"


def _certificate_job(result, spec, out_dir, files, subpool) -> None:
    Q = getattr(result.efficient, "supergradients", None)
    if Q is None:
        return
    (out_dir / "certificate").mkdir()
    write_matrix_csv(out_dir / "certificate" / "supergradients.csv", result.pool.names, Q,
                     result.pool.state_names)
    files["supergradients"] = "certificate/supergradients.csv"


def _priors_job(result, spec, out_dir, files, subpool) -> None:
    priors = dict(result.worst_case_priors or {})
    files["priors"] = {}
    if not priors:
        return
    (out_dir / "priors").mkdir()
    pool = result.pool
    for i, Q in sorted(priors.items()):
        rel = f"priors/{slug(pool.names[i])}.csv"
        write_prior_csv(out_dir / rel, pool.probabilities, Q, pool.state_names)
        files["priors"][i] = rel
    files["worst_case_priors"] = [files["priors"][i] for i in sorted(files["priors"])]


def _schedules_job(result, spec, out_dir, files, subpool) -> None:
    files["schedules"] = {}
    if not result.schedules:
        return
    (out_dir / "schedules").mkdir()
    for k, schedule in enumerate(result.schedules, start=1):
        rel = f"schedules/stage-{k}.json"
        text = schedule.to_json() if hasattr(schedule, "to_json") else json.dumps(schedule)
        (out_dir / rel).write_text(text + "\n", encoding="utf-8")
        files["schedules"][k] = rel


def _figures_job(result, spec, out_dir, files, subpool) -> None:
    fig_dir = out_dir / "figures"
    fig_dir.mkdir()
    pool, unit = result.pool, result.pool.money
    captions = {}
    captions["figures/losses.png"] = _figures.plot_losses(
        fig_dir / "losses.png", pool.names, pool.positions, result.efficient.allocation,
        result.cash, unit)
    if subpool is not None:
        note = (f"Sub-pool welfare {subpool.welfare:,.6g} {unit}, certified upper bound "
                f"{subpool.upper_bound:,.6g} {unit} ({subpool.method}).")
        captions["figures/simplex.png"] = _figures.plot_simplex(
            fig_dir / "simplex.png", subpool.names, subpool.shares, subpool.block_sizes,
            subpool.mu_draws, unit, subpool.status_quo, subpool.block_word, note)
    captions["figures/payoffs.png"] = _figures.plot_payoffs(
        fig_dir / "payoffs.png", pool.names, result.standalone,
        [e.value for e in result.mu_integrals], [e.stderr for e in result.mu_integrals],
        result.surplus.value / pool.n, unit, result.surplus.stderr)
    captions["figures/collateral.png"] = _figures.plot_collateral(
        fig_dir / "collateral.png", pool.names, result.collateral, result.cash, unit)
    files["figures"] = list(captions)
    files["_captions"] = captions


def copy_inputs(spec, out_dir: Path) -> dict:
    """Copy the pool file into ``out_dir/inputs`` so the run can be re-checked from its files.

    Writes ``inputs/spec.json`` (the parsed document, a table reference rewritten to
    the copy beside it) and the original file(s) verbatim. Returns the relative paths
    and SHA-256 digests.
    """
    inputs = Path(out_dir) / "inputs"
    inputs.mkdir()
    raw = json.loads(json.dumps(jsonable(spec.raw)))
    digests = {}
    original = _original_path(spec)
    if original is not None:
        name = original.name if original.name != "spec.json" else "original-spec.json"
        digests[f"inputs/{name}"] = _copy(original, inputs / name)
    table = (raw.get("states") or {}).get("table")
    if isinstance(table, str):
        source = _resolve(spec, table)
        target = inputs / source.name
        if target.exists() or target.name == "spec.json":
            target = inputs / f"table-{source.name}"
        digests[f"inputs/{target.name}"] = _copy(source, target)
        raw["states"]["table"] = target.name
    text = json.dumps(raw, indent=1, allow_nan=False) + "\n"
    (inputs / "spec.json").write_text(text, encoding="utf-8")
    digests[SPEC_COPY] = hashlib.sha256(text.encode()).hexdigest()
    return {"spec": SPEC_COPY, "inputs_sha256": digests}


def _original_path(spec) -> Path | None:
    if spec.path is not None:
        return Path(spec.path)
    from ..io.spec import example_path

    bundled = example_path("florida")
    return bundled if bundled.is_file() else None


def _resolve(spec, reference: str) -> Path:
    path = Path(reference)
    if not path.is_absolute() and spec.path is not None:
        path = Path(spec.path).parent / path
    return path


def _copy(source: Path, target: Path) -> str:
    shutil.copyfile(source, target)
    return hashlib.sha256(target.read_bytes()).hexdigest()
