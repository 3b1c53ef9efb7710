"""Completers versus non-completers pooled over several areas (and years): one report.

A single area's evaluation is often too small to say anything (the LLR demo's 2021-22
report withholds its comparison). This report asks the question commissioners ask of a
programme funded in many areas: across them, is completing associated with less proven
reoffending? It never compares completers of one area with non-completers of another:
every difference is taken within a *stratum* (an area; an area in one financial year when
the period spans several) and then combined (:mod:`evallib.stats.meta`).

Everything a report shows is registered with one disclosure :class:`~evallib.reports.gate.Gate`
(every area's counts and record flow, the pooled totals, and every statistic *about*
them), protected once over the whole report, and read back from the
:class:`~evallib.reports.gate.Publication`. An area whose groups are too small keeps its
place in the pool; only its own row is not shown.

A notebook calls :func:`load_pool` once, then the section functions below.
"""

from __future__ import annotations

import html as _html
import math
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

import evallib
from evallib import stats
from evallib.cohorts import COMPLETED, NOT_COMPLETED
from evallib.disclosure import DisclosureRule
from evallib.figures import A4_WIDTH_IN, GROUP_COLOURS, PALETTE, fit_title, house_style
from evallib.params import OutcomeSettings, ParamsError, Period, load_area, parse_period
from evallib.reports.evaluation import adjusted as _adjusted
from evallib.reports.evaluation import time_to_event as _tte
from evallib.reports.evaluation.core import OUTCOME_LABELS, Evaluation, evaluate
from evallib.reports.evaluation.words import FLOW_REASONS
from evallib.reports.gate import Gate, Publication

__all__ = [
    "Stratum", "Pool", "PooledReport", "load_pool", "resolve_data_dirs", "split_by_year",
    "build_report", "forest_table", "forest_figure", "forest_alt", "pooled_table",
    "flow_table", "balance_table", "km_by_area_figure", "power_sentence", "cover_html", "methods_markdown",
    "results_json",
]

GROUPS = {"1": COMPLETED, "0": NOT_COMPLETED}


# --------------------------------------------------------------------------- loading
def resolve_data_dirs(data_dir: str | Path, areas: list[str]) -> dict[str, Path]:
    """Each area's dataset folder, from the notebook's ``data_dir``.

    ``data_dir`` is either ``"area=folder; area=folder"`` (what the runner passes for a
    pooled suite block) or one folder, in which an area's dataset is the folder itself
    (when its ``dataset.yaml`` names that area) or its subfolder ``<area>/``.

    Raises
    ------
    ParamsError
        Naming the area whose dataset cannot be found, and what was looked for.
    """
    text = str(data_dir).strip()
    if "=" in text:
        out: dict[str, Path] = {}
        for part in (p.strip() for p in text.split(";") if p.strip()):
            name, _, folder = part.partition("=")
            out[name.strip()] = Path(folder.strip())
        missing = [a for a in areas if a not in out]
        if missing:
            raise ParamsError(f"data_dir {text!r} gives no dataset for {', '.join(missing)}: write it as "
                              "\"area=folder; area=folder\", one entry per area pooled")
        return {a: out[a] for a in areas}
    root = Path(text)
    out = {}
    for a in areas:
        own = _dataset_area(root)
        if own == a or (own is None and not (root / a).exists() and len(areas) == 1):
            out[a] = root
        elif (root / a).exists():
            out[a] = root / a
        elif root.name == "demo-data" and (own is None or own != a):
            # the demo folders, written on first use by load_for_notebook: the default demo
            # (Leicestershire) and demo-data-<area> beside it for the other areas
            out[a] = root if own is None and a == "leicestershire" else root.parent / f"demo-data-{a}"
        else:
            raise ParamsError(f"no dataset for {a}: {root} is {'for ' + own if own else 'not a dataset'} and "
                              f"{root / a} does not exist. Give each area's folder: "
                              f"data_dir = \"{a}=path/to/{a}-extract; ...\"")
    return out


def _dataset_area(folder: Path) -> str | None:
    try:
        meta = yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return str(meta.get("area")) if isinstance(meta, dict) and meta.get("area") else None


def split_by_year(period: Period) -> list[Period]:
    """The financial years a period spans, clipped to it: the strata of a pool over years.

    A period within one financial year is returned as it is.
    """
    first = period.start.year if period.start.month >= 4 else period.start.year - 1
    last = period.end.year if period.end.month >= 4 else period.end.year - 1
    if first == last:
        return [period]
    out = []
    for y in range(first, last + 1):
        fy = parse_period(f"{y}-{str(y + 1)[-2:]}")
        lo, hi = max(fy.start, period.start), min(fy.end, period.end)
        out.append(fy if (lo, hi) == (fy.start, fy.end) else parse_period(f"{lo}..{hi}"))
    return out


