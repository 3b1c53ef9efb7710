"""The national pipeline against DuckDB: load + validate, cohorts, proven reoffending.

Not a test (timings vary by machine and load): run it to see ratios measured in one run.

    .venv/bin/python benchmarks/bench_national.py [--scale 1] [--data FOLDER] [--repeat 1]

It writes the synthetic national dataset (``evallib synth --national``: at scale 1,
1M referrals and 10M police records in 40 areas, Parquet partitioned by area) unless
``--data`` names one, then runs, each in a fresh subprocess so that its peak memory is
its own (``ru_maxrss``):

- **evallib**: ``load_dataset`` (read + validate), ``build_cohort``, ``proven_reoffending``;
- **duckdb**: the independent SQL implementation of the same cohort and reoffending
  definitions over the same files (``sql_reference.py``);
- **read_parquet**: a plain ``pandas.read_parquet`` of the three tables, for scale.

The runs alternate (``--repeat`` rounds; medians reported), so both sides see the same
machine load. It prints each stage's time, the ratios to DuckDB and the peak memory,
and checks that every person's group, index date and outcomes are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PERIOD = ("2021-04-01", "2022-03-31")


# --------------------------------------------------------------------------- child processes
def _peak_gib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2   # KiB on Linux


def child_evallib(folder: str, out: str) -> dict:
    import pandas as pd

    from evallib.cohorts import build_cohort
    from evallib.outcomes.reoffending import proven_reoffending
    from evallib.schemas import load_dataset

    t = {}
    s = time.perf_counter()
    ds = load_dataset(folder)
    t["load + validate"] = time.perf_counter() - s
    s = time.perf_counter()
    cohort = build_cohort(ds, "..".join(PERIOD))
    t["cohorts"] = time.perf_counter() - s
    s = time.perf_counter()
    r = proven_reoffending(cohort.people, ds.police, ds.police_extract_date, cohort.settings)
    t["proven reoffending"] = time.perf_counter() - s
    res = pd.concat([cohort.people[["person_id", "group"]], r.drop(columns="person_id")], axis=1)
    res.to_parquet(out)
    return {"times": t, "peak_gib": _peak_gib(), "people": len(res), "police": len(ds.police),
            "referrals": len(ds.referrals), "flow": cohort.flow["n"].tolist()}


def child_duckdb(folder: str, out: str) -> dict:
    sys.path.insert(0, str(HERE))
    import sql_reference as ref

    from evallib.params import load_area

    area = load_area("national")
    s = time.perf_counter()
    con = ref.connect(folder)
    res = ref.cohort_and_reoffending(con, start=PERIOD[0], end=PERIOD[1], core_programmes=area.core_programmes,
                                     police_extract_date=_police_extract(folder), **_settings(area))
    flow = ref.record_flow_counts(con, start=PERIOD[0], end=PERIOD[1], core_programmes=area.core_programmes)
    took = time.perf_counter() - s
    res.to_parquet(out)
    return {"times": {"cohort + reoffending + flow": took}, "peak_gib": _peak_gib(), "people": len(res),
            "flow": list(flow.values())}


def child_read(folder: str, out: str) -> dict:
    import pandas as pd

    s = time.perf_counter()
    for table in ("referrals", "episodes", "police"):
        pd.read_parquet(Path(folder) / f"{table}.parquet")
    return {"times": {"read_parquet": time.perf_counter() - s}, "peak_gib": _peak_gib()}


def _settings(area) -> dict:
    o = area.outcomes
    return {"index_date": o.index_date, "window_months": o.window_months, "waiting_months": o.waiting_months,
            "proven_outcomes": o.proven_outcomes, "countable_when": o.countable_when}


def _police_extract(folder: str):
    import yaml

    meta = yaml.safe_load((Path(folder) / "dataset.yaml").read_text())
    return meta.get("police_extract_date") or meta["extract_date"]


CHILDREN = {"evallib": child_evallib, "duckdb": child_duckdb, "read_parquet": child_read}


# --------------------------------------------------------------------------- parent
def _run(kind: str, folder: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(folder), str(out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(a_path: Path, b_path: Path) -> tuple[bool, str]:
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(a_path).sort_values("person_id").reset_index(drop=True)
    b = pd.read_parquet(b_path).sort_values("person_id").reset_index(drop=True)
    if len(a) != len(b):
        return False, f"{len(a)} people against {len(b)}"

    def norm(s):
        if s.name in ("person_id", "group"):
            return s.astype(str).to_numpy()
        if s.name == "index_date":
            d = pd.to_datetime(s).astype("datetime64[ns]")
            return np.where(d.isna(), np.nan, d.to_numpy().astype("int64") / 8.64e13)
        return pd.array(s.astype(object).where(s.notna(), None).to_numpy(), dtype="Float64").to_numpy(
            float, na_value=np.nan)

    for col in b.columns:
        x, y = norm(a[col]), norm(b[col])
        same = (x == y) if x.dtype == object else ((x == y) | (np.isnan(x) & np.isnan(y)))
        if not same.all():
            return False, f"{col} differs for {int((~same).sum())} people"
    return True, f"{len(a):,} people, {len(b.columns)} columns"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="national dataset size (1 = 1M referrals)")
    parser.add_argument("--data", help="an existing national dataset folder (else one is written)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (medians are reported)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = Path(args.data) if args.data else tmp / "national"
        if not args.data:
            from evallib.synthetic.national import write_national

            s = time.perf_counter()
            write_national(folder, scale=args.scale)
            print(f"wrote the national dataset (scale {args.scale:g}) in {time.perf_counter() - s:.1f} s")
        runs: dict[str, list[dict]] = {k: [] for k in CHILDREN}
        for _ in range(args.repeat):
            for kind in CHILDREN:
                runs[kind].append(_run(kind, folder, tmp / f"{kind}.parquet"))
        same, detail = _same(tmp / "evallib.parquet", tmp / "duckdb.parquet")
        flows_agree = runs["evallib"][-1]["flow"] == runs["duckdb"][-1]["flow"]

    med = {k: {stage: statistics.median(r["times"][stage] for r in v) for stage in v[0]["times"]}
           for k, v in runs.items()}
    peak = {k: max(r["peak_gib"] for r in v) for k, v in runs.items()}
    ev = runs["evallib"][-1]
    duck = med["duckdb"]["cohort + reoffending + flow"]
    pipeline = sum(med["evallib"].values())
    print(f"\n{ev['referrals']:,} referrals, {ev['police']:,} police records, {ev['people']:,} people in the "
          f"2021-22 cohort; {platform.machine()}, {os.cpu_count()} cores; medians of {args.repeat}")
    print(f"{'stage':<40}{'seconds':>9}{'x DuckDB':>10}")
    for stage, v in med["evallib"].items():
        print(f"  evallib {stage:<32}{v:9.2f}{v / duck:10.2f}")
    print(f"  evallib {'validate + cohorts + reoffending':<32}{pipeline:9.2f}{pipeline / duck:10.2f}")
    print(f"  {'DuckDB SQL reference':<40}{duck:9.2f}{1:10.2f}")
    rp = med["read_parquet"]["read_parquet"]
    print(f"  {'plain pandas.read_parquet':<40}{rp:9.2f}{rp / duck:10.2f}")
    print(f"load + validate / plain read_parquet: {med['evallib']['load + validate'] / rp:.2f}x")
    print(f"peak memory (GiB): evallib {peak['evallib']:.2f}, DuckDB {peak['duckdb']:.2f}, "
          f"read_parquet {peak['read_parquet']:.2f}")
    print(f"same answers for every person: {'yes' if same else 'NO'} ({detail}); "
          f"record flow counts agree: {'yes' if flows_agree else 'NO'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"medians": med, "peak_gib": peak, "same": same,
                                               "ratio": pipeline / duck}, indent=2))
    if not (same and flows_agree):
        raise SystemExit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(CHILDREN[sys.argv[2]](sys.argv[3], sys.argv[4])))
    else:
        main()
