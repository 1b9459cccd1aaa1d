"""The seeded world (built once per run, shared by the xdist workers) and an in-process app over a copy of it
that can be put back to the seeded state between tests in a few milliseconds."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from sesame.db import _sqlite_pragmas, create_sessionmaker
from tests.e2e.world import World, build_world


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def seeded_world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The demo data and a resource of every kind (``tests.e2e.world``), built by the first worker to ask."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    folder = root / "e2e-world"
    with _locked(root / "e2e-world.lock"):
        manifest = folder / "world.json"
        if manifest.exists():
            return World.load(folder, manifest.read_text())
        shutil.rmtree(folder, ignore_errors=True)
        world = build_world(folder, sqlite_template)
        manifest.write_text(world.dump())
        return world


class InProcessApp:
    """The app over its own copy of the world, with a pool-less engine so that ``reset()`` can swap the
    database file between requests (no connection is ever left open)."""

    def __init__(self, world: World, folder: Path) -> None:
        from sesame.app import create_app

        self.pristine = world.copy_to(folder / "pristine")
        self.world = world.copy_to(folder / "live")
        self.settings = self.world.settings()
        self.app: Litestar = create_app(self.settings)
        engine = create_async_engine(
            self.settings.database_url, poolclass=NullPool, connect_args={"timeout": 10}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        self.app.state.engine = engine
        self.app.state.sessionmaker = create_sessionmaker(engine)
        self.tokens = self.world.tokens(self.app.state.keyring, self.settings)
        self.client: Any = None

    def start(self) -> InProcessApp:
        """Start the app's lifespan (on schemathesis's event loop, shared by every in-process client) and stop
        the checkout worker: its background passes would hold a connection while ``reset`` swaps the file."""
        from schemathesis.python import asgi

        from scanner.checkout.worker import runtime_for

        self.client = asgi.get_client(self.app, max_stream_events=1)
        self.client.__enter__()
        runtime = runtime_for(self.app)
        if runtime.task is not None:
            asyncio.run_coroutine_threadsafe(runtime.stop(), runtime.task.get_loop()).result(timeout=30)
        return self

    def reset(self) -> None:
        """Back to the seeded world. Call only between requests, with the checkout worker stopped."""
        database = self.world.database
        staged = database.with_name("staged.db")
        shutil.copyfile(self.pristine.database, staged)
        for suffix in ("-wal", "-shm", "-journal"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        os.replace(staged, database)
        self.app.state.scanner_cards = None  # the scanner's card cache

    def auth(self, role: str) -> dict[str, str]:
        token = self.tokens.get(role)
        return {"Authorization": f"Bearer {token}"} if token else {}