@dataclass
class Stratum:
    """One area in one period: its own evaluation, compared within itself."""

    key: str
    area: str
    area_name: str
    period: Period
    ev: Evaluation
    by_year: bool = False

    @property
    def label(self) -> str:
        return f"{self.area_name}, {self.period.label}" if self.by_year else self.area_name


@dataclass
class Pool:
    """Several areas' evaluations for one period, with one disclosure rule and one set of definitions.

    ``frame(variant)`` is person-level (every stratum's people analysed, with ``area``
    and ``stratum`` columns): use it for statistics, never publish it.
    """

    name: str
    title: str
    period: Period
    strata: list[Stratum]
    rule: DisclosureRule
    settings: OutcomeSettings
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def areas(self) -> list[str]:
        return list(dict.fromkeys(s.area for s in self.strata))

    @property
    def by_year(self) -> bool:
        return any(s.by_year for s in self.strata)

    def frame(self, variant: str = "any") -> pd.DataFrame:
        parts = [s.ev.analysed(variant).assign(area=s.area_name, stratum=s.key) for s in self.strata]
        return pd.concat(parts, ignore_index=True)

    def evaluation(self) -> Evaluation:
        """The pool as one :class:`Evaluation` (every stratum's people), for the shared sections."""
        if "ev" not in self._cache:
            first = self.strata[0].ev
            self._cache["ev"] = Evaluation(first.dataset, self.period, self.settings, first.cohort,
                                           self.frame("any"), first.flow.iloc[0:0], self.rule)
        return self._cache["ev"]

    def identity(self):
        """What :meth:`evallib.outputs.OutputFolder.for_report` reads from a dataset: the pool's
        name and title in place of an area's, and whether any area's data are synthetic."""
        from types import SimpleNamespace

        synthetic = any(s.ev.dataset.meta.synthetic for s in self.strata)
        return SimpleNamespace(area=SimpleNamespace(name=self.name, display_name=self.title),
                               meta=SimpleNamespace(synthetic=synthetic))

    def counts(self, variant: str = "any") -> pd.DataFrame:
        """Per stratum: completers and non-completers analysed, and reoffenders (unsuppressed)."""
        rows = []
        for s in self.strata:
            a = s.ev.analysed(variant)
            y = a[f"reoffended_{variant}"].astype(bool)
            row = {"stratum": s.key, "label": s.label, "area": s.area}
            for k, g in GROUPS.items():
                m = (a["group"] == g).to_numpy()
                row[f"n{k}"], row[f"c{k}"] = int(m.sum()), int(y[m].sum())
            rows.append(row)
        return pd.DataFrame(rows)


def _pool_rule(datasets, suppress_below: int | None) -> DisclosureRule:
    """The strictest of the areas' rules (highest threshold, coarsest rounding), or the override."""
    thresholds = [ds.area.disclosure.threshold for ds in datasets]
    rounding = [ds.area.disclosure.round_to for ds in datasets if ds.area.disclosure.round_to]
    threshold = max(thresholds) if suppress_below is None or suppress_below < 0 else suppress_below
    return DisclosureRule(threshold=threshold, round_to=max(rounding) if rounding else None)


def load_pool(data_dir: str | Path, areas: str | list[str], period: str | Period, *, name: str = "",
              title: str = "", suppress_below: int | None = None, notebook: str | None = None,
              **outcome_overrides) -> Pool:
    """Load every area's dataset and evaluate each stratum with one set of definitions.

    Parameters
    ----------
    data_dir : str or Path
        See :func:`resolve_data_dirs`.
    areas : str or list of str
        Area names (``params/areas/<area>.yaml``), or one comma-separated string.
    period : str or Period
        Programme starts in this period; a period spanning several financial years is
        pooled over them, each area-year a stratum.
    name, title : str
        The pool's name (folder) and title (``"East Midlands"``).
    suppress_below : int, optional
        Threshold override (``-1``/``None``: the strictest of the areas').
    notebook : str, optional
        The calling notebook's name: every area's data are checked against what it needs
        (:func:`evallib.notebook.load_for_notebook`).
    outcome_overrides
        ``window_months``, ``waiting_months``, ``index_date``: applied to every area, so
        that proven reoffending means the same everywhere in the pool.
    """
    from evallib.notebook import load_for_notebook

    names = [a.strip() for a in (areas.split(",") if isinstance(areas, str) else areas) if a.strip()]
    if not names:
        raise ParamsError("no areas to pool: give areas as a comma-separated list, e.g. "
                          "\"leicestershire,nottinghamshire,derbyshire\"")
    if len(set(names)) != len(names):
        raise ParamsError(f"an area is listed twice in {names}")
    for a in names:
        load_area(a)   # a misspelt area fails first, listing the areas available
    period = parse_period(period)
    folders = resolve_data_dirs(data_dir, names)
    loaded = [load_for_notebook(str(folders[a]), a, notebook=notebook, **outcome_overrides) for a in names]
    settings = loaded[0][1]
    rule = _pool_rule([ds for ds, _ in loaded], suppress_below)
    periods = split_by_year(period)
    strata = []
    for ds, _ in loaded:
        for p in periods:
            ev = evaluate(ds, p, settings)
            ev.rule = rule
            strata.append(Stratum(f"s{len(strata) + 1}", ds.area.name, ds.area.display_name, p, ev,
                                  by_year=len(periods) > 1))
    pool_title = title or " + ".join(ds.area.display_name for ds, _ in loaded)
    return Pool(name or "pooled", pool_title, period, strata, rule, settings)


