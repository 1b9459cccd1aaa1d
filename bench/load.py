"""`make load`: a mixed workload against ``sesame serve --workers 2``, on SQLite and on PostgreSQL.

For each database: a fresh, migrated database; the server (Redis fan-out when Redis answers on 127.0.0.1); a
seeded cast through the HTTP API (attested companies with products, a till, citizens with fields, an open
account, a grant and contactless on). Then ``--connections`` clients, spread over a few client processes,
send for ``--duration`` seconds:

    70 %  scans            POST /api/v1/scan (half) and GET /01/{gtin} as JSON (half)
    12 %  profile reads    GET /api/v1/companies/{id}
    10 %  field reads      GET /api/v1/sesames/{sesame_id}/fields (a company, decrypt + receipt + ledger leaf)
     5 %  checkouts        POST /api/v1/checkouts (the till), then POST .../decision (the citizen)
     3 %  filings          PUT /api/v1/companies/{id}/civil-status (one filer per company at a time)

Then, if fewer than 100,000 requests were served, scans alone until 100,000 (the memory soak). Afterwards every
acknowledged checkout decision is read back ("no lost decisions") and the ledger is verified. The resident
memory of the server's processes (Granian's main process and workers) is sampled from /proc every second
after the warm-up. Bars: 0 errors, 0 lost decisions, resident memory growing less than 10 % over 100,000
requests.

    python -m bench.load [--duration 60] [--connections 64] [--db sqlite|postgres|both]

Prints a markdown table; writes ``var/bench/load.json``. Exit status 1 if a bar is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import platform
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from stdnum import ean  # noqa: E402

from bench import CpuSteal, start_server, stop_server  # noqa: E402
from tests.scanner.checkout.live import Cast, Person, Verifier, free_port, seed  # noqa: E402

PG_ADMIN = os.environ.get("SESAME_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SESAME_TEST_REDIS", "redis://127.0.0.1:6379/0")
MIX = (("scan", 35), ("resolve", 35), ("profile", 12), ("fields", 10), ("checkout", 5), ("filing", 3))
#: After the timed run, until 100,000 requests in all: the scans (the hot path), for the memory bar.
SOAK_MIX = (("scan", 50), ("resolve", 50))
OPERATIONS = ("scan", "resolve", "profile", "fields", "checkout.start", "checkout.decide", "filing")
MEMORY_BAR = 0.10
MEMORY_BAR_REQUESTS = 100_000
SCOPE = "legal_name,registration_id,founding_date,tax_residence,registered_address,nace_sector,employee_satisfaction"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


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


# -- the database and the server -----------------------------------------------------------------------------------


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Any:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder}/sesame.db"
        return
    name = f"sesame_load_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Server:
    def __init__(self, database_url: str, folder: Path, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SESAME_DATABASE_URL": database_url,
            "SESAME_KEY_DIR": str(folder / "keys"),
            "SESAME_PUBLIC_URL": self.base,
            "SESAME_LOGIN_ATTEMPTS_PER_ADDRESS": "1000000",
            "SESAME_CHECKOUT_TTL_SECONDS": "3600",
        }
        self.redis = _port_open("127.0.0.1", 6379)
        if self.redis:
            self.env["SESAME_REDIS_URL"] = REDIS_URL
        self.workers = workers
        self.log = folder / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        _sesame("db", "upgrade", env=self.env)
        with open(self.log, "wb") as log:
            self.proc = start_server(
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
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_server(self.proc, timeout=20)

    def pids(self) -> list[int]:
        """The server's main process and every descendant (Granian's workers)."""
        assert self.proc is not None
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text()
                    parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        found, frontier = {self.proc.pid}, [self.proc.pid]
        while frontier:
            pid = frontier.pop()
            for child, parent in parents.items():
                if parent == pid and child not in found:
                    found.add(child)
                    frontier.append(child)
        return sorted(found)

    def rss_mb(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out[pid] = int(line.split()[1]) / 1024
        return out


# -- the cast ---------------------------------------------------------------------------------------------------------


@dataclass
class World:
    base: str
    companies: list[dict[str, Any]]  # {"id", "auth"}
    till: dict[str, str]
    citizens: list[dict[str, Any]]  # {"sesame_id", "auth"}
    gtins: list[str]  # GTIN-13: scanned as 13 digits, resolved as /01/0{gtin13}


def _gtin13(n: int) -> str:
    body = f"376{n:09d}"
    return body + ean.calc_check_digit(body)


def _person_dict(person: Person) -> dict[str, Any]:
    return {"sesame_id": person.sesame_id, "auth": person.auth}


async def build_world(base: str, verifier: Verifier, citizens: int, companies: int, products: int) -> World:
    casts: list[Cast] = []
    for i in range(companies):
        casts.append(await seed(base, verifier, webhook_url=None, citizens=citizens if i == 0 else 0))
    main = casts[0]
    gtins: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for n in range(products):
            cast = casts[n % len(casts)]
            gtin = _gtin13(1_000 + n)
            response = await client.post(
                f"/api/v1/companies/{cast.company_id}/products",
                json={
                    "gtin": gtin,
                    "name": f"Produit {n}",
                    "identity_card": {"production_places": [{"name": "Atelier", "country": "FR"}]},
                },
                headers=cast.company.auth,
            )
            if response.status_code != 201:
                response = await client.post(
                    f"/api/v1/companies/{cast.company_id}/products",
                    json={"gtin": gtin, "name": f"Produit {n}"},
                    headers=cast.company.auth,
                )
            if response.status_code != 201:
                raise RuntimeError(f"product: {response.status_code} {response.text}")
            gtins.append(gtin)
        accounts = (await client.get("/api/v1/vault/company-accounts", headers=main.citizens[0].auth)).json()
        assert accounts, "the seed opened no account"
        for person in main.citizens:
            for name, value in (("given_name", "Camille"), ("email", "camille@example.org")):
                put = await client.put(
                    f"/api/v1/vault/fields/{name}", json={"value": value}, headers=person.auth
                )
                if put.status_code != 200:
                    raise RuntimeError(f"field: {put.status_code} {put.text}")
            account_id = (await client.get("/api/v1/vault/company-accounts", headers=person.auth)).json()[0][
                "id"
            ]
            grant = await client.post(
                "/api/v1/vault/grants",
                json={
                    "company_account_id": account_id,
                    "fields": ["given_name", "email"],
                    "purpose": "suivi de commande",
                    "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat(),
                },
                headers=person.auth,
            )
            if grant.status_code != 201:
                raise RuntimeError(f"grant: {grant.status_code} {grant.text}")
    return World(
        base=base,
        companies=[{"id": c.company_id, "auth": c.company.auth, "main": c is main} for c in casts],
        till=main.till_auth,
        citizens=[_person_dict(p) for p in main.citizens],
        gtins=gtins,
    )


# -- the clients (one asyncio loop per process) --------------------------------------------------------------------


class Connection:
    """A minimal keep-alive HTTP/1.1 client on one socket: httpx's pool scales badly past a few concurrent
    requests (measured here: 501 req/s at 4 connections, 196 at 32, against 5,368 for this loop), and the
    load generator shares the server's CPUs, so it must cost little."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            fields = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                fields[name.strip().lower()] = value.strip()
            if fields.get(b"transfer-encoding") == b"chunked":
                content = b""
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    content += chunk[:-2]
            else:
                content = await self.reader.readexactly(int(fields.get(b"content-length", b"0")))
            if fields.get(b"connection") == b"close":
                await self.close()
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            raise
        return status, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


