r"""report.md: the run explained on one page for a reader who keeps the books.

Notation as in :mod:`riskshare.report._document`: ``X_i`` positions, ``Y*`` the
efficient allocation, ``t_i`` cash, ``r_i = Y*_i - X_i + t_i`` net receipts.
The page is rendered from the report.json document and the arrays behind
allocation.csv, so it shows the same numbers as the files.
"""

from __future__ import annotations

import numpy as np

from ._format import fmt_number, money

__all__ = ["render_markdown", "describe_utility", "WORST_YEARS"]

#: number of worst scenarios listed with their transfers
WORST_YEARS = 10


def render_markdown(doc: dict, positions, allocation, cash, state_names=None,
                    captions: dict | None = None) -> str:
    """The text of report.md.

    Parameters
    ----------
    doc : dict
        The report.json document.
    positions, allocation : array_like, shape (n, m)
        ``X`` and ``Y*``.
    cash : array_like, shape (n,)
        ``t``.
    state_names : sequence of str, optional
        Labels of the scenarios (simulated years).
    captions : dict, optional
        Figure file -> caption, for the figures section.
    """
    X = np.asarray(positions, dtype=float)
    Y = np.asarray(allocation, dtype=float)
    t = np.asarray(cash, dtype=float)
    fmt = _Money(doc["money"]["unit"], np.abs(X).max(initial=0.0))
    parts = [
        _header(doc, fmt),
        _agents_table(doc, fmt),
        _worst_years(doc, X, Y, t, state_names, fmt),
        _beliefs(doc, fmt),
        _auction(doc, fmt),
        _certificate(doc, fmt),
        _meaning(doc),
        _data_notes(doc),
        _checks(doc),
        _figures(captions or {}),
        _files(doc),
    ]
    return "\n\n".join(p for p in parts if p).rstrip() + "\n"


class _Money:
    """Formats amounts of one run: whole units for large pools, cents for small ones."""

    def __init__(self, unit: str, scale: float):
        self.unit = unit
        self.digits = 0 if scale >= 1000 else 2

    def __call__(self, x) -> str:
        return money(x, self.unit, self.digits)

    def bare(self, x) -> str:
        return money(x, "", self.digits)


def _header(doc: dict, fmt: _Money) -> str:
    pool, eff, agg = doc["pool"], doc["efficient"], doc["pool"]["aggregate"]
    n_checks = len(doc["checks"])
    passed = sum(c["passed"] for c in doc["checks"].values())
    status = (f"All {n_checks} checks passed." if passed == n_checks
              else f"**{n_checks - passed} of {n_checks} checks FAILED** (see Checks below).")
    winner = doc["auction"]["winner"] if doc["auction"] else None
    lines = [
        f"# Risk-sharing run: {pool['source']}",
        "",
        f"{pool['n']} members pool their losses over {pool['m']:,} scenarios "
        f"({_scenario_words(doc)}). Amounts are in {doc['money']['unit']}; "
        "a loss is a negative amount.",
        "",
        f"- Expected pooled loss per scenario: {fmt(-agg['expected'])}; worst scenario: "
        f"{fmt(-agg['worst'])} (scenario {agg['worst_scenario']}); "
        f"scenarios with no loss: {agg['zero_scenarios']:,}.",
        _efficiency_line(eff, doc["money"]["unit"]),
        f"- Gain from pooling over every member standing alone (total welfare of the split "
        f"minus the sum of stand-alone values): {fmt(_pooling_gain(doc))}.",
        f"- Surplus of the mechanism, measured against the reference measure μ (a split drawn "
        f"at random), S = {fmt(doc['surplus']['value'])} ± {fmt(doc['surplus']['stderr'])} "
        f"(standard error); each member receives ∫U dμ plus an equal share of S, "
        f"{fmt(doc['surplus']['value'] / pool['n'])}.",
    ]
    losers = [a["name"] for a in doc["agents"] if a["payoff"] < a["standalone"]]
    if losers:
        lines.append(
            f"- **Below stand-alone**: {', '.join(losers)} end(s) with less than their "
            "stand-alone value, because their value of a random split (∫U dμ) is low. "
            "The mechanism guarantees each member ∫U dμ + S/n, not its stand-alone value; "
            "a reference measure centred on the status quo (`[mu] kappa > 0`) moves ∫U dμ "
            "towards the stand-alone value (docs/mechanism.md).")
    if winner:
        lines.append(f"- {winner} won the first-mover auction and moves first; order of moves: "
                     f"{', '.join(doc['order'])}.")
    else:
        lines.append(f"- Fixed order of moves (no auction): {', '.join(doc['order'])}.")
    lines += ["", status]
    return "\n".join(lines)


