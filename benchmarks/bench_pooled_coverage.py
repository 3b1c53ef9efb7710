"""Known-truth check of the pooled evaluation on the three areas' demo data (slow: a benchmark).

Each round writes the Leicestershire, Nottinghamshire and Derbyshire demo datasets with a
new seed (calibrated as the demo, with the stored true effect of completing), runs the
pooled evaluation's own estimators on them (:func:`evallib.reports.pooled.load_pool`, the
adjusted estimate with the area in the propensity model, and the Mantel-Haenszel
difference), and compares each interval with the true effect on the completers analysed,
from the generator's latent truth (each person's reoffending probability had they
completed and had they not). It reports how often each interval covers the truth and the
mean error. The fast version of this check, on the person-level simulator, is a test
(``tests/test_stats_meta.py::test_known_truth_pooled_adjusted_covers_and_unadjusted_pool_is_biased``).

Run: ``.venv/bin/python benchmarks/bench_pooled_coverage.py --datasets 200`` (about 15 s a
round on the 2-core development machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from evallib import stats
from evallib.reports import pooled
from evallib.reports.evaluation import adjusted
from evallib.synthetic.demo import generate_demo, write_dataset

AREAS = ("leicestershire", "nottinghamshire", "derbyshire")


def one_round(seed: int, period: str, folder: Path) -> dict:
    truth = {}
    for area in AREAS:
        tables, meta = generate_demo(area, seed=seed)
        truth[area] = meta["people"].set_index("person_id")
        write_dataset(tables, {k: v for k, v in meta.items() if k != "people"}, folder / area)
    pool = pooled.load_pool(folder, list(AREAS), period)
    effects = []
    for s in pool.strata:
        a = s.ev.analysed("any")
        ids = a.loc[a["group"] == "completed", "person_id"]
        t = truth[s.area].loc[ids]
        effects.append((t["p_any_if_completed"] - t["p_any_if_not"]).to_numpy())
    att = float(np.concatenate(effects).mean())
    adj = adjusted.unpublished_estimates(pool.evaluation(), "any", extra_covariates=("area",)).propensity
    c = pool.counts("any")
    c = c[(c["n1"] > 0) & (c["n0"] > 0)]
    mh = stats.mantel_haenszel_difference(c["c1"], c["n1"], c["c0"], c["n0"])
    return {"att": att, "adj": adj, "mh": mh}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=200, help="rounds (default 200)")
    ap.add_argument("--period", default="2021-04-01..2024-03-31", help="period pooled (default: every year)")
    ap.add_argument("--seed", type=int, default=1000, help="first seed")
    args = ap.parse_args()
    cover = {"adj": 0, "mh": 0}
    err = {"adj": [], "mh": []}
    used = 0
    start = time.perf_counter()
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")
        for i in range(args.datasets):
            r = one_round(args.seed + i, args.period, Path(tmp) / str(i))
            if r["adj"] is None:
                continue
            used += 1
            for k in cover:
                lo, hi = r[k].difference_ci
                cover[k] += lo <= r["att"] <= hi
                err[k].append(r[k].difference - r["att"])
    secs = time.perf_counter() - start
    print(f"{used} of {args.datasets} demo pools ({args.period}) with an adjusted estimate, {secs:.0f} s")
    for k, name in (("adj", "adjusted (propensity, area in the model)"), ("mh", "Mantel-Haenszel, unadjusted")):
        print(f"  {name}: covers the true effect on completers in {cover[k] / max(used, 1):.1%}; "
              f"mean error {np.mean(err[k]):+.3f}")


if __name__ == "__main__":
    main()
