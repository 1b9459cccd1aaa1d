"""Benchmarks: each ``bench_*.py`` prints a markdown table and writes JSON under ``var/bench/``."""
