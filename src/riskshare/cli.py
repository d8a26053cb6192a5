r"""The command line: ``riskshare run | verify | settle | example``.

Notation as in the spec: ``X`` positions, ``Y*`` the efficient allocation,
``U_i`` utilities, ``μ`` the reference measure, ``S`` the surplus, ``t`` cash.

Exit codes: 0 success; 1 a check failed (the run's own checks, ``verify``, or
the closed-form comparison of ``example``); 2 bad input (a pool file that breaks
a rule, a missing file, an output directory that is not free); 3 an internal
error (please report it, with ``--debug`` for the traceback); 130 interrupted.

Without ``--debug`` an error is one line on stderr naming the field that is
wrong; under ``--json`` it is instead one JSON object on stdout,
``{"error": {"message", "field", "exit_code"}}``, and nothing on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ._errors import (
    OutputDirectoryError,
    RecordExistsError,
    RiskshareInputError,
    SpecError,
    UnsupportedError,
)

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_CHECK", "EXIT_INPUT", "EXIT_INTERNAL"]

EXIT_OK, EXIT_CHECK, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_SIMPLEX = ("Homestead", "Immokalee", "Fort Pierce")
MU_PICTURE_DRAWS = 1500
CLOSED_FORM_RTOL = 1e-7
#: files of every run directory, whether or not report.json lists them
RUN_FILES = ("report.json", "report.md", "allocation.csv", "inputs/spec.json",
             "certificate/supergradients.csv")
#: how many files a refusal of --force names
FOREIGN_SHOWN = 3


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``riskshare``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true",
                        help="no progress bars and no summary; errors still go to stderr")
    common.add_argument("--json", action="store_true",
                        help="print one JSON object on stdout instead of text")
    common.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    parser = argparse.ArgumentParser(
        prog="riskshare",
        description="Risk sharing without an insurer: the efficient split of a pool's losses, "
                    "the price-and-choose mechanism and a first-mover auction.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run the mechanism on a pool file",
                         description="Run the whole mechanism and write a run directory.")
    run.add_argument("spec", nargs="?", metavar="SPEC",
                     help="pool file (.toml or .json); default: the bundled Florida pool")
    run.add_argument("--out", required=True, metavar="DIR", help="run directory to create")
    run.add_argument("--force", action="store_true",
                     help="replace DIR if it holds an earlier riskshare run and nothing "
                          "else (never one with settlement records or files you added)")
    run.add_argument("--simplex-agents", metavar="A,B,C",
                     help="the three members of the simplex picture (overrides the pool file)")
    run.set_defaults(func=_cmd_run)

    ver = sub.add_parser("verify", parents=[common], help="re-check a finished run",
                         description="Re-check a run directory from its files alone.")
    ver.add_argument("directory", metavar="DIR")
    ver.add_argument("--draws", type=int, default=4096,
                     help="Monte Carlo draws per member for the μ-integrals (default 4096)")
    ver.set_defaults(func=_cmd_verify)

    sett = sub.add_parser("settle", parents=[common], help="settle one reported scenario",
                          description="Settle a reported scenario in whole settlement units "
                                      "and write its replayable record.")
    sett.add_argument("directory", metavar="DIR")
    sett.add_argument("--scenario", required=True, metavar="K",
                      help="scenario index (0-based, as in allocation.csv) or scenario name")
    sett.add_argument("--force", action="store_true",
                      help="overwrite an existing record of this scenario")
    sett.set_defaults(func=_cmd_settle)

    ex = sub.add_parser("example", parents=[common], help="run a bundled example",
                        description="Run a small pool whose answer is known in closed form "
                                    "and print both side by side.")
    ex.add_argument("name", choices=["three-farmers"],
                    help="which example: three-farmers (three entropic farmers with a "
                         "common prior; the efficient shares are their risk tolerances "
                         "over the total)")
    ex.set_defaults(func=_cmd_example)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``riskshare`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    _terminate_cleanly()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _error(args, "interrupted", EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except (RiskshareInputError, ValueError, OSError) as exc:
        if args.debug:
            raise
        field = getattr(exc, "field", None)
        _error(args, _one_line(exc), EXIT_INPUT, field)
        return EXIT_INPUT
    except Exception as exc:  # an internal error: one line unless --debug
        if args.debug:
            raise
        _error(args, f"internal error ({type(exc).__name__}: {_one_line(exc)}); "
                     "rerun with --debug and report it", EXIT_INTERNAL)
        return EXIT_INTERNAL


def _terminate_cleanly() -> None:
    """Turn SIGTERM into an exit that unwinds, so a half-written run directory is removed."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _error(args, message: str, code: int, field: str | None = None) -> None:
    """The error once: one JSON object on stdout under ``--json``, else one line on stderr."""
    if getattr(args, "json", False):
        print(json.dumps({"error": {"message": message, "field": field, "exit_code": code}}))
    else:
        print(f"riskshare: error: {message}", file=sys.stderr)


