from __future__ import annotations

import os
from typing import Any

import click


def _granian_tuning() -> dict[str, Any]:
    """Granian's own environment knobs (the names its CLI reads), for operators tuning a deployment:
    ``GRANIAN_HTTP`` (auto, 1, 2), ``GRANIAN_RUNTIME_MODE`` (auto, st, mt), ``GRANIAN_RUNTIME_THREADS``,
    ``GRANIAN_BACKPRESSURE``, ``GRANIAN_BACKLOG``. Unset: Granian's defaults."""
    from granian.constants import HTTPModes, RuntimeModes

    tuning: dict[str, Any] = {}
    if value := os.environ.get("GRANIAN_HTTP"):
        tuning["http"] = HTTPModes(value)
    if value := os.environ.get("GRANIAN_RUNTIME_MODE"):
        tuning["runtime_mode"] = RuntimeModes(value)
    for name in ("runtime_threads", "backpressure", "backlog"):
        if value := os.environ.get(f"GRANIAN_{name.upper()}"):
            tuning[name] = int(value)
    return tuning


def serve_app(host: str, port: int, workers: int) -> None:
    """Serve ``create_app()`` with Granian (ASGI, uvloop where available).

    The keys are loaded (and created on a first start) here, before the workers fork, so that every worker
    reads the same key files rather than racing to create them.
    """
    from granian.constants import Interfaces, Loops
    from granian.server import Server

    Server(
        "sesame.app:app_from_env",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        loop=Loops.auto,
        log_access=False,
        **_granian_tuning(),
    ).serve()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve Sésame with Granian."""
    from sesame.keys import KeyRing
    from sesame.settings import Settings

    KeyRing.for_settings(Settings())
    serve_app(host, port, workers)


COMMANDS = [serve]
