"""Faults on real servers: ``sesame serve`` killed with SIGKILL mid-write, a key rotation killed mid-way, the
database restarted under load, Redis gone. After each, nothing acknowledged is lost and everything verifies.

The servers run in their own process group (Granian's main process and its workers), so ``kill -9`` of the
group is a crash of the whole server, as a power cut of the process would be. PostgreSQL and Redis are
private instances started for the test (``initdb``/``pg_ctl``, ``redis-server`` on free ports), so restarting or
killing them never disturbs the shared services other tests use in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REQUIRE_SERVICES, require_service
from tests.scanner.checkout.live import Cast, Verifier, free_port, seed

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
#: Each kill test starts, kills and restarts a two-worker server (about 40 s): on SQLite always, on PostgreSQL
#: too when ``SESAME_FAULTS=1`` (for CI: set it in .ci/run).
ALL_DATABASES = os.environ.get("SESAME_FAULTS") == "1"
DATABASES = pytest.mark.parametrize(
    "database_url",
    [
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not ALL_DATABASES, reason="the PostgreSQL kill runs need SESAME_FAULTS=1"),
            ],
        ),
    ],
    indirect=True,
)
VERIFIER_SCOPE = "legal_name,registration_id,founding_date,tax_residence,registered_address,nace_sector,employee_satisfaction"


def sesame_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sesame.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Server:
    """``sesame serve --workers N`` in its own process group, restartable on the same database and keys."""

    def __init__(self, env: dict[str, str], folder: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "SESAME_PUBLIC_URL": self.base}
        self.workers = workers
        self.log_path = folder / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> Server:
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- start {self.starts} ---\n".encode())
            self.proc = subprocess.Popen(
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
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"the server did not start:\n{self.log()}")

    def kill9(self) -> None:
        """SIGKILL to the server's whole process group: the main process and every worker, at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return sesame_cli(*args, env=self.env, timeout=timeout)


def base_env(database_url: str, folder: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SESAME_DATABASE_URL": database_url,
        "SESAME_KEY_DIR": str(folder / "keys"),
        "SESAME_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
        "SESAME_CHECKOUT_TTL_SECONDS": "3600",
        **extra,
    }


def make_verifier(server: Server) -> Verifier:
    verifier = Verifier(email=f"verifier.{server.port}@example.org", password="verifier password 42")
    done = server.cli(
        "admin",
        "create-verifier",
        "--name",
        "Institut des pannes",
        "--email",
        verifier.email,
        "--password",
        verifier.password,
        "--scope",
        VERIFIER_SCOPE,
        "--json",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return verifier


def ledger_verifies(server: Server) -> dict[str, Any]:
    done = server.cli("ledger", "verify", "--json")
    assert done.returncode == 0, f"sesame ledger verify failed:\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] is True, report
    return report


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Server] = []

    def make(env: dict[str, str], workers: int = 2) -> Server:
        server = Server(env, tmp_path, workers=workers)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


# -- kill -9 during ledger appends --------------------------------------------------------------------------------


@dataclass
class Acknowledged:
    """What the server said it did, before it died."""

    filings: dict[int, int] = field(default_factory=dict)  # version → ledger_index
    decisions: dict[str, str] = field(default_factory=dict)  # checkout id → status
    refused: list[int] = field(default_factory=list)


async def _file_until_killed(server: Server, cast: Cast, acked: Acknowledged, kill_after: int) -> None:
    """Four clients file civil-status versions in a loop; the server is killed once ``kill_after`` are acked."""
    path = f"/api/v1/companies/{cast.company_id}/civil-status"
    killed = asyncio.Event()
    counter = iter(range(1, 10**6))

    async def appender(client: httpx.AsyncClient) -> None:
        while not killed.is_set():
            n = next(counter)
            try:
                response = await client.put(
                    path, json={"indicators": {"headcount": {"value": 100 + n}}}, headers=cast.company.auth
                )
            except httpx.HTTPError:
                return
            if response.status_code == 200:
                body = response.json()
                acked.filings[int(body["version"])] = int(body["ledger_index"])
            else:
                acked.refused.append(response.status_code)
            if len(acked.filings) >= kill_after and not killed.is_set():
                killed.set()
                server.kill9()

    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=server.base, timeout=10))
            for _ in range(4)
        ]
        await asyncio.wait_for(asyncio.gather(*(appender(c) for c in clients)), timeout=120)


