"""The synthetic generator: determinism, the contract, confounding, the truth it stores.

The MoJ proven-reoffending check here is written independently of
``evallib.outcomes.reoffending``: the generator must make the police records say what
the latent flags say, whoever implements the definition.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evallib.schemas import load_dataset, validate_dataset
from evallib.synthetic.demo import (
    DEFAULT_SEED,
    EXTRACT_DATE,
    generate_demo,
    write_dataset,
    write_demo,
)
from evallib.synthetic.model import TrueEffects

PROVEN = {"conviction", "caution", "community_resolution"}
CORE = ["second_step", "one_to_one", "womens_programme"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default demo: its tables and meta as generated, and as written and loaded."""
    tables, meta = generate_demo()
    folder = write_dataset(tables, meta, tmp_path_factory.mktemp("demo"))
    return tables, meta, load_dataset(folder)


@pytest.fixture(scope="module")
def scale(tmp_path_factory):
    """An uncalibrated dataset (scale mode), written and loaded."""
    tables, meta = generate_demo(n_people=4000, seed=11)
    folder = write_dataset(tables, meta, tmp_path_factory.mktemp("scale"))
    return tables, meta, load_dataset(folder)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- determinism and the contract
def test_same_seed_same_bytes(tmp_path):
    a = _files(write_demo(tmp_path / "a", seed=5))
    b = _files(write_demo(tmp_path / "b", seed=5))
    c = _files(write_demo(tmp_path / "c", seed=6))
    assert set(a) == {"dataset.yaml", "referrals.csv", "episodes.csv", "incidents.csv", "partners.csv",
                      "police.csv", "sessions.csv", "onward_referrals.csv"}
    assert a == b
    assert a["police.csv"] != c["police.csv"]
    assert a["referrals.csv"] != c["referrals.csv"]


def test_loads_with_zero_problems(demo, scale, tmp_path):
    for tables, meta, _ in (demo, scale):
        folder = write_dataset(tables, meta, tmp_path / f"n{len(tables['referrals'])}")
        problems = validate_dataset(folder)
        assert problems.empty, problems.to_string()


def test_generated_tables_have_the_loaders_dtypes(demo):
    tables, _, ds = demo
    for name, df in tables.items():
        loaded = ds.tables[name]
        assert list(df.columns) == list(loaded.columns), name
        assert [str(t) for t in df.dtypes] == [str(t) for t in loaded.dtypes], name
        assert len(df) == len(loaded), name


def test_extract_dates_and_true_effects_in_dataset_yaml(tmp_path):
    effects = TrueEffects(log_odds_any=-1.3, log_odds_da=-0.4)
    ds = load_dataset(write_demo(tmp_path / "d", seed=3, effects=effects))
    assert ds.meta.area == "leicestershire"
    assert ds.meta.extract_date == EXTRACT_DATE == ds.meta.police_extract_date
    syn = ds.meta.synthetic
    assert syn["seed"] == 3 and syn["calibrated"] is True
    assert syn["true_effects"] == effects.to_dict()
    assert syn["true_att"]["any"] < 0
    assert syn["generator_version"]


# --------------------------------------------------------------------------- structure of the demo
def test_referrals_april_2021_to_november_2022(demo):
    ref = demo[2].referrals
    assert ref["referral_date"].min() >= pd.Timestamp("2021-04-01")
    assert ref["referral_date"].max() <= pd.Timestamp("2022-11-30")
    assert len(ref) == 212 + 118
    assert ref["person_id"].is_unique


