"""Synthetic datasets: the calibrated demo and known-effect simulations."""

from evallib.synthetic.demo import generate_demo, write_dataset, write_demo
from evallib.synthetic.model import TrueEffects, simulate_cohort, true_att

__all__ = ["generate_demo", "write_dataset", "write_demo", "TrueEffects", "simulate_cohort", "true_att"]
