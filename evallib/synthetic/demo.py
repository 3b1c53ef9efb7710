"""The demo dataset: LLR case records that reproduce the published tables, cell for cell.

:func:`generate_demo` builds a complete synthetic dataset in the data contract's shape
for Leicester, Leicestershire & Rutland: referrals received April 2021 - November 2022
(county referrals stop on 1 December 2022, seed 001), the episodes of every programme,
incidents known while cases were open, the Partner Support Service's partners, sessions
delivered, onward referrals, and police offence records extracted on 30 June 2024.

Two modes
---------
*Calibrated* (default): every published cell of seeds 000 and 001
(:mod:`evallib.synthetic.calibration`) fixes *how many* records fall in it; chance,
with weights from the person-level model (:mod:`evallib.synthetic.model`), decides
*who* and *when*. So the service tables come out exactly as published for any seed,
while completion stays confounded (higher risk, more prior incidents, substance misuse
and mental-health needs make drop-out and reoffending more likely), and proven
reoffending is drawn from the logistic model given covariates and actual completion,
so the true conditional log-odds ratio of completing is exactly the one in
``TrueEffects`` (written to ``dataset.yaml``).

*Scale* (``n_people=N``): the same structure with nothing fixed, every count drawn from
the model; vectorised (100,000 referrals in seconds), for tests with a large true
effect and for benchmarks.

The latent truth (who would reoffend, each person's potential-outcome probabilities)
is returned in ``meta["people"]``; it is never written into the contract's tables.
See ``docs/demo-data.md``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from evallib.params import AreaParams, load_area
from evallib.schemas import TABLES
from evallib.synthetic import calibration as cal
from evallib.synthetic._timeline import (
    MISSING,
    day,
    durations,
    expit,
    gaps,
    odds,
    schedule,
    statuses,
    to_datetime,
    uniform_days,
    waits,
    weighted_pick,
)
from evallib.synthetic.folders import demo_folder
from evallib.synthetic.model import (
    TrueEffects,
    completion_probability,
    draw_covariates,
    draw_reoffending,
    reoffending_probabilities,
)
from evallib.synthetic.records import (
    incident_propensity,
    onward_records,
    police_records,
    session_records,
    span_incidents,
)

__all__ = ["generate_demo", "write_dataset", "write_demo", "demo_folder", "GENERATOR_VERSION", "EXTRACT_DATE",
           "DEFAULT_SEED"]

GENERATOR_VERSION = "1.0"
DEFAULT_SEED = 20240630
EXTRACT_DATE = date(2024, 6, 30)
FIRST_REFERRAL = date(2021, 4, 1)
LAST_REFERRAL = date(2022, 11, 30)
PROGRAMMES = ("second_step", "one_to_one", "womens_programme", "step_up_dads", "foundations")
CORE = cal.CORE
#: Areas with a calibrated demo of their own (a module ``evallib.synthetic.<area>`` with ``generate``).
OTHER_AREAS = ("nottinghamshire", "derbyshire")
DEFAULT_EFFECTS = TrueEffects()

_NOT_SELF = (np.array(["police", "childrens_social_care", "adult_social_care", "probation", "health",
                       "idva_marac", "other"], dtype=object), [0.30, 0.28, 0.04, 0.08, 0.08, 0.10, 0.12])
_INELIGIBLE = (np.array(["in criminal proceedings for domestic abuse",
                         "in family court proceedings about child contact",
                         "disengaged from a similar service in the last 6 months"], dtype=object),
               [0.5, 0.35, 0.15])
_ETHNICITY = np.array(["white", "mixed", "asian", "black", "other", "unknown"], dtype=object)
_ETHNICITY_P = {"city": [0.52, 0.05, 0.33, 0.06, 0.02, 0.02], "county": [0.86, 0.03, 0.06, 0.02, 0.01, 0.02]}
_REPORTED_BY = (np.array(["partner", "police", "self", "practitioner", "other"], dtype=object),
                [0.40, 0.30, 0.10, 0.15, 0.05])
#: Published referrals of both periods, as district shares for the scale mode.
_SHARES = {d: sum(cal.REFERRALS[p][d][0] for p in cal.REFERRALS) for d in cal.DISTRICTS}


@dataclass
class _Plan:
    """People (latent, one row per referral and person) and their episodes, in day numbers."""

    people: pd.DataFrame
    ep: pd.DataFrame
    calibrated: bool
    window_people: dict[str, np.ndarray]


# --------------------------------------------------------------------------- people
def _people_frame(district: np.ndarray, ref: np.ndarray, eligible: np.ndarray, self_ref: np.ndarray,
                  city: str, rng: np.random.Generator, effects: TrueEffects,
                  high_harm: np.ndarray | None = None) -> pd.DataFrame:
    """Covariates from the model's draws, source, demographics and propensities.

    ``high_harm`` marks people referred to a high-harm service: assessed high risk, with
    the prior incidents of high risk drawn again."""
    n = len(district)
    cov = draw_covariates(n, rng)
    if high_harm is not None and high_harm.any():
        cov.loc[high_harm, "risk_level"] = "high"
        cov.loc[high_harm, "prior_da_incidents"] = rng.poisson(2.6, int(high_harm.sum()))
    gender = rng.choice(np.array(["male", "female", "other"], dtype=object), size=n, p=[0.87, 0.12, 0.01])
    is_city = district == city
    eth = np.where(is_city, rng.choice(_ETHNICITY, size=n, p=_ETHNICITY_P["city"]),
                   rng.choice(_ETHNICITY, size=n, p=_ETHNICITY_P["county"]))
    source = np.where(self_ref, "self", rng.choice(_NOT_SELF[0], size=n, p=_NOT_SELF[1])).astype(object)
    reason = np.where(eligible, None, rng.choice(_INELIGIBLE[0], size=n, p=_INELIGIBLE[1])).astype(object)
    people = pd.DataFrame({
        "district": district.astype(object), "ref": ref.astype(np.int64), "eligible": eligible,
        "source": source, "self_referred": self_ref, "ineligible_reason": reason, "gender": gender,
        "ethnicity": eth,
    })
    people = pd.concat([people, cov], axis=1)
    high = (people["risk_level"] == "high").to_numpy()
    subs = people["substance_misuse"].to_numpy(bool)
    mental = people["mental_health"].to_numpy(bool)
    people["p_complete"] = completion_probability(people, effects)
    # who starts at all: motivation helps, risk and needs get in the way
    people["p_start"] = expit(0.2 + 0.8 * self_ref - 0.5 * high - 0.3 * subs - 0.2 * mental)
    # Foundations is for people not yet accountable or motivated (seed 000)
    people["p_foundations"] = expit(-0.5 - 1.2 * self_ref)
    people["p_incident"] = incident_propensity(high, people["prior_da_incidents"], subs)
    return people


def _choose_programme(gender: np.ndarray, self_ref: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """First programme of a starter: Second Step for men, the Women's Programme for women,
    one-to-one for some (barriers to groups), Foundations for the less motivated."""
    n = len(gender)
    u = rng.random(n)
    found = u < np.where(self_ref, 0.08, 0.22)
    v = rng.random(n)
    prog = np.where(gender == "male", np.where(v < 0.85, "second_step", "one_to_one"),
                    np.where(gender == "female", np.where(v < 0.8, "womens_programme", "one_to_one"),
                             "one_to_one")).astype(object)
    prog[found] = "foundations"
    return prog


def _core_for(gender: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    v = rng.random(len(gender))
    return np.where(gender == "female", np.where(v < 0.8, "womens_programme", "one_to_one"),
                    np.where((gender == "male") & (v < 0.85), "second_step", "one_to_one")).astype(object)


def _episode_completed(prog: np.ndarray, p_complete: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Core programmes complete by the model; Foundations and Step Up Dads mostly complete."""
    p = np.where(np.isin(prog, CORE), p_complete, np.where(prog == "step_up_dads", 0.85, 0.7))
    return rng.random(len(prog)) < p