# --------------------------------------------------------------------------- the report
@dataclass
class PooledReport:
    """Every published number of the pooled report, after disclosure control."""

    pool: Pool
    counts: pd.DataFrame            # unsuppressed, per stratum (internal)
    pub: Publication
    mh: object | None = None
    re: object | None = None
    adjusted: object | None = None  # evaluation.adjusted.Adjusted over the pool
    tte: object | None = None       # pooled time to event
    by_area_tte: dict = field(default_factory=dict)
    da: dict = field(default_factory=dict)   # DA-related: {"mh": ..., "re": ...}
    messages: list[str] = field(default_factory=list)

    @property
    def rule(self) -> DisclosureRule:
        return self.pool.rule

    def shown_strata(self) -> list[str]:
        """Strata whose own row may be published (all four of its counts shown)."""
        return [s for s in self.counts["stratum"] if self.pub.has_stat(f"{s}.row")]


def _register_flow(g: Gate, s: Stratum) -> None:
    """One area's record flow, its arithmetic declared; its analysed groups are the stratum's n."""
    f = s.ev.flow.reset_index(drop=True)
    stages = list(dict.fromkeys(f["stage"]))
    keys = []
    for i, r in f.iterrows():
        if r["stage"] == "Completers analysed":
            key = f"{s.key}.n1"
        elif r["stage"] == "Non-completers analysed":
            key = f"{s.key}.n0"
        else:
            key = g.add(f"{s.key}.flow{i}", int(r["n"]))
        g.touch(key)
        keys.append(key)
    f = f.assign(key=keys)

    def rows(stage, step):
        return f.loc[(f["stage"] == stage) & (f["step"] == step), "key"].tolist()

    starters = next((st for st in stages if st.startswith("Starters")), None)
    feeds = {"People referred in the period or starting in it": [starters],
             starters: ["Completers analysed", "Non-completers analysed"]}
    for stage, nxt in feeds.items():
        if stage in stages and all(n in stages for n in nxt):
            total = rows(stage, "kept")[0]
            parts = rows(stage, "excluded") + [k for n in nxt for k in rows(n, "kept")]
            if g.values[total] == sum(g.values[k] for k in parts):
                g.total(total, parts)