def test_episodes_follow_the_programmes_rules(demo):
    ds = demo[2]
    ep = ds.episodes.merge(ds.referrals, on="referral_id")
    assert (ep["start_date"] > ep["referral_date"]).all()
    assert ep.loc[ep["programme"].isin(["second_step", "step_up_dads"]), "gender"].eq("male").all()
    assert ep.loc[ep["programme"].eq("womens_programme"), "gender"].eq("female").all()
    # Step Up Dads only after completing Second Step, and only for fathers
    dads = ep[ep["programme"] == "step_up_dads"]
    ss = ep[(ep["programme"] == "second_step") & (ep["status"] == "completed")]
    m = dads.merge(ss[["person_id", "end_date"]], on="person_id", suffixes=("", "_ss"))
    assert m["person_id"].nunique() == dads["person_id"].nunique() > 0
    assert (m.groupby("person_id").apply(lambda g: (g["start_date"] > g["end_date_ss"]).any())).all()
    assert (dads["children"] > 0).all()
    # nothing still running at the extract, so everyone has an exit date
    assert ds.episodes["status"].ne("ongoing").all()


def test_people_who_left_in_2021_22_have_full_follow_up(demo):
    people = demo[1]["people"]
    left = people[people["group"].isin(["completed", "not_completed"])
                  & people["index_date"].between("2021-04-01", "2022-03-31")]
    assert len(left) > 20
    assert left["countable"].all()
    assert ((left["index_date"] + pd.DateOffset(months=18)) <= pd.Timestamp(EXTRACT_DATE)).all()


def test_prior_incidents_are_in_the_police_records(demo):
    ds = demo[2]
    m = ds.referrals[["person_id", "referral_date", "prior_da_incidents"]].merge(
        ds.police[ds.police["da_related"]], on="person_id", how="left")
    inside = (m["offence_date"] >= m["referral_date"] - pd.DateOffset(years=2)) & (m["offence_date"] < m["referral_date"])
    counted = inside.fillna(False).groupby(m["person_id"]).sum()
    want = ds.referrals.set_index("person_id")["prior_da_incidents"]
    assert (counted.reindex(want.index).to_numpy() == want.to_numpy()).all()


@pytest.mark.parametrize("which", ["demo", "scale"])
def test_records_hang_together_in_time(which, demo, scale):
    """Incidents, partners' offers and onward referrals come after the referral; onward
    referrals follow the start of work (first session; a partner's offer) and go to people
    who started or partners who engaged."""
    ds = {"demo": demo, "scale": scale}[which][2]
    ref = ds.referrals.set_index("referral_id")["referral_date"]
    assert (ds.incidents["incident_date"].to_numpy() >= ref.loc[ds.incidents["referral_id"]].to_numpy()).all()
    assert (ds.partners["offered_date"].to_numpy() >= ref.loc[ds.partners["referral_id"]].to_numpy()).all()
    onward = ds.onward_referrals
    to_partner = onward.dropna(subset=["partner_id"]).merge(ds.partners, on="partner_id", suffixes=("", "_p"))
    assert len(to_partner) == onward["partner_id"].notna().sum() > 0
    assert (to_partner["date"] > to_partner["offered_date"]).all()
    assert to_partner["engaged"].all()
    first = ds.episodes.groupby("referral_id")["start_date"].min()
    to_person = onward.dropna(subset=["referral_id"])
    assert to_person["referral_id"].isin(first.index).all()
    assert (to_person["date"].to_numpy() >= first.loc[to_person["referral_id"]].to_numpy()).all()


def test_a_few_police_records_have_no_referral(demo):
    ds = demo[2]
    strangers = ~ds.police["person_id"].isin(ds.referrals["person_id"])
    assert 1 <= strangers.sum() <= 10


# --------------------------------------------------------------------------- the latent truth and the records
def mo_j(people: pd.DataFrame, police: pd.DataFrame, extract: pd.Timestamp) -> pd.DataFrame:
    """Proven reoffending by the MoJ definition, written out plainly for this test.

    Window: index < offence <= index + 12 months; proven by conviction, caution or
    community resolution with the outcome dated by index + 18 months. Countable when
    index + 18 months is on or before the police extract.
    """
    p = people[["person_id", "index_date"]].copy()
    p["window_end"] = p["index_date"] + pd.DateOffset(months=12)
    p["waiting_end"] = p["index_date"] + pd.DateOffset(months=18)
    m = p.merge(police, on="person_id")
    proven = (
        (m["offence_date"] > m["index_date"]) & (m["offence_date"] <= m["window_end"])
        & m["outcome"].isin(PROVEN) & m["outcome_date"].notna() & (m["outcome_date"] <= m["waiting_end"])
    ).fillna(False)
    any_ = set(m.loc[proven, "person_id"])
    da = set(m.loc[proven & m["da_related"].fillna(False), "person_id"])
    return pd.DataFrame({
        "person_id": p["person_id"],
        "countable": (p["waiting_end"] <= extract).to_numpy(),
        "any": p["person_id"].isin(any_).to_numpy(),
        "da": p["person_id"].isin(da).to_numpy(),
    })