def _free_chains(people: pd.DataFrame, who: np.ndarray, earliest: np.ndarray,
                 rng: np.random.Generator) -> pd.DataFrame:
    """Episodes drawn forward from ``earliest`` with nothing fixed (up to three in a row).

    First programme by :func:`_choose_programme`; then Foundations completers may go on to
    a core programme, people who dropped out may start again, and men with children who
    completed Second Step may join Step Up Dads.
    """
    gender = people["gender"].to_numpy(object)
    kids = people["children"].to_numpy(np.int64)
    pc = people["p_complete"].to_numpy(float)
    self_ref = people["self_referred"].to_numpy(bool)
    frames = []
    prog = _choose_programme(gender[who], self_ref[who], rng)
    start = earliest.astype(np.int64)
    for stage in range(3):
        if len(who) == 0:
            break
        comp = _episode_completed(prog, pc[who], rng)
        end = start + durations(prog, comp, rng)
        frames.append(pd.DataFrame({"person": who, "programme": prog, "completed": comp,
                                    "start": start, "end": end, "stage": stage}))
        u = rng.random(len(who))
        progress = (prog == "foundations") & comp & (u < 0.4)
        restart = np.isin(prog, CORE) & ~comp & (u < 0.08)
        dads = (prog == "second_step") & comp & (gender[who] == "male") & (kids[who] > 0) & (u < 0.3)
        nxt = progress | restart | dads
        kind = np.where(progress, "progress", np.where(restart, "restart", "sud"))[nxt]
        new_prog = np.where(progress, _core_for(gender[who], rng),
                            np.where(restart, prog, "step_up_dads")).astype(object)[nxt]
        start = end[nxt] + gaps(kind, rng)
        who, prog = who[nxt], new_prog
    if not frames:
        return pd.DataFrame(columns=["person", "programme", "completed", "start", "end", "stage"])
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- calibrated plan
def _calibrated_plan(params: AreaParams, rng: np.random.Generator, effects: TrueEffects) -> _Plan:
    """People and episodes that reproduce every published LLR cell (see module docs)."""
    fy_lo, fy_hi = day(cal.FY21[0]), day(cal.FY21[1])
    h1_lo, h1_hi = day(cal.H1_22[0]), day(cal.H1_22[1])
    r22_lo, r22_hi = day(cal.REF_22[0]), day(cal.REF_22[1])
    w_end = day(cal.WINDOW[1])
    windows = {"FY21": (fy_lo, fy_hi), "H1_22": (h1_lo, h1_hi)}

    # 1. referrals: received, eligible and self-motivated fixed per district and period
    cols = {"district": [], "pool": [], "eligible": [], "self": [], "ref": []}
    for pool, (lo, hi) in (("FY21", (fy_lo, fy_hi)), ("REF_22", (r22_lo, r22_hi))):
        for d in cal.DISTRICTS:
            received, n_eligible, n_self = cal.REFERRALS[pool][d]
            elig = np.arange(received) < n_eligible
            self_ = np.zeros(received, bool)
            self_[weighted_pick(np.ones(n_eligible), n_self, rng)] = True
            self_[~elig] = rng.random(received - n_eligible) < 0.2
            cols["district"].append(np.full(received, d, dtype=object))
            cols["pool"].append(np.full(received, pool, dtype=object))
            cols["eligible"].append(elig)
            cols["self"].append(self_)
            cols["ref"].append(uniform_days(np.full(received, lo), np.full(received, hi), rng))
    c = {k: np.concatenate(v) for k, v in cols.items()}
    people = _people_frame(c["district"], c["ref"], c["eligible"], c["self"], "Leicester City", rng, effects)
    people["pool"] = c["pool"]
    n = len(people)
    p_start = people["p_start"].to_numpy()
    p_found = people["p_foundations"].to_numpy()
    p_comp = people["p_complete"].to_numpy()
    district = people["district"].to_numpy(object)
    pool = people["pool"].to_numpy(object)
    eligible = people["eligible"].to_numpy(bool)
    taken = np.zeros(n, bool)
    targets = cal.on_intervention_targets()

    # 2. who fills each published cell: episode specs (person, order, programme, completed,
    #    end window, straddles the window's end, referral pool)
    specs: list[pd.DataFrame] = []

    def spec(person, order, prog, comp, lo, hi, straddle=False):
        k = len(person)
        specs.append(pd.DataFrame({"person": person, "order": np.full(k, float(order)), "programme": prog,
                                   "completed": comp, "lo": np.full(k, lo, np.int64),
                                   "hi": np.full(k, hi, np.int64), "straddle": np.full(k, straddle)}))

    def fill(cand, prog, k, n_cell, forced=()):
        """Pick a cell's completers and non-completers: calibration fixes how many of
        each, the model who. Completers are drawn with weights P(start) x P(complete),
        non-completers with P(start) x P(not complete), as if each person had started
        and completed by the model's coin flips; so completion stays confounded."""
        forced = np.asarray(forced, dtype=np.int64)
        cand = cand[~taken[cand]]
        ps = p_found[cand] if prog == "foundations" else p_start[cand]
        done = cand[weighted_pick(ps * p_comp[cand], k - len(forced), rng)]
        taken[done] = True
        rest = ~taken[cand]
        dropped = cand[rest][weighted_pick(ps[rest] * (1 - p_comp[cand][rest]), n_cell - k, rng)]
        taken[dropped] = True
        return np.concatenate([done, dropped]), np.r_[np.ones(len(done), bool), np.zeros(len(dropped), bool)]

    window_people: dict[str, np.ndarray] = {}
    for d in cal.DISTRICTS:
        in_d = district == d
        e21 = np.flatnonzero(in_d & eligible & (pool == "FY21"))
        e22 = np.flatnonzero(in_d & eligible & (pool == "REF_22"))
        members: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        core_people: list[np.ndarray] = []
        for prog in ("second_step", "one_to_one", "womens_programme", "foundations"):
            if prog in cal.COMPLETIONS["FY21"][d]:
                k, m = cal.COMPLETIONS["FY21"][d][prog]
                who, comp = fill(e21, prog, k, m)
                members[("FY21", prog)] = (who, comp)
                spec(who, 0, prog, comp, fy_lo, fy_hi)
        # people with two core episodes in the window, where the published counts of
        # people on intervention are fewer than the ended episodes (Leicester City)
        doubles = _pair_doubles(d, members, targets[d]["doubles"], rng)
        for prog in ("second_step", "one_to_one", "womens_programme", "foundations"):
            if prog not in cal.COMPLETIONS["H1_22"][d]:
                continue
            k, m = cal.COMPLETIONS["H1_22"][d][prog]
            forced = [p for p, q in doubles if q == prog]
            cand = np.concatenate([e21, e22]) if prog == "foundations" else e21
            who, comp = fill(cand, prog, k, m, forced)
            spec(np.asarray(forced, dtype=np.int64), 1, prog, np.ones(len(forced), bool), h1_lo, h1_hi)
            spec(who, 1, prog, comp, h1_lo, h1_hi)
            members[("H1_22", prog)] = (np.concatenate([forced, who]).astype(np.int64),
                                        np.concatenate([np.ones(len(forced), bool), comp]))
        # Step Up Dads: men who completed Second Step in the same or an earlier period
        paired = np.array([p for p, _ in doubles], dtype=np.int64)
        dads_done = np.array([], dtype=np.int64)
        for i, per in enumerate(("FY21", "H1_22")):
            if "step_up_dads" not in cal.COMPLETIONS[per][d]:
                continue
            k, m = cal.COMPLETIONS[per][d]["step_up_dads"]
            pool_ss = [members.get((q, "second_step"), (np.array([], np.int64), np.array([], bool)))
                       for q in ("FY21", "H1_22")[: i + 1]]
            cand = np.concatenate([w[c] for w, c in pool_ss])
            cand = cand[~np.isin(cand, paired) & ~np.isin(cand, dads_done)]
            who = cand[weighted_pick(np.ones(len(cand)), m, rng)]
            dads_done = np.concatenate([dads_done, who])
            comp = np.zeros(m, bool)
            comp[weighted_pick(odds(p_comp[who]), k, rng)] = True
            spec(who, i + 0.5, "step_up_dads", comp, *windows[per])
        # people still on a core programme when the window closes (30 September 2022)
        k_on = targets[d]["ongoing"]
        cand = e22[~taken[e22]]
        ongoing = cand[weighted_pick(odds(p_start[cand]), k_on, rng)]
        taken[ongoing] = True
        v = rng.random(k_on)
        prog_on = np.where(v < 0.8, "second_step", np.where(v < 0.92, "one_to_one", "womens_programme"))
        spec(ongoing, 0, prog_on.astype(object), rng.random(k_on) < p_comp[ongoing], w_end, w_end, True)
        for (_, prog), (who, _) in members.items():
            if prog in CORE:
                core_people.append(who)
        core_people.append(ongoing)
        window_people[d] = np.unique(np.concatenate(core_people)).astype(np.int64)
        if len(window_people[d]) != targets[d]["target"]:
            raise RuntimeError(f"{d}: {len(window_people[d])} people on intervention, "
                               f"published {targets[d]['target']}")

    slots = pd.concat(specs, ignore_index=True).sort_values(["person", "order"], kind="stable")
    # programmes fix gender: Second Step and Step Up Dads are for men, the Women's Programme for women
    gender = people["gender"].to_numpy(object).copy()
    gender[slots.loc[slots["programme"].isin(["second_step", "step_up_dads"]), "person"].to_numpy()] = "male"
    gender[slots.loc[slots["programme"].eq("womens_programme"), "person"].to_numpy()] = "female"
    people["gender"] = gender

    # 3. dates: each person's chain of slot episodes is scheduled into its windows
    slot_ep, ref_new = _schedule_slots(slots, pool, rng, fy_lo, fy_hi, r22_lo, w_end)
    ref = people["ref"].to_numpy(np.int64).copy()
    ref[ref_new.index.to_numpy()] = ref_new.to_numpy()
    people["ref"] = ref

    # 4. children of the people on intervention add up to the published county counts
    children = people["children"].to_numpy(np.int64).copy()
    dads = np.unique(slots.loc[slots["programme"].eq("step_up_dads"), "person"].to_numpy(np.int64))
    for d, total in cal.CHILDREN.items():
        who = window_people[d]
        floor = np.isin(who, dads).astype(np.int64)
        if floor.sum() > total:
            raise RuntimeError(f"{d}: more Step Up Dads than children published")
        children[who] = floor + rng.multinomial(total - floor.sum(), np.full(len(who), 1 / len(who)))
    elsewhere = dads[~np.isin(district[dads], list(cal.CHILDREN))]
    children[elsewhere] = np.maximum(children[elsewhere], 1)    # Step Up Dads is for fathers
    people["children"] = children

    # 5. everyone else who is eligible may start later, after the window (from October 2022)
    rest = np.flatnonzero(eligible & ~taken)
    earliest = np.maximum(ref[rest] + waits(len(rest), rng), w_end + 1 + rng.integers(0, 22, len(rest)))
    wait = earliest - ref[rest]
    factor = np.where(wait <= 120, 1.0, np.where(wait <= 240, 0.4, 0.0))
    go = rng.random(len(rest)) < p_start[rest] * factor
    free = _free_chains(people, rest[go], earliest[go], rng)
    ep = pd.concat([slot_ep, free.drop(columns="stage")], ignore_index=True)
    return _Plan(people=people, ep=_finish_episodes(ep, rng), calibrated=True, window_people=window_people)