def _emit(args, text: str, payload: dict) -> None:
    """Text for people, or one JSON object under ``--json``; nothing under ``--quiet``."""
    if args.json:
        print(json.dumps(payload, allow_nan=False, default=str))
    elif not args.quiet:
        print(text)


# --------------------------------------------------------------------------- progress


class _Progress:
    """tqdm bars on stderr, one per step, shown only for steps that take a moment.

    Use :meth:`step` around each step of the command: the bar shows the elapsed
    time while the step runs (a background thread refreshes it). Inside a step,
    the library's callback ``progress(sub_step, fraction)`` moves the bar and names
    the sub-step just finished; outside one, each new name opens its own bar.
    """

    DELAY = 0.3

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._name = None
        self._outer = None
        self._lock = threading.Lock()

    def __call__(self, step: str, fraction: float) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._outer is None and step != self._name:
                self._open(step)
            if self._outer is not None and self._bar is not None:
                self._bar.set_postfix_str(f"{step} done", refresh=False)
            target = int(round(1000 * min(max(float(fraction), 0.0), 1.0)))
            self._bar.update(max(0, target - self._bar.n))

    def _open(self, step: str) -> None:
        from tqdm import tqdm

        self._close()
        self._name = step
        tty = sys.stderr.isatty()
        self._bar = tqdm(total=1000, desc=step, file=sys.stderr, delay=self.DELAY, leave=True,
                         mininterval=0.2 if tty else 10.0,
                         bar_format="{desc}: {percentage:3.0f}%|{bar:24}| {elapsed}{postfix}")

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._name = None, None

    @contextmanager
    def step(self, name: str):
        """A bar for one step of the command; library callbacks inside it move it."""
        if not self.enabled:
            yield
            return
        with self._lock:
            self._open(name)
            self._outer = name
        done = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(done,), daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()
            with self._lock:
                self._outer = None
                if self._bar is not None:
                    self._bar.update(self._bar.total - self._bar.n)
                self._close()

    def _tick(self, done: threading.Event) -> None:
        while not done.wait(0.2):
            with self._lock:
                if self._bar is not None:
                    self._bar.update(0)

    def close(self) -> None:
        with self._lock:
            self._close()


# --------------------------------------------------------------------------- output dir


