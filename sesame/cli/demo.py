from __future__ import annotations

import click

from sesame import migrate, wiring
from sesame.cli import run
from sesame.db import create_engine, create_sessionmaker
from sesame.keys import KeyRing
from sesame.settings import get_settings


async def _seed() -> list[tuple[str, str, str, str]]:
    from sesame import seed

    settings = get_settings()
    keys = KeyRing.for_settings(settings)
    engine = create_engine(settings)
    try:
        logins = await seed.seed_demo(create_sessionmaker(engine), keys, settings)
    finally:
        await engine.dispose()
    return seed.login_rows(logins)


@click.command()
@click.option("--serve/--no-serve", default=True, help="serve after seeding")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(serve: bool, host: str, port: int) -> None:
    """Migrate, seed the demo data, print the logins, serve."""
    from rich.console import Console
    from rich.table import Table

    settings = get_settings()
    wiring.install()
    migrate.upgrade(settings)
    rows = run(_seed)
    # Logins are copied from here: never cut an email or a password, even in a narrow terminal.
    console = Console(width=max(Console().width, 140))
    table = Table(title="Sésame demo logins")
    table.add_column("role")
    table.add_column("who")
    table.add_column("email", no_wrap=True)
    table.add_column("password", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    base = f"http://{host}:{port}"
    console.print(
        "\n".join(
            [
                f"Open {base}/ (web app), {base}/schema (OpenAPI), {base}/api/v1/companies (companies),",
                f"{base}/api/v1/ledger/checkpoint (signed checkpoint), {base}/scan (the shopper's scanner).",
            ]
        )
    )
    if serve:
        from sesame.cli.serve import serve_app

        serve_app(host, port, 1)


COMMANDS = [demo]
