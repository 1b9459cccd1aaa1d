"""The ``sesame`` command. Every command reads the same settings as the server (``SESAME_*``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from sesame.modules import optional_module
from sesame.settings import get_settings

T = TypeVar("T")


def run(coro_factory: Callable[[], Awaitable[T]]) -> T:
    async def _main() -> T:
        return await coro_factory()

    return asyncio.run(_main())


def emit(data: Any, *, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else human)


@click.group()
@click.version_option(package_name="sesame")
def main() -> None:
    """Sésame: citizens' vaults, companies' verified civil status, a transparency ledger."""


def _register() -> None:
    for name in (
        "sesame.cli.admin",
        "sesame.cli.db",
        "sesame.cli.keys",
        "sesame.cli.serve",
        "sesame.cli.ledger",
        "sesame.cli.labels",
        "sesame.cli.pos",
        "sesame.cli.demo",
    ):
        module = optional_module(name)
        if module is None:
            continue
        for command in module.COMMANDS:
            main.add_command(command)


_register()

__all__ = ["emit", "get_settings", "main", "run"]
