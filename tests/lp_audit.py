"""The tests' own linear-programming audit of published counts (shares no code with the gate).

Given what a report publishes (its ``disclosure`` record: counts, ``None`` where hidden,
the sums, the "at most" relations, latent counts and shared keys), find for every hidden
count the smallest and largest whole values it can take. Used by the gate's unit tests, the
pooled and quarterly-return tests and the audit of a whole default run.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog


def narrowest(records: dict[str, dict]) -> dict[str, float]:
    """How many whole values each hidden count can still take, given everything shown.

    ``records``: report -> record. Counts of different reports are different unknowns,
    except counts declared to describe the same people (the same shared key).
    """
    def name(report: str, key: str, rec: dict) -> str:
        shared = rec.get("shared", {}).get(key)
        return f"shared:{shared}" if shared else f"{report}:{key}"

    known: dict[str, float] = {}
    unknown: list[str] = []
    sums, at_most = [], []
    for report, rec in records.items():
        for key, value in rec["counts"].items():
            n = name(report, key, rec)
            if value is None:
                unknown.append(n)
            else:
                assert known.get(n, value) == value, f"{n} published as {known[n]} and {value}"
                known[n] = float(value)
        unknown += [name(report, k, rec) for k in rec["latent"]]
        sums += [(name(report, s["total"], rec), [name(report, m, rec) for m in s["members"]]) for s in rec["sums"]]
        at_most += [(name(report, a, rec), name(report, b, rec)) for a, b in rec["at_most"]]
    unknown = [k for k in dict.fromkeys(unknown) if k not in known]
    latent = {name(r, k, rec) for r, rec in records.items() for k in rec["latent"]}
    col = {k: i for i, k in enumerate(unknown)}

    def row(terms):
        r, rhs = np.zeros(len(unknown)), 0.0
        for k, sign in terms:
            if k in col:
                r[col[k]] += sign
            else:
                rhs -= sign * known[k]
        return r, rhs

    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for total, members in sums:
        r, rhs = row([(total, -1.0), *[(m, 1.0) for m in members]])
        if r.any():
            a_eq.append(r)
            b_eq.append(rhs)
        else:
            assert abs(rhs) < 1e-9, f"published counts break the stated sum {total} = {' + '.join(members)}"
    for a, b in at_most:
        r, rhs = row([(a, 1.0), (b, -1.0)])
        if r.any():
            a_ub.append(r)
            b_ub.append(rhs)
    lp = {"A_eq": np.array(a_eq) if a_eq else None, "b_eq": np.array(b_eq) if b_eq else None,
          "A_ub": np.array(a_ub) if a_ub else None, "b_ub": np.array(b_ub) if b_ub else None,
          "bounds": (0, None), "method": "highs"}
    out = {}
    for k in unknown:
        if k in latent:
            continue
        goal = np.zeros(len(unknown))
        goal[col[k]] = 1.0
        lo, hi = linprog(goal, **lp), linprog(-goal, **lp)
        assert lo.status == 0, f"{k}: the published numbers contradict the stated relations ({lo.message})"
        out[k] = math.inf if hi.status == 3 else math.floor(-hi.fun + 1e-6) - math.ceil(lo.fun - 1e-6) + 1
    return out


def possible_values(record: dict) -> dict[str, float]:
    """For each hidden count of one gate record: how many whole values it can still take."""
    widths = narrowest({"r": {**record, "shared": {}}})
    return {k.split(":", 1)[1]: v for k, v in widths.items()}
