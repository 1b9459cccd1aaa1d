"""``sesame serve`` passes Granian's own tuning variables on, and refuses nonsense before starting; a serving
worker runs the collector's full passes on a timer."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
from granian.constants import HTTPModes, RuntimeModes

from sesame.cli.serve import _granian_tuning
from sesame.settings import Settings


def test_unset_variables_leave_granians_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP", "RUNTIME_MODE", "RUNTIME_THREADS", "BACKPRESSURE", "BACKLOG"):
        monkeypatch.delenv(f"GRANIAN_{name}", raising=False)
    assert _granian_tuning() == {}


def test_each_variable_reaches_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRANIAN_HTTP", "1")
    monkeypatch.setenv("GRANIAN_RUNTIME_MODE", "st")
    monkeypatch.setenv("GRANIAN_RUNTIME_THREADS", "2")
    monkeypatch.setenv("GRANIAN_BACKPRESSURE", "128")
    monkeypatch.setenv("GRANIAN_BACKLOG", "2048")
    assert _granian_tuning() == {
        "http": HTTPModes.http1,
        "runtime_mode": RuntimeModes.st,
        "runtime_threads": 2,
        "backpressure": 128,
        "backlog": 2048,
    }


@pytest.mark.parametrize(("name", "value"), [("GRANIAN_HTTP", "3"), ("GRANIAN_BACKLOG", "lots")])
def test_a_bad_value_stops_the_start(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError):
        _granian_tuning()


# -- the collector in a serving worker ---------------------------------------------------------------------------
@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_serving_worker_leaves_full_passes_to_the_timer(restore_gc: None) -> None:
    from sesame.app import tune_gc_for_serving

    young, middle, _ = gc.get_threshold()
    tune_gc_for_serving()
    assert gc.get_freeze_count() > 0  # what start-up built is out of every pass's way
    assert gc.get_threshold()[:2] == (young, middle)  # young passes as before
    assert gc.get_threshold()[2] >= 10**9  # no full pass started by allocation count
    full = gc.get_stats()[2]["collections"]
    for _ in range(
        20
    ):  # cyclic garbage, as requests make it: hundreds of young passes, dozens of middle ones
        garbage = [[] for _ in range(25_000)]
        for cell in garbage:
            cell.append(cell)
        del garbage
    assert gc.get_stats()[2]["collections"] == full
    assert gc.get_stats()[1]["collections"] > 10  # (with the default thresholds, that would be full passes)


async def test_the_timer_runs_full_passes_while_the_app_lives(settings: Settings, restore_gc: None) -> None:
    from litestar.testing import AsyncTestClient

    from sesame.app import create_app

    app = create_app(settings, full_collection_every=0.05)
    before = gc.get_stats()[2]["collections"]
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health")).status_code == 200
        # A full pass over a test process's heap can take a while on a busy machine: wait for two, not a clock.
        deadline = asyncio.get_running_loop().time() + 30
        while gc.get_stats()[2]["collections"] - before < 2:
            assert asyncio.get_running_loop().time() < deadline, "the timer ran no full pass"
            await asyncio.sleep(0.05)
    stopped = gc.get_stats()[2]["collections"]  # (the timer may still have ticked while the app shut down)
    await asyncio.sleep(0.5)
    assert gc.get_stats()[2]["collections"] == stopped  # no timer outlives its app