def build_report(pool: Pool, variant: str = "any") -> PooledReport:
    """Register every count and statistic with one gate, protect once, compute the pooled estimates."""
    counts = pool.counts(variant)
    g = Gate(pool.rule, report="pooled_evaluation")
    g.section = "areas"
    for r in counts.itertuples():
        s = r.stratum
        for k in GROUPS:
            c, n = getattr(r, f"c{k}"), getattr(r, f"n{k}")
            g.add(f"{s}.c{k}", c)
            g.add(f"{s}.r{k}", n - c)
            g.total(f"{s}.n{k}", [f"{s}.c{k}", f"{s}.r{k}"])
    g.section = "pooled"
    for k in GROUPS:
        for part in ("c", "r", "n"):
            g.total(f"all.{part}{k}", [f"{s}.{part}{k}" for s in counts["stratum"]])
        g.total(f"all.n{k}", [f"all.c{k}", f"all.r{k}"])
    g.section = "flow"
    for s in pool.strata:
        _register_flow(g, s)

    row_about = lambda s: [f"{s}.c1", f"{s}.r1", f"{s}.c0", f"{s}.r0"]  # noqa: E731
    all_about = ["all.c1", "all.r1", "all.c0", "all.r0"]
    for r in counts.itertuples():
        g.stat(f"{r.stratum}.row", True, about=row_about(r.stratum))
    out = PooledReport(pool, counts, None)   # type: ignore[arg-type]
    usable = counts[(counts["n1"] > 0) & (counts["n0"] > 0)]
    what = "area-years" if pool.by_year else "areas"
    if len(usable):
        args = (usable["c1"], usable["n1"], usable["c0"], usable["n0"], usable["label"].tolist())
        try:
            out.mh = stats.mantel_haenszel_difference(*args, what=what)
        except stats.StatsError as exc:
            out.messages.append(f"The Mantel-Haenszel difference could not be calculated: {exc}")
        if len(usable) >= 2:
            try:
                out.re = stats.pooled_difference(*args, what=what)
            except stats.StatsError as exc:
                out.messages.append(f"The random-effects difference could not be calculated: {exc}")
        else:
            out.messages.append("Random effects need at least two areas with both groups.")
    else:
        out.messages.append("No area has both completers and non-completers analysed: nothing to pool.")
    g.stat("pooled.mh", out.mh, about=all_about)
    g.stat("pooled.re", out.re, about=all_about)

    # DA-related proven reoffending: pooled only (its counts are registered as pooled totals)
    da = pool.counts("da")
    for k in GROUPS:
        g.add(f"all.da.c{k}", int(da[f"c{k}"].sum()), about=[f"all.n{k}"])
        g.add(f"all.da.r{k}", int((da[f"n{k}"] - da[f"c{k}"]).sum()), about=[f"all.n{k}"])
        g.total(f"all.n{k}", [f"all.da.c{k}", f"all.da.r{k}"])
    da_use = da[(da["n1"] > 0) & (da["n0"] > 0)]
    if len(da_use):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.StatsWarning)
            try:
                dargs = (da_use["c1"], da_use["n1"], da_use["c0"], da_use["n0"], da_use["label"].tolist())
                out.da["mh"] = stats.mantel_haenszel_difference(*dargs, what=what)
                out.da["re"] = stats.pooled_difference(*dargs, what=what) if len(da_use) >= 2 else None
            except stats.StatsError as exc:
                out.messages.append(f"The DA-related pooled difference could not be calculated: {exc}")
    g.stat("pooled.da", out.da, about=["all.da.c1", "all.da.r1", "all.da.c0", "all.da.r0"])

    # adjusted: propensity weighting over the pool with area as a covariate (like with like)
    extra = ("area",) if len(pool.areas) > 1 else ()
    out.adjusted = _adjusted.unpublished_estimates(pool.evaluation(), variant, extra_covariates=extra)
    g.stat("pooled.adjusted", out.adjusted, about=all_about)
    out.tte = _tte.unpublished(pool.evaluation(), variant)
    g.stat("pooled.tte", out.tte, about=["all.n1", "all.n0"])
    for s in pool.strata:
        out.by_area_tte[s.key] = _tte.unpublished(s.ev, variant)
        g.stat(f"{s.key}.tte", out.by_area_tte[s.key], about=row_about(s.key))
    out.pub = g.protect()
    return out


# --------------------------------------------------------------------------- sections
def _pp(x) -> str:
    return f"{100 * float(x):+.0f}"


def forest_table(rep: PooledReport) -> pd.DataFrame:
    """One row per area (area-year), then the pooled rows: what the forest plot shows.

    An area whose counts are not all publishable keeps a row saying so, with no numbers:
    it still counts in the pooled rows.
    """
    pub, rows = rep.pub, []
    shown = set(rep.shown_strata())
    for r in rep.counts.itertuples():
        s = r.stratum
        if s in shown and not (r.n1 and r.n0):
            rows.append({"Area": r.label, "Completers": f"{pub.text(f'{s}.n1')} people",
                         "Non-completers": f"{pub.text(f'{s}.n0')} people",
                         "Difference (percentage points)": "no comparison",
                         "95% interval": "a group is empty, so this area adds nothing to the pool",
                         "_d": np.nan, "_lo": np.nan, "_hi": np.nan, "_kind": "empty"})
        elif s in shown:
            c1, n1, c0, n0 = (pub.count(f"{s}.{k}") for k in ("c1", "n1", "c0", "n0"))
            d = stats.compare_proportions(c1, n1, c0, n0)
            rows.append({"Area": r.label, "Completers": f"{c1} of {n1} ({100 * c1 / n1:.0f}%)",
                         "Non-completers": f"{c0} of {n0} ({100 * c0 / n0:.0f}%)",
                         "Difference (percentage points)": _pp(d.difference),
                         "95% interval": f"{_pp(d.difference_ci[0])} to {_pp(d.difference_ci[1])}",
                         "_d": d.difference, "_lo": d.difference_ci[0], "_hi": d.difference_ci[1],
                         "_kind": "area"})
        else:
            rows.append({"Area": r.label, "Completers": rep.rule.symbol, "Non-completers": rep.rule.symbol,
                         "Difference (percentage points)": "not shown",
                         "95% interval": "small numbers: included in the pooled rows",
                         "_d": np.nan, "_lo": np.nan, "_hi": np.nan, "_kind": "hidden"})
    c1, n1, c0, n0 = (pub.count(f"all.{k}") for k in ("c1", "n1", "c0", "n0"))
    totals_shown = None not in (c1, n1, c0, n0) and n1 and n0
    for key, label in (("pooled.mh", "Pooled: Mantel-Haenszel"),
                       ("pooled.re", "Pooled: random effects (Hartung-Knapp)")):
        res = pub.stat(key)
        if res is None:
            continue
        lo, hi = res.difference_ci
        rows.append({"Area": label,
                     "Completers": f"{c1} of {n1} ({100 * c1 / n1:.0f}%)" if totals_shown else rep.rule.symbol,
                     "Non-completers": f"{c0} of {n0} ({100 * c0 / n0:.0f}%)" if totals_shown else rep.rule.symbol,
                     "Difference (percentage points)": _pp(res.difference),
                     "95% interval": f"{_pp(lo)} to {_pp(hi)}",
                     "_d": res.difference, "_lo": lo, "_hi": hi, "_kind": "pooled"})
    adj = pub.stat("pooled.adjusted")
    if adj is not None and adj.propensity is not None:
        p = adj.propensity
        rows.append({"Area": "Pooled: adjusted (propensity weighting, area as a stratum)",
                     "Completers": "", "Non-completers": "",
                     "Difference (percentage points)": _pp(p.difference),
                     "95% interval": f"{_pp(p.difference_ci[0])} to {_pp(p.difference_ci[1])}",
                     "_d": p.difference, "_lo": p.difference_ci[0], "_hi": p.difference_ci[1],
                     "_kind": "adjusted"})
    return pd.DataFrame(rows)


