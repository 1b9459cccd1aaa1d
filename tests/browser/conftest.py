"""Browser tests: a real Sésame served by Granian on a free port, driven by Playwright in Debian's Chromium.

The server runs the installed ``sesame`` command against a fresh SQLite database (``sesame db upgrade``), with a
verifier created by ``sesame admin create-verifier``, exactly as an operator would. Chromium never comes from
Playwright's download: ``/usr/bin/chromium`` or the test skips (fails with ``SESAME_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, require_service

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = Path(os.environ.get("SESAME_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "var" / "screenshots"
BIN = Path(sys.executable).parent
VERIFIER_SCOPE = (
    "legal_name,registration_id,founding_date,tax_residence,registered_address,nace_sector,"
    "employee_satisfaction,carbon_footprint_per_employee,headcount"
)
PASSWORD = "correct horse battery staple"
VERIFIER_EMAIL = "registre@verifier.test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    log: Path
    verifier_email: str = VERIFIER_EMAIL
    verifier_password: str = PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path


def _sesame(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "sesame"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sesame {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def _create_verifier(env: dict[str, str]) -> None:
    """What ``sesame admin create-verifier`` does, in this process (a CLI start costs seconds on a busy box)."""
    from company_profiles.services import register_verifier
    from sesame import wiring
    from sesame.accounts.services import create_account
    from sesame.db import create_engine, create_sessionmaker
    from sesame.keys import KeyRing
    from sesame.settings import Settings

    settings = Settings(
        database_url=env["SESAME_DATABASE_URL"],
        key_dir=Path(env["SESAME_KEY_DIR"]),
        public_url=env["SESAME_PUBLIC_URL"],
    )
    wiring.install()
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            account = await create_account(
                session,
                kind="verifier",
                email=VERIFIER_EMAIL,
                password=PASSWORD,
                display_name="Registre de test",
            )
            await register_verifier(
                session,
                account_id=account.id or 0,
                name="Registre de test",
                scope=VERIFIER_SCOPE.split(","),
                keys=KeyRing.for_settings(settings),
            )
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    require_service("Chromium (/usr/bin/chromium)", CHROMIUM.exists())
    return CHROMIUM


async def _seed_social(env: dict[str, str]) -> None:
    """The demo data and its social part (``sesame demo`` + ``vault.sharing.demo``): zones shown and hidden."""
    from sesame import seed, wiring
    from sesame.db import create_engine, create_sessionmaker
    from sesame.keys import KeyRing
    from sesame.settings import Settings
    from vault.sharing import demo

    settings = Settings(
        database_url=env["SESAME_DATABASE_URL"],
        key_dir=Path(env["SESAME_KEY_DIR"]),
        public_url=env["SESAME_PUBLIC_URL"],
        ledger_origin=env["SESAME_LEDGER_ORIGIN"],
    )
    wiring.install()
    engine = create_engine(settings)
    try:
        factory = create_sessionmaker(engine)
        await seed.seed_demo(factory, KeyRing.for_settings(settings), settings)
        await demo.seed_social(factory, settings)
    finally:
        await engine.dispose()


@contextmanager
def _serve(home: Path, prepare: Callable[[dict[str, str]], Awaitable[None]]) -> Iterator[Server]:
    """``sesame serve`` (Granian) on a free port over a migrated SQLite database that ``prepare`` filled."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SESAME_DATABASE_URL": f"sqlite+aiosqlite:///{home}/sesame.db",
        "SESAME_KEY_DIR": str(home / "keys"),
        "SESAME_PUBLIC_URL": base,
        "SESAME_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
        "SESAME_LEDGER_ORIGIN": "sesame.test/ledger",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SESAME_REDIS_URL", None)
    _sesame(env, "db", "upgrade")
    # In a thread of its own: Playwright's sync API may already run an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, prepare(env)).result()
    log = home / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(BIN / "sesame"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + log.read_text(errors="replace")[-4000:])
            time.sleep(0.2)
        yield Server(base_url=base, env=env, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Server]:
    """``sesame serve`` (Granian) on a free port, with a migrated SQLite database and one verifier."""
    with _serve(tmp_path_factory.mktemp("sesame-server"), _create_verifier) as running:
        yield running


@pytest.fixture(scope="module")
def social_server(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Server]:
    """A second server over the demo data with its social part: demo citizens, neighbours, zones."""
    with _serve(tmp_path_factory.mktemp("sesame-social"), _seed_social) as running:
        yield running


@pytest.fixture(scope="session")
def playwright_driver(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Any, chromium_path: Path) -> Iterator[Any]:
    instance = playwright_driver.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
    yield instance
    instance.close()


def new_phone(browser: Any, *, locale: str = "fr-FR") -> Any:
    """A fresh phone-sized context (its own cookies), speaking ``locale``."""
    return browser.new_context(viewport=PHONE, locale=locale, extra_http_headers={"Accept-Language": locale})


class PageProblems:
    """Console errors and CSP violations seen by a page: a page with any of them fails the test."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _console(self, message: Any) -> None:
        text = message.text
        if (
            message.type == "error" and "EventSource" not in text and "net::ERR_ABORTED" not in text
        ) or "Content Security Policy" in text:
            self.errors.append(text)

    def assert_clean(self, *, allow: tuple[str, ...] = ()) -> None:
        left = [e for e in self.errors if not any(a in e for a in allow)]
        assert not left, left


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
}"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page (axe is vendored and served by Sésame)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def login(page: Any, server: Server, email: str, password: str = PASSWORD) -> None:
    page.goto(server.url("/login"))
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_load_state()


def sign_up(page: Any, server: Server, *, kind: str, email: str, name: str = "") -> None:
    page.goto(server.url(f"/signup?kind={kind}"))
    if name:
        page.locator("#f-display_name").fill(name)
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(PASSWORD)
    page.locator("form[action='/signup'] button[type=submit]").click()
    page.wait_for_load_state()
