"""Real servers for the end-to-end test and the benchmark: ``sesame serve --workers N`` on a temporary SQLite
database with Redis, seeded through the public HTTP API, a webhook receiver, and SSE clients.

    with LiveServer(redis_url=REDIS_URL) as server:
        cast = asyncio.run(seed(server.base, server.verifier, webhook_url=receiver.url))
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from stdnum import luhn

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"
WORKER_HEADER = "x-sesame-worker"
_serial = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _sesame(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sesame.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sesame {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Verifier:
    email: str
    password: str


class LiveServer:
    """``sesame serve`` in a subprocess on a fresh, migrated database; a verifier created by ``sesame admin``."""

    def __init__(
        self,
        *,
        redis_url: str | None,
        workers: int = 2,
        ttl_seconds: int = 120,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="sesame-live-")
        folder = Path(self._tmp.name)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SESAME_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/sesame.db",
            "SESAME_KEY_DIR": str(folder / "keys"),
            "SESAME_PUBLIC_URL": self.base,
            "SESAME_DEBUG": "1",  # exposes the worker's pid in a header: the test proves cross-worker delivery
            "SESAME_CHECKOUT_TTL_SECONDS": str(ttl_seconds),
            "SESAME_CHECKOUT_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver listens on 127.0.0.1
            "SESAME_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
            **(extra_env or {}),
        }
        if redis_url:
            self.env["SESAME_REDIS_URL"] = redis_url
        self.workers = workers
        self.verifier = Verifier(email=f"verifier{os.getpid()}@example.org", password="verifier password 42")
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = folder / "server.log"

    def __enter__(self) -> LiveServer:
        _sesame("db", "upgrade", env=self.env)
        _sesame(
            "admin",
            "create-verifier",
            "--name",
            "Institut de test",
            "--email",
            self.verifier.email,
            "--password",
            self.verifier.password,
            "--scope",
            "legal_name,registration_id,founding_date,tax_residence,registered_address,nace_sector,"
            "employee_satisfaction",
            "--json",
            env=self.env,
        )
        with open(self._log, "wb") as log:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sesame.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,  # its own group for killpg, in this session's scheduling group: bench.start_server
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the server did not start:\n{self.log()}")

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGINT)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=5)
        self._proc = None
        self._tmp.cleanup()


# -- the till's webhook receiver ----------------------------------------------------------------------------------
@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """A real HTTP server in a thread; every POST is queued. ``fail_first`` answers 503 that many times."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.attempts += 1
                if receiver.attempts <= fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.deliveries.put(
                    Delivery(headers={k.lower(): v for k, v in self.headers.items()}, body=body)
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/sesame"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- seeding through the public API -------------------------------------------------------------------------------
@dataclass
class Person:
    account_id: int
    token: str
    sesame_id: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Cast:
    company: Person
    company_id: int
    till_id: int
    till_key: str
    webhook_secret: str | None
    citizens: list[Person] = field(default_factory=list)

    @property
    def till_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.till_key}"}


def _check(response: httpx.Response, *codes: int) -> dict[str, Any]:
    if response.status_code not in (codes or (200, 201)):
        raise AssertionError(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
    return response.json() if response.content else {}


async def _person(client: httpx.AsyncClient, kind: str, tag: str) -> Person:
    email = f"{kind}{next(_serial)}.{tag}@example.org"
    created = _check(
        await client.post("/api/v1/accounts", json={"kind": kind, "email": email, "password": PASSWORD})
    )
    token = _check(await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}))
    return Person(
        account_id=int(created["id"]), token=token["access_token"], sesame_id=created.get("sesame_id")
    )


def _siren(body: int) -> str:
    digits = f"{body % 100_000_000:08d}"
    return digits + luhn.calc_check_digit(digits)


