from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from sesame.models import utc_field


class AccountKind(StrEnum):
    citizen = "citizen"
    company = "company"
    verifier = "verifier"
    admin = "admin"


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    active: bool = Field(default=True)
    created_at: datetime = utc_field()


class LoginAttempt(SQLModel, table=True):
    """Failed logins, kept for the rate-limit window; shared by every worker through the database."""

    __tablename__ = "login_attempts"

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=300, index=True)  # "account:<email>" or "address:<ip>"
    at: datetime = utc_field(index=True)
