from __future__ import annotations

from functools import partial

import click
from rich.progress import Progress

from sesame import rotation, wiring
from sesame.cli import emit, run
from sesame.db import create_engine, create_sessionmaker
from sesame.keys import KeyRing
from sesame.settings import get_settings


@click.group()
def keys() -> None:
    """Signing keys and the master key-encryption key."""


async def _rewrap_all(ring: KeyRing) -> dict[str, int]:
    settings = get_settings()
    engine = create_engine(settings)
    done: dict[str, int] = {}
    try:
        factory = create_sessionmaker(engine)
        with Progress() as progress:
            for name, pending, rewrap in rotation.rewrappers:
                async with factory() as session:
                    total = await pending(session, ring)
                task = progress.add_task(f"re-wrapping {name}", total=total)
                async with factory() as session:
                    done[name] = await rewrap(session, ring, partial(progress.advance, task))
    finally:
        await engine.dispose()
    return done


@keys.command()
@click.option("--signing/--no-signing", default=True, help="add a new platform signing key")
@click.option("--kek/--no-kek", default=True, help="add a new key-encryption key and re-wrap data keys")
@click.option("--resume", is_flag=True, help="only finish re-wrapping under the current KEK")
@click.option("--json", "as_json", is_flag=True)
def rotate(signing: bool, kek: bool, resume: bool, as_json: bool) -> None:
    """Rotate keys. Old public keys keep verifying; old KEKs stay until every data key is re-wrapped."""
    wiring.install()
    settings = get_settings()
    ring = KeyRing.for_settings(settings)
    out: dict[str, object] = {}
    if signing and not resume:
        out["signing_kid"] = ring.rotate_signing("platform").kid
    if kek and not resume:
        out["kek_id"] = ring.rotate_kek()
    out["rewrapped"] = run(lambda: _rewrap_all(ring))
    out["current_kek"] = ring.current_kek_id
    emit(out, as_json=as_json, human="\n".join(f"{k}: {v}" for k, v in out.items()))


COMMANDS = [keys]
