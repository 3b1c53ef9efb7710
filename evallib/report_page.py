"""Finishing touches on a rendered HTML report: a contents list, and tables a reader can scroll.

nbconvert gives headings no ``id`` and tables no container, so a report has no contents
list, and on a phone a wide table is cut off with no sign that more is there. These
changes are made to the finished page (no script runs in a report, so it must be done
here):

- every ``<h2>`` gets an ``id``, and a contents list linking them goes before the first;
- every ``<table>`` sits in a keyboard-reachable ``div.evl-scroll`` named after its
  caption, which scrolls sideways (with a shadow at the hidden edge) when the table is
  wider than the screen; report.css styles it;
- a table too wide for a portrait A4 page at 8 pt, without breaking a word, is marked
  ``evl-wide`` and printed on a landscape page of its own;
- a number with a hyphen or dash inside ("10-13", "2021-22", "18-24") is kept on one line
  (browsers may break after such a hyphen; CSS has no other way to forbid it).
"""

from __future__ import annotations

import html
import re

__all__ = ["finish_report", "add_contents", "wrap_tables", "min_table_width_em", "keep_numbers_whole"]

_H2 = re.compile(r"<h2(?P<attrs>(?:\s[^>]*)?)>(?P<inner>.*?)</h2>", re.S | re.I)
_TABLE = re.compile(r"<table\b.*?</table>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_ROW = re.compile(r"<tr\b.*?</tr>", re.S | re.I)
_CELL = re.compile(r"<t([hd])\b([^>]*)>(.*?)</t[hd]>", re.S | re.I)
_HEADING = re.compile(r"<(h[1-4])\b[^>]*>(.*?)</\1>", re.S | re.I)
_CAPTION = re.compile(r"<caption\b[^>]*>(.*?)</caption>", re.S | re.I)

#: A4 portrait text width (210 mm less 2 x 13 mm margins) in ems of the 8 pt table type.
PORTRAIT_EM = 184 / 25.4 * 72 / 8
#: Average advance of a character in Arial-like type, in ems (capitals and digits are wider).
_CHAR_EM = 0.56
#: Left and right padding of a printed cell, in ems.
_PAD_EM = 0.9


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def add_contents(page: str, *, minimum: int = 2) -> str:
    """Give each ``<h2>`` an id and put a linked contents list before the first one.

    Reports with fewer than ``minimum`` sections are left without one.
    """
    heads = list(_H2.finditer(page))
    if len(heads) < minimum:
        return page
    taken = set(re.findall(r'\bid="([^"]+)"', page))
    items, out, last = [], [], 0
    for m in heads:
        attrs = m.group("attrs")
        found = re.search(r'\bid="([^"]+)"', attrs)
        ident = found.group(1) if found else _slug(_text(m.group("inner")), taken)
        if not found:
            attrs = f' id="{ident}"{attrs}'
        items.append(f'<li><a href="#{html.escape(ident)}">{html.escape(_text(m.group("inner")))}</a></li>')
        out += [page[last:m.start()], f"<h2{attrs}>{m.group('inner')}</h2>"]
        last = m.end()
    out.append(page[last:])
    nav = ('<nav class="evl-contents" aria-labelledby="evl-contents-title">'
           '<p class="evl-contents-title" id="evl-contents-title">Contents</p>'
           f'<ul>{"".join(items)}</ul></nav>\n')
    first = heads[0].start()
    body = "".join(out)
    return body[:first] + nav + body[first:]


def min_table_width_em(table: str) -> float:
    """The narrowest a table can be set without breaking a word, in ems.

    Each column is as wide as its longest word (a number, "[c]" or "(83%)" counts as a
    word; words break only at spaces) plus padding. Cells spanning several columns are
    left out. An estimate from character counts, good enough to choose the page.
    """
    widths: dict[int, int] = {}
    for row in _ROW.findall(table):
        col = 0
        for _, attrs, inner in _CELL.findall(row):
            span = re.search(r'colspan="?(\d+)', attrs)
            n = int(span.group(1)) if span else 1
            if n == 1:
                words = _text(inner).split() or [""]
                widths[col] = max(widths.get(col, 0), max(len(w) for w in words))
            col += n
    return sum(w * _CHAR_EM + _PAD_EM for w in widths.values())


def wrap_tables(page: str) -> str:
    """Put each table in a labelled, focusable scroll container; mark ones too wide for portrait A4."""
    count = 0
    headings = [(h.start(), _text(h.group(2))) for h in _HEADING.finditer(page)]

    def wrap(m: re.Match) -> str:
        nonlocal count
        count += 1
        table = m.group(0)
        cap = _CAPTION.search(table)
        # Named by its caption, else by the heading it comes under.
        label = _text(cap.group(1)) if cap else next((t for at, t in reversed(headings) if at < m.start()), "")
        label = f"Table: {label}" if label else f"Table {count}"
        wide = " evl-wide" if min_table_width_em(table) > 0.95 * PORTRAIT_EM else ""
        return (f'<div class="evl-scroll{wide}" tabindex="0" role="group" aria-label="{html.escape(label)}">'
                f"{table}</div>")

    return _TABLE.sub(wrap, page)


_RANGE = re.compile(r"(?<![\w.-])\d[\d.,]*(?:[-\u2013]\d[\d.,]*)+")
_PIECES = re.compile(r"(<(?:style|script)\b.*?</(?:style|script)>|<[^>]*>)", re.S | re.I)


def keep_numbers_whole(page: str) -> str:
    """Wrap each number with a hyphen or dash inside it in a no-wrap span (text unchanged).

    Only text between tags is touched: never a tag, an attribute, a style sheet or a script.
    """
    def text(piece: str) -> str:
        return _RANGE.sub(lambda m: f'<span class="evl-nowrap">{m.group(0)}</span>', piece)

    start = page.find("<body")
    head, body = (page[:start], page[start:]) if start >= 0 else ("", page)
    parts = _PIECES.split(body)
    return head + "".join(p if i % 2 else text(p) for i, p in enumerate(parts))


def finish_report(page: str) -> str:
    """All of the above, for :func:`evallib.runner.render_html`."""
    return keep_numbers_whole(add_contents(wrap_tables(page)))