@DATABASES
def test_kill_9_during_ledger_appends_loses_nothing_acknowledged(
    database_url: str, tmp_path: Path, server_factory: Any
) -> None:
    server: Server = server_factory(base_env(database_url, tmp_path))
    verifier = make_verifier(server)
    server.start()
    cast = asyncio.run(seed(server.base, verifier, webhook_url=None, citizens=0))
    acked = Acknowledged()
    asyncio.run(_file_until_killed(server, cast, acked, kill_after=25))
    assert len(acked.filings) >= 25
    assert set(acked.refused) <= {409}, acked.refused  # concurrent filings: one wins, the others are told

    report = ledger_verifies(server)
    assert report["size"] > max(acked.filings.values())
    server.start()
    with httpx.Client(base_url=server.base, timeout=10) as client:
        versions = client.get(f"/api/v1/companies/{cast.company_id}/civil-status/versions").json()
        on_record = {int(v["version"]): v["ledger_index"] for v in versions}
        for version, index in acked.filings.items():
            assert on_record.get(version) == index, f"acknowledged version {version} (leaf {index}) is gone"
            entry = client.get(f"/api/v1/ledger/entries/{index}")
            assert entry.status_code == 200, entry.text
            payload = entry.json()["payload"]
            assert payload["kind"] == "disclosure.filed"
            assert (payload["company_id"], payload["version"]) == (cast.company_id, version)
        after = client.put(
            f"/api/v1/companies/{cast.company_id}/civil-status",
            json={"indicators": {"headcount": {"value": 7}}},
            headers=cast.company.auth,
        )
        assert after.status_code == 200, after.text
        assert after.json()["ledger_index"] >= report["size"]
    server.stop()
    ledger_verifies(server)


# -- kill -9 during checkout decisions ----------------------------------------------------------------------------


async def _start_checkouts(server: Server, cast: Cast, per_citizen: int) -> dict[str, Any]:
    """``per_citizen`` pending checkouts for each citizen: checkout id → the citizen."""
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        for round_ in range(per_citizen):
            for n, citizen in enumerate(cast.citizens):
                response = await client.post(
                    "/api/v1/checkouts",
                    json={
                        "sesame_id": citizen.sesame_id,
                        "items": [{"gtin": "3017620422003", "quantity": 1 + round_}],
                        "currency": "EUR",
                        "amount": f"{n + 1}.{round_:02d}",
                    },
                    headers={**cast.till_auth, "Idempotency-Key": f"fault-{round_}-{n}"},
                )
                assert response.status_code == 201, response.text
                out[response.json()["id"]] = citizen
    return out


async def _decide_until_killed(server: Server, checkouts: dict[str, Any], acked: Acknowledged) -> None:
    items = list(checkouts.items())
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    killed = asyncio.Event()

    async def decider(client: httpx.AsyncClient) -> None:
        while not killed.is_set() and not queue.empty():
            checkout_id, citizen = queue.get_nowait()
            confirm = int.from_bytes(checkout_id.encode()[-2:], "big") % 2 == 0
            try:
                response = await client.post(
                    f"/api/v1/vault/checkouts/{checkout_id}/decision",
                    json={"confirm": confirm},
                    headers=citizen.auth,
                )
            except httpx.HTTPError:
                return
            assert response.status_code == 200, response.text
            status = response.json()["status"]
            assert status == ("confirmed" if confirm else "declined")
            acked.decisions[checkout_id] = status
            if len(acked.decisions) >= len(items) // 2 and not killed.is_set():
                killed.set()
                server.kill9()

    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=server.base, timeout=10))
            for _ in range(6)
        ]
        await asyncio.wait_for(asyncio.gather(*(decider(c) for c in clients)), timeout=120)


