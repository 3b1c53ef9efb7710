"""The Derbyshire demo: Changes and the 180 high-harm service, calibrated to Changes' 2023-24 Q3 return.

Seed 004 (Derbyshire OPCC FOI 11/2024) describes two services funded by the Home Office
Perpetrator Fund, each run by its own provider:

- **Changes** (The Elm Foundation, Crossroads Derbyshire, Derbyshire Wish): a 26-week
  voluntary group programme (``changes``), two hours a week, with four maintenance
  sessions over the six months after it; Safety Workers support partners, ex-partners and
  any woman at risk. It prints a quarterly monitoring return, "Q3" of 2023-24.
- **180** (Glow): one-to-one work with high-harm perpetrators (``high_harm``) from 2023-24.

Referrals April 2021 - March 2024 are drawn forward from the model
(:mod:`evallib.synthetic.model`; completion confounded, the true effect stored), and the
records of Changes around October - December 2023 are then fixed so that the return
computed by :func:`evallib.reports.quarterly.quarterly_return` from Changes' records
reproduces the printed one (:data:`RETURN`). "Fix how many, the model decides who": every
cell fixes a count; weighted draws choose the people. Where the print contradicts itself
or the data contract, ``tests/fixtures/derbyshire_return.yaml`` records it and the demo
follows the rows (see ``docs/demo-data.md``).

Each provider exports its own records, and the return is a provider's: :func:`generate`
returns the area's dataset (both services, for the evaluation) and, in
``meta["services"]["changes"]``, Changes' export alone, which
:func:`evallib.synthetic.demo.write_demo` writes to the subfolder ``changes/``.
"""

from __future__ import annotations

import copy
from datetime import date

import numpy as np
import pandas as pd

from evallib.params import AreaParams, parse_period
from evallib.synthetic._timeline import (
    MISSING,
    day,
    durations,
    expit,
    schedule,
    uniform_days,
    weighted_pick,
)
from evallib.synthetic.areas import closed_days, quarter_end, referrals
from evallib.synthetic.demo import (
    _finish_episodes,
    _incidents,
    _partners,
    _person_facts,
    _Plan,
    _truth,
    assemble,
    person_onward,
    truth_summary,
)
from evallib.synthetic.model import TrueEffects
from evallib.synthetic.records import one_to_one_sessions, weekly_group_sessions

__all__ = ["generate", "service_export", "EXTRACT_DATE", "RETURN", "QUARTER", "CHANGES_REFERRALS",
           "HIGH_HARM_REFERRALS", "SERVICES"]

EXTRACT_DATE = date(2026, 6, 30)
CITY = "Derby City"
CORE = ("changes", "high_harm")
SERVICES = {"changes": ("changes",), "high_harm": ("high_harm",)}
QUARTER = "2023-24Q3"
_Q = parse_period(QUARTER)
Q3_LO, Q3_HI = day(_Q.start), day(_Q.end)
LAST_WORKING_DAY = date(2023, 12, 29)
FAR = day(date(2030, 12, 31))

#: Changes' referrals (received, eligible) per financial quarter. 2023-24 Q3 is the printed
#: return (invalid 4, valid 23); the others are not published.
CHANGES_REFERRALS = {
    "2021-22Q1": (16, 14), "2021-22Q2": (15, 13), "2021-22Q3": (17, 14), "2021-22Q4": (16, 14),
    "2022-23Q1": (18, 15), "2022-23Q2": (17, 15), "2022-23Q3": (16, 14), "2022-23Q4": (15, 13),
    "2023-24Q1": (14, 12), "2023-24Q2": (15, 13), "2023-24Q3": (27, 23), "2023-24Q4": (20, 17),
}
#: 180: "12 referrals over the last quarter, 11 of which were accepted" (2023-24 Q3).
HIGH_HARM_REFERRALS = {"2023-24Q1": (8, 7), "2023-24Q2": (10, 9), "2023-24Q3": (12, 11), "2023-24Q4": (11, 10)}
SHARES = {"Amber Valley": 11, "Bolsover": 7, "Chesterfield": 11, "Derbyshire Dales": 5, "Erewash": 10,
          "High Peak": 7, "North East Derbyshire": 8, "South Derbyshire": 8, "Derby City": 33}
