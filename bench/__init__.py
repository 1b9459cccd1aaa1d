"""Benchmarks: each ``bench_*.py`` prints a markdown table and writes JSON under ``var/bench/``."""

from __future__ import annotations

from pathlib import Path

_STAT = Path("/proc/stat")


class CpuSteal:
    """Share of CPU time the hypervisor gave to other guests while the benchmark ran (``steal`` in
    ``/proc/stat``): on a shared virtual machine the same code measures slower when it is high, so every table
    prints it beside its figures. ``None`` where ``/proc/stat`` is not readable."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int] | None:
        try:
            fields = [int(v) for v in _STAT.read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        return (fields[7] if len(fields) > 7 else 0), sum(fields)

    def percent(self) -> float | None:
        end = self._read()
        if self._start is None or end is None or end[1] == self._start[1]:
            return None
        return round(100 * (end[0] - self._start[0]) / (end[1] - self._start[1]), 1)

    def describe(self) -> str:
        value = self.percent()
        return "CPU steal n/a" if value is None else f"CPU steal {value:.0f} %"
