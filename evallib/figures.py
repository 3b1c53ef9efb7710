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

__all__ = ["PALETTE", "GROUP_COLOURS", "house_style", "rate_intervals"]

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
GROUP_COLOURS = {"completed": "#0072B2", "not_completed": "#D55E00", "ongoing": "#999999",
                 "referred_not_started": "#009E73"}


def house_style() -> None:
    """Set matplotlib defaults for report figures (A4 width, large text, no chart junk)."""
    plt.rcParams.update({
        "figure.figsize": (7.5, 3.6), "figure.dpi": 110, "savefig.dpi": 150,
        "font.size": 11, "axes.titlesize": 12, "axes.titleweight": "bold", "axes.titlelocation": "left",
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "legend.frameon": False,
    })


def rate_intervals(table: pd.DataFrame, *, title: str, xlabel: str = "Proven reoffending rate (%)"):
    """Dot-and-interval figure of group rates with 95% intervals.

    ``table`` has ``label, rate, ci_low, ci_high, n`` and optionally ``group`` (for
    colours); rows with a suppressed (missing) rate are shown as "not shown".
    """
    house_style()
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.8 * len(table)))
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
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def _label_with_n(row) -> str:
    return row["label"] if pd.isna(row["n"]) else f"{row['label']} (n = {int(row['n'])})"


def flow_diagram(flow: pd.DataFrame, *, title: str = "From records supplied to records analysed"):
    """A CONSORT-style diagram of the record flow.

    ``flow`` is the *published* flow (:func:`evallib.evaluation.published_flow`): columns
    ``Stage``, step marker (``""`` kept / ``"set aside"``), ``People`` (already
    disclosure-controlled strings) and ``Reason``. Kept stages are boxes down the
    middle; people set aside at a stage are listed in a box to its right.
    """
    house_style()
    step_col = [c for c in flow.columns if c not in ("Stage", "People", "Reason")][0]
    stages = list(dict.fromkeys(flow["Stage"]))
    fig_h = 0.95 * len(stages) + 0.6
    fig, ax = plt.subplots(figsize=(8.3, fig_h))
    ax.set_xlim(0, 10)
    ax.set_ylim(-len(stages) + 0.3, 1.0)
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.4", "fc": "#eaf2fa", "ec": "#0072B2", "lw": 1.2}
    side = {"boxstyle": "round,pad=0.4", "fc": "#fdf1e6", "ec": "#D55E00", "lw": 1.0}
    for i, stage in enumerate(stages):
        rows = flow[flow["Stage"] == stage]
        kept = rows[rows[step_col] == ""]
        y = -i
        n = kept["People"].iloc[0] if len(kept) else ""
        unit = "rows" if stage.startswith("Referrals") else "people"
        ax.text(2.6, y, f"{stage}\n{n} {unit}", ha="center", va="center", fontsize=10, bbox=box)
        if i < len(stages) - 1:
            ax.annotate("", xy=(2.6, y - 0.62), xytext=(2.6, y - 0.36),
                        arrowprops={"arrowstyle": "->", "color": "#555555"})
        excl = rows[rows[step_col] != ""]
        if len(excl):
            text = "\n".join(f"{r['People']}: {r['Reason']}" for _, r in excl.iterrows())
            ax.text(5.3, y, text, ha="left", va="center", fontsize=8.5, bbox=side)
            ax.annotate("", xy=(5.15, y), xytext=(4.3, y), arrowprops={"arrowstyle": "->", "color": "#D55E00"})
    ax.set_title(title)
    fig.tight_layout()
    return fig
