"""Adjusting p-values for several outcomes or subgroups.

References
----------
Holm S (1979). A simple sequentially rejective multiple test procedure.
*Scandinavian Journal of Statistics* 6:65-70.
Wright SP (1992). Adjusted p-values for simultaneous inference. *Biometrics*
48:1005-1013.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._utils import StatsError

__all__ = ["holm"]


def holm(pvalues):
    """Holm's step-down adjusted p-values, as R's ``p.adjust(p, method = "holm")``.

    Parameters
    ----------
    pvalues : array-like or pandas.Series
        Raw p-values in [0, 1]. Missing values (NaN) are left missing and do
        not count towards the number of tests, as in R.

    Returns
    -------
    numpy.ndarray or pandas.Series
        Adjusted p-values in the input order (a Series keeps its index). With
        ``m`` tests and the ``i``-th smallest p-value ``p_(i)``, the adjusted
        value is ``max_{j <= i} min(1, (m - j + 1) p_(j))`` (Wright 1992).
        Report them beside the raw p-values: an outcome is significant after
        adjustment when its adjusted p-value is <= 0.05. Holm controls the
        family-wise error rate under any dependence between the tests, and is
        uniformly more powerful than Bonferroni.
    """
    is_series = isinstance(pvalues, pd.Series)
    p = np.asarray(pvalues, dtype=float).ravel()
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise StatsError("p-values must lie between 0 and 1.")
    out = np.full(p.shape, np.nan)
    q = p[ok]
    m = q.size
    if m:
        order = np.argsort(q, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
        res = np.empty(m)
        res[order] = adj
        out[ok] = res
    if is_series:
        return pd.Series(out, index=pvalues.index, name=pvalues.name)
    return out
