r"""Figures of a run (PNG, matplotlib's Agg renderer, no display needed).

Notation: ``X_i`` positions (n, m), ``X = Σ_i X_i`` the pooled position,
``Y*`` the efficient allocation, ``t`` the cash, ``s(ω)`` share vectors of a
block (a scenario of the sign-constrained menu, a layer of the comonotone one).

Each function draws one figure from arrays and returns its caption; nothing is
computed here beyond unit scaling. Figures are built on
:class:`matplotlib.figure.Figure` directly, so no global pyplot state is touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ._format import money_unit

__all__ = ["plot_losses", "plot_simplex", "plot_payoffs", "plot_collateral", "DPI"]

DPI = 130
_SQRT3_2 = np.sqrt(3.0) / 2.0


def _unit_label(unit: str, suffix: str) -> str:
    return f"{suffix} {unit}".strip() if suffix else unit


def _palette(n: int):
    """Distinct colours without grey (grey marks "before sharing" and μ's draws)."""
    tab10 = colormaps["tab10"]
    tab20 = colormaps["tab20"]
    colors = [tab10(i) for i in range(10) if i != 7] + ["black"]
    colors += [tab20(i) for i in range(1, 20, 2) if i != 15]
    return [colors[i % len(colors)] for i in range(n)]


def plot_losses(path: Path, names, positions, allocation, cash, unit: str) -> str:
    """Each member's loss before and after sharing against the pooled loss (small multiples)."""
    X = np.asarray(positions, dtype=float)
    Y = np.asarray(allocation, dtype=float)
    n = X.shape[0]
    pooled = -X.sum(axis=0)
    div, suffix = money_unit(np.concatenate([pooled, -X.ravel()]))
    label = _unit_label(unit, suffix)
    cols = min(5, n)
    rows = int(np.ceil(n / cols))
    height = 2.5 * rows + 1.2
    fig = Figure(figsize=(2.9 * cols + 0.8, height), dpi=DPI)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    fig.subplots_adjust(left=0.7 / (2.9 * cols + 0.8), right=0.98, wspace=0.32, hspace=0.55,
                        top=1 - 0.75 / height, bottom=0.85 / height)
    colors = _palette(n)
    top = max(float(np.max(pooled, initial=0.0)), 1e-12) / div
    for i in range(rows * cols):
        ax = axes.flat[i]
        if i >= n:
            ax.set_visible(False)
            continue
        _loss_panel(ax, pooled / div, -X[i] / div, -Y[i] / div, colors[i], top)
        ax.set_title(f"{names[i]}\ncash {cash[i] / div:+,.3g} {label}", fontsize=8.5)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"member's loss ({label})", fontsize=8)
    for ax in axes[-1, :]:
        ax.set_xlabel(f"pooled loss ({label})", fontsize=8)
    handles, _ = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, ["own loss before sharing", "share of the pooled loss after sharing"],
               loc="lower center", ncol=2, fontsize=8.5, markerscale=2.5, frameon=False)
    fig.suptitle("Loss of each member in every scenario, before and after sharing",
                 fontsize=10.5)
    fig.savefig(path)
    return ("Each dot is a scenario: horizontal, the pooled loss; vertical, the member's own "
            "loss before sharing (grey) and its share of the pooled loss after sharing "
            "(colour). The thin diagonal is the whole pooled loss. Cash, a fixed sum settled "
            "in every scenario, is given above each panel and not included in the dots.")


