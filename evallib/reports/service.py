"""The published service tables: disclosure control and the layout commissioners know.

:mod:`evallib.tables` computes raw counts by district and group; this module is the
gate they pass through before leaving the suite. Each table is protected with the
relations a reader could use against it declared to :func:`evallib.disclosure.suppress`
(districts summing to their group, "x of y" pairs, parts of wholes), then written two
ways: tidy CSV columns (suppressed cells empty) and the wide layout of the provider's
published summary (seed 001: "2 of 3", "28 (33%)").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from evallib import tables
from evallib.disclosure import DisclosureRule, SuppressedTable
from evallib.params import AreaParams, Period, parse_period
from evallib.reports.gate import Gate, Publication
from evallib.schemas import Dataset

__all__ = ["PublishedTable", "publish_all", "publish", "TITLES", "title_for", "definitions_markdown",
           "cover_html", "headline", "disclosure_record"]

TITLES = {
    "referrals": "Referrals received, eligible and self-motivated (of the eligible)",
    "completions": "Completers by programme: completed of ended",
    "repeat_incidents": "People with a repeat incident while on intervention",
    "reduced_abuse": "Perpetrators who reduced their use of abuse, as reported by their (ex-)partners",
    "partner_engagement": "Partners and ex-partners engaged in support (all stages)",
    "partner_safety": "Partners and ex-partners feeling safer since intervention "
                      "(engaged, whose (ex-)partner completed)",
    "children": "Children of people on intervention",   # + the area's awareness programmes: title_for
    "referrals_by_source": "Referrals received by source",
    "demographics": "People referred: gender, ethnicity and age",
}

#: For "x of y" tables: (numerator, denominator).
PAIRS = {
    "repeat_incidents": ("with_repeat_incident", "on_intervention"),
    "reduced_abuse": ("reduced", "assessed"),
    "partner_engagement": ("engaged", "offered"),
    "partner_safety": ("feels_safer", "answered"),
}


def _names(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def title_for(name: str, area: AreaParams) -> str:
    """A table's title in the words of the area being run: the awareness programmes it
    leaves out are its own (Leicestershire's Foundations, or none), never another area's."""
    title = TITLES[name]
    awareness = [area.programmes[k].label for k in area.programmes_with_role("awareness")]
    if name == "children" and awareness:
        title += f" ({_names(awareness)} excluded)"
    return title


def definitions_markdown(area: AreaParams) -> str:
    """The report's closing definitions, naming this area's groups (if it has any)."""
    text = ("## Definitions\n\nReferrals are counted by the date received; completion by the date an episode "
            "ended (ongoing episodes are not counted as ended); repeat incidents, children and partner measures "
            "as defined in the service outcomes guide that comes with evallib.")
    groups = list(_groups(area))
    if groups:
        text += (f" Group rows ({_names(groups)}) are totals of their districts, computed from the records.")
    return text


@dataclass
class PublishedTable:
    """One table after disclosure control: ``tidy`` for CSV, ``display`` for the report."""

    name: str
    title: str
    tidy: pd.DataFrame
    display: pd.DataFrame
    footnote: str


def _groups(area: AreaParams) -> dict[str, list[str]]:
    return {g: m for g, m in area.groups.items() if len(m) > 1}


def _is_group(area: AreaParams, row: str) -> bool:
    return row in area.groups


def _tidy(s: SuppressedTable, index_name: str = "district") -> pd.DataFrame:
    out = s.values.reset_index().rename(columns={"index": index_name})
    return out


def publish(name: str, raw: pd.DataFrame, area: AreaParams, rule: DisclosureRule) -> PublishedTable:
    """Protect one raw table from :mod:`evallib.tables` on its own and lay it out for publication.

    A report publishes its tables through one gate (:func:`publish_all`); this is for a
    table shown alone.
    """
    gate = Gate(rule, report="service_outputs")
    ctx = _register(gate, name, raw, area)
    return _layout(name, ctx, gate.protect(), area, rule)


def _register(g: Gate, name: str, raw: pd.DataFrame, area: AreaParams) -> dict:
    """Register one table's cells and the relations a reader could use against it; returns the layout's inputs."""
    groups = _groups(area)
    if name == "referrals":
        t = raw.set_index("district")
        g.add_table(name, t, count_columns=["received", "eligible", "self_motivated"], row_totals=groups,
                    nested=[("eligible", "received"), ("self_motivated", "eligible")])
        return {"t": t}
    if name == "completions":
        wide = raw.pivot(index="district", columns="programme", values=["completed", "ended"])
        wide = wide.reindex([r for r, _ in area.report_rows()])
        programmes = [p for p in area.programmes if p in raw["programme"].unique()]
        flat = pd.DataFrame(index=wide.index)
        for p in programmes:
            flat[f"{p}|completed"] = wide[("completed", p)].astype(int)
            flat[f"{p}|ended"] = wide[("ended", p)].astype(int)
        # The group's completion rate on interventions (awareness programmes apart) is
        # published too, so it is protected with the cells it sums.
        interventions = [p for p in programmes if area.programmes[p].role != "awareness"]
        flat["interventions|completed"] = flat[[f"{p}|completed" for p in interventions]].sum(axis=1)
        flat["interventions|ended"] = flat[[f"{p}|ended" for p in interventions]].sum(axis=1)
        g.add_table(name, flat, count_columns=list(flat.columns), row_totals=groups,
                    pairs=[(f"{p}|completed", f"{p}|ended") for p in [*programmes, "interventions"]],
                    column_totals={f"interventions|{k}": [f"{p}|{k}" for p in interventions]
                                   for k in ("completed", "ended")})
        return {"flat": flat, "programmes": programmes}
    if name in PAIRS:
        num, den = PAIRS[name]
        t = raw.set_index("district")
        g.add_table(name, t, count_columns=[num, den], row_totals=groups, pairs=[(num, den)])
        if name == "partner_engagement":
            # all partners offered (and engaged) in the period: published by the partner
            # outcomes report of the same period, so declared here as a total too
            tops = [r for r in groups if not any(r in m for k, m in groups.items() if k != r)] or list(t.index)
            tops += [r for r, _ in area.report_rows() if r in t.index and r not in tops
                     and not any(r in m for m in groups.values())]
            for col, shared in ((den, "partners.offered"), (num, "partners.engaged")):
                key = f"{name}|ALL|{col}"
                g.total(key, [f"{name}|{r}|{col}" for r in tops])
                g.keep(key, priority=10)
                g.share(key, shared)
        return {"t": t}
    if name == "children":
        t = raw.set_index("district")
        g.add_table(name, t, count_columns=["children"], row_totals=groups)
        return {"t": t}
    if name == "referrals_by_source":
        wide = raw.pivot(index="district", columns="source", values="referrals")
        wide = wide.reindex([r for r, _ in area.report_rows()])
        sources = [c for c in raw["source"].unique()]
        wide = wide[sources].astype(int)
        wide["total"] = wide.sum(axis=1)
        g.add_table(name, wide, count_columns=[*sources, "total"], row_totals=groups,
                    column_totals={"total": sources})
        return {"sources": sources}
    if name == "demographics":
        parts = []
        rows = [r for r, _ in area.report_rows()]
        for i, (characteristic, sub) in enumerate(raw.groupby("characteristic", sort=False)):
            wide = sub.pivot(index="category", columns="district", values="people")
            cats = list(dict.fromkeys(sub["category"]))
            wide = wide.reindex(index=cats, columns=rows).astype(int)
            wide.loc["All people referred"] = wide.sum(axis=0)
            # districts are columns here: each group column is the sum of its districts
            eqs = [((c, grp), [(c, m) for m in members]) for grp, members in groups.items() for c in wide.index]
            g.add_table(f"{name}.{i}", wide, count_columns=rows, row_totals={"All people referred": cats},
                        equations=eqs)
            parts.append((f"{name}.{i}", characteristic, cats))
        return {"parts": parts, "rows": rows}
    raise KeyError(f"no published layout for table {name!r}")


def _layout(name: str, ctx: dict, pub: Publication, area: AreaParams, rule: DisclosureRule) -> PublishedTable:
    """Lay out one protected table the way commissioners know it (tidy CSV and wide display)."""
    title = title_for(name, area)
    if name == "referrals":
        t, s = ctx["t"], pub.table(name)
        disp = pd.DataFrame({"District": t.index, "Referrals received": s.display()["received"].to_numpy(),
                             "Eligible referrals": s.display()["eligible"].to_numpy()})
        with_pct = s.count_rate("self_motivated", "eligible").to_numpy()
        plain = s.display()["self_motivated"].to_numpy()
        disp["Self-motivated (of eligible)"] = [w if _is_group(area, r) else p
                                                for r, w, p in zip(t.index, with_pct, plain, strict=True)]
        return PublishedTable(name, title, _tidy(s), disp, s.footnote)
    if name == "completions":
        flat, programmes, s = ctx["flat"], ctx["programmes"], pub.table(name)
        disp = pd.DataFrame({"District": flat.index})
        is_group = [_is_group(area, r) for r in flat.index]
        for p in programmes:
            disp[area.programmes[p].label] = _x_of_y_seed(s, f"{p}|completed", f"{p}|ended", is_group)
        disp["All interventions (not awareness)"] = _x_of_y_seed(s, "interventions|completed",
                                                                 "interventions|ended", is_group)
        long = []
        for p in programmes:
            part = s.values[[f"{p}|completed", f"{p}|ended"]].copy()
            part.columns = ["completed", "ended"]
            part.insert(0, "programme", p)
            long.append(part.reset_index(names="district"))
        tidy = pd.concat(long).sort_values("district", key=lambda c: c.map(
            {r: i for i, (r, _) in enumerate(area.report_rows())}), kind="stable").reset_index(drop=True)
        return PublishedTable(name, title, tidy[["district", "programme", "completed", "ended"]], disp, s.footnote)
    if name in PAIRS:
        num, den = PAIRS[name]
        t, s = ctx["t"], pub.table(name)
        text = s.count_rate(num, den) if name == "partner_safety" else s.x_of_y(num, den)
        if name == "partner_safety":   # the seed shows a percentage, or "0 of 0"
            rates = s.rate(num, den)
            text = [f"{100 * float(r):.0f}% ({n} of {d})" if pd.notna(r) else (
                "0 of 0" if (not s.mask.loc[i].any() and s.values.loc[i, den] == 0) else rule.symbol)
                for i, r, n, d in zip(t.index, rates, s.values[num], s.values[den], strict=True)]
        # The column is the title less a closing aside: "... safer (engaged, whose (ex-)partner
        # completed)" loses "(engaged, ...)", "... reported by their (ex-)partners" keeps every word.
        heading = re.sub(r"\s*\((?:[^()]|\([^()]*\))*\)$", "", title)
        disp = pd.DataFrame({"District": t.index, heading: list(text)})
        return PublishedTable(name, title, _tidy(s), disp, s.footnote)
    if name == "children":
        t, s = ctx["t"], pub.table(name)
        disp = pd.DataFrame({"District": t.index, "Children": s.display()["children"].to_numpy()})
        return PublishedTable(name, title, _tidy(s), disp, s.footnote)
    if name == "referrals_by_source":
        sources, s = ctx["sources"], pub.table(name)
        disp = s.display().reset_index(names="District")
        from evallib.reports.quarterly import SOURCE_LABELS  # the reader's names, as on the return

        disp.columns = ["District", *[SOURCE_LABELS.get(c, c.replace("_", " ").capitalize()) for c in sources],
                        "Total"]
        tidy = s.values[sources].reset_index(names="district").melt(id_vars="district", var_name="source",
                                                                   value_name="referrals")
        return PublishedTable(name, title, tidy, disp, s.footnote)
    parts_tidy, parts_disp = [], []
    foot = ""
    for key, characteristic, cats in ctx["parts"]:
        s = pub.table(key)
        d = s.display().reset_index(names="Category")
        d.insert(0, "Characteristic", characteristic.replace("_", " ").capitalize())
        parts_disp.append(d)
        t = s.values.loc[cats].reset_index(names="category").melt(id_vars="category", var_name="district",
                                                                    value_name="people")
        t.insert(1, "characteristic", characteristic)
        parts_tidy.append(t[["district", "characteristic", "category", "people"]])
        foot = s.footnote
    return PublishedTable(name, title, pd.concat(parts_tidy, ignore_index=True),
                          pd.concat(parts_disp, ignore_index=True), foot)


def _x_of_y_seed(s: SuppressedTable, num: str, den: str, is_group: list[bool]) -> list[str]:
    """Seed 001's cells: "2 of 3"; "2" when all ended completed; groups "10 (83%)"."""
    out = []
    for i, (idx, grp) in enumerate(zip(s.values.index, is_group, strict=True)):
        if s.mask.loc[idx, [num, den]].any():
            out.append(s.rule.symbol)
            continue
        n, d = int(s.values.iloc[i][num]), int(s.values.iloc[i][den])
        if grp and d > 0:
            out.append(f"{n} of {d} ({100 * n / d:.0f}%)")
        elif n == d:
            out.append(f"{n}")
        else:
            out.append(f"{n} of {d}")
    return out


def publish_all(ds: Dataset, period: Period | str, rule: DisclosureRule,
                names: list[str] | None = None) -> dict[str, PublishedTable]:
    """Every service table for one period, protected together through one gate and laid out.

    The gate's record (the ``disclosure`` block of ``results.json``) is in
    :func:`disclosure_record` of the result.
    """
    period = parse_period(period)
    names = names or list(tables.TABLE_FUNCTIONS)
    gate = Gate(rule, report="service_outputs")
    ctx = {n: _register(gate, n, tables.TABLE_FUNCTIONS[n](ds, period), ds.area) for n in names}
    pub = gate.protect()
    out = _Published({n: _layout(n, ctx[n], pub, ds.area, rule) for n in names})
    out.record = pub.record()
    return out


class _Published(dict):
    """The published tables by name, with the gate's record."""

    record: dict


def disclosure_record(published: dict[str, PublishedTable]) -> dict:
    """The ``disclosure`` block for ``results.json`` of tables made by :func:`publish_all`."""
    return getattr(published, "record", {})


def cover_html(ds: Dataset, period: Period, rule: DisclosureRule) -> str:
    """Title block of the service outputs report, with the not-for-publication banner when needed."""
    import html

    from evallib.present import publication_banner, synthetic_notice

    banner = publication_banner(rule)
    return (f"{banner}<h1>{html.escape(ds.area.display_name)}: service outputs, {html.escape(period.title)}</h1>"
            f"{synthetic_notice(ds.meta.synthetic)}"
            f"<p>Data extracted {ds.meta.extract_date:%d %B %Y}; dataset fingerprint "
            f"<code>{ds.fingerprint[:12]}</code>. "
            f"{html.escape(rule.footnote()) if rule.active else ''}</p>")


def headline(published: dict[str, PublishedTable], area: AreaParams) -> str:
    """One line for the index: referrals and partner engagement per group, as published.

    A group whose figure is hidden is named as not shown, never silently left out.
    """
    groups = list(area.groups)
    parts, hidden = [], []
    if "referrals" in published:
        rows = published["referrals"].tidy.set_index("district")
        present = [g for g in groups if g in rows.index]
        shown = [f"{g} {int(rows.loc[g, 'received'])}" for g in present if pd.notna(rows.loc[g, "received"])]
        hidden += [f"{g} referrals" for g in present if pd.isna(rows.loc[g, "received"])]
        if shown:
            parts.append("referrals received: " + ", ".join(shown))
    if "partner_engagement" in published:
        rows = published["partner_engagement"].tidy.set_index("district")
        present = [g for g in groups if g in rows.index]
        ok = [g for g in present if pd.notna(rows.loc[g, "engaged"]) and pd.notna(rows.loc[g, "offered"])]
        shown = [f"{g} {int(rows.loc[g, 'engaged'])} of {int(rows.loc[g, 'offered'])}" for g in ok]
        hidden += [f"{g} partners" for g in present if g not in ok]
        if shown:
            parts.append("partners engaged: " + ", ".join(shown))
    if hidden:
        parts.append("not shown (small numbers): " + ", ".join(hidden))
    return ("Service outputs: " + "; ".join(parts) + ".") if parts else "Service outputs by district."