async def seed(
    base: str, verifier: Verifier, *, webhook_url: str | None, citizens: int = 1, satisfaction: int = 64
) -> Cast:
    """An attested company (employee satisfaction disclosed and attested), its till, and citizens who opened an
    account with it and turned contactless on, all through the HTTP API."""
    tag = str(os.getpid())
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        company = await _person(client, "company", tag)
        registered = _check(
            await client.post(
                "/api/v1/companies",
                json={
                    "legal_name": "Boulangerie Dupont SAS",
                    "country": "FR",
                    "registration_scheme": "siren",
                    "registration_id": _siren(30_000_000 + next(_serial) + os.getpid() % 10_000 * 100),
                    "founding_date": "1998-03-14",
                    "tax_residence": "FR",
                    "sector": "10.71",
                    "registered_address": "12 rue de la République, 69002 Lyon",
                },
                headers=company.auth,
            )
        )
        company_id = int(registered["id"])
        _check(
            await client.put(
                f"/api/v1/companies/{company_id}/civil-status",
                json={
                    "indicators": {
                        "employee_satisfaction": {"value": satisfaction, "unit": "%", "period": "2025"}
                    }
                },
                headers=company.auth,
            )
        )
        login = _check(
            await client.post(
                "/api/v1/auth/token", json={"email": verifier.email, "password": verifier.password}
            )
        )
        verifier_auth = {"Authorization": f"Bearer {login['access_token']}"}
        profile = _check(await client.get(f"/api/v1/companies/{company_id}"))
        for indicator in profile["indicators"]:
            if indicator["mandatory"] or indicator["key"] == "employee_satisfaction":
                _check(
                    await client.post(
                        f"/api/v1/companies/{company_id}/attestations",
                        json={"indicator": indicator["key"], "value": indicator["value"]},
                        headers=verifier_auth,
                    )
                )
        body: dict[str, Any] = {"name": "Caisse 1"}
        if webhook_url:
            body["webhook_url"] = webhook_url
        till = _check(await client.post("/api/v1/tills", json=body, headers=company.auth))
        cast = Cast(
            company=company,
            company_id=company_id,
            till_id=int(till["id"]),
            till_key=till["api_key"],
            webhook_secret=till.get("webhook_secret"),
        )
        for _ in range(citizens):
            citizen = await _person(client, "citizen", tag)
            if citizen.sesame_id is None:
                citizen.sesame_id = _check(await client.get("/api/v1/accounts/me", headers=citizen.auth))[
                    "sesame_id"
                ]
            _check(
                await client.put(
                    "/api/v1/vault/settings",
                    json={"contactless": True, "highlights": ["employee_satisfaction"], "language": "fr"},
                    headers=citizen.auth,
                )
            )
            asked = _check(
                await client.post(
                    f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=company.auth
                )
            )
            _check(
                await client.post(
                    f"/api/v1/vault/company-accounts/{asked['id']}/accept", headers=citizen.auth
                )
            )
            cast.citizens.append(citizen)
        return cast


# -- server-sent events -------------------------------------------------------------------------------------------
@dataclass
class Event:
    id: int | None
    event: str
    data: Any
    received_at: float


class EventStream:
    """One SSE connection of its own (its own client, so its own TCP connection and maybe its own worker)."""

    def __init__(
        self, base: str, path: str, headers: dict[str, str], last_event_id: int | None = None
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None))
        self._path = path
        self._headers = dict(headers)
        if last_event_id is not None:
            self._headers["Last-Event-ID"] = str(last_event_id)
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.ready = asyncio.Event()
        self.pid: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()
        self._error: BaseException | None = None

    async def __aenter__(self) -> EventStream:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.ready.wait(), timeout=15)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._task
        await self._client.aclose()

    async def _read(self) -> None:
        async with self._client.stream("GET", self._path, headers=self._headers) as response:
            if response.status_code != 200:
                await response.aread()
                raise AssertionError(f"stream {self._path}: {response.status_code} {response.text}")
            self.pid = response.headers.get(WORKER_HEADER)
            event_id: int | None = None
            name: str | None = None
            data: list[str] = []
            async for line in response.aiter_lines():
                if line.startswith(": ready"):
                    self.ready.set()
                elif line.startswith("id:"):
                    event_id = int(line[3:].strip())
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line == "":
                    if name is not None:
                        payload = json.loads("\n".join(data)) if data else None
                        await self.events.put(Event(event_id, name, payload, time.perf_counter()))
                    event_id, name, data = None, None, []

    async def next(self, kind: str | None = None, within: float = 10) -> Event:
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind or 'event'} within {within} s")
            found = await asyncio.wait_for(self.events.get(), timeout=left)
            if kind is None or found.event == kind:
                return found
