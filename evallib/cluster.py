"""Report jobs on a Dask distributed cluster (``evallib run --executor dask``).

Why: a national evaluation is thousands of notebook runs (about 40 areas x periods x
notebooks); one machine runs a few at a time. Each job is one Dask task that runs the
notebook exactly as a local run does (:func:`evallib.runner._run_in_subprocess`: a
fresh worker process, its own kernel), so the outputs are the same. The run's own
process still stages, publishes and indexes every report.

With ``--scheduler ADDRESS`` the tasks go to that cluster's workers, which need
evallib installed (the same version) and the dataset, notebook and output folders at
the same paths (a shared drive); without one, a ``LocalCluster`` is started on this
machine for the run and closed after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["dask_pool", "DaskPool"]


class DaskPool:
    """The little of ``concurrent.futures.Executor`` the runner uses, over a Dask client."""

    def __init__(self, client) -> None:
        self.client = client

    def submit(self, fn, *args):
        # pure=False: two jobs with equal arguments are still two runs
        return self.client.submit(fn, *args, pure=False)

    def as_completed(self, futures) -> Iterator:
        from distributed import as_completed

        return iter(as_completed(list(futures)))


@contextlib.contextmanager
def dask_pool(scheduler: str | None, workers: int) -> Iterator[DaskPool]:
    """A pool on the cluster at ``scheduler``, or on a ``LocalCluster`` of ``workers`` processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise RuntimeError("the dask executor needs dask[distributed]: pip install 'dask[distributed]'") from exc
    if scheduler:
        with Client(scheduler) as client:
            yield DaskPool(client)
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield DaskPool(client)
