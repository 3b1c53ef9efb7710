"""The person-level causal model behind every synthetic dataset.

Completion is confounded the way it is in life: higher assessed risk, more prior
domestic-abuse incidents, substance misuse and mental-health needs make drop-out *and*
reoffending more likely, and self-referral (motivation) makes completion more likely.
Completing the programme has a known true effect, so estimators can be checked
against the truth.

Binary proven reoffending follows a logistic model, so the true *conditional
log-odds ratio* of completing is exactly ``TrueEffects.log_odds_any`` (and
``log_odds_da`` for DA-related proven reoffending). Each person also carries both
potential-outcome probabilities, so the true *average effect on the treated* (ATT,
the estimand of propensity weighting) is known for every simulated dataset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = [
    "TrueEffects", "simulate_cohort", "true_att", "COVARIATES", "RISK_LEVELS",
    "draw_covariates", "completion_probability", "reoffending_probabilities", "draw_reoffending",
]

#: Covariate columns produced by :func:`simulate_cohort` that an adjusted model uses
#: (``risk_level`` is categorical: standard / medium / high).
COVARIATES = ["risk_level", "prior_da_incidents", "substance_misuse", "mental_health", "self_referred"]

RISK_LEVELS = np.array(["standard", "medium", "high"])


@dataclass(frozen=True)
class TrueEffects:
    """True effects of completing a programme, stored with every synthetic dataset.

    Attributes
    ----------
    log_odds_any, log_odds_da
        Conditional log-odds ratio of one-year proven reoffending (any offence;
        DA-related offences) for completers versus non-completers, given covariates.
    completion_intercept
        Intercept of the completion model; moves the overall completion rate.
    """

    log_odds_any: float = -0.7
    log_odds_da: float = -0.8
    completion_intercept: float = 1.9
    reoffend_intercept_any: float = -1.55
    reoffend_intercept_da: float = -2.2

    def to_dict(self) -> dict:
        return asdict(self)


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _completion_lp(medium, high, prior, substance, mental, self_ref, effects: TrueEffects):
    """Linear predictor of completing (log-odds), the one formula every generator uses."""
    return (
        effects.completion_intercept - 0.8 * medium - 1.5 * high - 0.25 * prior
        - 0.7 * substance - 0.5 * mental + 0.6 * self_ref
    )


def _reoffending_lps(medium, high, prior, substance, mental, self_ref, effects: TrueEffects):
    """Linear predictors (log-odds) of proven reoffending, any and DA-related, when not completing."""
    base_any = (
        effects.reoffend_intercept_any + 0.5 * medium + 1.1 * high + 0.3 * prior
        + 0.6 * substance + 0.4 * mental - 0.2 * self_ref
    )
    base_da = (
        effects.reoffend_intercept_da + 0.5 * medium + 1.2 * high + 0.35 * prior
        + 0.5 * substance + 0.3 * mental - 0.2 * self_ref
    )
    return base_any, base_da


def simulate_cohort(
    n: int, *, seed: int | None = None, rng: np.random.Generator | None = None,
    effects: TrueEffects = TrueEffects(),
) -> pd.DataFrame:
    """Simulate ``n`` people who started a core programme, vectorised.

    Returns one row per person with covariates, completion, both potential-outcome
    probabilities (``p_any_if_completed``, ``p_any_if_not``, same for ``da``) and the
    realised binary outcomes ``completed``, ``reoffended_any``, ``reoffended_da``
    (a DA-related reoffender is always also an any-offence reoffender).
    """
    if rng is None:
        rng = np.random.default_rng(seed)
    risk_idx = rng.choice(3, size=n, p=[0.45, 0.35, 0.20])
    medium = (risk_idx == 1).astype(float)
    high = (risk_idx == 2).astype(float)
    prior = rng.poisson(np.array([0.6, 1.3, 2.6])[risk_idx])
    substance = rng.random(n) < (0.18 + 0.17 * high)
    mental = rng.random(n) < 0.30
    self_ref = rng.random(n) < 0.30
    age = np.clip(np.rint(rng.normal(36, 10, n)), 18, 75).astype(int)
    gender = rng.choice(["male", "female", "other"], size=n, p=[0.87, 0.12, 0.01])
    children = rng.poisson(1.4, n)

    lp_complete = _completion_lp(medium, high, prior, substance, mental, self_ref, effects)
    p_complete = _expit(lp_complete)
    completed = rng.random(n) < p_complete

    base_any, base_da = _reoffending_lps(medium, high, prior, substance, mental, self_ref, effects)
    p_any_1, p_any_0 = _expit(base_any + effects.log_odds_any), _expit(base_any)
    p_da_1, p_da_0 = _expit(base_da + effects.log_odds_da), _expit(base_da)
    p_any = np.where(completed, p_any_1, p_any_0)
    p_da = np.where(completed, p_da_1, p_da_0)
    # One uniform per person for both outcomes: DA-related reoffenders are a subset
    # of any-offence reoffenders whenever p_da <= p_any (true by construction here,
    # enforced by the minimum below).
    u = rng.random(n)
    reoffended_any = u < p_any
    reoffended_da = u < np.minimum(p_da, p_any)

    return pd.DataFrame({
        "risk_level": RISK_LEVELS[risk_idx],
        "prior_da_incidents": prior,
        "substance_misuse": substance,
        "mental_health": mental,
        "self_referred": self_ref,
        "age": age,
        "gender": gender,
        "children": children,
        "p_complete": p_complete,
        "completed": completed,
        "p_any_if_completed": p_any_1,
        "p_any_if_not": p_any_0,
        "p_da_if_completed": p_da_1,
        "p_da_if_not": p_da_0,
        "reoffended_any": reoffended_any,
        "reoffended_da": reoffended_da,
    })


def true_att(cohort: pd.DataFrame, outcome: str = "any") -> float:
    """True average effect on the treated (risk difference, completers) of a cohort.

    The sample ATT: mean over completers of the difference between their probability
    of reoffending having completed and had they not. This is the estimand of
    propensity-score (ATT) weighting.
    """
    c = cohort[cohort["completed"]]
    if c.empty:
        raise ValueError("no completers in the cohort: the ATT is not defined")
    return float((c[f"p_{outcome}_if_completed"] - c[f"p_{outcome}_if_not"]).mean())


# --------------------------------------------------------------------------- building blocks
# The pieces of :func:`simulate_cohort`, for generators that fix some things by design
# (who is self-referred, who completed) and draw the rest from the same model. They use
# the same formulas, so every synthetic dataset shares one causal model.

def draw_covariates(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw the assessed covariates of ``n`` people as :func:`simulate_cohort` does.

    Returns ``risk_level, prior_da_incidents, substance_misuse, mental_health, age,
    children``; self-referral and gender are left to the caller, because a calibrated
    generator fixes how many people are self-referred and programmes constrain gender.
    """
    risk_idx = rng.choice(3, size=n, p=[0.45, 0.35, 0.20])
    high = risk_idx == 2
    prior = rng.poisson(np.array([0.6, 1.3, 2.6])[risk_idx])
    substance = rng.random(n) < (0.18 + 0.17 * high)
    mental = rng.random(n) < 0.30
    age = np.clip(np.rint(rng.normal(36, 10, n)), 18, 75).astype(int)
    children = rng.poisson(1.4, n)
    return pd.DataFrame({
        "risk_level": RISK_LEVELS[risk_idx],
        "prior_da_incidents": prior,
        "substance_misuse": substance,
        "mental_health": mental,
        "age": age,
        "children": children,
    })


