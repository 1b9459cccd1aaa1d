"""Scan → card throughput: ``GET /01/{gtin}`` (JSON) and ``POST /api/v1/scan`` beside a constant JSON endpoint.

Seeds 10,000 products of 20 companies (with verified-figure highlights) in a temporary SQLite database, starts
``sesame serve --workers 2`` and drives it with wrk (64 connections, 15 s per endpoint, random GTINs from a Lua
script). The constant endpoint (``/api/v1/bench/constant?size=N``) returns a fixed body as large as a card, from
the same server in the same run: the bar is 70% of the constant GET's throughput, with p99 under 15 ms, for both
card endpoints. ``POST /api/v1/scan`` is also compared with the same constant answered to a POST of the same body
(read and decoded, then ignored): that ratio, printed beside, isolates scan → card from the server's cost of
receiving a request body.

The endpoints run in interleaved rounds and the table shows medians, so background load that drifts during
the run weighs on both sides of each ratio. Before measuring, wrk walks the whole catalogue for ``--warmup``
seconds (several passes, in runs of a few seconds that each connect afresh) so each worker's card cache holds
it, as it does in a shop after the first minutes; a miss costs one indexed join and one encode. Prints a markdown
table and writes ``var/bench/scan.json``.

    python -m bench.bench_scan [--products N] [--duration S] [--connections C]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from stdnum import luhn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import CpuSteal, start_server, stop_server  # noqa: E402

OUT = ROOT / "var" / "bench" / "scan.json"
BAR_RATIO = 0.70
BAR_P99_MS = 15.0
WARMUP_RUN_S = 5  # seconds per warm-up run: each connects afresh, so no worker is left out of every one
PASSWORD = "bench password 1234"

RANDOM_GET = """
local gtins = {}
for line in io.lines("%(gtins)s") do gtins[#gtins + 1] = line end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args) math.randomseed(os.time() * 1000 + (id or 0)) end
function request()
  return wrk.format("GET", "/01/" .. gtins[math.random(#gtins)], {["Accept"] = "application/json"})
end
"""

SEQUENTIAL_GET = """
local gtins = {}
for line in io.lines("%(gtins)s") do gtins[#gtins + 1] = line end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
local i = 0
function init(args) i = (id or 1) - 1 end
function request()
  i = i + 2
  return wrk.format("GET", "/01/" .. gtins[(i %% #gtins) + 1], {["Accept"] = "application/json"})
end
"""

#: The baseline draws a random GTIN and formats its request the same way, so wrk (on the same cores) spends as
#: much per request on both sides of the ratio.
CONSTANT = """
local gtins = {}
for line in io.lines("%(gtins)s") do gtins[#gtins + 1] = line end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args) math.randomseed(os.time() * 1000 + (id or 0)) end
function request()
  local unused = gtins[math.random(#gtins)]
  return wrk.format("GET", "/api/v1/bench/constant?size=%(size)d", {["Accept"] = "application/json"})
end
"""

CONSTANT_POST = """
local gtins = {}
for line in io.lines("%(gtins)s") do gtins[#gtins + 1] = line end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args) math.randomseed(os.time() * 1000 + (id or 0)) end
function request()
  local ean = string.sub(gtins[math.random(#gtins)], 2)
  return wrk.format("POST", "/api/v1/bench/constant?size=%(size)d", {["Content-Type"] = "application/json"},
                    '{"code":"' .. ean .. '"}')
end
"""

RANDOM_SCAN = """
local gtins = {}
for line in io.lines("%(gtins)s") do gtins[#gtins + 1] = line end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args) math.randomseed(os.time() * 1000 + (id or 0)) end
function request()
  local ean = string.sub(gtins[math.random(#gtins)], 2)
  return wrk.format("POST", "/api/v1/scan", {["Content-Type"] = "application/json"}, '{"code":"' .. ean .. '"}')
end
"""


def _gtin(body: int) -> str:
    payload = f"376{body:09d}"
    from scanner import gs1

    return "0" + payload + str(gs1.gtin_check_digit(payload))


def _siren(body: int) -> str:
    digits = f"{body:08d}"
    return digits + luhn.calc_check_digit(digits)


async def seed(settings: Any, products: int, companies: int) -> list[str]:
    from company_profiles import services as profiles
    from company_profiles.schemas import CivilStatusFiling, CompanyRegistration, IndicatorInput
    from scanner import services as catalogue
    from scanner.schemas import IdentityCard, ProductIn
    from sesame.accounts.services import create_account
    from sesame.db import create_engine, create_sessionmaker

    engine = create_engine(settings)
    factory = create_sessionmaker(engine)
    card = IdentityCard.model_validate(
        {
            "brand": "Moulin de Provence",
            "description": "Huile d'olive vierge extra, première pression à froid",
            "traceability": [
                {
                    "step": "harvest",
                    "place": {"name": "Oliveraie des Alpilles", "country": "FR"},
                    "started_on": "2025-10-15",
                },
                {
                    "step": "milling",
                    "place": {"name": "Moulin Castelas", "country": "FR"},
                    "started_on": "2025-11-21",
                },
            ],
            "production_places": [
                {"name": "Moulin Castelas", "country": "FR", "latitude": 43.7, "longitude": 4.8}
            ],
            "manufacturing_time": {"value": 36, "unit": "h"},
            "labour_cost_share_pct": 38.5,
            "carbon_footprint": {"value": 2.4, "unit": "kg CO2e"},
            "nutrition_per_100g": {
                "energy_kj": 3700,
                "energy_kcal": 884,
                "fat_g": 100,
                "saturated_fat_g": 14,
            },
            "stock": 1200,
            "lots": [{"batch": "L2025-11A", "produced_on": "2025-11-22", "best_before": "2027-05-31"}],
        }
    )
    gtins: list[str] = []
    per_company = -(-products // companies)
    try:
        for c in range(companies):
            async with factory() as session:
                account = await create_account(
                    session, kind="company", email=f"bench{c}@example.org", password=PASSWORD
                )
            account_id = account.id or 0
            async with factory() as session:
                registered = await profiles.register_company(
                    session,
                    account_id=account_id,
                    registration=CompanyRegistration(
                        legal_name=f"Huilerie Bench {c} SAS",
                        country="FR",
                        registration_scheme="siren",
                        registration_id=_siren(30_000_000 + c),
                        founding_date=dt.date(1990 + c % 30, 3, 14),
                        tax_residence="FR",
                        sector="10.41",
                        registered_address="3 chemin des Oliviers, 13520 Maussane",
                    ),
                )
            async with factory() as session:
                await profiles.file_civil_status(
                    session,
                    company_id=registered.id,
                    account_id=account_id,
                    filing=CivilStatusFiling(
                        indicators={
                            "employee_satisfaction": IndicatorInput(value=64, unit="%"),
                            "carbon_footprint_per_employee": IndicatorInput(value=4.2, unit="tCO2e"),
                            "after_sales_staff_share": IndicatorInput(value=12, unit="%"),
                        }
                    ),
                )
            batch = [
                ProductIn(
                    gtin=_gtin(c * per_company + i),
                    name=f"Huile d'olive n°{c * per_company + i}",
                    identity_card=card,
                )
                for i in range(min(per_company, products - c * per_company))
            ]
            for start in range(0, len(batch), 500):
                async with factory() as session:
                    await catalogue.import_products(
                        session,
                        company_id=registered.id,
                        products=batch[start : start + 500],
                        created_by=account_id,
                    )
            gtins.extend(p.gtin for p in batch)
    finally:
        await engine.dispose()
    return gtins


async def _asgi(
    app: Any, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers, (b"content-length", b"%d" % len(body))],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def cpu_per_request(settings: Any, gtins: list[str], size: int, count: int = 4000) -> dict[str, float]:
    """The app's own CPU time per request (``time.process_time``), called in-process without a server or wrk.

    Unlike throughput on a shared machine, this does not move with other processes' load: it shows what each
    endpoint costs the worker, warm cache, same event loop.
    """
    from sesame.app import create_app

    app = create_app(settings)
    json_accept = [(b"accept", b"application/json")]
    post = [(b"content-type", b"application/json")]
    sample = gtins[: min(len(gtins), 2000)]
    for gtin in sample:  # warm this app's cache
        await _asgi(app, "GET", f"/01/{gtin}", b"", json_accept, b"")
    cases = {
        "constant JSON (GET)": lambda i: (
            "GET",
            "/api/v1/bench/constant",
            b"size=%d" % size,
            json_accept,
            b"",
        ),
        "constant JSON (POST, same body as a scan)": lambda i: (
            "POST",
            "/api/v1/bench/constant",
            b"size=%d" % size,
            post,
            b'{"code":"%s"}' % sample[i % len(sample)][1:].encode(),
        ),
        "GET /01/{gtin} (JSON)": lambda i: ("GET", f"/01/{sample[i % len(sample)]}", b"", json_accept, b""),
        "POST /api/v1/scan": lambda i: (
            "POST",
            "/api/v1/scan",
            b"",
            post,
            b'{"code":"%s"}' % sample[i % len(sample)][1:].encode(),
        ),
    }
    out: dict[str, float] = {}
    for _ in range(2):  # the second pass is the one kept: imports, caches and the allocator are warm
        for label, make in cases.items():
            started = time.process_time()
            for i in range(count):
                status = await _asgi(app, *make(i))
                assert status == 200, (label, status)
            out[label] = round((time.process_time() - started) / count * 1e6, 1)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str, *, connections: int, duration: int, script: Path | None = None, accept: bool = True
) -> dict[str, Any]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if script is not None:
        cmd += ["-s", str(script)]
    elif accept:
        cmd += ["-H", "Accept: application/json"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|75|90|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.MULTILINE))
    if "99" not in latency:
        raise RuntimeError(f"unreadable wrk output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.MULTILINE)
    return {
        "requests_per_s": round(rps, 1),
        "p50_ms": round(_ms(latency["50"]), 3),
        "p99_ms": round(_ms(latency["99"]), 3),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else None,
    }


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("wrk is missing: installing Debian's package (apt-get install -y wrk)", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--companies", type=int, default=20)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=30, help="seconds walking the catalogue first")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds; --duration is split among them"
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    ensure_wrk()

    from sesame import migrate, transparency, wiring
    from sesame.keys import KeyRing
    from sesame.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="sesame-bench-scan-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SESAME_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
        "SESAME_KEY_DIR": str(tmp / "keys"),
        "SESAME_PUBLIC_URL": base,
    }
    settings = Settings(database_url=env["SESAME_DATABASE_URL"], key_dir=tmp / "keys", public_url=base)
    proc: subprocess.Popen[bytes] | None = None
    load = os.getloadavg()[0]
    try:
        started = time.perf_counter()
        wiring.install()
        migrate.upgrade(settings)
        transparency.configure(keys=KeyRing.for_settings(settings), origin=settings.ledger_origin)
        gtins = asyncio.run(seed(settings, args.products, args.companies))
        print(f"seeded {len(gtins)} products in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        (tmp / "gtins.txt").write_text("\n".join(gtins) + "\n")
        scripts = {}
        for name, template in (("warm", SEQUENTIAL_GET), ("get", RANDOM_GET), ("scan", RANDOM_SCAN)):
            scripts[name] = tmp / f"{name}.lua"
            scripts[name].write_text(template % {"gtins": tmp / "gtins.txt"})

        sesame = Path(sys.executable).with_name("sesame")
        command = [str(sesame), "serve", "--workers", str(args.workers), "--port", str(port)]
        proc = start_server(command, env=env, cwd=tmp)
        _wait_ready(base, proc)
        sample = httpx.get(f"{base}/01/{gtins[0]}", headers={"Accept": "application/json"}, timeout=5)
        sample.raise_for_status()
        size = len(sample.content)
        for name, template in (("constant", CONSTANT), ("constant_post", CONSTANT_POST)):
            scripts[name] = tmp / f"{name}.lua"
            scripts[name].write_text(template % {"gtins": tmp / "gtins.txt", "size": size})

        common = {"connections": args.connections}
        # Both endpoints share each worker's card cache: walk the catalogue until every worker holds it all. The
        # workers share one listening socket and the first one awake takes every connection waiting, so one wrk
        # run's 64 connections can all land on one worker (seen: 64 to 0): the walk is cut into short runs, each
        # connecting afresh, so that every worker gets its share of several of them.
        walked = 0.0
        runs = max(1, -(-args.warmup // WARMUP_RUN_S))
        per_run = max(1, args.warmup // runs)
        for _ in range(runs):
            warm = run_wrk(f"{base}/", duration=per_run, script=scripts["warm"], **common)
            walked += warm["requests_per_s"] * per_run
        print(f"warm-up: {walked / len(gtins):.1f} passes over the catalogue in {runs} runs", file=sys.stderr)
        rows = [
            ("constant JSON (GET)", scripts["constant"]),
            ("constant JSON (POST, same body as a scan)", scripts["constant_post"]),
            ("GET /01/{gtin} (JSON)", scripts["get"]),
            ("POST /api/v1/scan", scripts["scan"]),
        ]
        # Interleaved rounds, medians: a machine whose load drifts during the run moves all three alike.
        rounds: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in rows}
        per_round = max(1, args.duration // args.rounds)
        steal = CpuSteal()
        for _ in range(args.rounds):
            for label, script in rows:
                rounds[label].append(run_wrk(f"{base}/", duration=per_round, script=script, **common))
        steal_text = steal.describe()
        results: list[dict[str, Any]] = []
        for label, _ in rows:
            measured = rounds[label]
            results.append(
                {
                    "endpoint": label,
                    "requests_per_s": statistics.median(r["requests_per_s"] for r in measured),
                    "p50_ms": statistics.median(r["p50_ms"] for r in measured),
                    "p99_ms": statistics.median(r["p99_ms"] for r in measured),
                    "non_2xx": sum(r["non_2xx"] for r in measured),
                    "rounds": measured,
                }
            )
    finally:
        if proc is not None:
            stop_server(proc)

    try:
        cpu = asyncio.run(cpu_per_request(settings, gtins, size))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    by_label = {row["endpoint"]: row for row in results}
    get_constant = by_label["constant JSON (GET)"]["requests_per_s"]
    post_constant = by_label["constant JSON (POST, same body as a scan)"]["requests_per_s"]
    passed = True
    print(
        f"{args.products} products, {args.workers} Granian workers, {args.connections} connections, "
        f"{args.duration} s per endpoint in {args.rounds} interleaved rounds (medians), card body {size} bytes, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} before the run, {steal_text} during it\n"
    )
    print("| endpoint | req/s | p50 (ms) | p99 (ms) | vs GET constant | vs same-method constant | bar |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in results:
        is_scan = not row["endpoint"].startswith("constant")
        baseline = post_constant if row["endpoint"].startswith("POST") else get_constant
        row["ratio_vs_get_constant"] = round(row["requests_per_s"] / get_constant, 3) if get_constant else 0.0
        row["ratio"] = round(row["requests_per_s"] / baseline, 3) if baseline else 0.0
        # the bar: the constant GET (a POST's own server-side cost counts against the scan), p99, no errors
        ok = row["ratio_vs_get_constant"] >= BAR_RATIO and row["p99_ms"] < BAR_P99_MS and row["non_2xx"] == 0
        row["meets_bar"] = ok if is_scan else None
        passed = passed and (ok or not is_scan)
        verdict = ("pass" if ok else "FAIL") if is_scan else "baseline"
        print(
            f"| {row['endpoint']} | {row['requests_per_s']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
            f"| {row['ratio_vs_get_constant']:.0%} | {row['ratio']:.0%} | {verdict} |"
        )
    print("\nServer CPU per request, in-process (no server, no wrk; immune to other processes' load):\n")
    print("| endpoint | µs CPU / request | vs GET constant |")
    print("| --- | ---: | ---: |")
    for label, micros in cpu.items():
        by_label[label]["cpu_us_per_request"] = micros
        print(f"| {label} | {micros:.0f} | {cpu['constant JSON (GET)'] / micros:.0%} |")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "scan",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "products": args.products,
                "companies": args.companies,
                "workers": args.workers,
                "connections": args.connections,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "body_bytes": size,
                "cpus": os.cpu_count(),
                "load_average_before": round(load, 2),
                "cpu_steal": steal_text,
                "rounds": args.rounds,
                "bar": {"ratio": BAR_RATIO, "p99_ms": BAR_P99_MS},
                "results": results,
                "pass": passed,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten {OUT.relative_to(ROOT)}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
