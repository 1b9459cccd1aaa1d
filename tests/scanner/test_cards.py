"""The card cache: hits, and invalidation across workers after a new product version or a profile change.

Two apps on one database stand for two workers (each has its own in-process cache); the last test runs a real
``sesame serve --workers 2`` and checks that no worker serves a stale card after a change.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from scanner import services
from scanner.api import card_cache
from scanner.cards import CardCache
from sesame.settings import Settings
from tests.scanner.conftest import PASSWORD, Actor, Shop, identity_card, make_gtin, siren_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def worker_b(migrated: Settings) -> AsyncIterator[tuple[AsyncTestClient[Litestar], CardCache, Clock]]:
    """A second worker: another app on the same database, with its own card cache and a clock we move."""
    from sesame.app import create_app

    app = create_app(migrated)
    clock = Clock()
    cache = CardCache(app.state.sessionmaker, migrated, clock=clock)
    app.state.scanner_cards = cache
    async with AsyncTestClient(app=app, base_url="http://sesame.test") as client:
        yield client, cache, clock
    cache.close()


async def satisfaction(client: AsyncTestClient[Litestar], gtin: str) -> Any:
    card = (await client.get(f"/01/{gtin}", headers={"Accept": "application/json"})).json()
    return next(h["value"] for h in card["highlights"] if h["key"] == "employee_satisfaction")


async def test_cards_are_served_from_memory(shop: Shop) -> None:
    owner = await shop.company()
    created = await shop.product(owner)
    first = await shop.client.get(f"/01/{created['gtin']}", headers={"Accept": "application/json"})
    cache = card_cache(shop.app.state)
    builds = cache.stats["builds"]
    hits = cache.stats["hits"]
    again = await shop.client.post("/api/v1/scan", json={"code": created["gtin"][1:]})
    assert again.content == first.content
    assert cache.stats["builds"] == builds
    if cache.fresh(created["gtin"]) is not None:  # SQLite reads the generation synchronously: a true hit
        assert cache.stats["hits"] > hits


async def test_a_new_version_is_seen_by_every_worker_at_once(
    shop: Shop, worker_b: tuple[AsyncTestClient[Litestar], CardCache, Clock]
) -> None:
    client_b, _, _ = worker_b
    owner = await shop.company()
    created = await shop.product(owner, name="Version 1")
    gtin = created["gtin"]
    for client in (shop.client, client_b):
        assert (await client.get(f"/api/v1/products/{gtin}")).json()["name"] == "Version 1"

    path = f"/api/v1/companies/{owner.company_id}/products/{gtin}"
    body = {"name": "Version 2", "identity_card": identity_card(stock=7)}
    assert (await shop.client.put(path, json=body, headers=owner.headers)).status_code == 200

    card = (await client_b.get(f"/01/{gtin}", headers={"Accept": "application/json"})).json()
    assert card["name"] == "Version 2" and card["version"] == 2 and card["identity_card"]["stock"] == 7
    html = await client_b.get(f"/01/{gtin}", headers={"Accept": "text/html"})
    assert "Version 2" in html.text


async def test_an_unrelated_write_revalidates_without_rebuilding(
    shop: Shop, worker_b: tuple[AsyncTestClient[Litestar], CardCache, Clock]
) -> None:
    client_b, cache_b, _ = worker_b
    owner = await shop.company()
    created = await shop.product(owner)
    await client_b.get(f"/api/v1/products/{created['gtin']}")
    builds, revalidations = cache_b.stats["builds"], cache_b.stats["revalidations"]
    await shop.product(owner)  # another product: the catalogue generation moves
    await client_b.get(f"/api/v1/products/{created['gtin']}")
    assert cache_b.stats["revalidations"] == revalidations + 1
    assert cache_b.stats["builds"] == builds


async def test_an_unknown_gtin_registered_later_resolves(
    shop: Shop, worker_b: tuple[AsyncTestClient[Litestar], CardCache, Clock]
) -> None:
    client_b, _, _ = worker_b
    owner = await shop.company()
    gtin = make_gtin(11_001)
    assert (await client_b.get(f"/01/{gtin}")).status_code == 404
    assert (await client_b.get(f"/01/{gtin}")).status_code == 404
    await shop.product(owner, gtin)
    assert (await client_b.get(f"/01/{gtin}")).status_code == 200


async def test_filings_and_attestations_are_seen_by_every_worker_at_once(
    shop: Shop, worker_b: tuple[AsyncTestClient[Litestar], CardCache, Clock]
) -> None:
    """company_profiles runs the scanner's hook in each filing, attestation and revocation transaction."""
    client_b, _, _ = worker_b
    owner = await shop.company()
    await shop.file(owner, {"employee_satisfaction": {"value": 64, "unit": "%"}})
    created = await shop.product(owner)
    assert await satisfaction(client_b, created["gtin"]) == 64
    await shop.file(owner, {"employee_satisfaction": {"value": 58, "unit": "%"}})
    assert await satisfaction(client_b, created["gtin"]) == 58
    verifier = await shop.verifier(["employee_satisfaction"])
    await shop.attest(verifier, owner, "employee_satisfaction", 58)
    card = (await client_b.get(f"/api/v1/products/{created['gtin']}")).json()
    assert next(h for h in card["highlights"] if h["key"] == "employee_satisfaction")["state"] == "attested"


