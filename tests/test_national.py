"""The synthetic national dataset: partitioned by area, loadable, reproducible."""

from __future__ import annotations

import pandas as pd
import pytest

from evallib.cli import main
from evallib.params import load_area
from evallib.schemas import load_dataset
from evallib.synthetic.national import generate_national, write_national


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    return write_national(tmp_path_factory.mktemp("national"), n_referrals=4000, n_police=30000)


def test_one_file_per_area_and_the_contract_kept(national):
    areas = load_area("national").districts
    files = sorted(p.name for p in (national / "referrals.parquet").glob("*.parquet"))
    assert len(areas) == 40 and len(files) == 40
    ds = load_dataset(national)      # raises with every problem if the contract is broken
    assert len(ds.referrals) == 4000 and len(ds.police) == 30000
    # each file holds one area's referrals, and every area appears
    one = pd.read_parquet(national / "referrals.parquet" / files[0])
    assert one["district"].nunique() == 1
    assert set(ds.referrals["district"]) == set(areas)
    # episodes are partitioned by their referral's area
    ep = pd.read_parquet(national / "episodes.parquet" / files[0])
    assert set(ep["referral_id"]) <= set(one["referral_id"])
    # repeat referrals, people with no referral in police, ongoing and follow-on episodes
    assert ds.referrals["person_id"].duplicated().any()
    assert (~ds.police["person_id"].isin(ds.referrals["person_id"].unique())).any()
    assert {"ongoing", "completed", "disengaged"} <= set(ds.episodes["status"])
    assert "step_up_dads" in set(ds.episodes["programme"])


def test_same_seed_same_data_and_sizes_follow_scale():
    a, _, _ = generate_national(n_referrals=500, n_police=2000, seed=3)
    b, _, _ = generate_national(n_referrals=500, n_police=2000, seed=3)
    c, _, _ = generate_national(n_referrals=500, n_police=2000, seed=4)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["police"].equals(c["police"])
    small, meta, _ = generate_national(scale=0.001)
    assert len(small["referrals"]) == 1000 and len(small["police"]) == 10000
    assert meta["synthetic"]["generator"] == "evallib.synthetic.national"


def test_cli_writes_a_national_dataset(tmp_path, capsys):
    assert main(["synth", "--national", "--scale", "0.0005", "--out", str(tmp_path / "nat")]) == 0
    assert len(load_dataset(tmp_path / "nat").referrals) == 500
    assert main(["synth", "--national", "--scale", "-1", "--out", str(tmp_path / "x")]) == 2
    assert "--scale" in capsys.readouterr().err
