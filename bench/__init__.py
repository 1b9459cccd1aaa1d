"""Benchmarks: each ``bench_*.py`` prints a markdown table and writes JSON under ``var/bench/``."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


def start_server(
    command: list[str], *, env: Mapping[str, str], cwd: Path, **popen: Any
) -> subprocess.Popen[bytes]:
    """Start the server under test in a process group of its own (so ``stop_server`` stops its workers too), but
    in this session.

    Not ``start_new_session``: where the kernel groups tasks by session for scheduling (``CONFIG_SCHED_AUTOGROUP``,
    on in Debian's kernels and this machine's), a new session is a scheduling group of its own, and the CPU is
    then shared between two groups (wrk's, the server's) before the server's threads share what their group got.
    The server's hand-offs between its threads (Granian's Rust runtime, its Python thread, the event loop) then
    wait behind wrk at each step: measured with the same server and the same wrk runs, ``POST /api/v1/scan``'s
    p99 went from 5.7-7.3 ms (six 5-second rounds, one group) to 10-13.5 ms (six rounds, two groups) and its throughput fell
    by a quarter; the constant endpoints' p99 reached 36-55 ms. A server started from the same shell as its load
    generator, as the README's commands do, shares one group with it.
    """
    return subprocess.Popen(command, env=dict(env), cwd=cwd, process_group=0, **popen)


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGINT to the server's process group (Granian stops its workers), SIGKILL if it has not gone after
    ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
