from __future__ import annotations

import json
import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ledger.errors import LedgerError, TamperError
from sesame import transparency
from sesame.cli import run
from sesame.db import create_engine, create_sessionmaker
from sesame.keys import KeyRing
from sesame.settings import get_settings


@click.group()
def ledger() -> None:
    """The transparency ledger: verify it, print its checkpoint, prove an entry."""


def _open() -> tuple[KeyRing, transparency.Transparency]:
    settings = get_settings()
    keys = KeyRing.for_settings(settings)
    return keys, transparency.configure(keys=keys, origin=settings.ledger_origin)


@ledger.command()
@click.option("--json", "as_json", is_flag=True)
def verify(as_json: bool) -> None:
    """Recompute every leaf hash, stored subtree, checkpoint and cosignature; name the first mismatch."""
    keys, log = _open()

    async def go() -> dict[str, object]:
        engine = create_engine(get_settings())
        try:
            async with create_sessionmaker(engine)() as session:
                with Progress(
                    "[progress.description]{task.description}",
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    disable=as_json,
                    transient=False,
                ) as bar:
                    task = bar.add_task("verifying leaves", total=None)

                    def advance(done: int, total: int) -> None:
                        bar.update(task, completed=done, total=total)

                    report = await log.store.verify_all(session, log.all_verifiers(keys), progress=advance)
            return {
                "ok": True,
                "size": report.size,
                "root": report.root.hex(),
                "leaves": report.leaves,
                "nodes": report.nodes,
                "checkpoints": report.checkpoints,
                "cosignatures": report.cosignatures,
            }
        finally:
            await engine.dispose()

    try:
        out = run(go)
    except TamperError as exc:
        out = {"ok": False, "item": exc.item, "index": exc.index, "reason": exc.reason, "message": str(exc)}
        click.echo(json.dumps(out) if as_json else f"LEDGER DOES NOT VERIFY: {exc}", err=not as_json)
        sys.exit(1)
    except LedgerError as exc:
        click.echo(json.dumps({"ok": False, "message": str(exc)}) if as_json else f"LEDGER ERROR: {exc}")
        sys.exit(1)
    click.echo(
        json.dumps(out)
        if as_json
        else f"ledger verifies: {out['size']} leaves, {out['nodes']} stored subtrees, "
        f"{out['checkpoints']} checkpoints, {out['cosignatures']} cosignatures; root {out['root']}"
    )


@ledger.command()
def checkpoint() -> None:
    """Print the latest signed checkpoint (a C2SP signed note)."""
    _open()

    async def go() -> str:
        from sesame.transparency_api import latest_note

        engine = create_engine(get_settings())
        try:
            async with create_sessionmaker(engine)() as session:
                return await latest_note(session)
        finally:
            await engine.dispose()

    click.echo(run(go), nl=False)


@ledger.command()
@click.argument("index", type=int)
def prove(index: int) -> None:
    """Print entry INDEX, its inclusion proof and the checkpoint it verifies against (JSON)."""
    _open()

    async def go() -> dict[str, object]:
        engine = create_engine(get_settings())
        try:
            async with create_sessionmaker(engine)() as session:
                return await transparency.inclusion_bundle(session, index)
        finally:
            await engine.dispose()

    try:
        click.echo(json.dumps(run(go), indent=2))
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from exc


COMMANDS = [ledger]
