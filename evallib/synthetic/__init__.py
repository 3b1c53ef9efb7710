"""Synthetic datasets: the calibrated demo and known-effect simulations."""