def forest_figure(table: pd.DataFrame, *, title: str = ""):
    """Forest plot: each area's difference and interval, then the pooled ones (diamonds)."""
    import matplotlib.pyplot as plt

    house_style()
    n = len(table)
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 1.2 + 0.55 * n))
    y = np.arange(n)[::-1]
    for yi, (_, r) in zip(y, table.iterrows(), strict=True):
        if r["_kind"] in ("hidden", "empty"):
            words = "not shown: small numbers (in the pool)" if r["_kind"] == "hidden" else "no comparison: a group is empty"
            # at the plot's left edge, whatever the scale, so it never runs out of the figure
            ax.text(0.01, yi, words, va="center", ha="left", color="#555555", fontsize=9,
                    transform=ax.get_yaxis_transform())
            continue
        d, lo, hi = 100 * r["_d"], 100 * r["_lo"], 100 * r["_hi"]
        if r["_kind"] == "area":
            ax.errorbar(d, yi, xerr=[[d - lo], [hi - d]], fmt="s", color=PALETTE[0], capsize=4, lw=1.8)
        else:
            colour = PALETTE[5] if r["_kind"] == "adjusted" else "#000000"
            ax.fill([lo, d, hi, d], [yi, yi + 0.25, yi, yi - 0.25], color=colour, alpha=0.85)
    ax.axvline(0, color="#555555", lw=1)
    ax.set_yticks(list(y))
    ax.set_yticklabels(table["Area"].tolist())
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel("Completers' rate minus non-completers' rate (percentage points);\nleft of 0: completers lower")
    ax.grid(axis="y", visible=False)
    fit_title(fig, ax, title or "Proven reoffending: completers minus non-completers, by area and pooled")
    return fig


def forest_alt(table: pd.DataFrame) -> str:
    parts = []
    for _, r in table.iterrows():
        if r["_kind"] == "hidden":
            parts.append(f"{r['Area']}: not shown (small numbers), included in the pooled estimates")
        elif r["_kind"] == "empty":
            parts.append(f"{r['Area']}: no comparison (a group is empty)")
        else:
            parts.append(f"{r['Area']}: {r['Difference (percentage points)']} percentage points "
                         f"(95% interval {r['95% interval']})")
    return "Forest plot of the difference in proven reoffending rates. " + "; ".join(parts) + "."


def wordings(rep: PooledReport, variant: str = "any") -> list[stats.Wording]:
    """JDL wording of the pooled Mantel-Haenszel, random-effects and adjusted estimates (those publishable)."""
    pub = rep.pub
    if variant == "da":
        keys = {"c1": "all.da.c1", "c0": "all.da.c0"}
        results = [r for r in (rep.pub.stat("pooled.da", {}).get("mh"), rep.pub.stat("pooled.da", {}).get("re")) if r]
    else:
        keys = {"c1": "all.c1", "c0": "all.c0"}
        results = [r for r in (pub.stat("pooled.mh"), pub.stat("pooled.re")) if r is not None]
    c1, n1, c0, n0 = pub.count(keys["c1"]), pub.count("all.n1"), pub.count(keys["c0"]), pub.count("all.n0")
    if None in (c1, n1, c0, n0):
        return []
    words = _outcome_words(rep, variant)
    what = "area-years" if rep.pool.by_year else "areas"
    out = [stats.describe_pooled(r, c1, n1, c0, n0, what=what, **words) for r in results]
    adj = pub.stat("pooled.adjusted")
    if variant == "any" and adj is not None and adj.propensity is not None:
        out.append(stats.describe_pooled(adj.propensity, c1, n1, c0, n0, what=what, covariate_adjusted=True, **words))
    return out