@pytest.mark.parametrize("which", ["demo", "scale"])
def test_latent_reoffending_agrees_with_police_records(which, demo, scale):
    _, meta, ds = {"demo": demo, "scale": scale}[which]
    people = meta["people"]
    got = mo_j(people, ds.police, ds.police_extract_date)
    assert (got["countable"].to_numpy() == people["countable"].to_numpy()).all()
    c = got["countable"].to_numpy()
    assert c.sum() > 0.4 * len(people)
    assert (got["any"].to_numpy()[c] == people["reoffended_any"].to_numpy()[c]).all()
    assert (got["da"].to_numpy()[c] == people["reoffended_da"].to_numpy()[c]).all()
    assert people["reoffended_any"][c].any() and (~people["reoffended_any"][c]).any()


def test_records_exercise_the_definition(scale):
    """Noise the definition must see through is there: unproven offences in the window,
    proven ones whose outcome is too late, offences after the window, DA-related
    offences before referral and after exit."""
    _, meta, ds = scale
    people = meta["people"]
    m = people[people["countable"]][["person_id", "index_date"]].merge(ds.police, on="person_id")
    after = m["offence_date"] > m["index_date"]
    in_window = after & (m["offence_date"] <= m["index_date"] + pd.DateOffset(months=12))
    proven = m["outcome"].isin(PROVEN)
    late = proven & (m["outcome_date"] > m["index_date"] + pd.DateOffset(months=18))
    assert (in_window & ~proven).sum() > 50
    assert (in_window & late).sum() > 20
    assert (~in_window & after & proven).sum() > 50
    assert (m["da_related"] & (m["offence_date"] < m["index_date"])).sum() > 100
    assert (m["da_related"] & in_window & ~proven).sum() > 20
    # frequency: some reoffenders have more than one proven reoffence
    counted = m[in_window & proven & ~late].groupby("person_id").size()
    assert (counted > 1).sum() > 20


def test_index_date_is_the_exit_of_the_first_core_episode(demo):
    _, meta, ds = demo
    ep = ds.episodes[ds.episodes["programme"].isin(CORE)].merge(ds.referrals[["referral_id", "person_id"]])
    first = ep.sort_values(["person_id", "start_date", "episode_id"]).drop_duplicates("person_id")
    people = meta["people"].set_index("person_id")
    got = people.loc[first["person_id"], "index_date"].to_numpy()
    assert (got == first["end_date"].to_numpy()).all()
    assert (people.loc[first["person_id"], "completed"].to_numpy() == first["status"].eq("completed").to_numpy()).all()
    rest = people.drop(index=first["person_id"])
    ref = ds.referrals.set_index("person_id")["referral_date"]
    assert (rest["index_date"].to_numpy() == ref.loc[rest.index].to_numpy()).all()


# --------------------------------------------------------------------------- confounding and the true effect
def _starters(ds) -> pd.DataFrame:
    ep = ds.episodes[ds.episodes["programme"].isin(CORE)].merge(ds.referrals, on="referral_id")
    first = ep.sort_values(["person_id", "start_date", "episode_id"]).drop_duplicates("person_id")
    return first[first["status"] != "ongoing"].assign(completed=lambda f: f["status"].eq("completed"))


