"""Shared fixtures: one database per test (SQLite file, or a fresh PostgreSQL database), the app, clients.

PostgreSQL, Redis and Chromium tests skip with a reason when the service is absent, unless
``SESAME_REQUIRE_SERVICES=1`` (CI), where a missing service fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from sesame.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("SESAME_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SESAME_TEST_REDIS", "redis://127.0.0.1:6379/0")
T = TypeVar("T")
REQUIRE_SERVICES = os.environ.get("SESAME_REQUIRE_SERVICES") == "1"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_service(name: str, available: bool) -> None:
    """Skip (or, in CI, fail) when a service a test needs is absent."""
    if available:
        return
    message = f"{name} is not reachable on this machine"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}, and SESAME_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


def postgres_available() -> bool:
    return _port_open("127.0.0.1", 5432)


def redis_available() -> bool:
    return _port_open("127.0.0.1", 6379)


def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking set-up (``asyncio.run`` inside) on a fresh thread: fixtures may be set up while an async
    test's event loop is already running in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def pg_execute(statement: str) -> None:
    off_loop(asyncio.run, _pg_execute(statement))


async def _pg_execute(statement: str) -> None:
    import asyncpg

    dsn = PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per test run; each test gets a copy (migrating costs seconds)."""
    from sesame import migrate

    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    off_loop(migrate.upgrade, Settings(database_url=f"sqlite+aiosqlite:///{path}", key_dir=folder / "keys"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """One PostgreSQL database migrated to head per worker, used as the TEMPLATE of each test's database."""
    require_service("PostgreSQL", postgres_available())
    from sesame import migrate

    name = f"sesame_tpl_{_worker()}_{uuid.uuid4().hex[:8]}"
    pg_execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    off_loop(migrate.upgrade, Settings(database_url=f"{base}/{name}", key_dir=Path("/nonexistent")))
    yield name
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at Alembic head: a copy of the SQLite template, or a new PostgreSQL database cloned
    from the template and dropped afterwards."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "sesame.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    require_service("PostgreSQL", postgres_available())
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"sesame_t_{uuid.uuid4().hex[:12]}"
    pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/sesame.db"


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "key_dir": tmp_path / "keys",
        "public_url": "http://sesame.test",
        "login_attempts_per_address": 1000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    """The database at Alembic head, as in production (the ``database_url`` fixture is already migrated)."""
    return settings


@pytest.fixture
def app(migrated: Settings) -> Litestar:
    from sesame.app import create_app

    return create_app(migrated)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://sesame.test") as test_client:
        yield test_client


@pytest.fixture
async def db_session(migrated: Settings) -> AsyncIterator[Any]:
    """A session on the test database with its own engine (the app's pool belongs to the app's loop)."""
    from sesame.db import create_engine, create_sessionmaker

    engine = create_engine(migrated)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()