#: Changes' three weekly groups, one per provider's patch: (weekday, districts).
GROUPS = {1: ["Derby City"], 2: ["Amber Valley", "Erewash", "South Derbyshire"],
          3: ["Bolsover", "Chesterfield", "Derbyshire Dales", "High Peak", "North East Derbyshire"]}

#: The printed return of Changes, 2023-24 Q3 (seed 004), as the generator's input. The test
#: checks the computed return against its own transcription (tests/fixtures/derbyshire_return.yaml).
RETURN = {
    "invalid": 4,                      # 1 Invalid referrals
    "valid": 23,                       # 3 Valid referrals - source of referrals (all start: 100% engaged)
    "supported": 36,                   # D perpetrators supported
    "completed": 4,                    # E "completion rate ... - 4"
    "sessions": {"one_to_one": 14, "group": 40},                                  # B
    "onward": {"housing": 11, "substance_misuse": 4, "mental_health": 3},        # F
    "children": 15,                    # G children
    "caseload_partners": 60,           # caseload TOTAL, Q3 column
    "outcomes": {"improved": 46, "no_change": 12, "deteriorated": 2},   # every outcome line
    # percentage statements: (yes, no); the print gives 90%, 81%, 81%; the n are the demo's
    "feels_safer": (54, 6), "risk_reduced": (38, 9), "abuse_reduced": (47, 11),
}
#: Unpublished splits the return needs: people carried into the quarter (D - valid) who
#: complete in it, drop out in it, or are still on the programme at its end; new
#: starters of the quarter who drop out in it.
CARRIED = {"complete": 4, "drop": 1, "on_completing": 6, "on_dropping": 2}
NEW_DROP = 2


def _quarters(table: dict[str, tuple[int, int]]) -> dict[tuple[date, date], tuple[int, int]]:
    return {(parse_period(q).start, parse_period(q).end): v for q, v in table.items()}


def _short_wait(k: int, rng: np.random.Generator) -> np.ndarray:
    """Days from referral to first session at a service with no waiting list (seed 004: 0 waiting)."""
    return 3 + np.rint(rng.gamma(2.0, 5.0, k)).astype(np.int64)


def _free_episodes(people: pd.DataFrame, who: np.ndarray, programme: str, p_start: np.ndarray,
                   rng: np.random.Generator) -> pd.DataFrame:
    """One episode each for those of ``who`` who start (chance ``p_start``), within their
    referral's quarter; completion by the model."""
    go = who[rng.random(len(who)) < p_start]
    ref = people["ref"].to_numpy(np.int64)[go]
    start = np.minimum(ref + _short_wait(len(go), rng), quarter_end(ref))
    comp = rng.random(len(go)) < people["p_complete"].to_numpy()[go]
    prog = np.full(len(go), programme, dtype=object)
    return pd.DataFrame({"person": go, "programme": prog, "completed": comp, "start": start,
                         "end": start + durations(prog, comp, rng)})