@pytest.fixture
def unannounced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes nobody announces, like an attestation reaching its expiry: only the recheck finds them."""
    from company_profiles import services as profiles

    monkeypatch.setattr(profiles, "profile_changed_hooks", [])


async def test_an_unannounced_change_is_seen_after_the_recheck_interval(
    shop: Shop, worker_b: tuple[AsyncTestClient[Litestar], CardCache, Clock], unannounced: None
) -> None:
    client_b, cache_b, clock = worker_b
    owner = await shop.company()
    await shop.file(owner, {"employee_satisfaction": {"value": 64, "unit": "%"}})
    created = await shop.product(owner)
    gtin = created["gtin"]
    assert await satisfaction(client_b, gtin) == 64

    await shop.file(owner, {"employee_satisfaction": {"value": 71, "unit": "%"}})
    assert (
        await satisfaction(client_b, gtin) == 64
    )  # not announced: worker B trusts its copy until the recheck
    # Once due, the card is still served while one background task rechecks (no request waits) ...
    clock.now += cache_b.profile_recheck_seconds + 0.01
    seen = [await satisfaction(client_b, gtin)]
    for _ in range(100):
        if seen[-1] == 71:
            break
        await asyncio.sleep(0.02)
        seen.append(await satisfaction(client_b, gtin))
    assert seen[-1] == 71 and set(seen) <= {64, 71}


async def test_a_seller_is_never_served_twice_the_recheck_interval_late(
    shop: Shop, worker_b: tuple[AsyncTestClient[Litestar], CardCache, Clock], unannounced: None
) -> None:
    client_b, cache_b, clock = worker_b
    owner = await shop.company()
    await shop.file(owner, {"employee_satisfaction": {"value": 64, "unit": "%"}})
    created = await shop.product(owner)
    assert await satisfaction(client_b, created["gtin"]) == 64
    await shop.file(owner, {"employee_satisfaction": {"value": 80, "unit": "%"}})
    clock.now += 2 * cache_b.profile_recheck_seconds
    assert await satisfaction(client_b, created["gtin"]) == 80


async def test_the_shared_counter_heals_after_a_writer_died_before_bumping_it(
    shop: Shop, worker_b: tuple[AsyncTestClient[Litestar], CardCache, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write committed without its after-commit bump is found by the once-a-second poll of the row."""
    from scanner.cards import SqliteReads

    client_b, cache_b, clock = worker_b
    reads = cache_b._reads
    if not isinstance(reads, SqliteReads):
        pytest.skip("the shared counter is SQLite's; PostgreSQL reads the row on each request")
    reads._clock, reads._next_poll = clock, 0.0
    owner = await shop.company()
    created = await shop.product(owner, name="Avant")
    gtin = created["gtin"]
    assert (await client_b.get(f"/api/v1/products/{gtin}")).json()["name"] == "Avant"

    class Dead:  # the writer dies between its COMMIT and its bump
        def bump(self) -> int:
            return 0

    monkeypatch.setattr(services, "counter_for", lambda path: Dead())
    path = f"/api/v1/companies/{owner.company_id}/products/{gtin}"
    assert (await shop.client.put(path, json={"name": "Après"}, headers=owner.headers)).status_code == 200
    assert (await client_b.get(f"/api/v1/products/{gtin}")).json()["name"] == "Avant"
    clock.now += reads.POLL_SECONDS
    assert (await client_b.get(f"/api/v1/products/{gtin}")).json()["name"] == "Après"


# -- two real Granian workers -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_two_granian_workers_never_serve_a_stale_card(tmp_path: Path, sqlite_url: str) -> None:
    from sesame import migrate

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=sqlite_url, key_dir=tmp_path / "keys", public_url=base)
    migrate.upgrade(settings)
    env = {
        **os.environ,
        "SESAME_DATABASE_URL": sqlite_url,
        "SESAME_KEY_DIR": str(tmp_path / "keys"),
        "SESAME_PUBLIC_URL": base,
    }
    sesame = Path(sys.executable).with_name("sesame")
    proc = subprocess.Popen(
        [str(sesame), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "the server did not start"
            time.sleep(0.2)
        owner = Actor(email="two-workers@example.org")
        assert (
            httpx.post(
                f"{base}/api/v1/accounts",
                json={"kind": "company", "email": owner.email, "password": PASSWORD},
            ).status_code
            == 201
        )
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={"email": owner.email, "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        company = httpx.post(
            f"{base}/api/v1/companies",
            json={
                "legal_name": "Deux Ouvriers SAS",
                "country": "FR",
                "registration_scheme": "siren",
                "registration_id": siren_for(44_444_444),
                "founding_date": "2001-01-01",
                "tax_residence": "FR",
                "sector": "10.41",
                "registered_address": "1 rue des Deux, 75001 Paris",
            },
            headers=headers,
        )
        assert company.status_code == 201, company.text
        company_id = company.json()["id"]
        gtin = make_gtin(12_001)
        created = httpx.post(
            f"{base}/api/v1/companies/{company_id}/products",
            json={"gtin": gtin, "name": "v1"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        # Many connections, so both workers cache version 1.
        for _ in range(20):
            with httpx.Client() as fresh:
                assert (
                    fresh.get(f"{base}/01/{gtin}", headers={"Accept": "application/json"}).json()["version"]
                    == 1
                )
        changed = httpx.put(
            f"{base}/api/v1/companies/{company_id}/products/{gtin}", json={"name": "v2"}, headers=headers
        )
        assert changed.status_code == 200, changed.text
        for _ in range(20):
            with httpx.Client() as fresh:
                card = fresh.get(f"{base}/01/{gtin}", headers={"Accept": "application/json"}).json()
                assert (card["version"], card["name"]) == (2, "v2")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
