"""Presentation helpers for rendered reports: styled tables and figures with alt text.

Notebooks call these so that every report looks the same and nothing person-level or
unformatted reaches the page.
"""

from __future__ import annotations

import base64
import html
import io

import pandas as pd

__all__ = ["styled", "percent", "interval", "figure_html", "pp_interval", "safe_text", "publication_banner",
           "synthetic_notice"]

TABLE_CSS = [
    {"selector": "", "props": "border-collapse: collapse; font-size: 0.95em; margin: 0.5em 0 1em 0;"},
    {"selector": "th", "props": "background: #f0f3f7; text-align: left; padding: 4px 10px; border-bottom: 2px solid #b9c2cc;"},
    {"selector": "td", "props": "padding: 4px 10px; border-bottom: 1px solid #e3e7eb;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: bold; padding: 4px 0;"},
]


def percent(x, decimals: int = 0) -> str:
    """A proportion as a whole percentage (Justice Data Lab style); blank if missing."""
    if x is None or pd.isna(x):
        return "not shown"
    return f"{100 * float(x):.{decimals}f}%"


def interval(lo, hi, decimals: int = 0) -> str:
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "not shown"
    return f"{100 * float(lo):.{decimals}f}% to {100 * float(hi):.{decimals}f}%"


def pp_interval(lo, hi) -> str:
    """A difference interval in percentage points: "-31 to 4 percentage points"."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "not shown"
    return f"{100 * float(lo):.0f} to {100 * float(hi):.0f} percentage points"


def styled(df: pd.DataFrame, caption: str = "", footnote: str = ""):
    """A pandas Styler in the house style, index hidden; ``footnote`` shown below.

    Every cell, column heading, index label, the caption and the footnote are escaped:
    a label or name from the params or the data (``<script>``, ``<img onerror=...>``)
    is shown as text, never run as markup.
    """
    s = df.style.hide(axis="index").set_table_styles(TABLE_CSS)
    s = s.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    text_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if text_cols:
        s = s.set_properties(subset=text_cols, **{"text-align": "left"})
    if caption:
        s = s.set_caption(html.escape(caption))
    s = s.format(na_rep="[c]" if footnote else "", escape="html")
    if footnote:
        s = s.set_table_attributes(f'data-footnote="{html.escape(footnote)}"')
    return _WithFootnote(s, footnote)


class _WithFootnote:
    """A Styler plus a footnote paragraph, rendered together in notebooks."""

    def __init__(self, styler, footnote: str):
        self.styler, self.footnote = styler, footnote

    def _repr_html_(self) -> str:
        note = f'<p style="font-size:0.85em;color:#444">{html.escape(self.footnote)}</p>' if self.footnote else ""
        return self.styler.to_html() + note


def figure_html(fig, alt: str) -> str:
    """Embed a figure as an SVG ``<img>`` with alt text (nbconvert keeps it as is).

    SVG stays sharp on paper and when zoomed, and its words stay text (searchable, and
    copied from the PDF), in the reader's own sans-serif if DejaVu Sans is missing. The
    ``<figure>`` scrolls sideways on a phone rather than shrinking the words (report.css).
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "evallib"}):
        # transparent: on a phone the figure scrolls, and the scroll shadows must show through
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None}, transparent=True)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return (f'<figure class="evl-figure" tabindex="0"><img src="data:image/svg+xml;base64,{data}" '
            f'alt="{html.escape(alt)}"/></figure>')


def safe_text(text: str, threshold: int) -> str:
    """A diagnostic message with its counts of people or events taken out.

    Model diagnostics ("Only 13 people in the smaller outcome group") can give back a
    count the tables suppress (13 minus the completers' published 9 is the hidden 4),
    so when suppression is on every number of people or events becomes words. A number
    that is a rule, not a count ("fewer than 10 events per term", "at least 10 people
    in each group"), is no one's count and stays as it is.
    """
    import re

    if threshold < 2:
        return text
    units = r"(?:treated |comparison |control )?(?:people|persons?|events?|completers|non-completers)"
    rule_before = re.compile(r"(?:(?:fewer|less|more|greater) than|at (?:least|most)|under|over|below|above|"
                             r"minimum of|maximum of)\s*$", re.I)

    def count(m: re.Match, words: str) -> str:
        if rule_before.search(text[:m.start(1)]) or re.match(r"\s+per\b", text[m.end():]):
            return m.group(0)
        return words

    text = re.sub(rf"\b[Oo]nly (\d+) ({units})", lambda m: count(m, f"Few {m.group(2)}"), text)
    text = re.sub(rf"\b(\d+) ({units})", lambda m: count(m, f"some {m.group(2)}"), text)
    return text[:1].upper() + text[1:]


NOT_FOR_PUBLICATION_HTML = (
    '<div class="not-for-publication" style="position:fixed;top:0;left:0;right:0;z-index:10;background:#b00020;'
    'color:#fff;text-align:center;font-weight:bold;padding:3px;">NOT FOR PUBLICATION: small-number suppression '
    'is off</div><p style="color:#b00020;font-weight:bold">NOT FOR PUBLICATION: small-number suppression is off.</p>'
)


def publication_banner(rule) -> str:
    """The "not for publication" banner (fixed, so it prints on every page) when suppression is off."""
    return "" if rule.active else NOT_FOR_PUBLICATION_HTML


def synthetic_notice(synthetic) -> str:
    """A notice for the top of a report made from synthetic data (``dataset.yaml``'s
    ``synthetic`` block is set), so no reader takes the figures for real people's."""
    if not synthetic:
        return ""
    return ('<p class="evl-synthetic" role="note"><strong>Synthetic data.</strong> Every figure in this report '
            "comes from made-up records, generated to demonstrate the methods. They describe no real "
            "people and no real service.</p>")
