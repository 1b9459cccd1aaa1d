"""``sesame pos``: a till simulator. Starts a checkout over HTTP and shows the citizen's decision live.

    sesame pos till --api http://127.0.0.1:8000 --email shop@example.org --password ... --name "Till 1"
    sesame pos start --api http://127.0.0.1:8000 --key sk_till_... --sesame-id SID \\
        --amount 12.50 --currency EUR --gtin 3017620422003:2 --wait

With ``--wait`` the till's event stream is opened *before* the checkout is posted, so the outcome cannot be
missed; the checkout is also polled now and then in case the stream drops. The platform's signature over the
decision is checked against ``/.well-known/jwks.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import click
import httpx
import jwt
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

FINAL_EVENTS = {
    "checkout.confirmed": ("confirmed", "green"),
    "checkout.declined": ("declined", "red"),
    "checkout.expired": ("expired", "yellow"),
    "checkout.payment_failed": ("confirmed, but the payment failed", "red"),
}
EXIT_CONFIRMED, EXIT_NOT_CONFIRMED, EXIT_ERROR = 0, 1, 2


@click.group()
def pos() -> None:
    """A till simulator: create till keys, start checkouts, wait for the citizen's decision."""


def _items(gtins: tuple[str, ...]) -> list[dict[str, Any]]:
    items = []
    for spec in gtins:
        gtin, _, quantity = spec.partition(":")
        try:
            items.append({"gtin": gtin.strip(), "quantity": int(quantity or 1)})
        except ValueError as exc:
            raise click.BadParameter(
                f"{spec!r}: expected GTIN or GTIN:QUANTITY", param_hint="--gtin"
            ) from exc
    return items


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    reason = body.get("reason")
    detail = body.get("detail") or body.get("title") or ""
    return f"HTTP {response.status_code}: {detail}" + (f" ({reason})" if reason else "")


@dataclass
class Outcome:
    checkout: dict[str, Any] | None = None
    event: str | None = None
    signature: str = "not checked"
    events: list[str] = field(default_factory=list)


async def _follow(
    client: httpx.AsyncClient, ready: asyncio.Event, found: asyncio.Queue[tuple[str, Any]]
) -> None:
    """Read the till's stream; put every (event, data) on ``found``."""
    async with client.stream("GET", "/api/v1/checkouts/events", timeout=None) as response:
        if response.status_code != 200:
            raise click.ClickException(f"the till's event stream: {_problem(response)}")
        event: str | None = None
        data: list[str] = []
        async for line in response.aiter_lines():
            if line.startswith(": ready"):
                ready.set()
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and event is not None:
                await found.put((event, json.loads("\n".join(data)) if data else None))
                event, data = None, []


async def _verify(client: httpx.AsyncClient, checkout: dict[str, Any]) -> str:
    token = checkout.get("decision_jws")
    if not token:
        return "no decision to verify"
    try:
        jwks = (await client.get("/.well-known/jwks.json")).json()
        kid = jwt.get_unverified_header(token).get("kid")
        jwk = next(k for k in jwks["keys"] if k.get("kid") == kid)
        claims = jwt.decode(
            token,
            jwt.PyJWK(jwk).key,
            algorithms=["EdDSA"],
            audience=f"company:{checkout['company']['id']}",
            options={"verify_iss": False},
        )
    except (StopIteration, jwt.PyJWTError, KeyError, ValueError) as exc:
        return f"INVALID ({type(exc).__name__})"
    same = claims.get("checkout_id") == checkout["id"] and claims.get("amount") == checkout["amount"]
    return f"valid (platform key {kid})" if same else "INVALID (claims differ from the checkout)"


def _panel(checkout: dict[str, Any], status: Any, colour: str = "cyan") -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_row("checkout", checkout["id"])
    table.add_row("company", f"{checkout['company']['name']} (#{checkout['company']['id']})")
    table.add_row("amount", f"{checkout['amount']} {checkout['currency']}")
    table.add_row("items", ", ".join(f"{i['gtin']} × {i['quantity']}" for i in checkout["items"]))
    return Panel(Group(table, Text(""), status), title="Sésame till", border_style=colour)


async def _start(
    api: str,
    key: str,
    body: dict[str, Any],
    idempotency_key: str,
    wait: bool,
    wait_seconds: float,
    console: Console,
    as_json: bool,
) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=api.rstrip("/"), headers=headers, timeout=15) as client:
        ready = asyncio.Event()
        found: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        follower: asyncio.Task[None] | None = None
        if wait:
            follower = asyncio.create_task(_follow(client, ready, found))
            done, _ = await asyncio.wait(
                {follower, asyncio.create_task(ready.wait())}, timeout=10, return_when=asyncio.FIRST_COMPLETED
            )
            if follower in done:
                follower.result()  # raises the stream's error
        try:
            response = await client.post(
                "/api/v1/checkouts", json=body, headers={"Idempotency-Key": idempotency_key}
            )
            if response.status_code not in (200, 201):
                if as_json:
                    click.echo(json.dumps({"error": response.json()}, indent=2))
                else:
                    console.print(f"[red]checkout refused[/red]: {_problem(response)}")
                return EXIT_ERROR
            checkout: dict[str, Any] = response.json()
            if not wait:
                if as_json:
                    click.echo(json.dumps(checkout, indent=2))
                else:
                    console.print(_panel(checkout, Text(f"status: {checkout['status']}")))
                return EXIT_CONFIRMED
            outcome = await _wait(client, checkout, found, wait_seconds, console, as_json)
        finally:
            if follower is not None:
                follower.cancel()
    if as_json:
        click.echo(json.dumps({"checkout": outcome.checkout, "signature": outcome.signature}, indent=2))
    final = outcome.checkout or checkout
    return EXIT_CONFIRMED if final["status"] == "confirmed" and _paid(final) else EXIT_NOT_CONFIRMED


