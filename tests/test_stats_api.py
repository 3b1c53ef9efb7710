"""The public surface of evallib.stats: names, result objects, errors."""

from __future__ import annotations

import dataclasses
import importlib

import pandas as pd
import pytest

from evallib import stats

MODULES = ["proportions", "contingency", "survival", "regression", "propensity", "counts",
           "power", "multicomp", "wording", "meta", "_utils"]


def test_every_public_name_is_importable_and_modules_declare_all():
    for name in stats.__all__:
        assert hasattr(stats, name), name
    for mod in MODULES:
        module = importlib.import_module(f"evallib.stats.{mod}")
        assert module.__all__, mod
        for name in module.__all__:
            assert hasattr(module, name), (mod, name)


def test_results_are_frozen_and_give_one_row_frames():
    results = [
        stats.compare_proportions(5, 17, 3, 5),
        stats.fisher_exact([[3, 1], [1, 3]]),
        stats.chi_square([[10, 20], [30, 25]]),
        stats.mcnemar([[10, 5], [2, 8]]),
        stats.logrank([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], list("aaabbb")),
        stats.minimum_detectable_difference(100, 100, 0.3),
        stats.compare_rates(10, 100.0, 5, 120.0),
        stats.paired_rate_ratio([1, 2, 3, 0], [0, 1, 1, 1]),
        stats.describe_comparison(5, 17, 3, 5),
        stats.mantel_haenszel_difference([5, 9], [17, 30], [3, 6], [5, 12]),
        stats.pooled_difference([5, 9, 4], [17, 30, 20], [3, 6, 5], [5, 12, 9]),
    ]
    for res in results:
        assert dataclasses.is_dataclass(res)
        with pytest.raises(dataclasses.FrozenInstanceError):
            res.notes = ()  # type: ignore[misc]
        frame = res.to_frame()
        assert isinstance(frame, pd.DataFrame) and len(frame) == 1
        assert not any(isinstance(v, (pd.DataFrame, dict)) for v in frame.iloc[0])


def test_errors_are_value_errors_with_sentences():
    assert issubclass(stats.StatsError, ValueError)
    with pytest.raises(stats.StatsError) as info:
        stats.compare_proportions(1, 0, 1, 5)
    assert info.value.args[0].endswith(".")


@pytest.mark.filterwarnings("ignore:Only .* per term")
def test_string_and_categorical_columns_are_dummy_coded_alike():
    # pandas 3 infers a dedicated string dtype; object and categorical columns must match it
    base = pd.DataFrame({"y": [0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0],
                         "g": ["a", "b", "c"] * 4,
                         "x": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]})
    as_object = base.assign(g=base.g.astype(object))
    as_cat = base.assign(g=pd.Categorical(base.g, categories=["a", "b", "c"]))
    fits = [stats.logistic(d, "y", ["g", "x"]) for d in (base, as_object, as_cat)]
    for f in fits[1:]:
        pd.testing.assert_frame_equal(fits[0], f)
    assert list(fits[0].index) == ["Intercept", "g[b]", "g[c]", "x"]