@DATABASES
def test_kill_9_during_checkout_decisions_keeps_every_acknowledged_decision(
    database_url: str, tmp_path: Path, server_factory: Any
) -> None:
    server: Server = server_factory(base_env(database_url, tmp_path))
    verifier = make_verifier(server)
    server.start()
    cast = asyncio.run(seed(server.base, verifier, webhook_url=None, citizens=6))
    checkouts = asyncio.run(_start_checkouts(server, cast, per_citizen=6))
    acked = Acknowledged()
    asyncio.run(_decide_until_killed(server, checkouts, acked))
    assert len(acked.decisions) >= len(checkouts) // 2

    server.start()
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for checkout_id, citizen in checkouts.items():
            mine = client.get(f"/api/v1/vault/checkouts/{checkout_id}", headers=citizen.auth)
            till = client.get(f"/api/v1/checkouts/{checkout_id}", headers=cast.till_auth)
            assert mine.status_code == till.status_code == 200, (mine.text, till.text)
            status = mine.json()["status"]
            assert till.json()["status"] == status
            if checkout_id in acked.decisions:
                assert status == acked.decisions[checkout_id], (
                    f"{checkout_id}: acknowledged {acked.decisions[checkout_id]}, now {status}"
                )
            else:
                assert status in ("pending", "confirmed", "declined"), status
        # the undecided ones can still be decided after the restart
        for checkout_id, citizen in checkouts.items():
            if (
                client.get(f"/api/v1/checkouts/{checkout_id}", headers=cast.till_auth).json()["status"]
                == "pending"
            ):
                decided = client.post(
                    f"/api/v1/vault/checkouts/{checkout_id}/decision",
                    json={"confirm": False},
                    headers=citizen.auth,
                )
                assert decided.status_code == 200, decided.text
    server.stop()
    ledger_verifies(server)


# -- kill -9 during key rotation ----------------------------------------------------------------------------------


def _bulk_vaults(env: dict[str, str], count: int) -> dict[int, tuple[Any, Any, str]]:
    """``count`` citizens with a wrapped data key each, written straight to the database (no Argon2 per
    account): vault id → (a value sealed with its DEK, the sealed bytes, the sesame id)."""
    from sqlalchemy import insert, select

    from sesame.accounts.models import Account
    from sesame.db import create_engine
    from sesame.keys import KeyRing
    from sesame.settings import Settings
    from vault import crypto
    from vault.models import Vault

    settings = Settings(database_url=env["SESAME_DATABASE_URL"], key_dir=Path(env["SESAME_KEY_DIR"]))
    keys = KeyRing.for_settings(settings)

    async def go() -> dict[int, tuple[Any, Any, str]]:
        engine = create_engine(settings)
        sealed_by_sesame: dict[str, tuple[Any, str]] = {}
        try:
            async with engine.begin() as conn:
                stamp = f"{os.getpid()}.{time.monotonic_ns()}"
                await conn.execute(
                    insert(Account),
                    [
                        {"kind": "citizen", "email": f"bulk{i}.{stamp}@example.org", "password_hash": "!"}
                        for i in range(count)
                    ],
                )
                ids = (
                    await conn.execute(
                        select(Account.id).where(Account.email.like(f"bulk%.{stamp}@example.org"))
                    )  # type: ignore[attr-defined]
                ).scalars()
                rows = []
                for account_id in ids:
                    dek, raw = crypto.new_data_key()
                    kek_id, wrapped = crypto.wrap_data_key(keys=keys, dek=raw)
                    sesame_id = crypto.new_sesame_id()
                    value = {"n": account_id}
                    sealed_by_sesame[sesame_id] = (
                        crypto.seal_value(dek=dek, sesame_id=sesame_id, field="note", version=1, value=value),
                        json.dumps(value),
                    )
                    rows.append(
                        {
                            "account_id": account_id,
                            "sesame_id": sesame_id,
                            "kek_id": kek_id,
                            "wrapped_dek": wrapped,
                        }
                    )
                await conn.execute(insert(Vault), rows)
                found = (await conn.execute(select(Vault.id, Vault.sesame_id))).all()
        finally:
            await engine.dispose()
        return {
            vault_id: (*sealed_by_sesame[sesame_id], sesame_id)
            for vault_id, sesame_id in found
            if sesame_id in sealed_by_sesame
        }

    return asyncio.run(go())


