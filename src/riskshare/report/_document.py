r"""report.json: everything a run computed, as one JSON document.

Notation (spec §1-10): ``U_i`` agent i's monetary utility, ``X_i`` its position,
``Y*`` the efficient allocation, ``μ`` the reference measure on the menu,
``S = W(Y*) - Σ_i ∫U_i dμ`` the surplus, ``b_i`` the auction bids,
``t_i = ∫U_i dμ + S/n - U_i(Y*_i)`` the cash, ``r_i = Y*_i - X_i + t_i`` the
receipts and ``collateral_i = max(0, max_ω -r_i(ω))``.

The document is built from a :class:`~riskshare.mechanism.MechanismResult` and the
:class:`~riskshare.io.RunSpec` it came from; it computes nothing new except
sums and differences that make the numbers easier to read (gain from pooling,
expected aggregate loss).
"""

from __future__ import annotations

import datetime as _dt
import json

import numpy as np

from ._format import jsonable

__all__ = ["FORMAT_VERSION", "build_report", "MONEY_CONVENTION"]

#: version of the run-directory layout; `riskshare verify` refuses other versions
FORMAT_VERSION = 1

MONEY_CONVENTION = ("amounts are in {unit}; a position or allocation is money received in "
                    "a scenario, so a loss is negative; cash and receipts are paid to the "
                    "agent when positive and by the agent when negative")


def build_report(result, spec, *, files: dict, timings: dict) -> dict:
    """The report.json document of a finished run.

    Parameters
    ----------
    result : MechanismResult
        The mechanism's result.
    spec : RunSpec
        The loaded pool file (for the agents' raw descriptions and data notes).
    files : dict
        Relative paths of the other files of the run (``allocation``,
        ``supergradients``, ``spec``, ``priors`` {agent index: path}, figures).
    timings : dict
        Seconds per step of the whole run (load, mechanism steps, writing).
    """
    pool = result.pool
    doc = {
        "format": "riskshare-run",
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "money": {"unit": pool.money, "convention": MONEY_CONVENTION.format(unit=pool.money)},
        "pool": _pool_section(pool),
        "menu": result.menu.describe(),
        "mu": _mu_section(result.settings, getattr(result, "measure", None)),
        "efficient": _efficient_section(result.efficient, pool.names),
        "timings": {k: float(v) for k, v in timings.items()},
        "agents": _agents_section(result, spec, files.get("priors", {})),
        "surplus": _estimate(result.surplus),
        "auction": _auction_section(result),
        "order": [pool.names[i] for i in result.order],
        "lipschitz_cap": float(result.lipschitz_cap),
        "schedules": _schedules_section(result, files),
        "checks": {c.name: _check(c) for c in result.checks},
        "all_checks_passed": bool(all(c.passed for c in result.checks)),
        "versions": dict(result.versions),
        "seed": int(result.settings.seed),
        "settings": _settings_section(result.settings),
        "data_notes": list(getattr(spec, "data_notes", ()) or ()),
        "data": getattr(spec, "data", None),
        "files": {k: v for k, v in files.items() if k not in ("priors", "schedules")},
    }
    return jsonable(doc)


def _pool_section(pool) -> dict:
    X = pool.aggregate
    P = pool.probabilities
    return {
        "agents": list(pool.names),
        "n": pool.n,
        "m": pool.m,
        "source": pool.source,
        "aggregate": {
            "expected": float(P @ X),
            "worst": float(X.min()),
            "worst_scenario": int(np.argmin(X)),
            "best": float(X.max()),
            "zero_scenarios": int(np.sum(X == 0)),
        },
        "positions_expected": {name: float(P @ pool.positions[i])
                               for i, name in enumerate(pool.names)},
    }


def _mu_section(settings, measure: dict | None) -> dict:
    """μ as configured, with the measure's own description (e.g. the centre it resolved)."""
    centre = settings.mu_centre
    out = {"kind": "dirichlet" if settings.mu_weights is None else "weights",
           "kappa": float(settings.mu_kappa),
           "centre": centre if isinstance(centre, str) else list(centre),
           "weights": None if settings.mu_weights is None else list(settings.mu_weights),
           "draws": int(settings.draws)}
    described = {k: v for k, v in (measure or {}).items() if k != "menu"}
    if "centre" in described:
        described["centre_used"] = described.pop("centre")
    return {**out, **{k: v for k, v in described.items() if k not in out}}


