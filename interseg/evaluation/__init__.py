"""Metrics, the benchmark loop and its reports."""