def _rewrapped(env: dict[str, str]) -> tuple[int, int]:
    """(vaults under the newest KEK, vaults with a data key) as the database says now."""
    from sqlalchemy import text

    from sesame.db import create_engine
    from sesame.settings import Settings

    settings = Settings(database_url=env["SESAME_DATABASE_URL"], key_dir=Path(env["SESAME_KEY_DIR"]))
    current = (Path(env["SESAME_KEY_DIR"]) / "kek" / "current").read_text().strip()

    async def go() -> tuple[int, int]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                done = (
                    await conn.execute(text("SELECT count(*) FROM vaults WHERE kek_id = :k"), {"k": current})
                ).scalar_one()
                total = (
                    await conn.execute(text("SELECT count(*) FROM vaults WHERE wrapped_dek IS NOT NULL"))
                ).scalar_one()
        finally:
            await engine.dispose()
        return int(done), int(total)

    return asyncio.run(go())


def _kek_dir_ready(env: dict[str, str]) -> bool:
    return (Path(env["SESAME_KEY_DIR"]) / "kek" / "current").exists()


@DATABASES
def test_kill_9_during_key_rotation_then_resume_keeps_every_field_readable(
    database_url: str, tmp_path: Path, server_factory: Any
) -> None:
    env = base_env(database_url, tmp_path)
    server: Server = server_factory(env)
    server.start()  # makes the keys; a server keeps running through the rotation, as in production
    cast = asyncio.run(seed(server.base, make_verifier(server), webhook_url=None, citizens=3))
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for n, citizen in enumerate(cast.citizens):
            for name, value in (("given_name", f"Prénom{n}"), ("phone", f"+3361234567{n}")):
                put = client.put(f"/api/v1/vault/fields/{name}", json={"value": value}, headers=citizen.auth)
                assert put.status_code == 200, put.text
    bulk = _bulk_vaults(env, 6000)
    assert _kek_dir_ready(env), "no KEK folder: the key layout changed, update this test"

    interrupted = False
    for _attempt in range(3):
        rotate = subprocess.Popen(
            [sys.executable, "-m", "sesame.cli", "keys", "rotate", "--json"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        before = (Path(env["SESAME_KEY_DIR"]) / "kek" / "current").read_text().strip()
        deadline = time.monotonic() + 60
        while rotate.poll() is None and time.monotonic() < deadline:
            current = (Path(env["SESAME_KEY_DIR"]) / "kek" / "current").read_text().strip()
            if current != before:
                done, total = _rewrapped(env)
                if 0 < done < total:
                    os.killpg(rotate.pid, signal.SIGKILL)
                    interrupted = True
                    break
            time.sleep(0.01)
        rotate.wait(timeout=30)
        if interrupted:
            break
    assert interrupted, "the rotation finished before it could be interrupted three times; add vaults"
    done, total = _rewrapped(env)
    assert 0 < done < total, (done, total)

    resumed = server.cli("keys", "rotate", "--resume", "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    done, total = _rewrapped(env)
    assert done == total, f"{total - done} data keys still under an old KEK after --resume"

    # every data key opens under the rotated key ring and is the same key as before
    from sqlalchemy import select

    from sesame.db import create_engine
    from sesame.keys import KeyRing
    from sesame.settings import Settings
    from vault import crypto
    from vault.models import Vault

    settings = Settings(database_url=env["SESAME_DATABASE_URL"], key_dir=Path(env["SESAME_KEY_DIR"]))
    keys = KeyRing.for_settings(settings)

    async def check() -> int:
        engine = create_engine(settings)
        opened = 0
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(Vault.id, Vault.kek_id, Vault.wrapped_dek))).all()
        finally:
            await engine.dispose()
        for vault_id, kek_id, wrapped in rows:
            if wrapped is None or vault_id not in bulk:
                continue
            sealed, value, sesame_id = bulk[vault_id]
            dek = crypto.unwrap_data_key(keys=keys, kek_id=kek_id, wrapped=wrapped)
            opened_value = crypto.open_value(
                dek=dek, sesame_id=sesame_id, field="note", version=1, sealed=sealed
            )
            assert json.dumps(opened_value) == value
            opened += 1
        return opened

    assert asyncio.run(check()) == len(bulk)
    # and the server, restarted on the rotated keys, reads every citizen's fields
    server.stop()
    server.start()
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for n, citizen in enumerate(cast.citizens):
            fields = client.get("/api/v1/vault/fields", headers=citizen.auth)
            assert fields.status_code == 200, fields.text
            values = {f["name"]: f["value"] for f in fields.json()}
            assert values.get("given_name") == f"Prénom{n}" and values.get("phone"), values


# -- PostgreSQL restarted under load -------------------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port (``initdb`` as the postgres user), so restarting it under
    load disturbs no other test."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins or os.geteuid() != 0 or shutil.which("runuser") is None:
            raise RuntimeError("needs root, runuser and the PostgreSQL server binaries (initdb, pg_ctl)")
        self.bin = bins[-1].parent
        # not under pytest's tmp_path: the postgres user must be able to reach its folder
        self.folder = Path(tempfile.mkdtemp(prefix="sesame-pg-"))
        shutil.chown(self.folder, "postgres")
        self.data = self.folder / "pgdata"
        self.port = free_port()
        self.log = self.folder / "postgres.log"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}\n{done.stderr}")

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", *args
        )

    def start(self) -> PrivatePostgres:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        self._ctl("start")
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "sesame"
        )
        return self

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/sesame"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    try:
        cluster = PrivatePostgres().start()
    except (RuntimeError, OSError, LookupError) as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"cannot start a private PostgreSQL: {exc}")
        pytest.skip(f"cannot start a private PostgreSQL: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@dataclass
class Outcome:
    at: float
    status: int | None  # None: no answer (connection error)
    seconds: float
    media: str = ""
    what: str = ""


async def _load(server: Server, cast: Cast, stop: asyncio.Event, outcomes: list[Outcome]) -> None:
    """Reads and writes from eight clients until ``stop``: profiles, vault fields, filings."""
    citizen = cast.citizens[0]
    fields = (
        "given_name",
        "family_name",
        "email",
        "phone",
        "preferred_language",
        "phone",
        "email",
        "family_name",
    )
    values = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "phone": "+33612345678",
    }

    async def client_loop(n: int) -> None:
        name = fields[n]  # one writer per field: concurrent versions of one field are a 409 by design
        requests: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", f"/api/v1/companies/{cast.company_id}", {}),
            ("GET", "/api/v1/vault/fields", {"headers": citizen.auth}),
            (
                "PUT",
                f"/api/v1/vault/fields/{name}",
                {"headers": citizen.auth, "json": {"value": values.get(name, "fr")}},
            ),
            ("GET", f"/api/v1/sesames/{citizen.sesame_id}/fields", {"headers": cast.company.auth}),
        ]
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            i = n
            while not stop.is_set():
                if n >= 4 and i % 4 == 2:
                    i += 1  # four writers are enough: the others read
                method, path, kwargs = requests[i % len(requests)]
                i += 1
                started = time.monotonic()
                try:
                    response = await client.request(method, path, **kwargs)
                    outcomes.append(
                        Outcome(
                            started,
                            response.status_code,
                            time.monotonic() - started,
                            response.headers.get("content-type", ""),
                            f"{method} {path}: {response.text[:200]}",
                        )
                    )
                except httpx.HTTPError as exc:
                    outcomes.append(
                        Outcome(started, None, time.monotonic() - started, "", f"{method} {path}: {exc!r}")
                    )
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(client_loop(n) for n in range(8)))


