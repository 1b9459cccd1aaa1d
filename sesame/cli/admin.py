from __future__ import annotations

import secrets

import click

from sesame.accounts.models import AccountKind
from sesame.accounts.services import create_account
from sesame.cli import emit, run
from sesame.db import create_engine, create_sessionmaker
from sesame.errors import SesameError
from sesame.settings import get_settings

#: Hooks ``async (session, account, name, scope) -> dict`` that turn an account into a verifier (wiring).
verifier_hooks: list[object] = []


@click.group()
def admin() -> None:
    """Create administrators and verifiers (never through the public API)."""


async def _create(
    kind: AccountKind, email: str, password: str, name: str | None, scope: list[str]
) -> dict[str, object]:
    from sesame import wiring

    wiring.install()
    if kind is AccountKind.verifier:
        wiring.check_verifier_scope(scope)
    settings = get_settings()
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            account = await create_account(
                session, kind=kind, email=email, password=password, display_name=name
            )
            out: dict[str, object] = {
                "id": account.id,
                "kind": kind.value,
                "email": account.email,
                "password": password,
            }
            if kind is AccountKind.verifier:
                out.update(await wiring.make_verifier(session, account, name or email, scope))
            return out
    finally:
        await engine.dispose()


@admin.command("create-admin")
@click.argument("email")
@click.option("--password", default=None, help="default: a new random password, printed once")
@click.option("--json", "as_json", is_flag=True)
def create_admin(email: str, password: str | None, as_json: bool) -> None:
    """Create an administrator account and print its credentials."""
    password = password or secrets.token_urlsafe(18)
    out = run(lambda: _create(AccountKind.admin, email, password, None, []))
    emit(out, as_json=as_json, human=f"admin {out['email']} created (id {out['id']}); password: {password}")


@admin.command("create-verifier")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--scope", required=True, help="comma-separated indicator keys this verifier may attest")
@click.option("--password", default=None)
@click.option("--json", "as_json", is_flag=True)
def create_verifier(name: str, email: str, scope: str, password: str | None, as_json: bool) -> None:
    """Create a verifier trusted for the indicators in SCOPE and print its credentials."""
    password = password or secrets.token_urlsafe(18)
    keys = [s.strip() for s in scope.split(",") if s.strip()]
    try:
        out = run(lambda: _create(AccountKind.verifier, email, password, name, keys))
    except SesameError as exc:
        raise click.ClickException(exc.detail) from exc
    emit(
        out,
        as_json=as_json,
        human=f"verifier {name} <{out['email']}> created; password: {password}; scope: {keys}",
    )


COMMANDS = [admin]
