"""Matplotlib figures in one house style: readable at A4, colour-blind-safe, titles that state the finding.

The palette is Okabe & Ito's (2008) colour-blind-safe set. Every function returns a
:class:`matplotlib.figure.Figure` and draws only group-level numbers.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["PALETTE", "GROUP_COLOURS", "A4_WIDTH_IN", "house_style", "fit_title", "rate_intervals"]

#: The text width of a portrait A4 page (210 mm less 2 x 13 mm margins), in inches. A
#: figure this wide prints at its own size, so its 9-12 pt text is 9-12 pt on paper.
A4_WIDTH_IN = 7.2

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
GROUP_COLOURS = {"completed": "#0072B2", "not_completed": "#D55E00", "ongoing": "#999999",
                 "referred_not_started": "#009E73"}


def house_style() -> None:
    """Set matplotlib defaults for report figures (A4 width, large text, no chart junk)."""
    plt.rcParams.update({
        "figure.figsize": (A4_WIDTH_IN, 3.6), "figure.dpi": 110, "savefig.dpi": 150,
        "font.size": 11, "axes.titlesize": 12, "axes.titleweight": "bold", "axes.titlelocation": "left",
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "legend.frameon": False,
    })


def fit_title(fig, ax, title: str, **kwargs) -> None:
    """Set ``ax``'s title wrapped to the plot's width, so it never runs past the plot.

    The figure is laid out first to learn the plot's width; the title is then wrapped at
    a character count that fits it (bold type averages about 0.6 em a character).
    """
    import textwrap

    fig.tight_layout()
    size = kwargs.get("fontsize", plt.rcParams["axes.titlesize"])
    size = matplotlib.font_manager.FontProperties(size=size).get_size_in_points()
    width_pt = ax.get_position().width * fig.get_figwidth() * 72
    ax.set_title(textwrap.fill(title, max(20, int(width_pt / (0.62 * size)))), **kwargs)
    fig.tight_layout()


def rate_intervals(table: pd.DataFrame, *, title: str, xlabel: str = "Proven reoffending rate (%)"):
    """Dot-and-interval figure of group rates with 95% intervals.

    ``table`` has ``label, rate, ci_low, ci_high, n`` and optionally ``group`` (for
    colours); rows with a suppressed (missing) rate are shown as "not shown".
    """
    house_style()
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 1.1 + 0.8 * len(table)))
    y = np.arange(len(table))[::-1]
    for yi, (_, r) in zip(y, table.iterrows(), strict=True):
        colour = GROUP_COLOURS.get(r.get("group"), PALETTE[0])
        if pd.isna(r["rate"]):
            ax.text(1, yi, "not shown: small numbers", va="center", color="#555555")
        else:
            ax.errorbar(100 * r["rate"], yi, xerr=[[100 * (r["rate"] - r["ci_low"])], [100 * (r["ci_high"] - r["rate"])]],
                        fmt="o", color=colour, capsize=5, markersize=8, lw=2)
            ax.text(100 * r["ci_high"] + 2, yi, f"{100 * r['rate']:.0f}%", va="center", color=colour)
    ax.set_yticks(list(y))
    ax.set_yticklabels([_label_with_n(r) for _, r in table.iterrows()])
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.7, len(table) - 0.3)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    fit_title(fig, ax, title)
    return fig


def _label_with_n(row) -> str:
    return row["label"] if pd.isna(row["n"]) else f"{row['label']} (n = {int(row['n'])})"


def flow_diagram(flow: pd.DataFrame, *, title: str = "From records supplied to records analysed"):
    """A CONSORT-style diagram of the record flow.

    ``flow`` is the *published* flow (:func:`evallib.reports.evaluation.published_flow`): columns
    ``Stage``, ``Step`` (``""`` kept / ``"set aside"``), ``People`` (already
    disclosure-controlled strings) and ``Reason``. Stages up to the starters run down
    the middle with people set aside listed to the right; the completers and
    non-completers analysed then branch side by side.
    """
    house_style()
    stages = list(dict.fromkeys(flow["Stage"]))
    branch = [s for s in stages if s.startswith(("Completers", "Non-completers"))]
    trunk = [s for s in stages if s not in branch]
    n_levels = len(trunk) + 1
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 1.05 * n_levels + 0.3))
    ax.set_xlim(0, 10)
    ax.set_ylim(-n_levels + 0.45, 0.55)
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.4", "fc": "#eaf2fa", "ec": "#0072B2", "lw": 1.2}
    side = {"boxstyle": "round,pad=0.4", "fc": "#fdf1e6", "ec": "#D55E00", "lw": 1.0}
    arrow = {"arrowstyle": "->", "color": "#555555"}

    def kept_text(stage):
        rows = flow[(flow["Stage"] == stage) & (flow["Step"] == "")]
        unit = "records" if stage.startswith("Referrals") else "people"
        return f"{stage}\n{rows['People'].iloc[0] if len(rows) else ''} {unit}"

    def excluded(stage):
        rows = flow[(flow["Stage"] == stage) & (flow["Step"] != "")]
        return "\n".join(f"{r['People']}: {r['Reason']}" for _, r in rows.iterrows())

    x_mid = 2.6
    for i, stage in enumerate(trunk):
        ax.text(x_mid, -i, kept_text(stage), ha="center", va="center", fontsize=10, bbox=box)
        if i < len(trunk) - 1:
            ax.annotate("", xy=(x_mid, -i - 0.62), xytext=(x_mid, -i - 0.36), arrowprops=arrow)
        if text := excluded(stage):
            ax.text(5.3, -i, text, ha="left", va="center", fontsize=9, bbox=side)
            ax.annotate("", xy=(5.15, -i), xytext=(4.3, -i), arrowprops={**arrow, "color": "#D55E00"})
    y0 = -len(trunk)
    for x, name in ((1.6, "Completers analysed"), (6.4, "Non-completers analysed")):
        if name not in stages:
            continue
        ax.annotate("", xy=(x, y0 + 0.35), xytext=(x_mid, y0 + 0.65), arrowprops=arrow)
        ax.text(x, y0, kept_text(name), ha="center", va="center", fontsize=10, bbox=box)
    fit_title(fig, ax, title)
    return fig
