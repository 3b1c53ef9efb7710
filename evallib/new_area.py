"""Draft an area file from a provider's export: ``evallib new-area NAME --from DIR``.

Adapting the suite to an area it has never seen is mostly matching: the export's headers
onto the contract's columns, its labels onto the contract's values, and the way it
writes dates. This module reads an export as it came (its files, headers and distinct
labels), does every match it can tell (exact, then ignoring case, spaces and
punctuation, then close matches by :mod:`difflib`, marked for checking) and writes a
draft ``params/areas/NAME.yaml`` with a ``# TODO`` for each one it cannot, so the
researcher's work is the TODOs, not the whole file.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evallib.params import ISO_DATE, ParamsError, normalise_label, params_dir
from evallib.schemas import FALSE_WORDS, TABLES, TRUE_WORDS, Table, _read_raw, identifying

__all__ = ["Draft", "draft_area", "write_draft", "detect_date_format", "DATE_FORMATS"]

#: Text date formats tried, most common in UK exports first after ISO 8601.
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%Y/%m/%d",
                "%d %b %Y", "%d %B %Y", "%m/%d/%Y")
_DATA_SUFFIXES = (".csv", ".xlsx", ".parquet")
#: Words providers use for the contract's, applied to a header's words before matching.
_SYNONYMS = {"client": "person", "perpetrator": "person", "service": "person", "user": "person",
             "ref": "referral", "number": "id", "no": "id", "num": "id", "borough": "district",
             "council": "district", "locality": "district", "la": "district", "course": "programme",
             "program": "programme", "intervention": "programme", "outcome": "status"}
#: Whole headers (normalised) providers commonly use, and the contract column they mean.
_PHRASES = {"datereceived": "referral_date", "receiveddate": "referral_date", "dateofreferral": "referral_date",
            "referralreceived": "referral_date", "referredon": "referral_date", "startdate": "start_date",
            "datestarted": "start_date", "enddate": "end_date", "dateended": "end_date",
            "referralsource": "source", "localauthority": "district", "referredby": "source", "sourceofreferral": "source",
            "riskassessment": "risk_level", "risk": "risk_level", "sex": "gender",
            "offencedate": "offence_date", "dateofoffence": "offence_date", "dafLag": "da_related",
            "domesticabuse": "da_related", "daflag": "da_related", "disposal": "outcome",
            "disposaldate": "outcome_date", "attended": "sessions_attended", "offered": "sessions_offered"}
_CUTOFF = 0.75


@dataclass
class Draft:
    """What :func:`draft_area` found: the YAML text, and counts for the summary."""

    name: str
    text: str
    mapped_columns: int = 0
    mapped_labels: int = 0
    todos: list[str] = field(default_factory=list)
    renames: dict[str, str] = field(default_factory=dict)
    date_format: str = ISO_DATE


def _q(text: object) -> str:
    """A YAML scalar that reads back as exactly this text (a JSON string is valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _slug(text: str) -> str:
    return re.sub(r"[\W_]+", "_", str(text).strip().lower()).strip("_") or "programme"


def _best(word: str, choices: dict[str, str]) -> tuple[str | None, str]:
    """The choice ``word`` matches: ``(choice, how)``, how = exact, normalised or close."""
    if word in choices.values():
        return word, "exact"
    n = normalise_label(word)
    by_norm = {normalise_label(c): c for c in choices.values()}
    if n in by_norm:
        return by_norm[n], "normalised"
    phrase = _PHRASES.get(n)
    if phrase in choices.values():
        return phrase, "close"
    tokens = re.findall(r"[a-z0-9]+", str(word).lower())
    words = [_SYNONYMS.get(t, t) for t in tokens]
    swapped = "".join(words)
    if swapped in by_norm:
        return by_norm[swapped], "close"
    by_words = {" ".join(sorted(re.findall(r"[a-z0-9]+", c.lower()))): c for c in choices.values()}
    if " ".join(sorted(words)) in by_words:       # the same words in another order: Date Offered
        return by_words[" ".join(sorted(words))], "close"
    close = difflib.get_close_matches(swapped, list(by_norm), n=1, cutoff=_CUTOFF)
    if close:
        return by_norm[close[0]], "close"
    return None, ""


def detect_date_format(values: pd.Series) -> tuple[str | None, str]:
    """The text date format that reads every value, and a note when it is a judgement.

    Day-first and month-first both read ``03/04/2022``; when every value fits both, the
    day-first one (every UK system's) is chosen and the note says to confirm it, as the
    loader itself never guesses. Returns ``(None, note)`` when no format reads them all.
    """
    text = pd.Series([v.strip() for v in pd.unique(values.dropna()) if isinstance(v, str)], dtype=object)
    text = pd.Series(text[text.ne("")].unique()) if len(text) else text
    if text.empty:
        return None, ""
    fits = [f for f in DATE_FORMATS if pd.to_datetime(text, format=f, errors="coerce").notna().all()]
    if not fits:
        counts = {f: int(pd.to_datetime(text, format=f, errors="coerce").notna().sum()) for f in DATE_FORMATS}
        best = max(counts, key=counts.get)
        if counts[best] == 0:
            return None, f"no date format reads values such as {text.iloc[0]!r}"
        return best, (f"{len(text) - counts[best]} of {len(text)} distinct values do not fit {best} "
                      f"(e.g. {text[pd.to_datetime(text, format=best, errors='coerce').isna()].iloc[0]!r})")
    if "%d/%m/%Y" in fits and "%m/%d/%Y" in fits:
        return "%d/%m/%Y", ("every date has a day of 12 or less, so day-first and month-first both fit: "
                            "confirm day first (dd/mm/yyyy)")
    return fits[0], ""


def _table_of(path: Path, headers: list[str]) -> tuple[str | None, str]:
    """Which contract table a file holds: by its name, else by the headers it shares."""
    chosen, how = _best(path.stem, {t: t for t in TABLES})
    if chosen and how != "close":
        return chosen, how
    scores = {t: sum(_best(h, {c: c for c in TABLES[t].names})[0] is not None for h in headers) for t in TABLES}
    best = max(scores, key=scores.get)
    if chosen and scores[chosen] >= scores[best] * 0.5:
        return chosen, "close"
    return (best, "headers") if scores[best] >= 2 else (None, "")


def draft_area(name: str, folder: str | Path) -> Draft:
    """Read an export and draft its area file (see the module docstring).

    Raises
    ------
    ParamsError
        When the folder holds no CSV, XLSX or Parquet file.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _DATA_SUFFIXES) if folder.is_dir() else []
    if not files:
        raise ParamsError(f"{folder}: no CSV, XLSX or Parquet files to read; give the folder holding the "
                          "export's files (referrals, episodes, ...)")
    draft = Draft(name=name, text="")
    todo = draft.todos.append
    raws: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for path in files:
        raw, _, read_problems = _read_raw(path)
        if raw is None:
            why = "; ".join(str(p["problem"]) for p in read_problems) or "cannot be read"
            todo(f"{path.name}: {why}")
            notes.append(f"# TODO: {path.name}: {why}")
            continue
        raw.columns = [str(c).strip() for c in raw.columns]
        table, how = _table_of(path, list(raw.columns))
        if table is None or table in raws:
            todo(f"{path.name}: cannot tell which table it holds; name it after one ({', '.join(TABLES)})")
            notes.append(f"# TODO: {path.name}: which table is this? Name the file after one: {', '.join(TABLES)}")
            continue
        raws[table] = raw
        if path.stem != table:
            draft.renames[path.name] = f"{table}{path.suffix.lower()}"
            todo(f"rename {path.name} to {table}{path.suffix.lower()}")
            notes.append(f"# TODO: rename {path.name} to {table}{path.suffix.lower()} (files are named after "
                         f"their table); it looks like {table} ({how})")

    raws = {t: raws[t] for t in TABLES if t in raws}   # in the contract's order
    columns: dict[str, list[str]] = {}
    contract_data: dict[str, pd.DataFrame] = {}
    for table, raw in raws.items():
        lines, renamed = _map_columns(TABLES[table], raw, draft)
        columns[table] = lines
        contract_data[table] = raw.rename(columns=renamed)

    date_lines, date_overrides = _date_format(contract_data, draft)
    district_lines = _districts(contract_data, draft)
    programme_lines = _programmes(contract_data, draft)
    label_lines = _labels(contract_data, draft)

    out = [f"# Draft area file for {name}, written by `evallib new-area {name} --from {folder}`.",
           "# Fill in every TODO, then check the export against it:",
           f"#   evallib validate --data {folder} --area {name}",
           *notes,
           f"name: {name}",
           f"display_name: {_q(name.replace('_', ' ').title())}   # TODO: how reports name the area",
           "# police_force: \"...\"   # TODO: the police force supplying offender data",
           *district_lines,
           "groups: {}   # TODO: reporting groups in table order, e.g. COUNTY: [district, ...]; see docs/adapting.md",
           *programme_lines,
           *date_lines, *date_overrides]
    column_blocks = [line for t, lines in columns.items() if lines
                     for line in _block(t, [f"    {x}" for x in lines], "  ")]
    if column_blocks:
        out += [*_block("columns", column_blocks, ""), "# (columns: per table, the export's header -> the contract's column)"]
    out.extend(label_lines)
    draft.text = "\n".join(out) + "\n"
    return draft


def _map_columns(table: Table, raw: pd.DataFrame, draft: Draft) -> tuple[list[str], dict[str, str]]:
    lines: list[str] = []
    renamed: dict[str, str] = {}
    taken: dict[str, str] = {}
    choices = {c: c for c in table.names}
    for header in raw.columns:
        if identifying(header):
            lines.append(f"# TODO: {_q(header)}: {identifying(header)}, never read: remove it from the export")
            draft.todos.append(f"{table.name}: remove {header!r} from the export (identifying)")
            continue
        target, how = _best(header, choices)
        if target is None or target in taken:
            why = f"also matches {target!r}, already taken by {taken[target]!r}" if target else "not in the contract"
            lines.append(f"# TODO: {_q(header)}: {why}; map it onto a column of {table.name} "
                         f"or remove it from the export (or list it under extra_columns)")
            draft.todos.append(f"{table.name}: column {header!r}")
            continue
        taken[target] = header
        renamed[header] = target
        if how != "exact":
            draft.mapped_columns += 1
            check = "   # close match: check it" if how == "close" else ""
            lines.append(f"{_q(header)}: {target}{check}")
    for col in table.columns:
        if col.required and col.name not in taken:
            lines.append(f"# TODO: required column {col.name} ({col.meaning}) not found: map the export's "
                         f"header onto it")
            draft.todos.append(f"{table.name}: required column {col.name}")
    return lines, renamed


def _date_format(data: dict[str, pd.DataFrame], draft: Draft) -> tuple[list[str], list[str]]:
    found: dict[tuple[str, str], tuple[str | None, str]] = {}
    for table, df in data.items():
        for col in TABLES[table].columns:
            if col.kind == "date" and col.name in df.columns:
                found[(table, col.name)] = detect_date_format(df[col.name])
    known = Counter(f for f, _ in found.values() if f)
    if not known:
        return ["# date_format: dates are ISO 8601 (2022-04-25) or Excel date cells"], []
    main = known.most_common(1)[0][0]
    draft.date_format = main
    lines = [f"date_format: {_q(main)}   # detected in the export's text dates"]
    overrides: dict[str, list[str]] = {}
    for (table, column), (fmt, note) in found.items():
        if fmt and fmt != main:
            overrides.setdefault(table, []).append(f"    {column}: {_q(fmt)}")
        if note:
            overrides.setdefault(table, [])
            lines.append(f"# TODO: {table}.{column}: {note}")
            draft.todos.append(f"date format of {table}.{column}: {note}")
    over = ["date_formats:"] if any(overrides.values()) else []
    for table, entries in overrides.items():
        if entries:
            over += [f"  {table}:", *entries]
    return lines, over


def _distinct(series: pd.Series) -> list[str]:
    """The export's labels, most common first, one per normalised form."""
    raw = series.value_counts()           # distinct cells first: the rest is per label, not per row
    raw = raw[[isinstance(v, str) for v in raw.index]]
    stripped = pd.Index([v.strip() for v in raw.index], dtype=object)
    counts = raw.groupby(stripped).sum().sort_values(ascending=False, kind="stable")
    counts = counts[counts.index != ""]
    # of the spellings of one label, the most common written in mixed case (as a person
    # would write it in the file), else the most common
    mixed = pd.Series([v != v.lower() and v != v.upper() for v in counts.index], index=counts.index)
    ordered = counts.index[np.lexsort((-counts.to_numpy(), ~mixed.to_numpy()))]
    seen: dict[str, str] = {}
    for label in ordered:
        seen.setdefault(normalise_label(label), label)
    order = {normalise_label(v): i for i, v in enumerate(counts.index)}
    return sorted(seen.values(), key=lambda v: order[normalise_label(v)])


def _found_labels(data: dict[str, pd.DataFrame], table: str, column: str, draft: Draft) -> list[str]:
    """The distinct labels of one column of the export, or a TODO when it has none."""
    df = data.get(table)
    names = _distinct(df[column]) if df is not None and column in df else []
    draft.mapped_labels += len(names)
    if not names:
        draft.todos.append(f"{column}s: none found in {table}")
    return names


def _districts(data: dict[str, pd.DataFrame], draft: Draft) -> list[str]:
    names = _found_labels(data, "referrals", "district", draft)
    if not names:
        return ["districts: []   # TODO: every district a referral can come from"]
    return ["districts:   # as the export writes them (case and spaces do not matter); TODO: check",
            *[f"  - {_q(n)}" for n in sorted(names)]]


def _programmes(data: dict[str, pd.DataFrame], draft: Draft) -> list[str]:
    names = _found_labels(data, "episodes", "programme", draft)
    if not names:
        return ["programmes: {}   # TODO: each programme: key: {role: core, label: ...}"]
    draft.todos.append("programme roles")
    keys: list[str] = []
    for label in names:   # one key per programme, even when two labels make the same key
        key = _slug(label)
        keys.append(key if key not in keys else f"{key}_{sum(k.startswith(key) for k in keys) + 1}")
    return ["programmes:   # TODO: set each role: core, awareness or follow_on (and weeks)",
            *[f"  {key}: {{role: core, label: {_q(label)}}}" for key, label in zip(keys, names, strict=True)]]


def _block(key: str, children: list[str], indent: str) -> list[str]:
    """``key:`` over its lines; commented out when every line under it is a comment, so
    the draft always loads (an empty mapping would be ``null``)."""
    real = any(not line.lstrip().startswith("#") for line in children)
    return [f"{indent}{key}:" if real else f"{indent}# {key}: (TODOs only so far)", *children]


def _labels(data: dict[str, pd.DataFrame], draft: Draft) -> list[str]:
    tables: list[str] = []
    for table, df in data.items():
        columns: list[str] = []
        for col in TABLES[table].columns:
            if col.name in ("district", "programme") or col.name not in df.columns:
                continue
            lines = []
            if col.kind == "bool":     # words other than yes/no, true/false, 1/0 need saying
                for label in _distinct(df[col.name]):
                    if label.lower() not in TRUE_WORDS | FALSE_WORDS:
                        lines.append(f"      # TODO: {_q(label)}: true or false")
                        draft.todos.append(f"label {label!r} of {table}.{col.name}")
            for label in _distinct(df[col.name]) if col.kind == "category" else []:
                target, how = _best(label, {c: c for c in col.categories})
                if target is None:
                    lines.append(f"      # TODO: {_q(label)}: one of {', '.join(col.categories)}")
                    draft.todos.append(f"label {label!r} of {table}.{col.name}")
                    continue
                draft.mapped_labels += 1
                if how == "close":
                    lines.append(f"      {_q(label)}: {target}   # close match: check it")
            if lines:
                columns += _block(col.name, lines, "    ")
        if columns:
            tables += _block(table, columns, "  ")
    if not tables:
        return []
    return _block("labels", tables, "") + [
        "# (labels: per table and contract column, the export's label -> the contract's; case, spaces and "
        "punctuation are ignored, so only labels that differ in words need a line)"]


def write_draft(name: str, folder: str | Path, out: str | Path | None = None, *, force: bool = False
                ) -> tuple[Path, Draft]:
    """Draft the area file and write it (default ``params/areas/NAME.yaml``); never
    overwrites an existing file unless ``force``."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ParamsError(f"area name {name!r}: use lower-case letters, digits and _ (e.g. west_midlands)")
    path = Path(out) if out else params_dir() / "areas" / f"{name}.yaml"
    if path.exists() and not force:
        raise ParamsError(f"{path} exists already; choose another name, or --force to replace it")
    draft = draft_area(name, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(draft.text, encoding="utf-8")
    return path, draft
