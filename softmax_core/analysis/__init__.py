"""Computed readings of stored runs: the lessons, sweeps, inspection of one run, and exports."""