def _outcome_words(rep: PooledReport, variant: str) -> dict:
    m = rep.pool.settings.window_months
    window = "one-year" if m == 12 else f"{m}-month"
    noun = "one year" if m == 12 else f"{m} months"
    da = " domestic-abuse related" if variant == "da" else ""
    return {"outcome": f"the {window} {OUTCOME_LABELS[variant].lower()} rate",
            "event": f"committed a proven{da} reoffence within {noun}"}


def pooled_table(rep: PooledReport) -> pd.DataFrame:
    """The pooled estimates side by side, for each outcome, with heterogeneity."""
    rows = []
    for variant in OUTCOME_LABELS:
        if variant == "da":
            res = rep.pub.stat("pooled.da", {}) or {}
            pairs = (("Mantel-Haenszel", res.get("mh")), ("Random effects (DL, Hartung-Knapp)", res.get("re")))
        else:
            pairs = (("Mantel-Haenszel", rep.pub.stat("pooled.mh")),
                     ("Random effects (DL, Hartung-Knapp)", rep.pub.stat("pooled.re")))
        for method, r in pairs:
            if r is None:
                continue
            row = {"Outcome": OUTCOME_LABELS[variant], "Method": method,
                   "Difference (percentage points)": _pp(r.difference),
                   "95% interval": f"{_pp(r.difference_ci[0])} to {_pp(r.difference_ci[1])}",
                   "p-value": f"{r.p_value:.3f}", "I-squared": f"{100 * r.i2:.0f}%",
                   "Heterogeneity p-value": "" if math.isnan(r.q_p_value) else f"{r.q_p_value:.2f}"}
            row["Spread of true differences (tau, percentage points)"] = (
                f"{100 * math.sqrt(r.tau2):.0f}" if hasattr(r, "tau2") else "assumed none")
            rows.append(row)
    return pd.DataFrame(rows)


def flow_table(rep: PooledReport) -> pd.DataFrame:
    """Every area's record flow side by side (one column per area or area-year), disclosure-controlled."""
    cols = {}
    base = None
    for s in rep.pool.strata:
        f = s.ev.flow.reset_index(drop=True)
        values = []
        for i, r in f.iterrows():
            key = {"Completers analysed": f"{s.key}.n1", "Non-completers analysed": f"{s.key}.n0"}.get(
                r["stage"], f"{s.key}.flow{i}")
            values.append(rep.pub.text(key))
        stage = f["stage"].str.replace(r"^Starters in .*", "Starters in the period", regex=True)
        frame = pd.DataFrame({"Stage": stage, "Step": f["step"].map({"kept": "", "excluded": "set aside"}),
                              "Reason": f["reason"].replace(FLOW_REASONS)})
        if base is None:
            base = frame
        cols[s.label] = values
    out = base.copy()
    for label, values in cols.items():
        out[label] = values
    return out


def balance_table(rep: PooledReport) -> pd.DataFrame | None:
    """The adjusted estimate's balance table, without the area rows.

    The area's SMDs describe each area's share of completers and non-completers: for an
    area whose groups are hidden they would give its group sizes back.
    """
    adj = rep.pub.stat("pooled.adjusted")
    if adj is None:
        return None
    bal = _adjusted.balance_display(rep.pool.evaluation(), adj)
    if bal is None:
        return None
    first = bal.columns[0]
    return bal[~bal[first].astype(str).str.startswith("area")].reset_index(drop=True)


def km_by_area_figure(rep: PooledReport):
    """Kaplan-Meier curves per area (those whose counts are published), side by side."""
    import matplotlib.pyplot as plt

    shown = [s for s in rep.pool.strata if rep.pub.has_stat(f"{s.key}.tte")
             and not rep.by_area_tte[s.key].monthly.empty]
    if not shown:
        return None
    house_style()
    fig, axes = plt.subplots(1, len(shown), figsize=(A4_WIDTH_IN, 3.0), sharey=True, squeeze=False)
    for ax, s in zip(axes[0], shown, strict=True):
        m = rep.by_area_tte[s.key].monthly
        for grp, sub in m.groupby("group", sort=False):
            sub = sub.dropna(subset=["survival"])
            if not sub.empty:
                ax.step(sub["month"], 100 * sub["survival"].astype(float), where="post",
                        color=GROUP_COLOURS[grp], lw=1.8)
        ax.set_title(s.label, fontsize=10)
        ax.set_ylim(0, 102)
        ax.set_xlabel("Months")
    axes[0][0].set_ylabel("Without a proven\nreoffence (%)")
    fig.suptitle("By area: completers (blue) and non-completers (orange)", x=0.01, ha="left",
                 fontsize=11, fontweight="bold")
    fig.tight_layout()
    return fig


