"""Run Alembic from code (CLI, tests, demo) with the same settings as the server."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from sesame.settings import Settings

ROOT = Path(__file__).resolve().parent


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["settings"] = settings
    config.attributes["skip_logging"] = True
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def check(settings: Settings) -> None:
    """Fail when the models and the migrations differ (``alembic check``)."""
    command.check(alembic_config(settings))


def revision(settings: Settings, message: str) -> None:
    command.revision(alembic_config(settings), message=message, autogenerate=True)


def regenerate_initial(message: str = "initial schema") -> Path:
    """Rewrite revision 0001 from the models (allowed only until the first release lands).

    Autogenerates against an empty temporary SQLite database, so the file holds every table of every package.
    """
    import tempfile

    versions = ROOT / "migrations" / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp}/empty.db", key_dir=Path(tmp) / "keys")
        command.revision(alembic_config(settings), message=message, autogenerate=True, rev_id="0001")
    (created,) = versions.glob("0001_*.py")
    return created


if __name__ == "__main__":
    print(regenerate_initial())