def _pooling_gain(doc: dict) -> float:
    """``W(Y*) - sum_i U_i(X_i)``: what sharing adds over standing alone."""
    return sum(a["at_efficient"] - a["standalone"] for a in doc["agents"])


def _efficiency_line(eff: dict, unit: str) -> str:
    within = f"{fmt_number(eff['gap'])} {unit}"
    if eff.get("certified", True):
        return (f"- The split of the pooled loss maximises total welfare; it is certified within "
                f"{within} of the best possible ({_uniqueness_words(eff)}).")
    return (f"- **The split is NOT certified**: it may be up to {within} short of the best "
            f"possible total welfare (relative {fmt_number(eff.get('relative_gap'))}, "
            f"tolerance {fmt_number(eff.get('tolerance'))}).")


def _scenario_words(doc: dict) -> str:
    if doc["pool"]["source"].startswith("hazard"):
        return "simulated years, equally likely"
    return "scenarios with the probabilities of the pool file"


def _uniqueness_words(eff: dict) -> str:
    kind = eff.get("uniqueness")
    if kind == "point":
        return "the efficient split is unique"
    if kind == "up to cash":
        return ("the efficient split is unique up to side payments, which the cash below "
                "absorbs, so every member's final position is the same at all of them")
    if kind == "face":
        return ("several efficient splits share the risk differently; the one shown is one of "
                "them, see Certificate below")
    return f"uniqueness: {kind}"


def _agents_table(doc: dict, fmt: _Money) -> str:
    head = ("## What each member gets, pays and locks\n\n"
            f"Amounts in {doc['money']['unit']}. *Stand-alone* is what the member's own loss "
            "is worth to it (a certainty equivalent, negative for a loss); *after pooling* is "
            "its value of the pooled arrangement including cash and the auction; *cash* is "
            "a fixed sum settled with the indemnities whatever happens (positive: received); "
            "*collateral* is what it must lock in advance: the most it can owe in any "
            "scenario.\n\n"
            "| member | expected own loss | stand-alone | after pooling | gain | cash | "
            "collateral |\n|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for a in doc["agents"]:
        expected = doc["pool"]["positions_expected"][a["name"]]
        rows.append(f"| {a['name']} | {fmt.bare(-expected)} | {fmt.bare(a['standalone'])} | "
                    f"{fmt.bare(a['payoff'])} | {fmt.bare(a['gain_from_pooling'])} | "
                    f"{fmt.bare(a['cash'])} | {fmt.bare(a['collateral'])} |")
    total_cash = sum(a["cash"] for a in doc["agents"])
    total_coll = sum(a["collateral"] for a in doc["agents"])
    rows.append(f"| **total** | | | | | {fmt.bare(total_cash)} | {fmt.bare(total_coll)} |")
    return head + "\n" + "\n".join(rows)


def _worst_years(doc, X, Y, t, state_names, fmt: _Money) -> str:
    names = doc["pool"]["agents"]
    aggregate = X.sum(axis=0)
    receipts = Y - X + t[:, None]
    worst = np.argsort(aggregate, kind="stable")[:WORST_YEARS]
    head = (f"## Who pays whom, and how much, in the {len(worst)} worst scenarios\n\n"
            "Each row is one scenario; each member's column is its net receipt at settlement: "
            "indemnity (its share of the pooled loss minus its own loss) plus its cash. "
            "Positive: the member is paid; negative: it pays. Every row sums to zero: all "
            "payments go through the pool and nothing is created or lost.\n\n"
            "| scenario | pooled loss | " + " | ".join(names) + " |\n"
            "|---|---:|" + "---:|" * len(names))
    rows = [_receipt_row(w, state_names, -aggregate[w], receipts[:, w], fmt) for w in worst]
    quiet = np.flatnonzero(aggregate == 0)
    if quiet.size and not np.isin(quiet, worst).any():
        rows.append(_receipt_row(int(quiet[0]), None, 0.0, receipts[:, quiet[0]], fmt,
                                 label=f"any of the {quiet.size:,} scenarios with no loss"))
    words = _transfer_words(int(worst[0]), state_names, receipts[:, worst[0]], names, doc, fmt)
    return head + "\n" + "\n".join(rows) + ("\n\n" + words if words else "")


def _transfer_words(w, state_names, receipts, names, doc, fmt: _Money) -> str:
    """Who pays whom in one scenario, in whole settlement units (as `riskshare settle`)."""
    from ..settlement import round_amounts, transfers

    unit = float(doc["settings"]["settlement_unit"])
    try:
        units = round_amounts(receipts, unit)
    except ValueError:
        return ""
    label = f"scenario {w}" + (f" ({state_names[w]})" if state_names is not None else "")
    moves = [f"{t['from']} pays {t['to']} {fmt(t['units'] * unit)}"
             for t in transfers(units, names)]
    if not moves:
        return f"In {label} nobody pays anything."
    return (f"In the worst, {label}, settled through the pool: " + "; ".join(moves) + ". "
            f"`riskshare settle DIR --scenario {w}` writes the record of such a settlement.")


def _receipt_row(w, state_names, loss, receipts, fmt: _Money, label=None) -> str:
    if label is None:
        label = f"{w}" + (f" ({state_names[w]})" if state_names is not None else "")
    cells = " | ".join(fmt.bare(r) for r in receipts)
    return f"| {label} | {fmt.bare(loss)} | {cells} |"


def describe_utility(desc: dict) -> str:
    """One line for a utility's ``describe()`` dictionary."""
    if not isinstance(desc, dict):
        return str(desc)
    kind = str(desc.get("kind", "utility")).replace("_", " ")
    parts = [_describe_value(k, v) for k, v in desc.items() if k != "kind"]
    parts = [p for p in parts if p]
    return kind + (" (" + "; ".join(parts) + ")" if parts else "")


def _describe_value(key: str, value) -> str:
    key = key.replace("_", " ")
    if isinstance(value, dict):
        return f"{key}: {describe_utility(value)}"
    if isinstance(value, (list, tuple)):
        return f"{key}: {len(value)} values" if len(value) > 4 else f"{key} {list(value)}"
    if isinstance(value, float):
        return f"{key} {_plain(value)}"
    if value is None:
        return ""
    return f"{key} {value}"


def _as_written(agent: dict, table: dict) -> dict:
    """The utility's description, saying "reference" where the pool file gave no prior."""
    desc = dict(agent["utility"]) if isinstance(agent["utility"], dict) else agent["utility"]
    written = table.get("utility") if isinstance(table.get("utility"), dict) else None
    if isinstance(desc, dict) and written is not None and "prior" not in written \
            and desc.get("prior") == "own":
        desc["prior"] = "reference (the scenarios' probabilities)"
    return desc


def _plain(x: float) -> str:
    """``1000000.0`` -> ``1,000,000``; ``0.25`` -> ``0.25``."""
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.6g}"