class _RunOutput:
    """A run directory that appears whole or not at all.

    Files are written into a hidden sibling directory, which is renamed to
    ``out`` at the end. An existing ``out`` is never touched without ``--force``
    (an empty directory counts as free), and ``--force`` replaces only a
    directory holding an earlier riskshare run without settlement records and
    without files that riskshare did not write.
    """

    def __init__(self, out: Path, force: bool):
        self.out = Path(out)
        self.force = force
        self.tmp: Path | None = None

    def check(self) -> None:
        """Raise :class:`OutputDirectoryError` unless ``out`` may be written."""
        out = self.out
        here = Path.cwd().resolve()
        if out.resolve() == here or out.resolve() in here.parents:
            raise OutputDirectoryError("--out", str(out), "a directory that does not contain "
                                       "the current directory", "choose a new directory")
        if not (out.exists() or out.is_symlink()):
            return
        if not out.is_dir() or out.is_symlink():
            raise OutputDirectoryError("--out", str(out), "a new directory (this is a file)",
                                       "choose another --out")
        if not any(out.iterdir()):
            return
        if not self.force:
            raise OutputDirectoryError("--out", str(out), "a directory that does not exist "
                                       "yet (it is not overwritten without --force)",
                                       "choose another --out, or pass --force to replace "
                                       "an earlier run")
        if not _is_run_directory(out):
            raise OutputDirectoryError("--out", str(out), "with --force, only a directory "
                                       "holding an earlier riskshare run (report.json) is "
                                       "replaced", "this one is not: choose another --out "
                                       "or remove it yourself")
        records = _settlement_records(out)
        if records:
            raise RecordExistsError("--out", [p.relative_to(out).as_posix() for p in records],
                                    "with --force, only a run without settlement records "
                                    "(written by `riskshare settle`) is replaced",
                                    f"choose another --out, or move {out / 'settlements'} "
                                    "away first")
        foreign = _foreign_files(out)
        if foreign:
            shown = ", ".join(foreign[:FOREIGN_SHOWN])
            more = f" and {len(foreign) - FOREIGN_SHOWN} more" if len(foreign) > FOREIGN_SHOWN \
                else ""
            raise OutputDirectoryError("--out", f"{len(foreign)} file(s) riskshare did not "
                                       f"write: {shown}{more}",
                                       "with --force, only a directory holding nothing but "
                                       "an earlier run's own files is replaced",
                                       f"move {shown}{more} out of {out} first, or choose "
                                       "another --out")

    def __enter__(self) -> Path:
        self.check()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.partial-",
                                         dir=self.out.parent))
        return self.tmp

    def publish(self) -> None:
        """Move the finished directory into place (replacing an earlier run under --force)."""
        self.check()
        old = None
        if self.out.is_dir() and any(self.out.iterdir()):
            old = self.out.parent / f".{self.out.name}.replaced-{os.getpid()}"
            self.out.rename(old)
        elif self.out.is_dir():
            self.out.rmdir()
        try:
            self.tmp.rename(self.out)
        except OSError:
            if old is not None:
                old.rename(self.out)
            raise
        self.tmp = None
        if old is not None:
            shutil.rmtree(old)

    def __exit__(self, *exc) -> None:
        if self.tmp is not None and self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)


def _settlement_records(run: Path) -> list[Path]:
    """Files under ``run/settlements`` (records of money movements), but not the
    temporary file of a record being written."""
    folder = run / "settlements"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*")
                  if not p.is_dir() and not p.name.startswith(".record-"))


