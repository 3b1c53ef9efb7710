"""How proven reoffending scales: the vectorised definition against a per-person reference.

Not a test (timings vary by machine): run it to see the speed ratio measured in this run.

    .venv/bin/python benchmarks/bench_reoffending.py [--people 100000]

It generates a national-scale synthetic dataset (``generate_demo(n_people=...)``), times
loading and validating it, building cohorts and computing proven reoffending for everyone,
and times a plain per-person Python loop implementing the same definition on a sample,
scaled to the same number of people. It checks that both give the same answers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evallib.cohorts import build_cohort
from evallib.outcomes.reoffending import proven_reoffending
from evallib.params import OutcomeSettings
from evallib.schemas import load_dataset
from evallib.synthetic.demo import generate_demo, write_dataset


def per_person_reference(people: pd.DataFrame, police: pd.DataFrame, extract, s: OutcomeSettings) -> list:
    """The definition written the slow, obvious way: one person at a time."""
    by_person = {k: g for k, g in police.groupby("person_id")}
    out = []
    for pid, idx in zip(people["person_id"], people["index_date"], strict=True):
        if pd.isna(idx):
            out.append(None)
            continue
        window_end = idx + pd.DateOffset(months=s.window_months)
        waiting_end = window_end + pd.DateOffset(months=s.waiting_months)
        if waiting_end > extract:
            out.append(None)
            continue
        hit = False
        for r in by_person.get(pid, pd.DataFrame()).itertuples():
            if (idx < r.offence_date <= window_end and r.outcome in s.proven_outcomes
                    and pd.notna(r.outcome_date) and r.outcome_date <= waiting_end and r.outcome_date <= extract):
                hit = True
                break
        out.append(hit)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000, help="referrals to generate (default 100000)")
    parser.add_argument("--sample", type=int, default=2_000, help="people for the per-person reference")
    args = parser.parse_args(argv)
    timings = {}
    t = time.perf_counter()
    tables, meta = generate_demo(n_people=args.people)
    timings["generate"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(tables, meta, Path(tmp), fmt="parquet")
        t = time.perf_counter()
        ds = load_dataset(tmp)
        timings["load and validate"] = time.perf_counter() - t
    t = time.perf_counter()
    cohort = build_cohort(ds, "2021-04-01..2022-11-30")
    timings["cohorts"] = time.perf_counter() - t
    people = cohort.people
    settings = cohort.settings
    t = time.perf_counter()
    fast = proven_reoffending(people, ds.police, ds.police_extract_date, settings)
    timings["proven reoffending (vectorised)"] = time.perf_counter() - t

    sample = people.sample(min(args.sample, len(people)), random_state=1)
    t = time.perf_counter()
    slow = per_person_reference(sample, ds.police, ds.police_extract_date, settings)
    per_person = (time.perf_counter() - t) / len(sample)
    ref_total = per_person * len(people)
    expected = fast.loc[sample.index, "reoffended_any"].astype("object").where(fast.loc[sample.index, "countable"])
    agree = all((a is None and pd.isna(b)) or (a is not None and bool(a) == bool(b))
                for a, b in zip(slow, expected, strict=True))

    print(f"{args.people:,} referrals; {len(people):,} people in the cohort; {len(ds.police):,} police records")
    for k, v in timings.items():
        print(f"  {k:<34} {v:8.2f} s")
    print(f"  {'per-person loop (scaled from sample)':<34} {ref_total:8.2f} s")
    print(f"speed ratio, per-person loop / vectorised: {ref_total / timings['proven reoffending (vectorised)']:.0f}x")
    print(f"same answers on the {len(sample):,} sampled people: {'yes' if agree else 'NO'}")
    if not agree:
        raise SystemExit(1)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
