"""``sesame serve`` passes Granian's own tuning variables on, and refuses nonsense before starting."""

from __future__ import annotations

import pytest
from granian.constants import HTTPModes, RuntimeModes

from sesame.cli.serve import _granian_tuning


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
