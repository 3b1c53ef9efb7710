"""Private helpers shared by the statistics modules.

The result base class, the error and warning types, and small input checks live
here so that every public function reports problems the same way.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "StatsError",
    "SeparationError",
    "StatsWarning",
    "Result",
    "z_value",
    "check_alpha",
    "check_count",
    "as_table",
    "design_matrix",
    "warn",
]


class StatsError(ValueError):
    """Raised when the data cannot answer the question asked.

    The message is a full sentence an evaluator can read: it says what is wrong
    with the data (an empty group, a zero denominator, ...) and, where there is
    one, what to do instead.
    """


class SeparationError(StatsError):
    """Raised when a logistic model shows complete or quasi-complete separation.

    Under separation the maximum-likelihood estimate does not exist (a
    coefficient runs off to infinity), so no odds ratio or interval can be
    reported (Albert and Anderson 1984).
    """


class StatsWarning(UserWarning):
    """Warning about a result that was computed but needs a caveat."""


def warn(message: str) -> None:
    """Issue a :class:`StatsWarning` pointing at the caller of the public function."""
    warnings.warn(message, StatsWarning, stacklevel=3)


@dataclasses.dataclass(frozen=True)
class Result:
    """Base class of every small typed result (a frozen dataclass).

    :meth:`to_frame` returns a tidy one-row :class:`pandas.DataFrame`, in the
    style of pingouin: scalars become columns, a ``(low, high)`` interval named
    ``x_ci`` becomes two columns ``x_ci_low`` and ``x_ci_high``, a tuple of
    notes or warnings is joined with ``"; "``, and tables (DataFrames, arrays)
    are left out.
    """

    def to_frame(self) -> pd.DataFrame:
        row: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            if not field.repr:
                continue
            value = getattr(self, field.name)
            if isinstance(value, (pd.DataFrame, pd.Series, np.ndarray, dict)):
                continue
            if isinstance(value, tuple) and len(value) == 2 and field.name.endswith("_ci"):
                row[f"{field.name}_low"], row[f"{field.name}_high"] = value
            elif isinstance(value, tuple):
                row[field.name] = "; ".join(str(v) for v in value)
            else:
                row[field.name] = value
        return pd.DataFrame([row])


def z_value(alpha: float) -> float:
    """Two-sided standard normal quantile ``z_{1 - alpha/2}``."""
    from scipy import stats

    return float(stats.norm.ppf(1.0 - alpha / 2.0))


def check_alpha(alpha: float) -> float:
    """Check that ``alpha`` is a probability strictly between 0 and 1."""
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise StatsError(f"alpha must be strictly between 0 and 1 (got {alpha}).")
    return alpha


def check_count(count: Any, nobs: Any, *, what: str = "group") -> tuple[int, int]:
    """Check a count out of a number of observations and return them as ints.

    Raises
    ------
    StatsError
        If either is negative, not a whole number, if the count exceeds the
        number of observations, or if there are no observations at all.
    """
    for name, value in (("count", count), ("number of observations", nobs)):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise StatsError(f"The {name} for the {what} is missing.")
        if float(value) != int(value) or int(value) < 0:
            raise StatsError(f"The {name} for the {what} must be a whole number >= 0 (got {value}).")
    count, nobs = int(count), int(nobs)
    if nobs == 0:
        raise StatsError(
            f"The {what} has no people in it (0 observations), so its rate cannot be "
            "calculated: there is nothing to compare."
        )
    if count > nobs:
        raise StatsError(f"The {what} has {count} events out of only {nobs} people.")
    return count, nobs


def as_table(table: Any, *, min_shape: tuple[int, int] = (2, 2)) -> np.ndarray:
    """Convert a contingency table (array-like or DataFrame) to a 2-D int array."""
    arr = np.asarray(table.to_numpy() if isinstance(table, pd.DataFrame) else table, dtype=float)
    if arr.ndim != 2:
        raise StatsError(f"A contingency table must be two-dimensional (got {arr.ndim} dimensions).")
    if arr.shape[0] < min_shape[0] or arr.shape[1] < min_shape[1]:
        raise StatsError(
            f"A contingency table needs at least {min_shape[0]} rows and {min_shape[1]} columns "
            f"(got {arr.shape[0]} x {arr.shape[1]})."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise StatsError("A contingency table must hold whole, non-negative counts with no missing cells.")
    return arr.astype(np.int64)


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def design_matrix(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    reference: dict[str, Any] | None = None,
    intercept: bool = True,
    protect: Iterable[str] = (),
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Build a numeric design matrix with dummy-coded categorical covariates.

    String, object and categorical columns are dummy-coded (treatment
    contrasts) with the reference level given in ``reference`` or, by default,
    the first level (categories in their declared order, otherwise sorted, as
    R's ``factor`` does). Booleans become 0/1. A covariate that is constant in
    the data carries no information and would make the model unidentifiable:
    it is dropped and a warning is recorded (returned) and issued, unless it is
    listed in ``protect`` (then a :class:`StatsError` is raised).

    Returns
    -------
    (X, notes)
        ``X`` has one column per term (``"Intercept"`` first if asked for;
        dummies are named ``"column[level]"``); ``notes`` are the warnings.
    """
    reference = dict(reference or {})
    protect = set(protect)
    missing = [c for c in covariates if c not in data.columns]
    if missing:
        raise StatsError(f"Covariate column(s) not found in the data: {', '.join(missing)}.")
    if len(set(covariates)) != len(covariates):
        raise StatsError("A covariate is listed twice.")
    parts: list[pd.DataFrame] = []
    notes: list[str] = []
    for col in covariates:
        s = data[col]
        if s.isna().any():
            raise StatsError(
                f"Covariate '{col}' has {int(s.isna().sum())} missing value(s): remove or impute "
                "them before modelling, and report how many were removed."
            )
        if s.nunique() < 2:
            msg = (f"Covariate '{col}' has the same value for everyone analysed, so it "
                   "cannot be adjusted for")
            if col in protect:
                raise StatsError(msg + ": there is no comparison to make.")
            notes.append(msg + "; it was dropped from the model.")
            warn(notes[-1])
            continue
        if _is_categorical(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [lv for lv in s.cat.categories if (s == lv).any()]
            else:
                levels = sorted(s.astype(str).unique())
                s = s.astype(str)
            ref = reference.get(col, levels[0])
            if ref not in levels:
                raise StatsError(f"Reference level '{ref}' is not a value of '{col}' ({levels}).")
            dummies = {
                f"{col}[{lv}]": (s == lv).to_numpy(dtype=float) for lv in levels if lv != ref
            }
            parts.append(pd.DataFrame(dummies, index=data.index))
        else:
            parts.append(pd.DataFrame({col: s.to_numpy(dtype=float)}, index=data.index))
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)
    if intercept:
        X.insert(0, "Intercept", 1.0)
    return X, tuple(notes)