def _changes_episodes(people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Changes' episodes: free before January 2023 and from January 2024; fixed around 2023-24 Q3.

    Everyone who is on Changes at any time in the quarter is one of the people carried
    into it (:data:`CARRIED`) or one of its valid referrals (all of whom start, as the
    100% engagement says); everyone else referred before it has ended by 30 September.
    Each of these gets an end-date window and the dates are drawn by
    :func:`evallib.synthetic._timeline.schedule`, within the referral's quarter.
    """
    pool = people["quarter"].to_numpy(object)
    ch = people["service"].to_numpy(object) == "changes"
    eligible = people["eligible"].to_numpy(bool) & ch
    p_start = people["p_start"].to_numpy()
    p_comp = people["p_complete"].to_numpy()
    early = np.isin(pool, [q for q in CHANGES_REFERRALS if q < "2022-23Q4"])
    late = pool == "2023-24Q4"
    frames = [_free_episodes(people, np.flatnonzero(eligible & (early | late)), "changes", p_start[eligible & (early | late)], rng)]

    def of(*quarters):
        return np.flatnonzero(eligible & np.isin(pool, quarters))

    taken = np.zeros(len(people), bool)
    rows: list[tuple[np.ndarray, bool | np.ndarray, int, int]] = []   # (who, completed, end lo, end hi)

    def pick(cand, k, w):
        cand = cand[~taken[cand]]
        got = cand[weighted_pick(w[cand], k, rng)]
        taken[got] = True
        return got

    in_q = (Q3_LO, day(LAST_WORKING_DAY) - 1)     # ended in the quarter, before its last working day
    rows.append((pick(of("2022-23Q4", "2023-24Q1"), CARRIED["complete"], p_start * p_comp), True, *in_q))
    rows.append((pick(of("2023-24Q1", "2023-24Q2"), CARRIED["drop"], p_start * (1 - p_comp)), False, *in_q))
    rows.append((pick(of("2023-24Q1", "2023-24Q2"), CARRIED["on_completing"], p_start * p_comp), True,
                 Q3_HI + 1, FAR))
    rows.append((pick(of("2023-24Q2"), CARRIED["on_dropping"], p_start * (1 - p_comp)), False, Q3_HI + 1, FAR))
    # the rest referred January - September 2023 ended by 30 September: those referred
    # from April could not have completed 26 weeks by then, so only drop-outs start
    rest = of("2022-23Q4")
    rest = rest[~taken[rest]]
    go = rest[rng.random(len(rest)) < p_start[rest]]
    rows.append((go, rng.random(len(go)) < p_comp[go], day(date(2023, 1, 1)), Q3_LO - 1))
    rest = of("2023-24Q1", "2023-24Q2")
    rest = rest[~taken[rest]]
    rows.append((rest[rng.random(len(rest)) < p_start[rest] * (1 - p_comp[rest])], False,
                 day(date(2023, 4, 1)), Q3_LO - 1))
    # the quarter's valid referrals all start; NEW_DROP leave within it
    new = of(QUARTER)
    drop = pick(new, NEW_DROP, 1 - p_comp)
    rows.append((drop, False, *in_q))
    on = new[~taken[new]]
    rows.append((on, rng.random(len(on)) < p_comp[on], Q3_HI + 1, FAR))

    who = np.concatenate([r[0] for r in rows])
    comp = np.concatenate([np.broadcast_to(np.asarray(r[1], bool), len(r[0])) for r in rows])
    lo = np.concatenate([np.full(len(r[0]), r[2], np.int64) for r in rows])
    hi = np.concatenate([np.full(len(r[0]), r[3], np.int64) for r in rows])
    q_lo = np.array([day(parse_period(q).start) for q in pool[who]], dtype=np.int64)
    q_hi = np.array([day(parse_period(q).end) for q in pool[who]], dtype=np.int64)
    n = len(who)
    starts, ends, refs = schedule(rng, np.full((n, 1), "changes", dtype=object), comp[:, None], lo[:, None],
                                  hi[:, None], np.zeros((n, 1), bool), np.empty((n, 0), dtype=object), q_lo, q_hi,
                                  start_hi=q_hi, draw_wait=_short_wait)
    people.loc[who, "ref"] = refs
    frames.append(pd.DataFrame({"person": who, "programme": "changes", "completed": comp, "start": starts[:, 0],
                                "end": ends[:, 0]}))
    return pd.concat(frames, ignore_index=True)


def _offers(people: pd.DataFrame, ep: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Partners offered support: Changes' Safety Workers offer it to the partner, ex-partner
    and any woman at risk (one to three each); 180's worker to one victim each.

    The people on Changes on the quarter's last working day have partners numbering
    exactly the printed caseload, all engaged (column ``forced``) and offered by that day."""
    eligible = np.flatnonzero(people["eligible"].to_numpy(bool))
    ch = people["service"].to_numpy(object)[eligible] == "changes"
    k = np.where(ch, 1 + (rng.random(len(eligible)) < 0.45) + (rng.random(len(eligible)) < 0.1), 1)
    lwd = day(LAST_WORKING_DAY)
    # whose partners offered by that day are in support on it (the contract's span runs from
    # the offer to the end of the person's last episode): referred by then, not ended before
    last = ep[ep["programme"] == "changes"].groupby("person")["end"].max()
    last = last[last >= lwd].index.to_numpy(np.int64)
    open_ = np.sort(last[people["ref"].to_numpy(np.int64)[last] <= lwd])
    target = RETURN["caseload_partners"]
    if not len(open_) <= target <= 3 * len(open_):
        raise RuntimeError(f"{len(open_)} people on Changes on {LAST_WORKING_DAY}: cannot have {target} partners")
    base = np.full(len(open_), target // len(open_))
    base[rng.permutation(len(open_))[: target - base.sum()]] += 1
    pos = np.searchsorted(eligible, open_)
    k[pos] = base
    who = np.repeat(eligible, k)
    ref = people["ref"].to_numpy(np.int64)[who]
    offered = ref + np.rint(rng.gamma(1.5, 8.0, len(who))).astype(np.int64)
    forced = np.isin(who, open_)
    offered[forced] = np.minimum(offered[forced], lwd)
    offered[~forced & (offered == lwd)] += 1      # the caseload is exactly the forced ones
    return pd.DataFrame({"person": who, "offered": offered, "cell": "", "forced": forced})


def _support_end(partners: pd.DataFrame, ep: pd.DataFrame) -> np.ndarray:
    """The contract's partner support span: to the last episode end of the person, or the offer day."""
    last = ep.groupby("person")["end"].max()
    end = partners["person"].map(last).fillna(MISSING).to_numpy(np.int64)
    offered = partners["offered"].to_numpy(np.int64)
    return np.where(end > offered, end, offered)


def _calibrate_partners(partners: pd.DataFrame, people: pd.DataFrame, ep: pd.DataFrame,
                        rng: np.random.Generator) -> pd.DataFrame:
    """Outcome ratings and answers of the victims Changes supported in the quarter (item G).

    Exactly :data:`RETURN` ``outcomes`` on every outcome line, and the three statements'
    yes and no; everyone else supported in the quarter has no rating, the answer unknown
    and no DASH at last contact. Improvement and yes answers are drawn with weights that
    favour partners of people who complete and of lower risk.
    """
    p = partners.copy()
    ch = people["service"].to_numpy(object)[p["person"].to_numpy(np.int64)] == "changes"
    offered = p["offered"].to_numpy(np.int64)
    g = np.flatnonzero(ch & p["engaged"].to_numpy(bool) & (offered <= Q3_HI) & (_support_end(p, ep) >= Q3_LO))
    who = p["person"].to_numpy(np.int64)[g]
    done = ep.loc[ep["status"] == "completed", "person"].unique()
    good = expit(1.0 + 0.8 * np.isin(who, done)
                 - 0.6 * (people["risk_level"].to_numpy(object)[who] == "high"))

    def answer(k_yes, k_no, weights):
        out = np.full(len(g), None, dtype=object)
        idx = weighted_pick(np.ones(len(g)), k_yes + k_no, rng)
        yes = idx[weighted_pick(weights[idx], k_yes, rng)]
        out[idx] = "no"
        out[yes] = "yes"
        return out

    levels = RETURN["outcomes"]
    rated = weighted_pick(np.ones(len(g)), sum(levels.values()), rng)
    for col in ("outcome_coping", "outcome_safety", "outcome_mental_health", "outcome_confidence"):
        out = np.full(len(g), None, dtype=object)
        free = np.zeros(len(g), bool)
        free[rated] = True
        for level, w in (("improved", good), ("deteriorated", 1 - good), ("no_change", np.ones(len(g)))):
            got = weighted_pick(np.where(free, w, 0.0), levels[level], rng)
            out[got] = level
            free[got] = False
        p.loc[p.index[g], col] = out
    for col in ("feels_safer", "abuse_reduced"):
        values = answer(*RETURN[col], good)
        p.loc[p.index[g], col] = np.where(pd.isna(values), "unknown", values)
    # DASH: a lower band at last contact for the "yes", the same or a higher band for the "no"
    risk = answer(*RETURN["risk_reduced"], good)
    k = len(g)
    start = np.full(k, MISSING, np.int64)
    end = np.full(k, MISSING, np.int64)
    yes, no = risk == "yes", risk == "no"
    start[yes] = rng.integers(11, 20, yes.sum())
    end[yes] = rng.integers(2, 10, yes.sum())
    start[no] = rng.integers(3, 17, no.sum())
    band_lo = np.select([start[no] >= 14, start[no] >= 10], [14, 10], 0)
    end[no] = np.clip(start[no] + rng.integers(-1, 4, no.sum()), band_lo, 27)
    unknown = ~(yes | no)
    start[unknown] = rng.integers(3, 20, unknown.sum())
    p.loc[p.index[g], "dash_start"] = start
    p.loc[p.index[g], "dash_end"] = end
    return p


def _sessions(ep: pd.DataFrame, district: np.ndarray, extract: int, rng: np.random.Generator) -> pd.DataFrame:
    """Changes' three weekly groups (none on bank holidays or over Christmas), its maintenance
    groups and one-to-one catch-up sessions; 180's weekly one-to-one sessions.

    Maintenance and one-to-one sessions are not tied to a person in the contract: their
    number per quarter is drawn (Poisson), except in 2023-24 Q3, where they make up the
    printed 40 group and 14 one-to-one sessions."""
    start = ep["start"].to_numpy(np.int64)
    end = np.where(ep["end"].to_numpy(np.int64) == MISSING, extract, ep["end"].to_numpy(np.int64))
    prog = ep["programme"].to_numpy(object)
    dist = district[ep["person"].to_numpy(np.int64)]
    closed = closed_days(date(2021, 1, 1), EXTRACT_DATE)
    frames = []
    for wd, members in GROUPS.items():
        sel = (prog == "changes") & np.isin(dist, members)
        if sel.any():
            frames.append(weekly_group_sessions("changes", start[sel], end[sel], wd, extract, rng, closed))
    weekly = pd.concat(frames, ignore_index=True)
    in_q = int(weekly["day"].between(Q3_LO, Q3_HI).sum())
    extra = RETURN["sessions"]["group"] - in_q
    if extra < 0:
        raise RuntimeError(f"{in_q} weekly group sessions in {QUARTER}, more than the printed "
                           f"{RETURN['sessions']['group']}")
    ch_start, ch_end = start[prog == "changes"].min(), min(end[prog == "changes"].max(), extract)
    qs = np.unique(quarter_end(np.arange(ch_start, ch_end + 1, 28)))
    for q_hi in qs:
        q_lo = day(parse_period(_fy_quarter(q_hi)).start)
        is_q3 = q_hi == Q3_HI
        for fmt, k, lam in (("group", extra, 4.0), ("one_to_one", RETURN["sessions"]["one_to_one"], 12.0)):
            n = k if is_q3 else int(rng.poisson(lam))
            days = np.arange(max(q_lo, ch_start), min(q_hi, ch_end) + 1)
            days = days[((days + 3) % 7 < 5) & ~np.isin(days, closed)]      # weekdays the service is open
            if n == 0 or len(days) == 0:
                continue
            frames.append(pd.DataFrame({"programme": "changes", "day": np.sort(rng.choice(days, n)), "format": fmt,
                                        "attendees": 1 if fmt == "one_to_one" else rng.integers(2, 7, n)}))
    frames.append(one_to_one_sessions(ep, prog == "high_harm", end))
    out = pd.concat(frames, ignore_index=True)
    return out[out["day"] <= extract].reset_index(drop=True)


def _fy_quarter(q_hi: int) -> str:
    d = np.datetime64(int(q_hi), "D").astype(object)
    fy = d.year if d.month >= 4 else d.year - 1
    return f"{fy}-{(fy + 1) % 100:02d}Q{((d.month - 4) % 12) // 3 + 1}"


def _onward(people: pd.DataFrame, ep: pd.DataFrame):
    """Onward referrals: drawn by need, except Changes' in 2023-24 Q3, which are the printed ones
    (housing for the victims supported; substance misuse and mental health for the people
    on the programme with those needs)."""
    service = people["service"].to_numpy(object)

    def build(facts, people_, partners, extract, rng):
        free = person_onward(facts, people_, partners, extract, rng)
        owner = np.where(free["person"] >= 0, free["person"],
                         partners["person"].to_numpy(np.int64)[np.maximum(free["partner"].to_numpy(np.int64), 0)])
        drop = (service[owner] == "changes") & free["day"].between(Q3_LO, Q3_HI).to_numpy()
        rows = [free[~drop]]
        chg = ep[(ep["programme"] == "changes") & (ep["start"] <= Q3_HI) & (ep["end"] >= Q3_LO)]
        d_people = chg["person"].to_numpy(np.int64)
        lo_day = np.maximum(chg["start"].to_numpy(np.int64), Q3_LO)
        for svc, col in (("substance_misuse", "substance_misuse"), ("mental_health", "mental_health")):
            w = 0.1 + people_[col].to_numpy(bool)[d_people]
            got = weighted_pick(w, RETURN["onward"][svc], rng)
            rows.append(pd.DataFrame({"person": d_people[got], "partner": -1, "service": svc,
                                      "day": uniform_days(lo_day[got], np.full(len(got), Q3_HI), rng)}))
        sup = np.flatnonzero((service[partners["person"].to_numpy(np.int64)] == "changes")
                             & partners["engaged"].to_numpy(bool) & (partners["offered"].to_numpy() <= Q3_HI)
                             & (_support_end(partners, ep) >= Q3_LO))
        got = sup[weighted_pick(np.ones(len(sup)), RETURN["onward"]["housing"], rng)]
        lo = np.maximum(partners["offered"].to_numpy(np.int64)[got], Q3_LO)
        rows.append(pd.DataFrame({"person": -1, "partner": got, "service": "housing",
                                  "day": uniform_days(lo, np.full(len(got), Q3_HI), rng)}))
        return pd.concat(rows, ignore_index=True)
    return build


def generate(params: AreaParams, seed: int, effects: TrueEffects) -> tuple[dict[str, pd.DataFrame], dict]:
    """The Derbyshire demo: both services' records, and Changes' own export in ``meta["services"]``."""
    rng = np.random.default_rng(seed)
    frames = []
    for service, table, p_self in (("changes", CHANGES_REFERRALS, 0.35), ("high_harm", HIGH_HARM_REFERRALS, 0.05)):
        df = referrals(_quarters(table), SHARES, CITY, p_self, rng, effects, high_harm=service == "high_harm")
        df["service"] = service
        if service == "high_harm":   # 180 (seed 004): "We still not have had any police referrals";
            police = (df["source"] == "police").to_numpy()        # children's social care refer most
            df.loc[police, "source"] = rng.choice(np.array(["childrens_social_care", "probation", "idva_marac"],
                                                           dtype=object), size=int(police.sum()), p=[0.7, 0.15, 0.15])
        df["quarter"] = np.array(list(table), dtype=object)[df["pool"].to_numpy()]
        frames.append(df)
    people = pd.concat(frames, ignore_index=True)
    ep = _changes_episodes(people, rng)
    hh = np.flatnonzero(people["eligible"].to_numpy(bool) & (people["service"] == "high_harm").to_numpy())
    # 180: "To date we have 100% engagement rate with all service users that have been accepted"
    ep = pd.concat([ep, _free_episodes(people, hh, "high_harm", np.ones(len(hh)), rng)], ignore_index=True)
    # children of the people on Changes in the quarter add up to the printed number
    chg = ep[(ep["programme"] == "changes") & (ep["start"] <= Q3_HI) & (ep["end"] >= Q3_LO)]
    d_people = np.unique(chg["person"].to_numpy(np.int64))
    if len(d_people) != RETURN["supported"]:
        raise RuntimeError(f"{len(d_people)} people on Changes in {QUARTER}, printed {RETURN['supported']}")
    kids = people["children"].to_numpy(np.int64).copy()
    kids[d_people] = rng.multinomial(RETURN["children"], np.full(len(d_people), 1 / len(d_people)))
    people["children"] = kids

    plan = _Plan(people=people, ep=_finish_episodes(ep, rng, EXTRACT_DATE), calibrated=False, window_people={})
    facts = _person_facts(plan, EXTRACT_DATE, CORE)
    incidents = _incidents(plan, facts, rng, EXTRACT_DATE)
    partners = _partners(plan, facts, np.unique(incidents["person"].to_numpy()), rng, EXTRACT_DATE, CORE,
                         windows=(("all", (date(2021, 4, 1), EXTRACT_DATE)),), offers=_offers(people, plan.ep, rng))
    partners = _calibrate_partners(partners, people, plan.ep, rng)
    truth = _truth(plan, facts, rng, effects, EXTRACT_DATE)
    truth["service"] = people["service"].to_numpy(object)
    district = people["district"].to_numpy(object)
    description = (f"Synthetic demo dataset for {params.display_name}: Changes and the 180 high-harm service "
                   f"(Changes' 2023-24 Q3 quarterly return calibrated to the one printed in the OPCC's FOI "
                   f"response): referrals April 2021 - March 2024, case and police records extracted "
                   f"{EXTRACT_DATE:%d %B %Y}. Not real people.")
    tables, meta = assemble(
        params.name, plan, facts, incidents, partners, truth, rng, seed=seed, effects=effects,
        extract_date=EXTRACT_DATE, description=description, calibrated=True,
        generator="evallib.synthetic.derbyshire",
        sessions=lambda ep_, extract, rng_: _sessions(ep_, district, extract, rng_),
        onward=_onward(people, plan.ep),
        extra_meta={"calibrated_to": "Derbyshire OPCC FOI 11/2024 (seed 004): Changes' quarterly return, "
                                     "2023-24 Q3"})
    truth_people = meta["people"]
    changes_people = set(truth_people.loc[truth_people["service"] == "changes", "person_id"])
    meta["services"] = {"changes": service_export(tables, meta, changes_people, "changes",
                                                  f"Changes' own export (The Elm Foundation, Crossroads Derbyshire, "
                                                  f"Derbyshire Wish): {description}")}
    return tables, meta


def service_export(tables: dict[str, pd.DataFrame], meta: dict, person_ids: set[str], name: str,
                   description: str) -> tuple[dict[str, pd.DataFrame], dict]:
    """One provider's records out of the area's dataset: its referrals and everything linked to
    them, its programmes' sessions, and the police records of its people (and of the few
    people with no referral)."""
    ref = tables["referrals"][tables["referrals"]["person_id"].isin(person_ids)]
    rids = set(ref["referral_id"])
    out = {"referrals": ref}
    for t in ("episodes", "incidents", "partners"):
        out[t] = tables[t][tables[t]["referral_id"].isin(rids)]
    pids = set(out["partners"]["partner_id"])
    onw = tables["onward_referrals"]
    out["onward_referrals"] = onw[onw["referral_id"].isin(rids) | onw["partner_id"].isin(pids)]
    out["sessions"] = tables["sessions"][tables["sessions"]["programme"].isin(SERVICES[name])]
    pol = tables["police"]
    everyone = set(tables["referrals"]["person_id"])
    out["police"] = pol[pol["person_id"].isin(person_ids) | ~pol["person_id"].isin(everyone)]
    out = {k: v.reset_index(drop=True) for k, v in out.items()}
    truth = meta["people"][meta["people"]["person_id"].isin(person_ids)].reset_index(drop=True)
    sub = copy.deepcopy({k: v for k, v in meta.items() if k not in ("people", "services")})
    sub["description"] = description
    sub["synthetic"].update(truth_summary(truth), n_people=int(len(truth)), service=name)
    sub["people"] = truth
    return out, sub