def _foreign_files(run: Path) -> list[str]:
    """Files under ``run`` that riskshare did not write: neither listed in its
    report.json ``files`` nor one of :data:`RUN_FILES` (paths relative to ``run``, sorted)."""
    from .verify import listed_files

    try:
        doc = json.loads((run / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = {}
    own = {str(p) for p in listed_files(doc) if isinstance(p, str)} | set(RUN_FILES)
    return sorted(rel for p in run.rglob("*")
                  if (p.is_symlink() or not p.is_dir())
                  and (rel := p.relative_to(run).as_posix()) not in own)


def _is_run_directory(path: Path) -> bool:
    try:
        doc = json.loads((path / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == "riskshare-run"


# --------------------------------------------------------------------------- run


def _cmd_run(args) -> int:
    from .report import summary_json, summary_text

    output = _RunOutput(Path(args.out), args.force)
    output.check()
    progress = _Progress(enabled=not (args.quiet or args.json))
    timings = {}
    doc = _run_steps(args, output, progress, timings)

    out = str(output.out)
    _emit(args, summary_text(doc, out), summary_json(doc, out))
    if not doc["all_checks_passed"]:
        failed = [k for k, c in doc["checks"].items() if not c["passed"]]
        print(f"riskshare: {len(failed)} check(s) failed: {', '.join(failed)}", file=sys.stderr)
        return EXIT_CHECK
    return EXIT_OK


def _run_steps(args, output: _RunOutput, progress: _Progress, timings: dict) -> dict:
    """Load, run the mechanism, solve the sub-pool, write the directory; return report.json."""
    from .io.spec import load_spec

    try:
        start = time.perf_counter()
        with progress.step("loading the pool"):
            spec = load_spec(args.spec)
            simplex = _simplex_names(spec, args.simplex_agents)
        timings["load"] = time.perf_counter() - start
        return _solve_and_write(spec, simplex, output, progress, timings)
    finally:
        progress.close()


def _solve_and_write(spec, simplex, output, progress, timings) -> dict:
    """The mechanism, the sub-pool and the files, each timed into ``timings``."""
    from .mechanism import run_mechanism
    from .report import write_run

    start = time.perf_counter()
    with progress.step("running the mechanism"):
        result = run_mechanism(spec.pool, spec.utilities, spec.menu, spec.settings,
                               progress=progress)
    timings["mechanism"] = time.perf_counter() - start

    start = time.perf_counter()
    with progress.step("sub-pool for the simplex picture"):
        picture = _simplex_picture(spec, simplex)
    timings["simplex_subpool"] = time.perf_counter() - start

    with output as tmp, progress.step("writing files"):
        doc = write_run(result, spec, tmp, subpool=picture, timings=timings,
                        progress=progress)
        output.publish()
    return doc


def _simplex_names(spec, override: str | None) -> tuple[str, ...] | None:
    names = spec.pool.names
    if override:
        chosen = tuple(s.strip() for s in override.split(","))
        for s in chosen:
            if s not in names:
                raise SpecError("--simplex-agents", s, f"agents: {', '.join(names)}",
                                "name three agents of the pool")
        if len(chosen) != 3 or len(set(chosen)) != 3:
            raise SpecError("--simplex-agents", override, "three different agents",
                            "give A,B,C")
        return chosen
    if getattr(spec, "simplex_agents", None):
        return tuple(spec.simplex_agents)
    if all(s in names for s in DEFAULT_SIMPLEX):
        return DEFAULT_SIMPLEX
    return tuple(names[:3]) if len(names) >= 3 else None


def _simplex_picture(spec, names: tuple[str, ...] | None):
    """Efficient split of the three-member sub-pool, for the simplex figure (or None).

    The sub-pool is solved on its own: the three members' utilities on the
    menu of the same kind built from their own aggregate.
    """
    from .efficiency import maximise_welfare
    from .menus import make_menu
    from .report import SubPoolPicture

    if names is None or spec.menu.kind not in ("sign", "comonotone"):
        return None
    idx = [spec.pool.index(s) for s in names]
    positions = spec.pool.positions[idx]
    aggregate = positions.sum(axis=0)
    if not np.any(aggregate != 0):
        return None
    menu = make_menu(spec.menu.kind, aggregate, 3)
    eff = maximise_welfare(tuple(spec.utilities[i] for i in idx), menu)
    shares = menu.shares(eff.allocation)
    status_quo = None
    if menu.kind == "sign":
        status_quo = positions[:, menu.block_states] / menu.block_scale
    rng = np.random.default_rng(int(spec.settings.seed))
    draws = _mu_draws(spec.settings, menu, status_quo, rng)
    return SubPoolPicture(names=names, shares=shares, block_sizes=np.abs(menu.block_scale),
                          mu_draws=draws, status_quo=status_quo,
                          block_word="scenario" if menu.kind == "sign" else "layer",
                          welfare=float(eff.welfare), upper_bound=float(eff.upper_bound),
                          method=str(getattr(eff, "method", "")))


def _mu_draws(settings, menu, status_quo, rng) -> np.ndarray:
    """Draws of μ's shares for the sub-pool's largest block, (K, 3)."""
    kappa = float(settings.mu_kappa)
    big = int(np.argmax(np.abs(menu.block_scale)))
    if kappa == 0.0:
        centre = np.full(3, 1.0 / 3)
    elif not isinstance(settings.mu_centre, str) or status_quo is None:
        centre = np.full(3, 1.0 / 3)
    else:
        c = status_quo[:, big]
        centre = c if np.all((c >= 0) & (c <= 1)) else np.full(3, 1.0 / 3)
    return rng.dirichlet(1.0 + kappa * centre, size=MU_PICTURE_DRAWS)


# --------------------------------------------------------------------------- verify


def _cmd_verify(args) -> int:
    from .verify import verify_run

    result = verify_run(args.directory, draws=args.draws)
    lines = [f"{'check':<40} {'passed':>6} {'value':>12} {'tolerance':>12}"]
    for c in result.checks:
        lines.append(f"{c.name[:40]:<40} {'yes' if c.passed else 'NO':>6} "
                     f"{_num(c.value):>12} {_num(c.tolerance):>12}")
    for c in result.failed:
        lines.append(f"FAILED {c.name}: {c.detail}")
    lines.append(f"{args.directory}: " + ("all checks passed" if result.passed else
                                           f"{len(result.failed)} check(s) FAILED"))
    _emit(args, "\n".join(lines), result.to_dict())
    if not result.passed:
        if args.quiet:
            for c in result.failed:
                print(f"riskshare: verify failed: {c.name}: {c.detail}", file=sys.stderr)
        return EXIT_CHECK
    return EXIT_OK


def _num(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else str(x)


# --------------------------------------------------------------------------- settle


def _cmd_settle(args) -> int:
    from .settlement import settle, settlement_plan
    from .verify import read_run

    run = read_run(args.directory)
    scenario = _scenario_arg(args.scenario, run.positions.shape[1], run.state_names)
    failed = [k for k, c in run.report.get("checks", {}).items() if not c.get("passed")]
    if failed:
        print(f"riskshare: warning: this run has failed checks ({', '.join(failed)}); "
              "settling it anyway", file=sys.stderr)
    cash = run.agent_values("cash")
    plan = settlement_plan(run.positions, run.allocation, cash, run.names,
                           unit=float(run.report["settings"]["settlement_unit"]),
                           money=run.report["money"]["unit"], state_names=run.state_names)
    record = settle(plan, scenario)
    path = _write_record(Path(args.directory), record, args.force)
    text = _settlement_text(record, path)
    _emit(args, text, {"record": str(path), **json.loads(record.to_json(indent=None))})
    return EXIT_OK


def _scenario_arg(text: str, m: int, state_names: tuple[str, ...] | None) -> int | str:
    """The scenario the user typed after ``--scenario``: an index in 0..m-1 or a state name.

    Raises
    ------
    RiskshareInputError
        Naming ``--scenario`` (the option, not the library's ``scenario``
        argument), with the range of indices and the fix; a close state name is
        suggested for a misspelt one.
    """
    from .io._fields import suggest

    try:
        value = int(text)
    except ValueError:
        value = text
    if isinstance(value, int) and 0 <= value < m:
        return value
    if isinstance(value, str) and state_names and value in state_names:
        return value
    allowed = (f"a scenario index from 0 to {m - 1} (the 'scenario' column of allocation.csv)"
               + (" or a scenario name (the 'scenario_name' column)" if state_names
                  else "; this run's scenarios have no names"))
    fix = f"give --scenario a number from 0 to {m - 1}"
    if state_names:
        best = suggest(text, state_names) if isinstance(value, str) else None
        fix = (f"did you mean --scenario {best!r}?" if best is not None
               else fix + f", or a name such as {state_names[0]!r}")
    raise RiskshareInputError("--scenario", value, allowed, fix)


def _write_record(directory: Path, record, force: bool) -> Path:
    folder = directory / "settlements"
    folder.mkdir(exist_ok=True)
    path = folder / f"scenario-{record.scenario}.json"
    if path.exists() and not force:
        raise RecordExistsError("--scenario", str(path), "a scenario not settled before",
                                "keep the existing record, or pass --force to rewrite it")
    fd, tmp = tempfile.mkstemp(prefix=".record-", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(record.to_json() + "\n")
    os.replace(tmp, path)
    return path


def _settlement_text(record, path: Path) -> str:
    from .report._format import money

    label = f" ({record.state_name})" if record.state_name else ""
    width = max(8, *(len(s) for s in record.names))
    lines = [f"scenario {record.scenario}{label}: payments in {record.money}, "
             f"settled in units of {record.unit:g}", "",
             f"{'member':<{width}}  {'receipt':>16}  {'payment (+in/-out)':>18}  "
             f"{'collateral':>14}"]
    for name, r, p, c in zip(record.names, record.receipts, record.payments,
                             record.collateral_units, strict=True):
        lines.append(f"{name:<{width}}  {money(r, '', 4):>16}  {money(float(p), '', 2):>18}  "
                     f"{money(c * record.unit, '', 2):>14}")
    lines.append("")
    for t in record.transfers:
        lines.append(f"{t['from']} pays {t['to']} {money(t['units'] * record.unit, '', 2)} "
                     f"{record.money}")
    if not record.transfers:
        lines.append("no payments in this scenario")
    lines += ["", f"record {record.record_id} written to {path}",
              f"rounding: {record.rule}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- example


def _cmd_example(args) -> int:
    from .io.spec import example_path, load_spec
    from .mechanism import run_mechanism

    spec = load_spec(example_path(args.name))
    progress = _Progress(enabled=not (args.quiet or args.json))
    with progress.step("running the mechanism"):
        result = run_mechanism(spec.pool, spec.utilities, spec.menu, spec.settings,
                               progress=progress)
    rows, ok = _three_farmers_comparison(spec, result)
    surplus = {"value": float(result.surplus.value), "stderr": float(result.surplus.stderr)}
    _emit(args, _comparison_text(rows, ok, spec, surplus),
          {"example": args.name, "agree": ok, "rows": rows, "surplus": surplus})
    return EXIT_OK if ok else EXIT_CHECK


def _closed_form_entropic(spec) -> tuple[np.ndarray, np.ndarray, float]:
    """Shares γ_i/Γ, values U_i(Y*_i) and W* of an entropic pool with a common prior."""
    from .utilities import Entropic

    utils = spec.utilities
    if not all(isinstance(u, Entropic) for u in utils):
        raise UnsupportedError("example", [u.describe()["kind"] for u in utils],
                               "entropic members with one common prior",
                               "the closed form covers only that case")
    prior = utils[0].prior_vector()
    gamma = np.array([u.tolerance for u in utils])
    G = gamma.sum()
    X = spec.pool.aggregate
    z = -X / G
    W = float(-G * (np.log(prior @ np.exp(z - z.max())) + z.max()))
    return gamma / G, gamma / G * W, W


def _three_farmers_comparison(spec, result) -> tuple[list[dict], bool]:
    shares, values, W = _closed_form_entropic(spec)
    X = spec.pool.aggregate
    Y = result.efficient.allocation
    nz = X != 0
    tol = CLOSED_FORM_RTOL * max(1.0, abs(W))
    rows = []
    for i, name in enumerate(spec.pool.names):
        computed_share = Y[i, nz] / X[nz]
        rows.append({"quantity": f"share of the pooled loss, {name}",
                     "closed_form": float(shares[i]),
                     "computed": float(np.median(computed_share)),
                     "difference": float(np.max(np.abs(computed_share - shares[i]))),
                     "tolerance": CLOSED_FORM_RTOL})
        rows.append({"quantity": f"U(Y*), {name}", "closed_form": float(values[i]),
                     "computed": float(result.at_efficient[i]),
                     "difference": float(abs(result.at_efficient[i] - values[i])),
                     "tolerance": tol})
    rows.append({"quantity": "welfare W*", "closed_form": W,
                 "computed": float(result.efficient.welfare),
                 "difference": abs(float(result.efficient.welfare) - W), "tolerance": tol})
    rows += _identity_rows(result, tol)
    return rows, all(r["difference"] <= r["tolerance"] for r in rows)


def _identity_rows(result, tol: float) -> list[dict]:
    """Spec §9 identities: bids S(n-1)/n, payoffs ∫U dμ + S/n, cash summing to zero."""
    n = result.pool.n
    S = float(result.surplus.value)
    I = np.array([e.value for e in result.mu_integrals])
    rows = [{"quantity": "Σ cash", "closed_form": 0.0, "computed": float(result.cash.sum()),
             "difference": abs(float(result.cash.sum())), "tolerance": tol}]
    if result.auction is not None:
        bids = np.asarray(result.bids, dtype=float)
        rows.append({"quantity": "bids S(n-1)/n", "closed_form": S * (n - 1) / n,
                     "computed": float(bids.mean()),
                     "difference": float(np.max(np.abs(bids - S * (n - 1) / n))),
                     "tolerance": tol})
        rows.append({"quantity": "payoffs - (∫U dμ + S/n)", "closed_form": 0.0,
                     "computed": float(np.max(np.abs(result.payoffs - I - S / n))),
                     "difference": float(np.max(np.abs(result.payoffs - I - S / n))),
                     "tolerance": tol})
    return rows


def _comparison_text(rows: list[dict], ok: bool, spec, surplus: dict) -> str:
    pool = spec.pool
    lines = [f"three farmers: {pool.n} entropic members with one prior, {pool.m} states "
             "(closed form of docs/spec/MECHANISM.md §4, the paper's Example 1); "
             f"amounts in {pool.money}",
             "",
             f"{'quantity':<40} {'closed form':>16} {'riskshare':>16} {'difference':>11}"]
    for r in rows:
        lines.append(f"{r['quantity']:<40} {r['closed_form']:>16,.6f} {r['computed']:>16,.6f} "
                     f"{r['difference']:>11.2e}")
    lines += ["", f"surplus S = {surplus['value']:,.4f} ± {surplus['stderr']:.2g} (∫U dμ has no "
              "closed form; the last rows check the identities of "
              "docs/spec/MECHANISM.md §9 with this S)",
              "agree within tolerance" if ok else "DISAGREE beyond tolerance"]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