@dataclass
class ClientResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    decisions: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    measured_requests: int = 0


def _client_process(
    world: World,
    connections: int,
    duration: float,
    warmup: float,
    seed_value: int,
    index: int,
    budget: int | None,
    out: Any,
) -> None:
    result = asyncio.run(_clients(world, connections, duration, warmup, seed_value, index, budget))
    out.put(result)


async def _clients(
    world: World,
    connections: int,
    duration: float,
    warmup: float,
    seed_value: int,
    index: int,
    budget: int | None = None,
) -> ClientResult:
    """The mixed workload for ``duration`` seconds after ``warmup``; with a ``budget``, scans only until that
    many requests are done (the memory soak)."""
    rng = random.Random(seed_value)
    result = ClientResult()
    ops, weights = zip(*(SOAK_MIX if budget is not None else MIX), strict=True)
    mine = [c for i, c in enumerate(world.companies) if i % 2 == index % 2] or world.companies
    locks = {c["id"]: asyncio.Lock() for c in mine}
    counter = iter(range(10**9))
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + duration
    host, port = world.base.removeprefix("http://").split(":")
    main = next(c for c in world.companies if c["main"])

    async def timed(
        conn: Connection,
        op: str,
        method: str,
        path: str,
        ok: int,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> bytes | None:
        began = time.monotonic()
        try:
            status, content = await conn.request(method, path, headers, body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            result.errors[op] = result.errors.get(op, 0) + 1
            if len(result.error_samples) < 10:
                result.error_samples.append(f"{op}: {exc!r}")
            return None
        ended = time.monotonic()
        result.requests += 1
        if began >= measure_from:
            result.measured_requests += 1
            result.latencies[op].append((ended - began) * 1000)
        if status != ok:
            result.errors[op] = result.errors.get(op, 0) + 1
            if len(result.error_samples) < 10:
                result.error_samples.append(f"{op}: {status} {content[:200]!r}")
            return None
        return content

    async def one(conn: Connection) -> None:
        op = rng.choices(ops, weights)[0]
        gtin13 = rng.choice(world.gtins)
        if op == "scan":
            await timed(conn, "scan", "POST", "/api/v1/scan", 200, body={"code": gtin13})
        elif op == "resolve":
            await timed(conn, "resolve", "GET", f"/01/0{gtin13}", 200, {"Accept": "application/json"})
        elif op == "profile":
            await timed(conn, "profile", "GET", f"/api/v1/companies/{rng.choice(world.companies)['id']}", 200)
        elif op == "fields":
            citizen = rng.choice(world.citizens)
            await timed(
                conn, "fields", "GET", f"/api/v1/sesames/{citizen['sesame_id']}/fields", 200, main["auth"]
            )
        elif op == "checkout":
            citizen = rng.choice(world.citizens)
            n = next(counter)
            started = await timed(
                conn,
                "checkout.start",
                "POST",
                "/api/v1/checkouts",
                201,
                {**world.till, "Idempotency-Key": f"load-{index}-{seed_value}-{n}"},
                {
                    "sesame_id": citizen["sesame_id"],
                    "items": [{"gtin": gtin13, "quantity": 1 + n % 3}],
                    "currency": "EUR",
                    "amount": f"{1 + n % 90}.{n % 100:02d}",
                },
            )
            if started is None:
                return
            checkout_id = json.loads(started)["id"]
            decided = await timed(
                conn,
                "checkout.decide",
                "POST",
                f"/api/v1/vault/checkouts/{checkout_id}/decision",
                200,
                citizen["auth"],
                {"confirm": n % 4 != 0},
            )
            if decided is not None:
                result.decisions[checkout_id] = json.loads(decided)["status"]
        else:
            free = [c for c in mine if not locks[c["id"]].locked()]
            company = rng.choice(free or mine)
            async with locks[company["id"]]:
                await timed(
                    conn,
                    "filing",
                    "PUT",
                    f"/api/v1/companies/{company['id']}/civil-status",
                    200,
                    company["auth"],
                    {"indicators": {"headcount": {"value": 10 + next(counter) % 500}}},
                )

    async def user() -> None:
        conn = Connection(host, int(port))
        try:
            while (result.requests < budget) if budget is not None else (time.monotonic() < stop_at):
                await one(conn)
        finally:
            await conn.close()

    await asyncio.gather(*(user() for _ in range(connections)))
    return result


# -- one database ------------------------------------------------------------------------------------------------


def run_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"sesame-load-{kind}-") as tmp, database(kind, Path(tmp)) as url:
        folder = Path(tmp)
        server = Server(url, folder, args.workers)
        verifier = Verifier(email="load.verifier@example.org", password=secrets.token_urlsafe(18))
        with server:
            _sesame(
                "admin", "create-verifier", "--name", "Institut de charge", "--email", verifier.email,
                "--password", verifier.password, "--scope", SCOPE, "--json", env=server.env,
            )  # fmt: skip
            print(f"[{kind}] seeding…", file=sys.stderr, flush=True)
            world = asyncio.run(
                build_world(server.base, verifier, args.citizens, args.companies, args.products)
            )
            print(
                f"[{kind}] {args.duration:.0f} s at {args.connections} connections…",
                file=sys.stderr,
                flush=True,
            )
            memory: list[dict[str, Any]] = []
            began = time.monotonic()
            results = _phase(server, world, args, memory, began, budget=None)
            done = sum(r.requests for r in results)
            if done < MEMORY_BAR_REQUESTS and not args.no_soak:
                print(
                    f"[{kind}] memory soak to {MEMORY_BAR_REQUESTS:,} requests…", file=sys.stderr, flush=True
                )
                soak = _phase(server, world, args, memory, began, budget=MEMORY_BAR_REQUESTS - done)
            else:
                soak = []
            memory.append(
                {"t": round(time.monotonic() - began, 1), "rss_mb": round(sum(server.rss_mb().values()), 1)}
            )
            verified = asyncio.run(_verify_decisions(server.base, world, results))
            ledger = json.loads(
                _sesame("ledger", "verify", "--json", env=server.env).strip().splitlines()[-1]
            )
        # what the server logged as warnings and errors (why a request failed), first lines of each kind
        logged: dict[str, int] = {}
        for line in server.log.read_text(errors="replace").splitlines():
            if line.startswith(("WARNING", "ERROR", "sqlalchemy.", "asyncpg.", "sqlite3.")):
                key = line.split(" - ", 4)[-1][:200]
                logged[key] = logged.get(key, 0) + 1
    summary = summarise(kind, args, results, memory, verified, ledger, server.redis)
    summary["server_log"] = [
        f"{count} × {line}" for line, count in sorted(logged.items(), key=lambda i: -i[1])
    ][:10]
    summary["memory"]["requests"] = summary["requests"] + sum(r.requests for r in soak)
    summary["memory"]["soak_requests"] = sum(r.requests for r in soak)
    if summary["memory"]["requests"] >= MEMORY_BAR_REQUESTS:
        summary["memory"]["ok"] = summary["memory"]["growth"] < MEMORY_BAR
        summary["ok"] = summary["ok"] and summary["memory"]["ok"]
    return summary


def _phase(
    server: Server,
    world: World,
    args: argparse.Namespace,
    memory: list[dict[str, Any]],
    began: float,
    *,
    budget: int | None,
) -> list[ClientResult]:
    """Run the client processes once, sampling the server's resident memory every second."""
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue()
    per = [
        args.connections // args.clients + (1 if i < args.connections % args.clients else 0)
        for i in range(args.clients)
    ]
    procs = [
        context.Process(
            target=_client_process,
            args=(
                world,
                n,
                args.duration,
                0 if budget is not None else args.warmup,
                args.seed + i + (1000 if budget is not None else 0),
                i,
                None if budget is None else budget // args.clients + 1,
                queue,
            ),
            daemon=True,
        )
        for i, n in enumerate(per)
    ]
    for proc in procs:
        proc.start()
    phase = "soak" if budget is not None else "mixed"
    while any(proc.is_alive() for proc in procs) and queue.qsize() < len(procs):
        elapsed = time.monotonic() - began
        if elapsed >= args.warmup:
            rss = server.rss_mb()
            memory.append(
                {
                    "t": round(elapsed, 1),
                    "rss_mb": round(sum(rss.values()), 1),
                    "processes": len(rss),
                    "phase": phase,
                }
            )
        time.sleep(1)
    results: list[ClientResult] = [queue.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    return results


async def _verify_decisions(base: str, world: World, results: list[ClientResult]) -> dict[str, int]:
    acked = {k: v for r in results for k, v in r.decisions.items()}
    lost = 0
    async with httpx.AsyncClient(
        base_url=base, timeout=30, limits=httpx.Limits(max_connections=16)
    ) as client:
        semaphore = asyncio.Semaphore(16)

        async def check(checkout_id: str, status: str) -> None:
            nonlocal lost
            async with semaphore:
                response = await client.get(f"/api/v1/checkouts/{checkout_id}", headers=world.till)
            if response.status_code != 200 or response.json()["status"] != status:
                lost += 1

        await asyncio.gather(*(check(k, v) for k, v in acked.items()))
    return {"acknowledged": len(acked), "lost": lost}


def summarise(
    kind: str,
    args: argparse.Namespace,
    results: list[ClientResult],
    memory: list[dict[str, Any]],
    decisions: dict[str, int],
    ledger: dict[str, Any],
    redis: bool,
) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for op in OPERATIONS:
        samples = [ms for r in results for ms in r.latencies[op]]
        operations[op] = {
            "count": len(samples),
            "errors": sum(r.errors.get(op, 0) for r in results),
            "p50_ms": round(percentile(samples, 50), 2),
            "p99_ms": round(percentile(samples, 99), 2),
            "max_ms": round(max(samples), 2) if samples else float("nan"),
        }
    total = sum(r.requests for r in results)
    measured = sum(r.measured_requests for r in results)
    first, last = (memory[0]["rss_mb"], memory[-1]["rss_mb"]) if memory else (float("nan"), float("nan"))
    peak = max((m["rss_mb"] for m in memory), default=float("nan"))
    growth = (last - first) / first if memory and first else float("nan")
    errors = sum(op["errors"] for op in operations.values())
    memory_ok = growth < MEMORY_BAR if total >= MEMORY_BAR_REQUESTS else None
    return {
        "database": kind,
        "redis": redis,
        "duration_s": args.duration,
        "connections": args.connections,
        "workers": args.workers,
        "requests": total,
        "measured_requests": measured,
        "throughput_per_s": round(measured / args.duration, 1),
        "errors": errors,
        "error_samples": [s for r in results for s in r.error_samples][:10],
        "operations": operations,
        "decisions": decisions,
        "ledger": {"ok": ledger.get("ok"), "size": ledger.get("size")},
        "memory": {
            "first_mb": first,
            "last_mb": last,
            "peak_mb": peak,
            "growth": round(growth, 4),
            "bar": MEMORY_BAR,
            "bar_requests": MEMORY_BAR_REQUESTS,
            "ok": memory_ok,
            "samples": memory,
        },
        "ok": errors == 0 and decisions["lost"] == 0 and memory_ok is not False and ledger.get("ok") is True,
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| database | operation | count | errors | p50 ms | p99 ms | max ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        for op, row in run["operations"].items():
            lines.append(
                f"| {run['database']} | {op} | {row['count']} | {row['errors']} | {row['p50_ms']} | "
                f"{row['p99_ms']} | {row['max_ms']} |"
            )
    lines += [
        "",
        "| database | requests | req/s | errors | decisions acked / lost | ledger | RSS first → last (peak) MB | growth | bar |",
        "| --- | ---: | ---: | ---: | --- | --- | --- | ---: | --- |",
    ]
    for run in runs:
        mem = run["memory"]
        bar = {True: "ok", False: "MISSED", None: f"n/a (< {MEMORY_BAR_REQUESTS:,} requests)"}[mem["ok"]]
        lines.append(
            f"| {run['database']}{' + Redis' if run['redis'] else ''} | {run['requests']} | {run['throughput_per_s']} | "
            f"{run['errors']} | {run['decisions']['acknowledged']} / {run['decisions']['lost']} | "
            f"{'verifies' if run['ledger']['ok'] else 'FAILS'} ({run['ledger']['size']} leaves) | "
            f"{mem['first_mb']} → {mem['last_mb']} ({mem['peak_mb']}) over {mem.get('requests', run['requests']):,} "
            f"requests | {mem['growth'] * 100:.1f} % | {bar} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="client processes sharing the connections")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--citizens", type=int, default=16)
    parser.add_argument("--companies", type=int, default=4)
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20_260_101)
    parser.add_argument(
        "--no-soak", action="store_true", help="skip the read-only run up to 100,000 requests"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "load.json")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not _port_open("127.0.0.1", 5432):
        if args.db == "postgres":
            print("PostgreSQL is not reachable on 127.0.0.1:5432", file=sys.stderr)
            return 1
        print("PostgreSQL is not reachable on 127.0.0.1:5432: SQLite only", file=sys.stderr)
        kinds = ["sqlite"]
    load_before = os.getloadavg()
    steal = CpuSteal()
    runs = [run_one(kind, args) for kind in kinds]
    steal_text = steal.describe()
    when = dt.datetime.now(dt.UTC)
    print(
        f"Mixed load, {args.duration:.0f} s after {args.warmup:.0f} s warm-up, {args.connections} connections from "
        f"{args.clients} client processes, {args.workers} Granian workers; {when:%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} CPUs, load average before {load_before[0]:.1f}, {steal_text} during the runs\n"
    )
    print(table(runs))
    for run in runs:
        for sample in run["error_samples"]:
            print(f"  {run['database']} error: {sample}")
        for line in run.get("server_log", []):
            print(f"  {run['database']} server log: {line}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": when.isoformat(),
                "command": "python -m bench.load " + " ".join(argv),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_before": load_before,
                    "cpu_steal": steal_text,
                },
                "runs": runs,
            },
            indent=2,
        )
    )
    print(f"\nwritten: {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0 if all(run["ok"] for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
