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
    """Set ``ax``'s title, left-aligned on the plot and wrapped so it never runs out of the figure.

    The figure is laid out first to learn where the plot starts; the title is then wrapped
    to the width from there to the figure's right edge (bold type averages about 0.6 em
    a character).
    """
    import textwrap

    fig.tight_layout()
    size = kwargs.get("fontsize", plt.rcParams["axes.titlesize"])
    size = matplotlib.font_manager.FontProperties(size=size).get_size_in_points()
    width_pt = (0.98 - ax.get_position().x0) * fig.get_figwidth() * 72
    ax.set_title(textwrap.fill(title, max(20, int(width_pt / (0.62 * size))), break_on_hyphens=False), **kwargs)
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
    import textwrap

    house_style()
    stages = list(dict.fromkeys(flow["Stage"]))
    branch = [s for s in stages if s.startswith(("Completers", "Non-completers"))]
    trunk = [s for s in stages if s not in branch]
    box = {"boxstyle": "round,pad=0.4", "fc": "#eaf2fa", "ec": "#0072B2", "lw": 1.2}
    side = {"boxstyle": "round,pad=0.4", "fc": "#fdf1e6", "ec": "#D55E00", "lw": 1.0}
    arrow = {"arrowstyle": "->", "color": "#555555"}

    def kept_text(stage):
        rows = flow[(flow["Stage"] == stage) & (flow["Step"] == "")]
        unit = "records" if stage.startswith("Referrals") else "people"
        name = textwrap.fill(stage, 28, break_on_hyphens=False)
        return f"{name}\n{rows['People'].iloc[0] if len(rows) else ''} {unit}"

    def excluded(stage):
        rows = flow[(flow["Stage"] == stage) & (flow["Step"] != "")]
        return "\n".join(textwrap.fill(f"{r['People']}: {r['Reason']}", 50, subsequent_indent="    ",
                                        break_on_hyphens=False) for _, r in rows.iterrows())

    # Every text wrapped to fit A4 at its own size (9-9.5 pt); each level as tall as its
    # longest box (in inches: 0.16 a line plus room for the arrow).
    texts = [(kept_text(s), excluded(s)) for s in trunk]
    branch_lines = max((kept_text(b).count("\n") + 1 for b in branch), default=0)
    heights = [0.5 + 0.16 * max(k.count("\n") + 1, e.count("\n") + 1 if e else 0) for k, e in texts]
    heights.append(0.5 + 0.16 * branch_lines)
    total = sum(heights)
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, total + 0.5))
    ax.set_xlim(0, 10)
    ax.set_ylim(-total, 0)
    ax.axis("off")
    centres, top = [], 0.0
    for h in heights:
        centres.append(top - h / 2)
        top -= h
    x_mid = 2.1
    for i, (kept, text) in enumerate(texts):
        y = centres[i]
        ax.text(x_mid, y, kept, ha="center", va="center", fontsize=9.5, bbox=box)
        if i < len(texts) - 1:
            ax.annotate("", xy=(x_mid, centres[i + 1] + 0.1 + 0.08 * (texts[i + 1][0].count("\n") + 1)),
                        xytext=(x_mid, y - 0.1 - 0.08 * (kept.count("\n") + 1)), arrowprops=arrow)
        if text:
            ax.text(4.3, y, text, ha="left", va="center", fontsize=9, bbox=side)
            ax.annotate("", xy=(4.15, y), xytext=(3.75, y), arrowprops={**arrow, "color": "#D55E00"})
    y0 = centres[-1]
    last = texts[-1][0] if texts else ""
    for x, name in ((1.3, "Completers analysed"), (5.0, "Non-completers analysed")):
        if name not in stages:
            continue
        ax.annotate("", xy=(x, y0 + 0.1 + 0.08 * branch_lines),
                    xytext=(x_mid, centres[-2] - 0.1 - 0.08 * (last.count("\n") + 1) if texts else 0),
                    arrowprops=arrow)
        ax.text(x, y0, kept_text(name), ha="center", va="center", fontsize=9.5, bbox=box)
    fit_title(fig, ax, title)
    return fig
