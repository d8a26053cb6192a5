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
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ._format import money_unit

__all__ = ["plot_losses", "plot_simplex", "plot_payoffs", "plot_collateral", "losses_figure",
           "collateral_figure", "compact", "DPI"]

DPI = 130
_SQRT3_2 = np.sqrt(3.0) / 2.0
#: colours of the losses figure: the same in every member's panel, so one legend fits all
BEFORE_COLOUR = "0.7"
AFTER_COLOUR = "tab:blue"
#: the collateral panel switches to a log scale when the largest positive amount is more
#: than this many times the smallest
LOG_RATIO = 10.0


def _unit_label(unit: str, suffix: str) -> str:
    return f"{suffix} {unit}".strip() if suffix else unit


def compact(x: float, signed: bool = False) -> str:
    """A short label for an amount: ``8.13M``, ``153k``, ``695``, ``0`` (``+`` when signed)."""
    x = float(x)
    if x == 0 or not np.isfinite(x):
        return "0" if x == 0 else str(x)
    a = abs(x)
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= size:
            text = f"{x / size:.3g}{suffix}"
            break
    else:
        text = f"{x:.3g}"
    return ("+" + text) if signed and x > 0 else text


def plot_losses(path: Path, names, positions, allocation, cash, unit: str) -> str:
    """Each member's loss before and after sharing against the pooled loss (small multiples)."""
    losses_figure(names, positions, allocation, cash, unit).savefig(path)
    return ("Each dot is a scenario: horizontal, the pooled loss; vertical, the member's own "
            "loss before sharing (grey) and its share of the pooled loss after sharing "
            "(blue). The thin diagonal is the whole pooled loss. Cash, a fixed sum settled "
            "in every scenario, is given above each panel and not included in the dots.")


def losses_figure(names, positions, allocation, cash, unit: str) -> Figure:
    """The figure of :func:`plot_losses`, not yet saved."""
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
    top = max(float(np.max(pooled, initial=0.0)), 1e-12) / div
    for i in range(rows * cols):
        ax = axes.flat[i]
        if i >= n:
            ax.set_visible(False)
            continue
        _loss_panel(ax, pooled / div, -X[i] / div, -Y[i] / div, top)
        ax.set_title(f"{names[i]}\ncash {cash[i] / div:+,.3g} {label}", fontsize=8.5)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"member's loss ({label})", fontsize=8)
    for ax in axes[-1, :]:
        ax.set_xlabel(f"pooled loss ({label})", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8.5, markerscale=2.5,
               frameon=False)
    fig.suptitle("Loss of each member in every scenario, before and after sharing",
                 fontsize=10.5)
    return fig


def _loss_panel(ax, pooled, before, after, top: float) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.scatter(pooled, before, s=5, color=BEFORE_COLOUR, lw=0,
               label="own loss before sharing")
    ax.scatter(pooled, after, s=5, color=AFTER_COLOUR, lw=0,
               label="share of the pooled loss after sharing")
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
    """Collateral each member locks (top, log scale when amounts differ widely), its cash
    (bottom); every bar is labelled with its amount."""
    fig, log = collateral_figure(names, collateral, cash, unit)
    fig.savefig(path)
    scale = ("on a logarithmic scale, so that small amounts stay visible next to large "
             "ones; " if log else "")
    return ("Top: the collateral each member locks in advance, the most it can owe in any "
            f"scenario (its largest negative receipt, rounded up to the settlement unit), "
            f"{scale}each bar is labelled with its amount ({unit}), and a member that can "
            "never owe anything locks 0. Bottom: its cash, settled in every scenario "
            "(+ received, − paid); the cash of all members sums to zero.")


def collateral_figure(names, collateral, cash, unit: str) -> tuple[Figure, bool]:
    """The figure of :func:`plot_collateral`, not yet saved, and whether its collateral
    panel is on a log scale."""
    C = np.asarray(collateral, dtype=float)
    t = np.asarray(cash, dtype=float)
    n = C.size
    x = np.arange(n)
    fig = Figure(figsize=(max(6.5, 0.9 * n + 2.5), 6.6), dpi=DPI)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    log = _collateral_panel(top, x, C, unit)
    _cash_panel(bottom, x, t, unit)
    bottom.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    fig.suptitle("Collateral each member locks before the year, and its cash", fontsize=10.5)
    fig.tight_layout()
    return fig, log


def _collateral_panel(ax, x, C, unit: str) -> bool:
    """Bars of the collateral from the axis' floor, each labelled; True on a log scale."""
    positive = C[C > 0]
    log = positive.size > 0 and float(positive.max()) > LOG_RATIO * float(positive.min())
    if log:
        floor = 10.0 ** np.floor(np.log10(float(positive.min())) - 0.3)
        ax.set_yscale("log")
        ax.set_ylim(floor, float(positive.max()) * 4.0)
    else:
        floor = 0.0
        ax.set_ylim(0.0, max(float(np.max(C, initial=0.0)), 1e-12) * 1.18)
    heights = np.where(C > 0, C - floor, 0.0)
    ax.bar(x, heights, 0.6, bottom=floor, color="tab:red")
    for xi, c in zip(x, C, strict=True):
        ax.annotate(compact(c), (xi, max(c, floor)), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v)))
    ax.set_ylabel(f"collateral ({unit}{', log scale' if log else ''})", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return log


def _cash_panel(ax, x, t, unit: str) -> None:
    ax.bar(x, t, 0.6, color="tab:purple", alpha=0.8)
    for xi, v in zip(x, t, strict=True):
        ax.annotate(compact(v, signed=True), (xi, v), xytext=(0, 2 if v >= 0 else -2),
                    textcoords="offset points", ha="center",
                    va="bottom" if v >= 0 else "top", fontsize=7.5)
    ax.axhline(0, color="black", lw=0.8)
    ax.margins(y=0.25)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v, signed=True)))
    ax.set_ylabel(f"cash ({unit}; + received)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
