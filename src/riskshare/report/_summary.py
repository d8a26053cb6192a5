"""Terminal output of a run: a short table for people, one JSON object for machines.

Both are read off the report.json document, so they agree with the files.
"""

from __future__ import annotations

from ._format import fmt_number, money

__all__ = ["summary_text", "summary_json"]


def summary_text(doc: dict, out_dir: str) -> str:
    """A short table: per member stand-alone value, ∫U dμ, payoff, cash, collateral."""
    unit = doc["money"]["unit"]
    digits = 0 if abs(doc["pool"]["aggregate"]["worst"]) >= 1000 else 2
    names = [a["name"] for a in doc["agents"]]
    width = max(8, *(len(s) for s in names))
    cols = ("stand-alone", "∫U dμ", "payoff", "cash", "collateral")
    head = f"{'member':<{width}}  " + "  ".join(f"{c:>14}" for c in cols)
    lines = [head, "-" * len(head)]
    for a in doc["agents"]:
        vals = (a["standalone"], a["mu_integral"]["value"], a["payoff"], a["cash"],
                a["collateral"])
        lines.append(f"{a['name']:<{width}}  "
                     + "  ".join(f"{money(v, '', digits):>14}" for v in vals))
    eff, sur = doc["efficient"], doc["surplus"]
    checks = doc["checks"]
    failed = [k for k, c in checks.items() if not c["passed"]]
    lines += [
        "",
        f"amounts in {unit}; {doc['pool']['n']} members, {doc['pool']['m']:,} scenarios "
        f"({doc['pool']['source']})",
        f"welfare {money(eff['welfare'], unit, digits)}, certified gap "
        f"{fmt_number(eff['gap'])} (relative {fmt_number(eff.get('relative_gap'))}), "
        f"{eff.get('uniqueness')}",
        f"surplus {money(sur['value'], unit, digits)} ± {money(sur['stderr'], unit, digits)}; "
        + (f"auction won by {doc['auction']['winner']}" if doc["auction"] else "fixed order")
        + f"; order: {', '.join(doc['order'])}",
        (f"checks: all {len(checks)} passed" if not failed
         else f"checks: {len(failed)} of {len(checks)} FAILED: {', '.join(failed)}"),
        f"files: {out_dir}/report.md, report.json, allocation.csv, figures/",
    ]
    return "\n".join(lines)


def summary_json(doc: dict, out_dir: str) -> dict:
    """The machine summary printed under ``--json``."""
    return {
        "out": out_dir,
        "all_checks_passed": doc["all_checks_passed"],
        "money": doc["money"]["unit"],
        "n": doc["pool"]["n"],
        "m": doc["pool"]["m"],
        "welfare": doc["efficient"]["welfare"],
        "upper_bound": doc["efficient"]["upper_bound"],
        "gap": doc["efficient"]["gap"],
        "uniqueness": doc["efficient"]["uniqueness"],
        "surplus": doc["surplus"],
        "winner": doc["auction"]["winner"] if doc["auction"] else None,
        "order": doc["order"],
        "agents": [{k: a[k] for k in ("name", "standalone", "payoff", "cash", "collateral",
                                      "bid")} for a in doc["agents"]],
        "failed_checks": [k for k, c in doc["checks"].items() if not c["passed"]],
        "timings": doc["timings"],
        "files": doc["files"],
    }