def _pair_doubles(d: str, members: dict, need: int, rng: np.random.Generator) -> list[tuple[int, str]]:
    """Pair people who ended a core episode in 2021-22 with a completed core slot of
    April-September 2022, ``need`` times: first people who dropped out and started the
    same programme again, then another programme, then one-to-one completers who went on
    to the group. Returns ``(person, H1 programme)`` pairs."""
    if need == 0:
        return []
    free = {p: cal.COMPLETIONS["H1_22"][d].get(p, (0, 0))[0] for p in CORE}
    out: list[tuple[int, str]] = []
    fy = {p: members.get(("FY21", p)) for p in CORE}
    dropped = [(int(w), p) for p, v in fy.items() if v is not None for w in v[0][~v[1]]]
    done = [(int(w), p) for p, v in fy.items() if v is not None for w in v[0][v[1]]]
    # never between Second Step (men) and the Women's Programme (women)
    mixed = {"second_step", "womens_programme"}
    rules = [
        [(w, p, p) for w, p in dropped],
        [(w, p, q) for w, p in dropped for q in CORE if q != p and {p, q} != mixed],
        [(w, p, "second_step") for w, p in done if p == "one_to_one"],
        [(w, p, q) for w, p in done for q in CORE if q != p and {p, q} != mixed],
    ]
    used: set[int] = set()
    for rule in rules:
        for j in rng.permutation(len(rule)):
            w, _, q = rule[j]
            if len(out) == need:
                return out
            if w not in used and free[q] > 0:
                out.append((w, q))
                used.add(w)
                free[q] -= 1
    if len(out) < need:
        raise RuntimeError(f"{d}: cannot pair {need} people with two core episodes")
    return out


def _schedule_slots(slots: pd.DataFrame, pool: np.ndarray, rng: np.random.Generator,
                    fy_lo: int, fy_hi: int, r22_lo: int, w_end: int) -> tuple[pd.DataFrame, pd.Series]:
    """Dates for every person's slot episodes (chains of one or two), vectorised by chain length."""
    slots = slots.copy()
    slots["pos"] = slots.groupby("person").cumcount()
    length = slots.groupby("person")["pos"].transform("size")
    slots["L"] = length.to_numpy()
    out_eps, refs = [], []
    for L, grp in slots.groupby("L", sort=True):
        wide = grp.pivot(index="person", columns="pos")
        persons = wide.index.to_numpy(np.int64)
        progs = wide["programme"].to_numpy(object)
        comp = wide["completed"].to_numpy(bool)
        lo, hi = wide["lo"].to_numpy(np.int64), wide["hi"].to_numpy(np.int64)
        straddle = wide["straddle"].to_numpy(bool)
        kinds = np.empty((len(persons), max(L - 1, 0)), dtype=object)
        for j in range(L - 1):
            kinds[:, j] = np.where(progs[:, j + 1] == "step_up_dads", "sud",
                                   np.where(comp[:, j], "progress", "restart"))
        p = pool[persons]
        ref_lo = np.where(p == "FY21", fy_lo, r22_lo)
        # the FY21 pool ends on 31 March 2022; people starting in the window come from before it ends
        ref_hi = np.where(p == "FY21", fy_hi, w_end)
        starts, ends, ref = schedule(rng, progs, comp, lo, hi, straddle, kinds, ref_lo, ref_hi)
        for j in range(L):
            out_eps.append(pd.DataFrame({"person": persons, "programme": progs[:, j], "completed": comp[:, j],
                                         "start": starts[:, j], "end": ends[:, j]}))
        refs.append(pd.Series(ref, index=persons))
    return pd.concat(out_eps, ignore_index=True), pd.concat(refs)