def power_sentence(rep: PooledReport) -> str:
    """The minimum detectable difference for the pooled group sizes, in words."""
    n1, n0, c0 = rep.pub.count("all.n1"), rep.pub.count("all.n0"), rep.pub.count("all.c0")
    if not n1 or not n0 or c0 is None:
        return "The pooled group sizes are not shown, so no power calculation is given."
    p0 = c0 / n0
    if not 0 < p0 < 1:
        return f"The non-completers' rate is {100 * p0:.0f}%, so the minimum detectable difference cannot be calculated."
    mdd = stats.minimum_detectable_difference(n1, n0, p0)
    if math.isnan(mdd.difference):
        return (f"With {n1} completers and {n0} non-completers pooled, no reduction from a rate of "
                f"{100 * p0:.0f}% could have been reliably detected (80% power, 5% significance level).")
    return (f"With {n1} completers and {n0} non-completers pooled, a reduction of at least "
            f"{100 * mdd.difference:.0f} percentage points (from {100 * p0:.0f}% to {100 * mdd.p1:.0f}%) "
            "would be detected with 80% power at the 5% significance level (a two-group calculation; "
            "comparing within areas changes it little when the areas' rates are alike). Smaller true "
            "differences could be missed.")


def cover_html(rep: PooledReport) -> str:
    """Cover and provenance: the areas, each dataset's extract dates and fingerprint, the settings."""
    from evallib.present import publication_banner, synthetic_notice

    pool, s = rep.pool, rep.pool.settings
    rows = [("Areas pooled", ", ".join(dict.fromkeys(st.area_name for st in pool.strata))),
            ("Period (programme starts)", pool.period.title
             + (" (each financial year a stratum)" if pool.by_year else ""))]
    seen = set()
    for st in pool.strata:
        ds = st.ev.dataset
        if ds.area.name in seen:
            continue
        seen.add(ds.area.name)
        police = f"{ds.police_extract_date:%d %B %Y}" if "police" in ds.present else "not supplied"
        rows.append((f"{ds.area.display_name}: data", f"case data extracted {ds.meta.extract_date:%d %B %Y}; police "
                     f"data {police}; fingerprint {ds.fingerprint[:16]}"
                     + ("; SYNTHETIC demonstration data" if ds.meta.synthetic else "")))
    rows += [("evallib version", evallib.__version__), ("Report run on", f"{date.today():%d %B %Y}"),
             ("Proven reoffending window", f"{s.window_months} months from the {s.index_date} date, every area"),
             ("Waiting period", f"{s.waiting_months} months"),
             ("Small-number suppression", f"counts below {rep.rule.threshold} suppressed, the strictest of the "
              "areas' rules" if rep.rule.active else "off")]
    body = "".join(f"<tr><th style='text-align:left;padding:2px 12px 2px 0'>{_html.escape(k)}</th>"
                   f"<td style='padding:2px 0;text-align:left'>{_html.escape(str(v))}</td></tr>" for k, v in rows)
    synthetic = any(st.ev.dataset.meta.synthetic for st in pool.strata)
    return (f"{publication_banner(rep.rule)}<h1>{_html.escape(pool.title)}: completers versus non-completers, "
            f"pooled</h1>{synthetic_notice(synthetic)}<p style='font-size:1.15em'>Proven reoffending across areas, programme starts "
            f"{_html.escape(pool.period.title)}</p><table style='font-size:0.9em;border-collapse:collapse'>{body}</table>")


def summary_markdown(rep: PooledReport) -> str:
    """The first page: the pooled comparison in JDL words, heterogeneity, what it is not."""
    ws = wordings(rep, "any")
    if not ws:
        return ("**The pooled comparison cannot be shown**: the pooled groups are too small to publish "
                "even across these areas.")
    parts = [f"**In short.** {ws[0].headline} {ws[0].difference_sentence}", ws[0].per_100]
    parts.extend(w.difference_sentence for w in ws[1:])
    verdicts = {w.verdict for w in ws[:2]}
    if len(verdicts) > 1:
        parts.append("The Mantel-Haenszel and random-effects results disagree about significance. The "
                     "random-effects interval allows for real differences between the areas, so it is the "
                     "more cautious guide: the pooled result should be read as suggestive, not established.")
    het = ws[0].caveats[1:] if len(ws[0].caveats) > 1 else ()
    parts.extend(het)
    parts.append(ws[0].caveats[0])
    if ws[0].mdd_sentence:
        parts.append(ws[0].mdd_sentence)
    hidden = len(rep.counts) - len(rep.shown_strata())
    if hidden:
        parts.append(f"{hidden} of the {len(rep.counts)} {'area-years' if rep.pool.by_year else 'areas'} "
                     "have groups too small to show on their own; they are included in every pooled figure.")
    return "\n\n".join(parts)


