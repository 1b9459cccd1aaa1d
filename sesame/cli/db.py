from __future__ import annotations

import click

from sesame import migrate
from sesame.settings import get_settings


@click.group()
def db() -> None:
    """Database migrations."""


@db.command()
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    migrate.upgrade(get_settings(), revision)
    click.echo(f"database at {revision}")


@db.command()
def check() -> None:
    """Fail if the models and the migrations differ."""
    migrate.check(get_settings())
    click.echo("models and migrations agree")


COMMANDS = [db]