def _finish_episodes(ep: pd.DataFrame, rng: np.random.Generator, extract_date: date = EXTRACT_DATE) -> pd.DataFrame:
    """Status, sessions, and what the case extract can show (ongoing if not ended by it)."""
    extract = day(extract_date)
    ep = ep[ep["start"] <= extract].copy()
    ep["completed"] = ep["completed"].astype(bool)
    ep["status"] = statuses(ep["completed"].to_numpy(), rng)
    ongoing = ep["end"].to_numpy(np.int64) > extract
    ep.loc[ongoing, "status"] = "ongoing"
    ep["end"] = np.where(ongoing, MISSING, ep["end"].to_numpy(np.int64))
    last = np.where(ongoing, extract, ep["end"].to_numpy(np.int64))
    offered = (last - ep["start"].to_numpy(np.int64)) // 7 + 1
    comp = ep["completed"].to_numpy(bool) & ~ongoing
    attended = np.where(comp, offered - rng.binomial(offered, 0.04),
                        np.maximum(1, rng.binomial(offered, np.where(ongoing, 0.85, 0.6))))
    ep["sessions_offered"] = offered
    ep["sessions_attended"] = np.clip(attended, 1, offered)
    return ep.sort_values(["start", "person", "programme"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- scale plan
def _scale_plan(params: AreaParams, n_people: int, rng: np.random.Generator, effects: TrueEffects) -> _Plan:
    """``n_people`` referrals with the demo's structure and nothing fixed."""
    districts = np.array(params.districts, dtype=object)
    shares = np.array([_SHARES.get(d, 20) for d in params.districts], dtype=float)
    district = rng.choice(districts, size=n_people, p=shares / shares.sum())
    ref = uniform_days(np.full(n_people, day(FIRST_REFERRAL)), np.full(n_people, day(LAST_REFERRAL)), rng)
    eligible = rng.random(n_people) < 0.9
    self_ref = np.where(eligible, rng.random(n_people) < 0.28, rng.random(n_people) < 0.2)
    city = params.groups.get("CITY", [params.districts[-1]])[0]
    people = _people_frame(district, ref, eligible, self_ref, city, rng, effects)
    people["pool"] = "scale"
    go = eligible & (rng.random(n_people) < people["p_start"].to_numpy())
    who = np.flatnonzero(go)
    ep = _free_chains(people, who, ref[who] + waits(len(who), rng), rng)
    return _Plan(people=people, ep=_finish_episodes(ep.drop(columns="stage"), rng), calibrated=False,
                 window_people={})


# --------------------------------------------------------------------------- per-person facts
def _person_facts(plan: _Plan, extract_date: date = EXTRACT_DATE, core_programmes=CORE) -> pd.DataFrame:
    """Per person: first start, last end, index (first core) episode and its outcome."""
    people, ep = plan.people, plan.ep
    n = len(people)
    extract = day(extract_date)
    facts = pd.DataFrame(index=np.arange(n))
    first = ep.groupby("person")["start"].min()
    facts["first_start"] = MISSING
    facts.loc[first.index, "first_start"] = first.to_numpy()
    last_end = ep.assign(e=np.where(ep["end"] == MISSING, extract, ep["end"])).groupby("person")["e"].max()
    facts["last_end"] = MISSING
    facts.loc[last_end.index, "last_end"] = last_end.to_numpy()
    core = ep[ep["programme"].isin(list(core_programmes))].sort_values(["person", "start"], kind="stable")
    idx_ep = core.drop_duplicates("person")
    facts["index_programme"] = None
    facts["index_status"] = None
    facts["index_end"] = MISSING
    facts.loc[idx_ep["person"], "index_programme"] = idx_ep["programme"].to_numpy()
    facts.loc[idx_ep["person"], "index_status"] = idx_ep["status"].to_numpy()
    facts.loc[idx_ep["person"], "index_end"] = idx_ep["end"].to_numpy()
    facts["completed"] = facts["index_status"].eq("completed").to_numpy()
    return facts


# --------------------------------------------------------------------------- incidents
def _incidents(plan: _Plan, facts: pd.DataFrame, rng: np.random.Generator,
               extract_date: date = EXTRACT_DATE) -> pd.DataFrame:
    """Incidents known to the service while cases were open.

    Calibrated: among the people on intervention in the published window, exactly the
    published number had a repeat incident (chosen with weights from the incident
    propensity: risk, prior incidents, substance misuse); everyone else on intervention
    had none in that window. Noise that the definition must ignore: incidents while
    waiting to start, during Foundations, after the window.
    """
    people, ep = plan.people, plan.ep
    extract = day(extract_date)
    p_inc = people["p_incident"].to_numpy()
    ref = people["ref"].to_numpy(np.int64)
    who_all, day_all = [], []
    w_end = day(cal.WINDOW[1])
    start = ep["start"].to_numpy(np.int64)
    end = np.where(ep["end"].to_numpy(np.int64) == MISSING, extract, ep["end"].to_numpy(np.int64))
    person = ep["person"].to_numpy(np.int64)
    found = ep["programme"].eq("foundations").to_numpy()
    if plan.calibrated:
        first_span = ep[~found].sort_values(["person", "start"], kind="stable").drop_duplicates("person")
        first_span = first_span.set_index("person")
        for d, (k, _) in cal.REPEAT_INCIDENTS.items():
            on = plan.window_people[d]
            chosen = on[weighted_pick(odds(p_inc[on]), k, rng)]
            s = first_span.loc[chosen, "start"].to_numpy(np.int64)
            e = np.minimum(np.where(first_span.loc[chosen, "end"] == MISSING, extract,
                                    first_span.loc[chosen, "end"]), w_end)
            w, dd = span_incidents(chosen, s, e, 0.3, rng)
            who_all.append(w)
            day_all.append(dd)
        # after the window: episodes that started after it, and the rest of those under way on its last day
        late = ~found & (start > w_end) & (rng.random(len(ep)) < p_inc[person])
        tail = ~found & (start <= w_end) & (end > w_end) & (rng.random(len(ep)) < 0.15)
        w, dd = span_incidents(person[late], start[late], end[late], 0.3, rng)
        who_all.append(w)
        day_all.append(dd)
        w, dd = span_incidents(person[tail], np.full(tail.sum(), w_end + 1), end[tail], 0.0, rng)
        who_all.append(w)
        day_all.append(dd)
    else:
        hit = ~found & (rng.random(len(ep)) < p_inc[person])
        w, dd = span_incidents(person[hit], start[hit], end[hit], 0.3, rng)
        who_all.append(w)
        day_all.append(dd)
    # during Foundations (not "on intervention")
    hit = found & (rng.random(len(ep)) < 0.12)
    w, dd = span_incidents(person[hit], start[hit], end[hit], 0.0, rng)
    who_all.append(w)
    day_all.append(dd)
    # while waiting to start, or while an eligible non-starter's case was open (about 60 days)
    first = facts["first_start"].to_numpy(np.int64)
    eligible = people["eligible"].to_numpy(bool)
    wait_hi = np.where(first != MISSING, first - 1, ref + 60)
    ok = eligible & (wait_hi > ref) & (rng.random(len(people)) < 0.08)
    w, dd = span_incidents(np.flatnonzero(ok), ref[ok], np.minimum(wait_hi[ok], extract), 0.0, rng)
    who_all.append(w)
    day_all.append(dd)
    who = np.concatenate(who_all)
    days = np.concatenate(day_all)
    reported = rng.choice(_REPORTED_BY[0], size=len(who), p=_REPORTED_BY[1])
    return pd.DataFrame({"person": who, "day": days, "reported_by": reported})


# --------------------------------------------------------------------------- partners
def _free_partners(who: np.ndarray, ref: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Partners offered support with nothing fixed: most referrals one, some two."""
    first = rng.random(len(who)) < 0.85
    second = first & (rng.random(len(who)) < 0.3)
    k = first.astype(int) + second.astype(int)
    rep = np.repeat(who, k)
    offered = ref[rep] + np.rint(rng.gamma(1.5, 12.0, len(rep))).astype(np.int64)
    return pd.DataFrame({"person": rep, "offered": offered, "cell": ""})


def _calibrated_offers(ref: np.ndarray, district: np.ndarray, eligible: np.ndarray, started: np.ndarray,
                       completer: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Partners offered support in each published cell (district x period): the published
    number, given first to people who completed (their partners answer "feel safer"), then
    to people who started, then the other eligible, then the rest; any left over are second
    partners or ex-partners. ``cell`` names the published cell a row counts in."""
    fy_lo, fy_hi = day(cal.FY21[0]), day(cal.FY21[1])
    h1_lo, h1_hi = day(cal.H1_22[0]), day(cal.H1_22[1])
    frames = []
    has_partner = np.zeros(len(ref), bool)

    def extras(pool, k, weight):
        if k <= 0:
            return np.array([], np.int64)
        return pool[rng.choice(len(pool), k, p=weight / weight.sum())]

    def soon_after(who, lo, hi):
        """An offer soon after referral, inside the period."""
        d = ref[who] + np.rint(rng.gamma(1.5, 10.0, len(who))).astype(np.int64)
        inside = (d >= lo) & (d <= hi)
        return np.where(inside, d, uniform_days(np.maximum(ref[who], lo), np.full(len(who), hi), rng))

    for d in cal.DISTRICTS:
        in_d = district == d
        # 2021-22
        cand = np.flatnonzero(in_d & (ref <= fy_hi))
        n_cell = cal.PARTNER_ENGAGEMENT["FY21"][d][1]
        prio = np.where(completer[cand], 0, np.where(started[cand], 1, np.where(eligible[cand], 2, 3)))
        firsts = cand[np.lexsort((rng.random(len(cand)), prio))][:n_cell]
        extra = extras(cand, n_cell - len(firsts), np.where(prio < 3, 1.0, 0.3))
        has_partner[firsts] = True
        frames.append(pd.DataFrame({
            "person": np.concatenate([firsts, extra]), "cell": f"FY21|{d}",
            "offered": np.concatenate([soon_after(firsts, fy_lo, fy_hi),
                                       uniform_days(np.maximum(ref[extra], fy_lo), np.full(len(extra), fy_hi), rng)]),
        }))
        # April-September 2022: completers still without a partner, the period's referrals, then more
        n_cell = cal.PARTNER_ENGAGEMENT["H1_22"][d][1]
        lacking = in_d & completer & ~has_partner & (ref <= h1_hi)
        cand = np.flatnonzero((in_d & (ref >= h1_lo) & (ref <= h1_hi)) | lacking)
        prio = np.where(lacking[cand], 0, np.where(eligible[cand], 1, 2))
        firsts = cand[np.lexsort((rng.random(len(cand)), prio))][:n_cell]
        pool_all = np.flatnonzero(in_d & (ref <= h1_hi))
        extra = extras(pool_all, n_cell - len(firsts), np.where(eligible[pool_all], 1.0, 0.3))
        has_partner[firsts] = True
        frames.append(pd.DataFrame({
            "person": np.concatenate([firsts, extra]), "cell": f"H1_22|{d}",
            "offered": np.concatenate([soon_after(firsts, h1_lo, h1_hi),
                                       uniform_days(np.maximum(ref[extra], h1_lo), np.full(len(extra), h1_hi), rng)]),
        }))
    # referrals after the published periods: nothing fixed
    frames.append(_free_partners(np.flatnonzero(ref > h1_hi), ref, rng))
    return pd.concat(frames, ignore_index=True)


def _calibrated_answers(part: pd.DataFrame, district: np.ndarray, started: np.ndarray,
                        done_in: dict[str, np.ndarray], p_engage: np.ndarray, p_safe: np.ndarray,
                        p_reduced: np.ndarray, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Engagement, "feels safer" and "reduced abuse" for the published cells.

    Feels safer: in each district and period, the published number of people who
    completed have their first partner answer (engaged; yes for the published number,
    chosen by a safety model); every other engaged partner of someone who completed in
    a published period answers ``unknown``. Engagement: the published number per cell,
    the partners who must answer first, the rest by the engagement model's odds.
    Reduced abuse: among engaged partners offered support in 2021-22, the published
    number answer, the published number yes. Returns ``engaged, feels_safer,
    abuse_reduced`` and which rows are left free for each answer.
    """
    m = len(part)
    who = part["person"].to_numpy(np.int64)
    cell = part["cell"].to_numpy(object)
    completer = done_in["FY21"] | done_in["H1_22"]
    both = done_in["FY21"] & done_in["H1_22"]
    order = np.lexsort((part["offered"].to_numpy(), who))
    first_of = np.zeros(m, bool)
    first_of[order[~pd.Series(who[order]).duplicated().to_numpy()]] = True
    engaged = np.zeros(m, bool)
    fs = np.full(m, None, dtype=object)
    ar = np.full(m, None, dtype=object)
    known = np.zeros(m, bool)
    yes = np.zeros(m, bool)
    for per in ("FY21", "H1_22"):
        for d in cal.DISTRICTS:
            target = cal.FEELS_SAFER[per][d]
            cand = np.flatnonzero(first_of & done_in[per][who] & ~both[who] & (district[who] == d))
            if target == cal.ALL:
                if len(cand) == 0:
                    raise RuntimeError(f"{per} {d}: nobody to answer a published 100%")
                y = a = int(rng.integers(1, min(3, len(cand)) + 1))
            else:
                y, a = target
            rows = cand[weighted_pick(np.ones(len(cand)), a, rng)]
            known[rows] = True
            yes[rows[weighted_pick(odds(p_safe[rows]), y, rng)]] = True
    for per in ("FY21", "H1_22"):
        for d in cal.DISTRICTS:
            rows = np.flatnonzero(cell == f"{per}|{d}")
            e = cal.PARTNER_ENGAGEMENT[per][d][0]
            must = rows[known[rows]]
            if len(must) > e:
                raise RuntimeError(f"{per} {d}: {len(must)} partners must be engaged, {e} published")
            rest = rows[~known[rows]]
            engaged[must] = True
            engaged[rest[weighted_pick(odds(p_engage[rest]), e - len(must), rng)]] = True
    free_rows = cell == ""
    engaged[free_rows] = rng.random(free_rows.sum()) < p_engage[free_rows]
    in_fs = engaged & completer[who]
    fs[in_fs] = "unknown"
    fs[known] = np.where(yes[known], "yes", "no")
    for d in cal.DISTRICTS:
        rows = np.flatnonzero(engaged & (cell == f"FY21|{d}"))
        reduced, assessed = cal.REDUCED_ABUSE[d]
        ar[rows] = "unknown"
        answered = rows[weighted_pick(np.where(started[who[rows]], 3.0, 1.0), assessed, rng)]
        ar[answered] = "no"
        ar[answered[weighted_pick(odds(p_reduced[answered]), reduced, rng)]] = "yes"
    free_fs = engaged & ~in_fs
    free_ar = engaged & ~pd.Series(cell).str.startswith("FY21|").to_numpy(bool)
    return engaged, fs, ar, free_fs, free_ar


def _partners(plan: _Plan, facts: pd.DataFrame, incident_people: np.ndarray,
              rng: np.random.Generator, extract_date: date = EXTRACT_DATE, core_programmes=CORE,
              windows=None, offer_to: np.ndarray | None = None, offers: pd.DataFrame | None = None
              ) -> pd.DataFrame:
    """Partners and ex-partners offered the Partner Support Service, with what the PSS records.

    Calibrated: offers, engagement and answers of the published cells fixed
    (:func:`_calibrated_offers`, :func:`_calibrated_answers`), the rest drawn. Scale:
    everything drawn. Answers lean on the person's course: partners of people who
    completed are more likely to feel safer and to report less abuse; high risk and
    incidents while on the programme make both less likely.
    """
    people, ep = plan.people, plan.ep
    extract = day(extract_date)
    n = len(people)
    ref = people["ref"].to_numpy(np.int64)
    district = people["district"].to_numpy(object)
    started = facts["first_start"].to_numpy(np.int64) != MISSING
    # core completions by published period, for "feels safer since intervention"
    core_done = ep[ep["programme"].isin(list(core_programmes)) & (ep["status"] == "completed")]
    done_in = {}
    for per, (lo, hi) in (windows or (("FY21", cal.FY21), ("H1_22", cal.H1_22))):
        sel = core_done[(core_done["end"] >= day(lo)) & (core_done["end"] <= day(hi))]
        done_in[per] = np.isin(np.arange(n), sel["person"].to_numpy())
    completer = np.logical_or.reduce(list(done_in.values()))

    if offers is not None:
        part = offers
    elif plan.calibrated:
        part = _calibrated_offers(ref, district, people["eligible"].to_numpy(bool), started, completer, rng)
    else:
        part = _free_partners(np.arange(n) if offer_to is None else np.flatnonzero(offer_to), ref, rng)
    part = part[part["offered"] <= extract].reset_index(drop=True)
    m = len(part)
    who = part["person"].to_numpy(np.int64)
    self_ref = people["self_referred"].to_numpy(bool)[who]
    high = (people["risk_level"] == "high").to_numpy()[who]
    p_engage = expit(1.5 - 0.5 * self_ref + 0.6 * started[who])
    p_safe = expit(1.5 + 0.8 * completer[who] - 0.6 * high)
    p_reduced = expit(1.2 + 1.0 * completer[who] - 0.8 * high - 0.8 * np.isin(who, incident_people))
    if plan.calibrated:
        engaged, fs, ar, free_fs, free_ar = _calibrated_answers(part, district, started, done_in, p_engage,
                                                                p_safe, p_reduced, rng)
    else:
        engaged = rng.random(m) < p_engage
        if "forced" in part:     # a generator fixed who engaged (offers with a ``forced`` column)
            engaged |= part["forced"].to_numpy(bool)
        fs = np.full(m, None, dtype=object)
        ar = np.full(m, None, dtype=object)
        free_fs = free_ar = engaged
    fs[free_fs] = _answers(p_safe[free_fs], rng)
    ar[free_ar] = _answers(p_reduced[free_ar], rng)

    # what else the PSS records
    first_start = facts["first_start"].to_numpy(np.int64)[who]
    last_end = facts["last_end"].to_numpy(np.int64)[who]
    offered = part["offered"].to_numpy(np.int64)
    stage = np.where((first_start == MISSING) | (offered < first_start), "assessment",
                     np.where(offered <= last_end, "intervention", "post_intervention")).astype(object)
    contact = engaged | (rng.random(m) < 0.45)
    support = np.where(engaged, np.where(rng.random(m) < 0.75, "multiple", "single"), "declined").astype(object)
    risk = people["risk_level"].to_numpy(object)[who]
    centre = np.select([risk == "high", risk == "medium"], [15.0, 11.0], 7.0)
    dash_start = np.clip(np.rint(rng.normal(centre, 3.0)), 0, 27).astype(np.int64)
    drop = rng.normal(np.where(completer[who], 4.0, 1.0), 3.0)
    dash_end = np.clip(np.rint(dash_start - drop), 0, 27).astype(np.int64)
    lost = rng.random(m) < 0.1
    domains = {}
    for name in ("coping", "safety", "mental_health", "confidence"):
        p_imp = np.clip(0.5 + 0.15 * completer[who], 0, 1)
        u = rng.random(m)
        val = np.where(u < p_imp, "improved", np.where(u < p_imp + 0.25, "no_change",
                                                       np.where(u < p_imp + 0.32, "deteriorated", "unknown")))
        domains[f"outcome_{name}"] = np.where(engaged, val, None).astype(object)
    return pd.DataFrame({
        "person": who, "offered": offered, "contact_made": contact, "support": support, "engaged": engaged,
        "stage": stage, "dash_start": np.where(engaged, dash_start, MISSING),
        "dash_end": np.where(engaged & ~lost, dash_end, MISSING), "feels_safer": fs, "abuse_reduced": ar,
        **domains, "children": people["children"].to_numpy(np.int64)[who],
    })


def _answers(p_yes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """yes / no / unknown at last contact: a fifth unknown, the rest yes with ``p_yes``."""
    u = rng.random(len(p_yes))
    v = rng.random(len(p_yes))
    return np.where(u < 0.2, "unknown", np.where(v < p_yes, "yes", "no")).astype(object)


# --------------------------------------------------------------------------- police
def _truth(plan: _Plan, facts: pd.DataFrame, rng: np.random.Generator, effects: TrueEffects,
           extract_date: date = EXTRACT_DATE) -> pd.DataFrame:
    """Latent proven reoffending per person from the logistic model, given actual completion.

    Index date: the end of the index (first core) episode; for people with no core
    episode (not started, not eligible, Foundations only) the referral date, with the
    risk of a non-completer (``completed`` False), as :mod:`evallib.cohorts` indexes the
    referred-not-started group. People whose index episode is still under way have no
    index date.
    """
    people = plan.people
    probs = reoffending_probabilities(people, effects)
    completed = facts["completed"].to_numpy(bool)
    any_, da = draw_reoffending(probs, completed, rng)
    has_core = facts["index_programme"].notna().to_numpy()
    index = np.where(has_core, facts["index_end"].to_numpy(np.int64), people["ref"].to_numpy(np.int64))
    idx_dt = to_datetime(index)
    waiting_end = (idx_dt + pd.DateOffset(months=18)).to_numpy()
    countable = (index != MISSING) & (waiting_end <= np.datetime64(extract_date.isoformat()))
    group = np.where(~has_core, np.where(~people["eligible"].to_numpy(bool), "not_eligible",
                                         np.where(facts["first_start"].to_numpy(np.int64) == MISSING,
                                                  "not_started", "other_programmes_only")),
                     np.where(facts["index_status"].eq("ongoing"), "ongoing",
                              np.where(completed, "completed", "not_completed")))
    return pd.DataFrame({
        "index": index, "index_kind": np.where(has_core, "exit", "referral"), "group": group,
        "completed": completed, "p_complete": people["p_complete"].to_numpy(),
        **{c: probs[c].to_numpy() for c in probs.columns},
        "reoffended_any": any_, "reoffended_da": da, "countable": countable,
    })


# --------------------------------------------------------------------------- assembly
def _ids(prefix: str, n: int, first: int = 1, width: int | None = None) -> np.ndarray:
    """Identifiers ``prefix`` + zero-padded numbers ``first, first + 1, ...`` (vectorised)."""
    width = width or max(5, len(str(n)))
    numbers = np.char.zfill(np.arange(first, first + n).astype(str), width)
    return np.char.add(prefix, numbers).astype(object)


def generate_demo(area: str = "leicestershire", seed: int = DEFAULT_SEED, *,
                  effects: TrueEffects = DEFAULT_EFFECTS, n_people: int | None = None
                  ) -> tuple[dict[str, pd.DataFrame], dict]:
    """Generate the demo dataset: contract tables and their metadata.

    Parameters
    ----------
    area
        Area params name. The calibrated demo exists for ``leicestershire`` (the
        published tables it reproduces are LLR's); the scale mode needs an area that
        runs the LLR programmes.
    seed
        Seed of the one random generator everything is drawn from: the same seed gives
        the same dataset, byte for byte once written.
    effects
        The true effects of completing (written to ``dataset.yaml``).
    n_people
        ``None`` for the calibrated demo; an integer for an uncalibrated dataset of that
        many referrals with the same structure (vectorised, for scale and for tests
        with a large true effect).

    Returns
    -------
    tables
        One DataFrame per contract table (contract columns and dtypes: dates
        ``datetime64[ns]``, booleans ``boolean``, integers ``Int64``, text ``string``).
    meta
        ``area, extract_date, police_extract_date, description, synthetic`` (what
        :func:`write_dataset` puts in ``dataset.yaml``) and ``people``: the latent
        truth per person (group, index date, potential-outcome probabilities, latent
        proven reoffending, countable), never written with the tables.
    """
    params = load_area(area)
    if n_people is None and params.name in OTHER_AREAS:
        module = importlib.import_module(f"evallib.synthetic.{params.name}")
        return module.generate(params, seed, effects)
    if n_people is None and params.name != cal.AREA:
        raise ValueError(f"a calibrated demo exists for {', '.join([cal.AREA, *OTHER_AREAS])}, not {area!r}; "
                         f"pass n_people for an uncalibrated dataset")
    missing = [p for p in PROGRAMMES if p not in params.programmes]
    if missing:
        raise ValueError(f"area {area!r} does not run {missing}: the synthetic generator builds the LLR "
                         f"programmes ({', '.join(PROGRAMMES)})")
    if n_people is not None and n_people < 1:
        raise ValueError("n_people must be a positive number of referrals")
    rng = np.random.default_rng(seed)
    plan = (_calibrated_plan(params, rng, effects) if n_people is None
            else _scale_plan(params, int(n_people), rng, effects))
    people = plan.people
    n = len(people)
    facts = _person_facts(plan)
    incidents = _incidents(plan, facts, rng)
    partners = _partners(plan, facts, np.unique(incidents["person"].to_numpy()), rng)
    truth = _truth(plan, facts, rng, effects)

    def llr_sessions(ep: pd.DataFrame, extract: int, rng: np.random.Generator) -> pd.DataFrame:
        site = np.where(people["district"].to_numpy(object)[ep["person"].to_numpy()] == "Leicester City",
                        "city", "county")
        return session_records(ep, site, extract, rng)

    mode = "calibrated to the provider's published tables, 2021-22 and April-November 2022" if n_people is None else \
        f"uncalibrated, {n} referrals"
    description = (f"Synthetic demo dataset for {params.display_name} ({mode}): referrals "
                   f"{FIRST_REFERRAL:%B %Y} - {LAST_REFERRAL:%B %Y}, case and police records "
                   f"extracted {EXTRACT_DATE:%d %B %Y}. Not real people.")
    return assemble(
        area, plan, facts, incidents, partners, truth, rng, seed=seed, effects=effects,
        extract_date=EXTRACT_DATE, description=description, calibrated=n_people is None,
        generator="evallib.synthetic.demo",
        sessions=llr_sessions,
        onward=person_onward)


def person_onward(facts: pd.DataFrame, people: pd.DataFrame, partners: pd.DataFrame, extract: int,
                  rng: np.random.Generator) -> pd.DataFrame:
    """Onward referrals of people who started (by their needs) and of engaged partners."""
    return onward_records(
        pd.DataFrame({"first_start": facts["first_start"].to_numpy(np.int64),
                      "substance": people["substance_misuse"].to_numpy(bool),
                      "mental": people["mental_health"].to_numpy(bool)}),
        partners, extract, rng)


def assemble(area: str, plan: _Plan, facts: pd.DataFrame, incidents: pd.DataFrame, partners: pd.DataFrame,
             truth: pd.DataFrame, rng: np.random.Generator, *, seed: int, effects: TrueEffects,
             extract_date: date, description: str, calibrated: bool, generator: str,
             sessions, onward, extra_meta: dict | None = None) -> tuple[dict[str, pd.DataFrame], dict]:
    """The contract's tables and ``dataset.yaml`` metadata from a generator's latent plan.

    Shared by every area's generator, so that identifiers, police records, dtypes and the
    stored truth are made the same way everywhere. ``sessions(ep, extract, rng)`` and
    ``onward(facts, people, partners, extract, rng)`` build the area's sessions and onward
    referrals (day numbers), after the police records, in that order.
    """
    people, ep = plan.people, plan.ep
    n = len(people)
    extract = day(extract_date)

    # identifiers, in referral order
    order = np.lexsort((np.arange(n), people["ref"].to_numpy()))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    referral_ids = _ids("R", n)[rank]
    person_ids = _ids("P", n)[rank]
    n_strangers = max(3, n // 100)
    strangers = list(_ids("P", n_strangers, first=n + 1, width=max(5, len(str(n)))))
    police = police_records(pd.DataFrame({
        "person_id": person_ids, "ref": people["ref"].to_numpy(np.int64), "index": truth["index"].to_numpy(),
        "prior": people["prior_da_incidents"].to_numpy(np.int64),
        "high": (people["risk_level"] == "high").to_numpy(),
        "reoffended_any": truth["reoffended_any"].to_numpy(), "reoffended_da": truth["reoffended_da"].to_numpy(),
    }), extract, rng, strangers)
    sessions = sessions(ep, extract, rng)
    onward = onward(facts, people, partners, extract, rng)

    assessed = people["eligible"].to_numpy(bool)   # ineligible referrals were not assessed
    referrals = pd.DataFrame({
        "referral_id": referral_ids, "person_id": person_ids, "referral_date": to_datetime(people["ref"]),
        "district": people["district"].to_numpy(object), "source": people["source"].to_numpy(object),
        "eligible": people["eligible"].to_numpy(bool), "ineligible_reason": people["ineligible_reason"],
        "gender": people["gender"].to_numpy(object), "age": people["age"].to_numpy(np.int64),
        "ethnicity": people["ethnicity"].to_numpy(object),
        "risk_level": np.where(assessed, people["risk_level"].to_numpy(object), None),
        "children": people["children"].to_numpy(np.int64),
        "prior_da_incidents": people["prior_da_incidents"].to_numpy(np.int64),
        "substance_misuse": pd.array(np.where(assessed, people["substance_misuse"], None), dtype="boolean"),
        "mental_health": pd.array(np.where(assessed, people["mental_health"], None), dtype="boolean"),
    }).iloc[order]
    ep_person = ep["person"].to_numpy(np.int64)
    episodes = pd.DataFrame({
        "episode_id": _ids("E", len(ep)), "referral_id": referral_ids[ep_person],
        "programme": ep["programme"].to_numpy(object), "start_date": to_datetime(ep["start"]),
        "end_date": to_datetime(ep["end"]), "status": ep["status"].to_numpy(object),
        "sessions_offered": ep["sessions_offered"].to_numpy(np.int64),
        "sessions_attended": ep["sessions_attended"].to_numpy(np.int64),
    })
    inc = incidents.assign(ref_rank=rank[incidents["person"].to_numpy()]).sort_values(
        ["day", "ref_rank"], kind="stable")
    incidents_t = pd.DataFrame({
        "incident_id": _ids("I", len(inc)), "referral_id": referral_ids[inc["person"].to_numpy()],
        "incident_date": to_datetime(inc["day"]), "reported_by": inc["reported_by"].to_numpy(object),
    })
    p_order = np.lexsort((rank[partners["person"].to_numpy()], partners["offered"].to_numpy()))
    partners = partners.iloc[p_order].reset_index(drop=True)
    partner_ids = np.empty(len(partners), dtype=object)    # by the partner's row before sorting
    partner_ids[p_order] = _ids("PS", len(partners))
    partners_t = pd.DataFrame({
        "partner_id": partner_ids[p_order], "referral_id": referral_ids[partners["person"].to_numpy()],
        "offered_date": to_datetime(partners["offered"]), "contact_made": partners["contact_made"].to_numpy(bool),
        "support": partners["support"].to_numpy(object), "engaged": partners["engaged"].to_numpy(bool),
        "stage": partners["stage"].to_numpy(object),
        "dash_start": _int_or_na(partners["dash_start"]), "dash_end": _int_or_na(partners["dash_end"]),
        "feels_safer": partners["feels_safer"].to_numpy(object),
        "abuse_reduced": partners["abuse_reduced"].to_numpy(object),
        **{c: partners[c].to_numpy(object) for c in partners.columns if c.startswith("outcome_")},
    })
    pol = police.sort_values(["person_id", "offence_day", "outcome"], kind="stable")
    police_t = pd.DataFrame({
        "offence_id": _ids("O", len(pol)), "person_id": pol["person_id"].to_numpy(object),
        "offence_date": to_datetime(pol["offence_day"]), "da_related": pol["da_related"].to_numpy(bool),
        "outcome": pol["outcome"].to_numpy(object), "outcome_date": to_datetime(pol["outcome_day"]),
    })
    ses = sessions.sort_values(["day", "programme", "format"], kind="stable")
    sessions_t = pd.DataFrame({
        "session_id": _ids("S", len(ses)), "programme": ses["programme"].to_numpy(object),
        "session_date": to_datetime(ses["day"]), "format": ses["format"].to_numpy(object),
        "attendees": ses["attendees"].to_numpy(np.int64),
    })
    onw = onward.sort_values(["day", "service"], kind="stable")
    onward_t = pd.DataFrame({
        "onward_id": _ids("ON", len(onw)),
        "referral_id": np.where(onw["person"] >= 0, referral_ids[np.maximum(onw["person"], 0)], None),
        "partner_id": np.where(onw["partner"] >= 0, partner_ids[np.maximum(onw["partner"], 0)]
                               if len(partner_ids) else None, None),
        "service": onw["service"].to_numpy(object), "date": to_datetime(onw["day"]),
    })
    tables = {name: _typed(name, df) for name, df in {
        "referrals": referrals, "episodes": episodes, "incidents": incidents_t, "partners": partners_t,
        "police": police_t, "sessions": sessions_t, "onward_referrals": onward_t,
    }.items()}

    truth.insert(0, "referral_id", referral_ids)
    truth.insert(0, "person_id", person_ids)
    truth["index_date"] = to_datetime(truth.pop("index")).to_numpy()
    truth = truth.iloc[order].reset_index(drop=True)
    summary = truth_summary(truth)
    meta = {
        "area": area,
        "extract_date": extract_date,
        "police_extract_date": extract_date,
        "description": description,
        "synthetic": {
            "seed": int(seed),
            "generator": generator,
            "generator_version": GENERATOR_VERSION,
            "calibrated": calibrated,
            "n_people": int(n),
            "true_effects": effects.to_dict(),
            "true_effects_meaning": ("conditional log-odds ratios of one-year proven reoffending (any; "
                                     "DA-related) for completing the index core episode, given covariates"),
            "true_att": summary["true_att"],
            "true_att_meaning": ("average effect of completing on the completers (risk difference), "
                                 "over completers of every starting period"),
            "index_date": "end of the first core-programme episode; referral date for people with none",
            "latent": summary["latent"],
            **(extra_meta or {}),
        },
        "people": truth,
    }
    return tables, meta


def truth_summary(truth: pd.DataFrame) -> dict:
    """The stored truth of a set of people: sample ATT and latent counts (``dataset.yaml``)."""
    compared = truth[truth["group"].isin(["completed", "not_completed"])]
    done = compared[compared["completed"]]
    att = {v: (float((done[f"p_{v}_if_completed"] - done[f"p_{v}_if_not"]).mean()) if len(done) else None)
           for v in ("any", "da")}
    return {
        "true_att": {"any": _round(att["any"]), "da": _round(att["da"])},
        "latent": {
            "completers": int(len(done)),
            "non_completers": int(len(compared) - len(done)),
            "reoffended_any": int(truth["reoffended_any"].sum()),
            "reoffended_da": int(truth["reoffended_da"].sum()),
        },
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _int_or_na(values) -> pd.array:
    v = np.asarray(values, dtype=np.int64)
    out = pd.array(v, dtype="Int64")
    out[v == MISSING] = pd.NA
    return out


_DTYPES = {"str": "string", "category": "string", "date": "datetime64[ns]", "bool": "boolean", "int": "Int64"}


def _typed(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Contract columns in contract order and dtypes, as :func:`load_dataset` returns them."""
    out = {}
    for col in TABLES[name].columns:
        s = pd.Series(df[col.name].to_numpy(), name=col.name)
        if col.kind == "date":
            out[col.name] = pd.to_datetime(s).astype("datetime64[ns]")
        else:
            out[col.name] = s.astype(_DTYPES[col.kind])
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- writing
def _csv_cell(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d").fillna("")
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "true", False: "false"}).astype("string").fillna("")
    return s.astype("string").fillna("")


def write_dataset(tables: dict[str, pd.DataFrame], meta: dict, out_dir: str | Path, fmt: str = "csv") -> Path:
    """Write a dataset folder: one file per contract table and ``dataset.yaml``.

    Files are written in a fixed form (ISO dates, ``true``/``false``, empty cells for
    missing values, rows in id order), so the same tables give the same bytes. ``fmt``
    is ``csv`` (default) or ``parquet``. Returns the folder.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        df = tables[name]
        for other in (".csv", ".parquet", ".xlsx"):
            (out / f"{name}{other}").unlink(missing_ok=True)
        if fmt == "csv":
            text = pd.DataFrame({c: _csv_cell(df[c]) for c in df.columns})
            text.to_csv(out / f"{name}.csv", index=False, lineterminator="\n", encoding="utf-8")
        else:
            df.to_parquet(out / f"{name}.parquet", index=False)
    doc = {k: v for k, v in meta.items() if k not in ("people", "services")}
    for key in ("extract_date", "police_extract_date"):
        if isinstance(doc.get(key), date):
            doc[key] = doc[key].isoformat()
    (out / "dataset.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100),
                                      encoding="utf-8")
    return out


def write_demo(out_dir: str | Path, area: str = "leicestershire", seed: int = DEFAULT_SEED, *,
               n_people: int | None = None, effects: TrueEffects = DEFAULT_EFFECTS) -> Path:
    """Generate the demo dataset and write it to ``out_dir`` (what ``evallib synth`` runs).

    An area whose services export their records separately (Derbyshire) also gets each
    service's own dataset in a subfolder named after it (``out_dir/changes``)."""
    tables, meta = generate_demo(area, seed, effects=effects, n_people=n_people)
    out = write_dataset(tables, meta, out_dir)
    for name, (sub_tables, sub_meta) in meta.get("services", {}).items():
        write_dataset(sub_tables, sub_meta, out / name)
    return out

