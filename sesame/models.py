"""Shared model helpers: every table of every package registers on ``SQLModel.metadata``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator
from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

__all__ = ["SQLModel", "UtcDatetime", "as_utc", "utc_field", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC), PostgreSQL aware ones: always aware UTC here."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


#: A timestamp in a response schema: always with its offset (RFC 3339 ``date-time``), whatever the database.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


def utc_field(*, index: bool = False, nullable: bool = False) -> datetime:
    """A timezone-aware timestamp column defaulting to now (UTC)."""
    return Field(  # type: ignore[no-any-return]
        default_factory=utcnow, sa_type=DateTime(timezone=True), index=index, nullable=nullable
    )