@pytest.mark.postgres
def test_postgres_restart_under_load_fails_cleanly_and_recovers(
    private_postgres: PrivatePostgres, tmp_path: Path, server_factory: Any
) -> None:
    env = base_env(private_postgres.url, tmp_path)
    upgraded = sesame_cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    server: Server = server_factory(env)
    verifier = make_verifier(server)
    server.start()
    cast = asyncio.run(seed(server.base, verifier, webhook_url=None, citizens=1))
    outcomes: list[Outcome] = []

    async def scenario() -> tuple[float, float]:
        stop = asyncio.Event()
        load = asyncio.create_task(_load(server, cast, stop, outcomes))
        await asyncio.sleep(2)
        down = time.monotonic()
        await asyncio.to_thread(private_postgres.restart)
        up = time.monotonic()
        await asyncio.sleep(8)
        stop.set()
        await asyncio.wait_for(load, timeout=60)
        return down, up

    down, up = asyncio.run(scenario())
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = str(outcome.status)
        counts[key] = counts.get(key, 0) + 1
    print(f"statuses over the run: {counts}; restart took {up - down:.2f} s")
    print(server.log())  # shown by pytest when an assertion below fails
    assert outcomes, "no request was made"
    before = [o for o in outcomes if o.at + o.seconds < down]
    failed_before = [o.what for o in before if o.status is None or o.status >= 300]
    assert before and not failed_before, f"the load failed before the restart: {failed_before[:3]}"
    for outcome in outcomes:
        assert outcome.status is not None, (
            f"no answer at all (the server must answer, even 503): {outcome.what}"
        )
        assert outcome.seconds < 15, f"a request hung for {outcome.seconds:.1f} s: {outcome.what}"
        if outcome.status >= 500:
            assert outcome.status == 503, (
                f"{outcome.status} during the restart (only 503 is clean): {outcome.what}"
            )
            assert outcome.media.startswith("application/problem+json"), outcome.what
    recovered = [o for o in outcomes if o.at > up + 3]
    assert recovered and all(o.status is not None and o.status < 300 for o in recovered), [
        o.what for o in recovered if o.status is None or o.status >= 300
    ][:5]