def _efficient_section(eff, names) -> dict:
    out = {
        "welfare": float(eff.welfare),
        "upper_bound": float(eff.upper_bound),
        "gap": float(eff.gap),
        "relative_gap": float(getattr(eff, "relative_gap", np.nan)),
        "uniqueness": getattr(eff, "uniqueness", None),
        "ties": _ties(getattr(eff, "ties", None), names),
        "method": getattr(eff, "method", None),
        "seconds": float(getattr(eff, "seconds", np.nan)),
    }
    for extra in ("status", "tolerance", "certified", "iterations", "message"):
        if hasattr(eff, extra):
            out[extra] = getattr(eff, extra)
    return out


def _ties(ties, names) -> list[dict] | None:
    """``(block label, agent indices)`` pairs -> ``{"block", "agents"}`` with names."""
    if ties is None:
        return None
    out = []
    for tie in ties:
        label, agents = tie
        if label == "items":
            out.append({"block": "items", "items": [int(k) for k in agents]})
        else:
            out.append({"block": str(label), "agents": [names[int(i)] for i in agents]})
    return out


def _estimate(est) -> dict:
    return {"value": float(est.value), "stderr": float(est.stderr),
            "exact": bool(getattr(est, "exact", est.stderr == 0)),
            "method": getattr(est, "method", None), "draws": getattr(est, "draws", None)}


def _agents_section(result, spec, prior_files: dict) -> list[dict]:
    pool = result.pool
    raw = tuple(getattr(spec, "agent_fields", ()) or ())
    stage_of = {agent: k + 1 for k, agent in enumerate(result.order)}
    bids = np.asarray(result.bids, dtype=float)
    agents = []
    for i, name in enumerate(pool.names):
        entry = {
            "name": name,
            "utility": result.utilities[i].describe(),
            "standalone": float(result.standalone[i]),
            "at_efficient": float(result.at_efficient[i]),
            "mu_integral": _estimate(result.mu_integrals[i]),
            "bid": float(bids[i]) if bids.size else None,
            "stage": stage_of.get(i),
            "stage_payoff": float(result.stage_payoffs[i]),
            "payoff": float(result.payoffs[i]),
            "payoff_stderr": _at(getattr(result, "payoff_stderr", None), i),
            "gain_from_pooling": float(result.payoffs[i] - result.standalone[i]),
            "cash": float(result.cash[i]),
            "collateral": float(result.collateral[i]),
            "worst_case_prior": prior_files.get(i),
        }
        if i < len(raw) and isinstance(raw[i], dict):
            entry["pool_file"] = {k: v for k, v in raw[i].items() if k != "positions"}
        agents.append(entry)
    return agents


def _at(values, i: int):
    values = np.asarray(values if values is not None else [], dtype=float)
    return float(values[i]) if values.size > i else None


def _auction_section(result) -> dict | None:
    auction = result.auction
    if auction is None:
        return None
    names = result.pool.names
    return {
        "bids": {names[i]: float(b) for i, b in enumerate(np.asarray(auction.bids))},
        "winner": names[auction.winner],
        "tied": [names[i] for i in auction.tied],
        "tie_break": auction.tie_break,
        "payment": float(auction.payment),
        "rebate_each": float(auction.rebate_each),
    }


def _schedules_section(result, files: dict) -> list[dict]:
    """Each posted schedule in short (the full JSON, anchors included, is in its file)."""
    names = result.pool.names
    out = []
    for k, schedule in enumerate(result.schedules, start=1):
        text = schedule.to_json() if hasattr(schedule, "to_json") else schedule
        body = json.loads(text) if isinstance(text, str) else dict(text)
        entry = {"stage": k, "posted_by": names[result.order[k - 1]],
                 "paid_by": names[result.order[k]],
                 "file": files.get("schedules", {}).get(k)}
        for key in ("label", "formula", "constant", "constant_stderr", "metric",
                    "lipschitz_bound"):
            if key in body:
                entry[key] = body[key]
        if "utility_terms" in body:
            entry["utility_terms"] = [{"agent": names[t["agent"]],
                                       "coefficient": t["coefficient"]}
                                      for t in body["utility_terms"]]
        entry["distance_terms"] = len(body.get("distance_terms") or ())
        entry["item_prices"] = body.get("item_prices") is not None
        out.append(entry)
    return out


def _check(check) -> dict:
    return {"passed": bool(check.passed), "value": float(check.value),
            "tolerance": float(check.tolerance), "detail": getattr(check, "detail", "")}


def _settings_section(settings) -> dict:
    return {
        "metric": settings.metric,
        "lipschitz_cap": settings.lipschitz_cap,
        "epsilon": float(settings.epsilon),
        "order": settings.order if isinstance(settings.order, str) else list(settings.order),
        "seed": int(settings.seed),
        "draws": int(settings.draws),
        "money": settings.money,
        "settlement_unit": float(settings.settlement_unit),
        "tie_break": "derived from seed" if settings.tie_break_secrets is None
        else "secrets given",
    }
