"""Statistical engine of evallib.

Every public function is importable as ``from evallib import stats; stats.NAME``.
Results are small frozen dataclasses with a ``to_frame()`` method returning a
tidy one-row DataFrame (pingouin style); tables are DataFrames. Problems with
the data raise :class:`StatsError` (a ``ValueError``) with a sentence saying
what is wrong. See ``docs/methods.md`` for each method and its source.
"""

from ._utils import Result, SeparationError, StatsError, StatsWarning
from .contingency import (
    ChiSquareResult,
    FisherResult,
    McNemarResult,
    chi_square,
    fisher_exact,
    mcnemar,
)
from .counts import (
    PairedRateRatio,
    RateComparison,
    compare_rates,
    negative_binomial_regression,
    paired_rate_ratio,
    poisson_regression,
)
from .meta import (
    MantelHaenszelDifference,
    RandomEffects,
    describe_heterogeneity,
    describe_pooled,
    mantel_haenszel_difference,
    pooled_difference,
    random_effects,
    stratum_table,
)
from .multicomp import holm
from .power import MinimumDetectableDifference, minimum_detectable_difference, power_two_proportions
from .propensity import (
    Balance,
    Matching,
    Overlap,
    PropensityModel,
    WeightedDifference,
    att_weights,
    balance_table,
    nearest_neighbour_match,
    overlap,
    propensity_att,
    propensity_scores,
    standardised_mean_difference,
    weighted_difference,
)
from .proportions import ProportionComparison, compare_proportions, proportion_ci
from .regression import logistic
from .survival import LogRankResult, cox, kaplan_meier, logrank, numbers_at_risk, survival_at
from .wording import INCONCLUSIVE, VERDICTS, Wording, describe_comparison

__all__ = [
    # errors and base class
    "StatsError", "SeparationError", "StatsWarning", "Result",
    # proportions
    "proportion_ci", "compare_proportions", "ProportionComparison",
    # contingency tables
    "fisher_exact", "chi_square", "mcnemar", "FisherResult", "ChiSquareResult", "McNemarResult",
    # survival
    "kaplan_meier", "survival_at", "numbers_at_risk", "logrank", "cox", "LogRankResult",
    # regression
    "logistic",
    # counts
    "poisson_regression", "negative_binomial_regression", "compare_rates", "paired_rate_ratio",
    "RateComparison", "PairedRateRatio",
    # power and multiplicity
    "minimum_detectable_difference", "power_two_proportions", "MinimumDetectableDifference",
    "holm",
    # propensity scores
    "propensity_scores", "att_weights", "standardised_mean_difference", "balance_table",
    "overlap", "weighted_difference", "propensity_att", "nearest_neighbour_match",
    "PropensityModel", "Balance", "Overlap", "WeightedDifference", "Matching",
    # pooling over areas and periods
    "mantel_haenszel_difference", "pooled_difference", "random_effects", "stratum_table",
    "describe_heterogeneity", "describe_pooled", "MantelHaenszelDifference", "RandomEffects",
    # reporting
    "describe_comparison", "Wording", "VERDICTS", "INCONCLUSIVE",
]
