"""Synthetic datasets: the calibrated demo and known-effect simulations.

The generators are imported on first use (PEP 562), so that a command which only asks
where the demo data lives (:mod:`evallib.synthetic.folders`) does not import pandas.
"""

from importlib import import_module

__all__ = ["generate_demo", "write_dataset", "write_demo", "TrueEffects", "simulate_cohort", "true_att"]
_HOME = {"generate_demo": "demo", "write_dataset": "demo", "write_demo": "demo",
         "TrueEffects": "model", "simulate_cohort": "model", "true_att": "model"}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(f"evallib.synthetic.{_HOME[name]}"), name)
    raise AttributeError(f"module 'evallib.synthetic' has no attribute {name!r}")
