"""The completers-versus-non-completers evaluation, one module per report section.

``core``: cohorts, outcomes and the headline comparison (:func:`evaluate`), the record
flow and ``results.json``. ``groups``: who the groups are (table one). ``adjusted``:
logistic regression and propensity weighting. ``time_to_event``: Kaplan-Meier, log-rank,
Cox. ``before_after``: police-recorded incidents before and after. ``sensitivity``:
other definitions, Holm-adjusted. ``summary``: the plain-English first page.

Every function here returns group-level, disclosure-controlled tables and sentences:
person-level frames stay inside :class:`Evaluation`.
"""

from evallib.reports.evaluation.core import *  # noqa: F403
from evallib.reports.evaluation.core import __all__ as _core_all

__all__ = list(_core_all)