def _loss_panel(ax, pooled, before, after, color, top: float) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.scatter(pooled, before, s=5, color="0.7", lw=0, label="before")
    ax.scatter(pooled, after, s=5, color=color, lw=0, label="after")
    high = max(float(np.max(before, initial=0.0)), float(np.max(after, initial=0.0)), 1e-12)
    ax.plot([0, top], [0, top], color="0.85", lw=0.8, zorder=0)
    ax.set_ylim(-0.04 * high, 1.08 * high)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _ternary(shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shares (..., 3) to plane coordinates: vertex 0 bottom left, 1 bottom right, 2 top."""
    s = np.asarray(shares, dtype=float)
    return s[..., 1] + 0.5 * s[..., 2], _SQRT3_2 * s[..., 2]


def plot_simplex(path: Path, names, efficient_shares, block_sizes, mu_draws, unit: str,
                 status_quo=None, block_word: str = "scenario", note: str = "") -> str:
    """The menu of a three-member pool as a triangle: efficient shares per block and μ's draws.

    Parameters
    ----------
    efficient_shares : array_like, shape (3, B)
        Efficient share vector of each block.
    block_sizes : array_like, shape (B,)
        Size of each block's loss (the colour of its point).
    mu_draws : array_like, shape (K, 3)
        Draws of one block's shares under μ.
    status_quo : array_like, shape (3, B), optional
        Status-quo shares (drawn where they lie in the simplex).
    block_word : str
        ``"scenario"`` (sign-constrained menu) or ``"layer"`` (comonotone menu).
    """
    S = np.asarray(efficient_shares, dtype=float)
    size = np.abs(np.asarray(block_sizes, dtype=float))
    div, suffix = money_unit(size)
    distinct = np.unique(np.round(S.T, 6), axis=0).shape[0]
    fig = Figure(figsize=(7.2, 7.6), dpi=DPI)
    ax = fig.subplots()
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, _SQRT3_2], [0.0, 0.0]])
    ax.plot(corners[:, 0], corners[:, 1], color="0.2", lw=1.2)
    _ternary_grid(ax)
    mx, my = _ternary(np.asarray(mu_draws, dtype=float))
    ax.scatter(mx, my, s=3, color="0.6", alpha=0.5, lw=0,
               label=f"draws of μ for the largest {block_word}")
    if status_quo is not None:
        sq = np.asarray(status_quo, dtype=float).T
        ok = np.all((sq >= -1e-9) & (sq <= 1 + 1e-9), axis=1)
        qx, qy = _ternary(sq[ok])
        ax.scatter(qx, qy, s=22, marker="x", color="0.2", lw=0.9,
                   label=f"own losses as shares ({ok.sum()} {block_word}s)")
    ex, ey = _ternary(S.T)
    order = np.argsort(size)
    points = ax.scatter(ex[order], ey[order], c=size[order] / div, cmap="viridis", s=40,
                        edgecolor="black", lw=0.4, zorder=3,
                        label=f"efficient split ({S.shape[1]} {block_word}s, "
                              f"{distinct} distinct point{'s' if distinct > 1 else ''})")
    bar = fig.colorbar(points, ax=ax, orientation="horizontal", shrink=0.6, pad=0.04,
                       fraction=0.04)
    what = ("pooled loss of the sub-pool in the scenario" if block_word == "scenario"
            else f"width of the {block_word}")
    bar.set_label(f"{what} ({_unit_label(unit, suffix)})", fontsize=9)
    _corner_labels(ax, names)
    ax.set_xlim(-0.16, 1.16)
    ax.set_ylim(-0.14, _SQRT3_2 + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(loc="upper left", fontsize=8, frameon=False, markerscale=1.3,
              bbox_to_anchor=(-0.02, 1.02))
    ax.set_title(f"Three-member sub-pool: how each {block_word}'s loss is split", fontsize=10.5)
    fig.tight_layout()
    fig.savefig(path)
    menu = "sign-constrained" if block_word == "scenario" else "comonotone"
    return (f"The {menu} menu of the sub-pool {' / '.join(names)} is a product of triangles, "
            f"one per {block_word}; a point is a split of that {block_word}'s pooled loss (a "
            f"corner: one member bears all of it). Coloured dots: the efficient split of the "
            f"sub-pool (welfare maximised for these three members alone, on their own pooled "
            f"loss, with their own utilities) in each of its {block_word}s, coloured by the "
            f"{'loss' if block_word == 'scenario' else 'width of the layer'}; points on top "
            f"of each other are {block_word}s split the same way. Grey: "
            f"draws of the reference measure μ for the {block_word} with the largest loss. "
            + ("Crosses: the members' own losses as shares of the sub-pool's loss. "
               if status_quo is not None else "") + note).strip()


def _ternary_grid(ax) -> None:
    for k in (0.25, 0.5, 0.75):
        for a, b in ((0, 1), (1, 2), (2, 0)):
            p = np.zeros((2, 3))
            p[0, a], p[0, 3 - a - b] = k, 1 - k
            p[1, a], p[1, b] = k, 1 - k
            x, y = _ternary(p)
            ax.plot(x, y, color="0.88", lw=0.6, zorder=0)


def _corner_labels(ax, names) -> None:
    spots = [(0.0, -0.03, "top"), (1.0, -0.03, "top"), (0.5, _SQRT3_2 + 0.03, "bottom")]
    for name, (x, y, va) in zip(names, spots, strict=True):
        ax.text(x, y, f"{name}\nbears all", ha="center", va=va, fontsize=9)


def plot_payoffs(path: Path, names, standalone, mu_integral, mu_stderr, surplus_each,
                 unit: str, surplus_stderr: float = 0.0) -> str:
    """Stand-alone value, ∫U dμ and the payoff ∫U dμ + S/n, per member (grouped bars)."""
    U0 = np.asarray(standalone, dtype=float)
    I = np.asarray(mu_integral, dtype=float)
    se = np.asarray(mu_stderr, dtype=float)
    share = float(surplus_each)
    n = U0.size
    pay = I + share
    pay_se = np.sqrt(se ** 2 + (float(surplus_stderr) / n) ** 2)
    div, suffix = money_unit(np.concatenate([U0, I, pay]))
    x = np.arange(n)
    fig = Figure(figsize=(max(6.5, 1.0 * n + 2.5), 4.8), dpi=DPI)
    ax = fig.subplots()
    w = 0.27
    ax.bar(x - w, U0 / div, w, color="0.6", label="stand-alone value U(X)")
    ax.bar(x, I / div, w, color="tab:blue", yerr=2 * se / div, capsize=2,
           label="∫U dμ: value of a split drawn by μ")
    ax.bar(x + w, pay / div, w, color="tab:green", yerr=2 * pay_se / div, capsize=2,
           label=f"payoff = ∫U dμ + S/n  (S/n = {share / div:,.3g} {_unit_label(unit, suffix)})")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"value ({_unit_label(unit, suffix)}; a loss is negative)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.3g}"))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left", frameon=True, framealpha=0.9)
    ax.set_title("Payoff of each member, built from ∫U dμ and an equal share of the surplus"
                 "\n(error bars: two standard errors of the μ-integrals)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return ("For each member: grey, the value of its own loss alone; blue, its value of a split "
            "drawn at random under μ (what the equalising price schedules guarantee it); "
            "green, its final payoff, blue plus an equal share S/n of the surplus paid through "
            "the auction. Green above grey is a gain from pooling. Values are certainty "
            "equivalents, negative for a loss; error bars are two standard errors.")


def plot_collateral(path: Path, names, collateral, cash, unit: str) -> str:
    """Collateral each member locks, with its cash."""
    C = np.asarray(collateral, dtype=float)
    t = np.asarray(cash, dtype=float)
    n = C.size
    div, suffix = money_unit(np.concatenate([C, t]))
    x = np.arange(n)
    fig = Figure(figsize=(max(6.5, 0.9 * n + 2.5), 4.4), dpi=DPI)
    ax = fig.subplots()
    w = 0.38
    bars = ax.bar(x - w / 2, C / div, w, color="tab:red", label="collateral to lock")
    ax.bar_label(bars, labels=[f"{c / div:,.3g}" for c in C], fontsize=7, padding=2)
    ax.bar(x + w / 2, t / div, w, color="tab:purple", alpha=0.8,
           label="cash (+ received, − paid)")
    ax.margins(y=0.12)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(_unit_label(unit, suffix))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.3g}"))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Collateral each member locks before the year, and its cash", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return ("Red: the collateral each member locks in advance, the most it can owe in any "
            "scenario (its largest negative receipt, rounded up to the settlement unit). "
            "Purple: its cash, settled in every scenario; the cash of all members sums to "
            "zero.")