def test_confounding_visible_in_the_records(scale):
    f = _starters(scale[2])
    comp, non = f[f["completed"]], f[~f["completed"]]
    assert len(non) > 300
    assert non["prior_da_incidents"].mean() > comp["prior_da_incidents"].mean() + 0.2
    assert non["risk_level"].eq("high").mean() > comp["risk_level"].eq("high").mean() + 0.08
    assert non["substance_misuse"].mean() > comp["substance_misuse"].mean()
    assert non["mental_health"].mean() > comp["mental_health"].mean()
    assert comp["source"].eq("self").mean() > non["source"].eq("self").mean()


def test_confounding_kept_by_calibration(demo):
    """Calibration fixes how many completed; who completed still follows the model, so in
    the demo too non-completers carry more risk (pooled over three seeds, the default first)."""
    frames = []
    for tables, meta in [demo[:2], generate_demo(seed=1), generate_demo(seed=2)]:
        people = meta["people"]
        s = people[people["group"].isin(["completed", "not_completed"])]
        ref = tables["referrals"].set_index("person_id").loc[s["person_id"]]
        frames.append(pd.DataFrame({
            "completed": s["completed"].to_numpy(), "p_complete": s["p_complete"].to_numpy(),
            "prior": ref["prior_da_incidents"].to_numpy(float), "high": ref["risk_level"].eq("high").to_numpy(bool),
        }))
    default, pooled = frames[0], pd.concat(frames)
    for f in (default, pooled):
        comp, non = f[f["completed"]], f[~f["completed"]]
        assert non["p_complete"].mean() < comp["p_complete"].mean() - 0.05
        assert non["prior"].mean() > comp["prior"].mean()
        assert non["high"].mean() > comp["high"].mean()


def test_large_true_effect_is_recovered(tmp_path):
    """With a large effect and many people, the adjusted log-odds ratio is the true one."""
    effects = TrueEffects(log_odds_any=-2.0)
    tables, meta = generate_demo(n_people=40_000, seed=2, effects=effects)
    ref = tables["referrals"].set_index("person_id")
    people = meta["people"]
    s = people[people["group"].isin(["completed", "not_completed"])].set_index("person_id")
    x = ref.loc[s.index]
    X = pd.DataFrame({
        "completed": s["completed"].astype(float),
        "medium": x["risk_level"].eq("medium").astype(float), "high": x["risk_level"].eq("high").astype(float),
        "prior": x["prior_da_incidents"].astype(float), "substance": x["substance_misuse"].astype(float),
        "mental": x["mental_health"].astype(float), "self": x["source"].eq("self").astype(float),
    })
    fit = sm.Logit(s["reoffended_any"].astype(float).to_numpy(), sm.add_constant(X).to_numpy()).fit(disp=0)
    est, se = fit.params[1], fit.bse[1]
    assert abs(est - effects.log_odds_any) < 3 * se
    naive = np.log(s.loc[s["completed"], "reoffended_any"].mean() / (1 - s.loc[s["completed"], "reoffended_any"].mean())) \
        - np.log(s.loc[~s["completed"], "reoffended_any"].mean() / (1 - s.loc[~s["completed"], "reoffended_any"].mean()))
    assert naive < est - 0.1   # unadjusted comparison exaggerates the benefit: confounding


def test_scale_mode_is_vectorised():
    t0 = time.perf_counter()
    tables, meta = generate_demo(n_people=50_000, seed=4)
    elapsed = time.perf_counter() - t0
    assert len(tables["referrals"]) == 50_000
    assert meta["synthetic"]["calibrated"] is False
    assert all(len(df) > 0 for df in tables.values())
    assert elapsed < 30, f"50,000 referrals took {elapsed:.1f}s: look for a loop over people"


def test_scale_mode_only_for_the_llr_programmes():
    with pytest.raises(ValueError, match="does not run"):
        generate_demo("nottinghamshire", n_people=100)
    with pytest.raises(ValueError, match="n_people"):
        generate_demo(n_people=0)


def test_default_seed_is_the_documented_one():
    assert DEFAULT_SEED == 20240630