def _design(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    risk = np.asarray(frame["risk_level"], dtype=object)
    medium = (risk == "medium").astype(float)
    high = (risk == "high").astype(float)
    prior = np.asarray(frame["prior_da_incidents"], dtype=float)
    substance = np.asarray(frame["substance_misuse"], dtype=bool)
    mental = np.asarray(frame["mental_health"], dtype=bool)
    self_ref = np.asarray(frame["self_referred"], dtype=bool)
    return medium, high, prior, substance, mental, self_ref


def completion_probability(frame: pd.DataFrame, effects: TrueEffects = TrueEffects()) -> np.ndarray:
    """Probability of completing given covariates (the completion model of :func:`simulate_cohort`).

    ``frame`` needs ``risk_level, prior_da_incidents, substance_misuse, mental_health,
    self_referred`` with no missing values (the generator's latent values, not the
    recorded ones).
    """
    return _expit(_completion_lp(*_design(frame), effects))


def reoffending_probabilities(frame: pd.DataFrame, effects: TrueEffects = TrueEffects()) -> pd.DataFrame:
    """Both potential-outcome probabilities of proven reoffending, any and DA-related.

    Columns ``p_any_if_completed, p_any_if_not, p_da_if_completed, p_da_if_not``: the
    same logistic model as :func:`simulate_cohort`, so the conditional log-odds ratio of
    completing is exactly ``effects.log_odds_any`` (``log_odds_da``).
    """
    base_any, base_da = _reoffending_lps(*_design(frame), effects)
    return pd.DataFrame({
        "p_any_if_completed": _expit(base_any + effects.log_odds_any),
        "p_any_if_not": _expit(base_any),
        "p_da_if_completed": _expit(base_da + effects.log_odds_da),
        "p_da_if_not": _expit(base_da),
    }, index=frame.index)


def draw_reoffending(probs: pd.DataFrame, completed: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Realised proven reoffending (any, DA-related) given actual completion.

    One uniform per person for both outcomes, as in :func:`simulate_cohort`, so a
    DA-related reoffender is always an any-offence reoffender.
    """
    completed = np.asarray(completed, dtype=bool)
    p_any = np.where(completed, probs["p_any_if_completed"], probs["p_any_if_not"])
    p_da = np.where(completed, probs["p_da_if_completed"], probs["p_da_if_not"])
    u = rng.random(len(completed))
    return u < p_any, u < np.minimum(p_da, p_any)