def methods_markdown(rep: PooledReport) -> str:
    """Definitions and methods of the pooled report, with its caveats."""
    s = rep.pool.settings
    return "\n\n".join([
        "**Proven reoffending** follows the Ministry of Justice definition: an offence committed within "
        f"{s.window_months} months after the {s.index_date} date and proven by a conviction, caution or "
        f"community resolution recorded within that window or a further {s.waiting_months}-month waiting period, "
        "with the same settings in every area.",
        "**Comparing within areas.** Completers are compared only with non-completers of the same area"
        + (" and financial year" if rep.pool.by_year else "") + ". The Mantel-Haenszel difference (Sato, "
        "Greenland and Robins variance) assumes one common difference; the random-effects difference "
        "(DerSimonian-Laird, with the Hartung-Knapp interval on k - 1 degrees of freedom) allows the areas' "
        "true differences to vary, and is wide when there are few areas. Heterogeneity: Cochran's Q and "
        "I-squared, read with the Cochrane Handbook's guide. The adjusted estimate weights non-completers by "
        "propensity scores from one logistic model of completion on the recorded characteristics and the "
        "area (weighting that estimates the average effect on the people who completed; sandwich interval). "
        "Per-area intervals: Newcombe's hybrid score interval. Sources and checks: the methods and pooling "
        "guides that come with evallib.",
        "**Wording** follows the Justice Data Lab: statistically significant only when p is at most 0.05 and "
        "each pooled group has at least 10 people with and without the outcome; otherwise inconclusive, "
        "which is not evidence of no effect.",
        "**Caveats.** The areas deliver different programmes (length, content, eligibility, referral routes) to "
        "different people, and police data differ by force (recording practice, flagging of domestic abuse, "
        "offences in other forces' areas not seen): a pooled difference is an average over them, not the "
        "effect of any one programme. Completers versus non-completers is not a causal comparison.",
        f"**Disclosure control.** {rep.rule.footnote() or 'Suppression is off: not for publication.'} Every count "
        "in this report, in every area's row, record flow and the pooled totals, is protected together, so "
        "a hidden count cannot be worked out from the others.",
    ])


def results_json(rep: PooledReport) -> dict:
    """The machine-readable headline (``results.json``): published numbers only, and the gate's record."""
    pool, pub = rep.pool, rep.pub
    out = {"pool": pool.name, "pool_title": pool.title, "areas": pool.areas,
           "period": pool.period.label, "period_title": pool.period.title,
           "evallib_version": evallib.__version__, "run_date": date.today(),
           "settings": {**pool.settings.model_dump(), "suppression_threshold": rep.rule.threshold},
           "strata": [{"label": s.label, "area": s.area, "period": s.period.label,
                       "shown": pub.has_stat(f"{s.key}.row")} for s in pool.strata],
           "totals": {g: {"n": pub.count(f"all.n{k}"), "reoffenders": pub.count(f"all.c{k}")}
                      for k, g in GROUPS.items()},
           "pooled": {}}
    for key, name in (("pooled.mh", "mantel_haenszel"), ("pooled.re", "random_effects")):
        r = pub.stat(key)
        if r is not None:
            out["pooled"][name] = {"difference": float(r.difference),
                                   "difference_ci": [float(x) for x in r.difference_ci],
                                   "p_value": float(r.p_value), "i2": float(r.i2),
                                   "tau2": float(getattr(r, "tau2", 0.0))}
    adj = pub.stat("pooled.adjusted")
    if adj is not None and adj.propensity is not None:
        p = adj.propensity
        out["pooled"]["adjusted_att"] = {"difference": float(p.difference),
                                         "difference_ci": [float(x) for x in p.difference_ci],
                                         "p_value": float(p.p_value)}
    out["headline"] = headline(rep)
    out["disclosure"] = pub.record()
    return out


def headline(rep: PooledReport) -> str:
    """One sentence for the index page."""
    pub = rep.pub
    r = pub.stat("pooled.mh")
    n1, n0 = pub.count("all.n1"), pub.count("all.n0")
    m = rep.pool.settings.window_months
    window = "One-year" if m == 12 else f"{m}-month"
    if r is None or not n1 or not n0:
        return f"{window} proven reoffending, {rep.pool.title} pooled, {rep.pool.period.title}: not shown (small numbers)."
    lo, hi = r.difference_ci
    return (f"{window} proven reoffending, {rep.pool.title} pooled, {rep.pool.period.title}: completers "
            f"{100 * pub.count('all.c1') / n1:.0f}% (n = {n1}), non-completers {100 * pub.count('all.c0') / n0:.0f}% "
            f"(n = {n0}); within-area difference {_pp(r.difference)} percentage points ({_pp(lo)} to {_pp(hi)}).")