# -- Redis gone ------------------------------------------------------------------------------------------------------


class PrivateRedis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        import socket

        while time.monotonic() < deadline:
            with socket.socket() as sock, contextlib.suppress(OSError):
                sock.settimeout(0.2)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    require_service("redis-server (to start a private Redis)", shutil.which("redis-server") is not None)
    redis = PrivateRedis()
    try:
        yield redis
    finally:
        redis.kill()


def test_redis_gone_prompts_degrade_to_polling_and_nothing_is_lost(
    sqlite_url: str, tmp_path: Path, private_redis: PrivateRedis, server_factory: Any
) -> None:
    from sesame import migrate
    from sesame.settings import Settings

    migrate.upgrade(Settings(database_url=sqlite_url, key_dir=tmp_path / "keys"))
    server: Server = server_factory(base_env(sqlite_url, tmp_path, SESAME_REDIS_URL=private_redis.url))
    verifier = make_verifier(server)
    server.start()
    cast = asyncio.run(seed(server.base, verifier, webhook_url=None, citizens=2))
    private_redis.kill()
    time.sleep(0.5)

    with httpx.Client(base_url=server.base, timeout=15) as client:
        started: dict[str, Any] = {}
        for n, citizen in enumerate(cast.citizens * 3):
            response = client.post(
                "/api/v1/checkouts",
                json={
                    "sesame_id": citizen.sesame_id,
                    "items": [{"gtin": "3017620422003", "quantity": 1}],
                    "currency": "EUR",
                    "amount": f"{n + 2}.00",
                },
                headers={**cast.till_auth, "Idempotency-Key": f"no-redis-{n}"},
            )
            assert response.status_code == 201, (
                f"starting a checkout without Redis: {response.status_code} {response.text}"
            )
            started[response.json()["id"]] = citizen
        # the citizen's phone polls: every prompt is there
        for citizen in cast.citizens:
            pending = client.get(
                "/api/v1/vault/checkouts", params={"status": "pending"}, headers=citizen.auth
            )
            assert pending.status_code == 200, pending.text
            mine = {c["id"] for c in pending.json()}
            assert {cid for cid, who in started.items() if who is citizen} <= mine
        for n, (checkout_id, citizen) in enumerate(started.items()):
            prompt = client.get(f"/api/v1/vault/checkouts/{checkout_id}", headers=citizen.auth)
            assert prompt.status_code == 200 and prompt.json()["status"] == "pending", prompt.text
            decided = client.post(
                f"/api/v1/vault/checkouts/{checkout_id}/decision",
                json={"confirm": n % 2 == 0},
                headers=citizen.auth,
            )
            assert decided.status_code == 200, decided.text
        # the till polls the outcome
        for n, checkout_id in enumerate(started):
            outcome = client.get(f"/api/v1/checkouts/{checkout_id}", headers=cast.till_auth)
            assert outcome.status_code == 200
            assert outcome.json()["status"] == ("confirmed" if n % 2 == 0 else "declined")
        # a stream asked for while Redis is down answers at once (200 and replay from the database, or 503)
        with client.stream(
            "GET", "/api/v1/vault/checkouts/events", headers=cast.citizens[0].auth, timeout=10
        ) as stream:
            assert stream.status_code in (200, 503), stream.status_code
    server.stop()
    ledger_verifies(server)
