"""Company read of granted fields: ``GET /api/v1/sesames/{sesame_id}/fields`` (decrypt + receipt + ledger leaf).

Seeds one citizen with 5 fields granted to one attested company (through the real services), starts
``sesame serve`` (Granian) on a fresh SQLite database (or PostgreSQL with ``--postgres``) and drives the read
with wrk (64 connections, 15 s). Every request decrypts 5 fields, writes an access receipt and appends a ledger
leaf with a signed checkpoint, in one transaction. The bar: 2,000 requests/s on SQLite.

    python -m bench.bench_vault [--postgres] [--workers N] [--duration S] [--connections C]

Prints a markdown table; writes ``var/bench/vault.json`` (``vault-postgres.json`` with ``--postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from stdnum import luhn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import CpuSteal, start_server, stop_server  # noqa: E402
from bench.bench_scan import _free_port, _wait_ready, ensure_wrk, run_wrk  # noqa: E402

BAR_RPS = 2_000.0
PASSWORD = "bench password 1234"
PG_ADMIN_URL = os.environ.get("SESAME_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
FIELDS: dict[str, Any] = {
    "given_name": "Camille",
    "family_name": "Bench",
    "email": "camille.bench@example.org",
    "phone": "+33612345678",
    "postal_address": {"street": "3 rue des Lilas", "postal_code": "69002", "city": "Lyon", "country": "FR"},
}


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def seed(settings: Any, keys: Any) -> tuple[str, str, int]:
    """One citizen (5 fields), one company with every mandatory indicator attested, an open account, a grant.

    Returns ``(sesame_id, company bearer token, ledger size)``.
    """
    from company_profiles import services as profiles
    from company_profiles.catalogue import MANDATORY_KEYS
    from company_profiles.schemas import AttestationRequest, CompanyRegistration
    from sesame.accounts.services import create_account, issue_token
    from sesame.db import create_engine, create_sessionmaker
    from vault import services as vault

    engine = create_engine(settings)
    factory = create_sessionmaker(engine)
    try:
        async with factory() as s:
            citizen = await create_account(
                s, kind="citizen", email="citizen@bench.example", password=PASSWORD
            )
            company_login = await create_account(
                s, kind="company", email="shop@bench.example", password=PASSWORD
            )
            verifier = await create_account(
                s, kind="verifier", email="registry@bench.example", password=PASSWORD
            )
        for name, value in FIELDS.items():
            async with factory() as s:
                await vault.set_field(s, keys, account_id=citizen.id or 0, name=name, value=value)
        async with factory() as s:
            digits = "31415926"
            registered = await profiles.register_company(
                s,
                account_id=company_login.id or 0,
                registration=CompanyRegistration(
                    legal_name="Épicerie Bench SAS",
                    country="FR",
                    registration_scheme="siren",
                    registration_id=digits + luhn.calc_check_digit(digits),
                    founding_date=dt.date(2004, 5, 1),
                    tax_residence="FR",
                    sector="47.11",
                    registered_address="1 place Bellecour, 69002 Lyon",
                ),
            )
        async with factory() as s:
            await profiles.register_verifier(
                s, account_id=verifier.id or 0, name="Greffe Bench", scope=list(MANDATORY_KEYS), keys=keys
            )
        async with factory() as s:
            profile = await profiles.public_profile(s, registered.id)
        for item in profile.indicators:
            if item.key in MANDATORY_KEYS:
                async with factory() as s:
                    await profiles.issue_attestation(
                        s,
                        keys,
                        company_id=registered.id,
                        account_id=verifier.id or 0,
                        request=AttestationRequest(indicator=item.key, value=item.value),
                    )
        async with factory() as s:
            sesame_id = await vault.sesame_id_for_account(s, citizen.id or 0)
            assert sesame_id is not None
            account = await vault.request_company_account(
                s, principal_id=company_login.id or 0, sesame_id=sesame_id
            )
        async with factory() as s:
            await vault.decide_company_account(
                s, account_id=citizen.id or 0, company_account_id=account.id or 0, action="accept"
            )
        async with factory() as s:
            await vault.give_grant(
                s,
                account_id=citizen.id or 0,
                company_account_id=account.id or 0,
                fields=list(FIELDS),
                purpose="loyalty programme",
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
            )
        async with factory() as s:
            from sqlalchemy import text

            size = int((await s.execute(text("SELECT count(*) FROM ledger_leaves"))).scalar_one())
            receipts = int((await s.execute(text("SELECT count(*) FROM vault_access_receipts"))).scalar_one())
            assert receipts == 0
        return sesame_id, issue_token(keys, settings, company_login), size
    finally:
        await engine.dispose()


async def count_after(settings: Any) -> tuple[int, int]:
    from sqlalchemy import text

    from sesame.db import create_engine

    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            receipts = (await conn.execute(text("SELECT count(*) FROM vault_access_receipts"))).scalar_one()
            leaves = (await conn.execute(text("SELECT count(*) FROM ledger_leaves"))).scalar_one()
            return int(receipts), int(leaves)
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres", action="store_true", help="PostgreSQL (SESAME_TEST_PG) instead of SQLite"
    )
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    ensure_wrk()

    from sesame import migrate, transparency, wiring
    from sesame.keys import KeyRing
    from sesame.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="sesame-bench-vault-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    pg_name: str | None = None
    if args.postgres:
        pg_name = f"sesame_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg(f'CREATE DATABASE "{pg_name}"'))
        database_url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{pg_name}"
    else:
        database_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    env = {
        **os.environ,
        "SESAME_DATABASE_URL": database_url,
        "SESAME_KEY_DIR": str(tmp / "keys"),
        "SESAME_PUBLIC_URL": base,
    }
    settings = Settings(database_url=database_url, key_dir=tmp / "keys", public_url=base)
    proc: subprocess.Popen[bytes] | None = None
    try:
        wiring.install()
        migrate.upgrade(settings)
        keys = KeyRing.for_settings(settings)
        transparency.configure(keys=keys, origin=settings.ledger_origin)
        sesame_id, token, leaves_before = asyncio.run(seed(settings, keys))

        sesame = Path(sys.executable).with_name("sesame")
        command = [str(sesame), "serve", "--workers", str(args.workers), "--port", str(port)]
        proc = start_server(command, env=env, cwd=tmp)
        _wait_ready(base, proc)
        url = f"{base}/api/v1/sesames/{sesame_id}/fields"
        auth = {"Authorization": f"Bearer {token}"}
        sample = httpx.get(url, headers=auth, timeout=5)
        sample.raise_for_status()
        assert sample.json()["fields"] == FIELDS, sample.text

        script = tmp / "read.lua"
        script.write_text(f'wrk.method = "GET"\nwrk.headers["Authorization"] = "Bearer {token}"\n')
        run_wrk(url, connections=args.connections, duration=args.warmup, script=script)
        # Same server, same run: a database round trip with no work (GET /health: SELECT 1) as a yardstick.
        steal = CpuSteal()
        baseline = run_wrk(
            f"{base}/health", connections=args.connections, duration=args.duration, accept=False
        )
        # And the kernel's simplest authenticated read (token check + account row), same token, same run.
        me = run_wrk(
            f"{base}/api/v1/accounts/me", connections=args.connections, duration=args.duration, script=script
        )
        receipts_before, leaves_mid = asyncio.run(count_after(settings))
        measured = run_wrk(url, connections=args.connections, duration=args.duration, script=script)
        receipts_after, leaves_after = asyncio.run(count_after(settings))
        steal_text = steal.describe()
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        if pg_name is not None:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))

    database = "PostgreSQL" if args.postgres else "SQLite"
    written = receipts_after - receipts_before
    # Every measured 2xx wrote one receipt and one leaf: the numbers are real work, not cached answers.
    consistent = written == leaves_after - leaves_mid
    passed = (
        measured["non_2xx"] == 0 and consistent and (args.postgres or measured["requests_per_s"] >= BAR_RPS)
    )
    print(
        f"{database}, {args.workers} Granian workers, {args.connections} connections, {args.duration} s, "
        f"5 fields decrypted + receipt + ledger leaf per request, {os.cpu_count()} CPUs, {steal_text}\n"
    )
    print("| database | endpoint | req/s | p50 (ms) | p99 (ms) | receipts written | bar |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    print(
        f"| {database} | GET /health (SELECT 1, yardstick) | {baseline['requests_per_s']:,.0f} "
        f"| {baseline['p50_ms']:.2f} | {baseline['p99_ms']:.2f} | – | – |"
    )
    print(
        f"| {database} | GET /api/v1/accounts/me (token + account, yardstick) | {me['requests_per_s']:,.0f} "
        f"| {me['p50_ms']:.2f} | {me['p99_ms']:.2f} | – | – |"
    )
    bar = "baseline (no bar)" if args.postgres else f"≥ {BAR_RPS:,.0f} req/s: {'pass' if passed else 'FAIL'}"
    print(
        f"| {database} | GET /api/v1/sesames/{{id}}/fields | {measured['requests_per_s']:,.0f} "
        f"| {measured['p50_ms']:.2f} | {measured['p99_ms']:.2f} | {written:,} | {bar} |"
    )
    out = ROOT / "var" / "bench" / ("vault-postgres.json" if args.postgres else "vault.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "vault",
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "database": database,
                "workers": args.workers,
                "connections": args.connections,
                "duration_s": args.duration,
                "fields": len(FIELDS),
                "cpus": os.cpu_count(),
                "bar_requests_per_s": None if args.postgres else BAR_RPS,
                "result": {
                    **measured,
                    "receipts_written": written,
                    "ledger_leaves_written": leaves_after - leaves_mid,
                },
                "yardstick_health": baseline,
                "yardstick_accounts_me": me,
                "ratio_to_accounts_me": round(measured["requests_per_s"] / me["requests_per_s"], 3)
                if me["requests_per_s"]
                else None,
                "load_average": os.getloadavg(),
                "cpu_steal": steal_text,
                "ledger_leaves_at_start": leaves_before,
                "pass": passed,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