def _paid(checkout: dict[str, Any]) -> bool:
    payment = checkout.get("payment") or {}
    return bool(payment.get("status") == "succeeded")


async def _wait(
    client: httpx.AsyncClient,
    checkout: dict[str, Any],
    found: asyncio.Queue[tuple[str, Any]],
    wait_seconds: float,
    console: Console,
    as_json: bool,
) -> Outcome:
    outcome = Outcome()
    deadline = time.monotonic() + wait_seconds
    last_poll = time.monotonic()
    spinner = Spinner("dots", text="waiting for the citizen's decision…")
    with Live(_panel(checkout, spinner), console=console, refresh_per_second=8, transient=as_json) as live:
        while time.monotonic() < deadline:
            try:
                event, data = await asyncio.wait_for(found.get(), timeout=1)
            except TimeoutError:
                event, data = None, None
            if event in FINAL_EVENTS and isinstance(data, dict) and data.get("id") == checkout["id"]:
                outcome.checkout, outcome.event = data, event
                break
            if time.monotonic() - last_poll > 5:  # the stream may have dropped: ask
                last_poll = time.monotonic()
                polled = (await client.get(f"/api/v1/checkouts/{checkout['id']}")).json()
                if polled.get("status") in ("declined", "expired") or (
                    polled.get("status") == "confirmed"
                    and (polled.get("payment") or {}).get("status") != "processing"
                ):
                    outcome.checkout = polled
                    break
            left = max(0, int(deadline - time.monotonic()))
            spinner.text = Text(f"waiting for the citizen's decision… {left // 60}:{left % 60:02d}")
        final = outcome.checkout or checkout
        label, colour = FINAL_EVENTS.get(
            outcome.event or f"checkout.{final['status']}", (final["status"], "yellow")
        )
        if final["status"] == "confirmed" and not _paid(final):
            label, colour = "confirmed, but the payment failed", "red"
        outcome.signature = await _verify(client, final)
        lines = Text.assemble((f"{label.upper()}\n", f"bold {colour}"))
        if final.get("payment"):
            payment = final["payment"]
            lines.append(f"payment: {payment['status']} {payment.get('reference') or ''}\n")
        lines.append(f"decision signature: {outcome.signature}")
        live.update(_panel(final, lines, colour))
    return outcome


@pos.command()
@click.option("--api", default="http://127.0.0.1:8000", show_default=True, help="Sésame's base URL")
@click.option("--key", required=True, envvar="SESAME_TILL_KEY", help="the till's API key (sk_till_...)")
@click.option("--sesame-id", required=True, help="the citizen's sesame_id, read from their Sésame QR")
@click.option("--amount", required=True, help="decimal string, e.g. 12.50")
@click.option("--currency", default="EUR", show_default=True)
@click.option("--gtin", "gtins", multiple=True, required=True, help="GTIN or GTIN:QUANTITY (repeatable)")
@click.option("--idempotency-key", default=None, help="default: a new UUID")
@click.option("--wait/--no-wait", default=False, help="follow the checkout until it is decided or expires")
@click.option("--timeout", default=150.0, show_default=True, help="seconds to wait with --wait")
@click.option("--json", "as_json", is_flag=True)
def start(
    api: str,
    key: str,
    sesame_id: str,
    amount: str,
    currency: str,
    gtins: tuple[str, ...],
    idempotency_key: str | None,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Start a checkout; with --wait, show the citizen's decision as it comes. Exit 0 when paid."""
    body = {"sesame_id": sesame_id, "items": _items(gtins), "amount": amount, "currency": currency}
    console = Console(stderr=as_json)
    try:
        code = asyncio.run(
            _start(api, key, body, idempotency_key or str(uuid.uuid4()), wait, timeout, console, as_json)
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach {api}: {exc}") from exc
    raise SystemExit(code)


@pos.command()
@click.option("--api", default="http://127.0.0.1:8000", show_default=True)
@click.option("--email", required=True, help="the company account's email")
@click.option("--password", required=True, prompt=True, hide_input=True)
@click.option("--name", default="Till", show_default=True)
@click.option(
    "--webhook-url",
    default=None,
    help=(
        "where decisions are POSTed (Standard Webhooks); a private or loopback address needs "
        "SESAME_CHECKOUT_WEBHOOK_ALLOW_PRIVATE=1 on the server"
    ),
)
@click.option("--json", "as_json", is_flag=True)
def till(api: str, email: str, password: str, name: str, webhook_url: str | None, as_json: bool) -> None:
    """Create a till for a company account and print its API key (shown once)."""

    async def create() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=api.rstrip("/"), timeout=15) as client:
            token = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
            if token.status_code != 200:
                raise click.ClickException(f"login failed: {_problem(token)}")
            body: dict[str, Any] = {"name": name}
            if webhook_url:
                body["webhook_url"] = webhook_url
            created = await client.post(
                "/api/v1/tills",
                json=body,
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
            if created.status_code != 201:
                raise click.ClickException(f"till not created: {_problem(created)}")
            result: dict[str, Any] = created.json()
            return result

    created = asyncio.run(create())
    if as_json:
        click.echo(json.dumps(created, indent=2))
        return
    console = Console()
    console.print(f"till [bold]{created['name']}[/bold] (#{created['id']}) created.")
    console.print(f"API key (shown once): [bold]{created['api_key']}[/bold]")
    if created.get("webhook_secret"):
        console.print(f"webhook secret (shown once): [bold]{created['webhook_secret']}[/bold]")


COMMANDS = [pos]