def _beliefs(doc: dict, fmt: _Money) -> str:
    rows = ["## What each member believes\n",
            "| member | who | preference and beliefs | worst-case prior |", "|---|---|---|---|"]
    for a in doc["agents"]:
        prior = f"[{a['worst_case_prior']}]({a['worst_case_prior']})" \
            if a.get("worst_case_prior") else ""
        table = a.get("pool_file") or {}
        who = str(table.get("description") or "").replace("|", "/")
        rows.append(f"| {a['name']} | {who} | {describe_utility(_as_written(a, table))} | "
                    f"{prior} |")
    return "\n".join(rows)


def _auction(doc: dict, fmt: _Money) -> str:
    lines = ["## The auction and the order of moves\n"]
    auction = doc["auction"]
    if auction:
        lines.append(
            "Each member bid for the right to move first. The highest bid wins; the winner "
            "pays its bid, shared equally among the others. In equilibrium everyone bids "
            "the same, (n-1)/n of the surplus, and a public draw that no single member "
            "controls breaks the tie.\n")
        lines.append("| member | bid |\n|---|---:|")
        lines += [f"| {k} | {fmt.bare(v)} |" for k, v in auction["bids"].items()]
        lines.append(f"\nWinner: **{auction['winner']}** (tied: {', '.join(auction['tied'])}); "
                     f"it pays {fmt(auction['payment'])}, each other member receives "
                     f"{fmt(auction['rebate_each'])}.")
    lines.append(f"\nOrder of moves: {' → '.join(doc['order'])}. Each member in turn posts a "
                 "price schedule for the next one; the last member chooses the split and the "
                 "prices are paid back along the chain. U[name] is that member's value of "
                 "its part of the chosen split; the constant makes the schedule average zero "
                 "under μ.\n")
    lines.append("| stage | posted by | paid by | schedule |\n|---:|---|---|---|")
    for s in doc["schedules"]:
        lines.append(f"| {s['stage']} | {s['posted_by']} | {s['paid_by']} | "
                     f"{_schedule_words(s, fmt)} |")
    return "\n".join(lines)


