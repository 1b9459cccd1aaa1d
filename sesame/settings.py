"""Typed settings, read once from the environment (``SESAME_*``).

Tests build a ``Settings`` directly and hand it to ``create_app``; the server and the CLI call
``get_settings()``, which is cached so every part of one process sees the same values.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SESAME_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/sesame.db"
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    key_dir: Path = Path("var/keys")
    #: Base64url master KEK given by the environment instead of a file (``kid:base64``).
    master_kek: str | None = None
    #: Base64url Ed25519 seed given by the environment instead of a file (``kid:base64``).
    signing_key: str | None = None
    token_audience: str = "sesame"
    token_issuer: str = "sesame"
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    ledger_origin: str = "sesame.example/ledger"
    login_attempts_per_account: int = 10
    login_attempts_per_address: int = 50
    login_window_seconds: int = 300
    checkout_ttl_seconds: int = 120
    k_anonymity: int = Field(default=5, ge=2)
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 8_388_608
    debug: bool = False

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