def _schedule_words(s: dict, fmt: _Money) -> str:
    """``equalising: p(Y) = -1,234 + U_Ben + U_Caro`` (member names, money formatted)."""
    parts = [fmt.bare(s.get("constant", 0.0))]
    for t in s.get("utility_terms") or ():
        coef = t["coefficient"]
        scale = "" if coef == 1 else f"{coef:.6g}·"
        parts.append(f"{scale}U[{t['agent']}]")
    text = " + ".join(parts)
    if s.get("distance_terms"):
        text += f" + {s['distance_terms']} distance term(s)"
    if s.get("item_prices"):
        text += " + a price per item"
    return f"{s.get('label', 'schedule')}: p(Y) = {text}"


def _certificate(doc: dict, fmt: _Money) -> str:
    eff = doc["efficient"]
    lines = [
        "## How the split was found and certified\n",
        f"Method: {eff.get('method')}; {eff['seconds']:.3g} s. Total welfare of the split "
        f"(sum of the members' values): {fmt(eff['welfare'])}. Upper bound on any split of "
        f"the menu: {fmt(eff['upper_bound'])}. Gap: {fmt_number(eff['gap'])} "
        f"{doc['money']['unit']} (relative {fmt_number(eff.get('relative_gap'))}).",
        f"\n{_uniqueness_words(eff).capitalize()}.",
    ]
    ties = eff.get("ties")
    if ties:
        lines.append(f"\nTied blocks (where the risk could be split differently): "
                     f"{_ties_words(ties)}.")
    return "\n".join(lines)


def _ties_words(ties) -> str:
    if isinstance(ties, list):
        shown = [str(t) for t in ties[:5]]
        more = f" and {len(ties) - 5} more" if len(ties) > 5 else ""
        return "; ".join(shown) + more
    return str(ties)


def _meaning(doc: dict) -> str:
    return "\n".join([
        "## What the numbers mean\n",
        "- **Value** of a risky amount: the sure amount the member would trade it for "
        "(its certainty equivalent under its own preference and beliefs).",
        "- **Welfare**: the sum of the members' values. The split maximises it over the "
        "menu; by the certificate no split of the menu does better by more than the gap.",
        "- **∫U dμ**: a member's value of a split drawn at random (the reference measure μ); "
        "the price schedules make the last mover indifferent between all splits, so "
        "this is what each member is guaranteed by the mechanism.",
        "- **Surplus** S: welfare minus the sum of the ∫U dμ. The auction shares it "
        "equally: every member ends with ∫U dμ + S/n. Surplus and payoffs carry a "
        "standard error because ∫U dμ is estimated by quasi-Monte Carlo where it is not "
        "exact.",
        "- **Cash** t: payoff minus the value of the member's share of the pooled loss; "
        "the cash of all members sums to zero.",
        "- **Indemnity** in a scenario: the member's share of the pooled loss minus its "
        "own loss. **Receipt** = indemnity + cash.",
        "- **Collateral**: the largest amount the member can owe in any scenario, "
        "rounded up to the settlement unit; locked in advance so the pool needs no "
        "enforcer.",
        "- Finite state space: the paper's results are for general spaces; riskshare "
        "computes them for the finitely many scenarios of the pool.",
    ])


def _data_notes(doc: dict) -> str:
    notes = doc.get("data_notes") or []
    if not notes:
        return ""
    return "## Limits of the data\n\n" + "\n".join(f"- {n}" for n in notes)


def _checks(doc: dict) -> str:
    rows = ["## Checks\n",
            "Each check recomputes an identity of the mechanism with code apart from the "
            "code that produced it. `riskshare verify` repeats them from the files.\n",
            "| check | passed | value | tolerance | detail |", "|---|---|---:|---:|---|"]
    for name, c in doc["checks"].items():
        mark = "yes" if c["passed"] else "**NO**"
        detail = str(c.get("detail") or "").replace("|", "/").replace("\n", " ")
        rows.append(f"| {name} | {mark} | {fmt_number(c['value'])} | "
                    f"{fmt_number(c['tolerance'])} | {detail} |")
    return "\n".join(rows)


def _figures(captions: dict) -> str:
    if not captions:
        return ""
    parts = ["## Figures\n"]
    for path, caption in captions.items():
        parts.append(f"![{path}]({path})\n\n*{caption}*\n")
    return "\n".join(parts)


def _files(doc: dict) -> str:
    lines = ["## Files of this run\n"]
    for key, value in doc.get("files", {}).items():
        if isinstance(value, dict):
            for v, digest in value.items():
                lines.append(f"- `{v}` (input, SHA-256 {digest[:16]}…)")
        elif isinstance(value, list):
            for v in value:
                lines.append(f"- `{v}` ({key})")
        else:
            lines.append(f"- `{value}` ({key})")
    return "\n".join(lines)
