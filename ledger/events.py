"""Ledger leaves: RFC 8785 canonical JSON, so a leaf hashes the same in every language.

A leaf is ``{"kind": ..., "v": 1, "time": ..., **data}``. Public events carry their public data.
Anything about a person goes in only as ``salted_commitment(salt, payload)``: the citizen keeps the salt
and the payload, and can later show both to prove the leaf is theirs; without them the leaf reveals nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import rfc8785

from ledger.errors import EventError

__all__ = [
    "EVENT_VERSION",
    "SALT_SIZE",
    "EventKind",
    "decode_event",
    "encode_event",
    "encode_personal_event",
    "new_salt",
    "salted_commitment",
]

EVENT_VERSION = 1
SALT_SIZE = 32
_RESERVED = frozenset({"kind", "v", "time"})


class EventKind(StrEnum):
    """The kinds of leaf the platform writes. Personal kinds carry only a salted commitment."""

    DISCLOSURE_FILED = "disclosure.filed"
    ATTESTATION_ISSUED = "attestation.issued"
    ATTESTATION_REVOKED = "attestation.revoked"
    ATTESTATION_REFUSED = "attestation.refused"
    PRODUCT_CARD_CHANGED = "product.card_changed"
    ACCOUNT_OPENED = "account.opened"
    ACCOUNT_CLOSED = "account.closed"
    GRANT_GIVEN = "grant.given"
    GRANT_WITHDRAWN = "grant.withdrawn"
    ACCESS_RECEIPT = "access.receipt"


def _timestamp(at: datetime) -> str:
    """RFC 3339 UTC with microseconds: one spelling per instant, sortable as text."""
    if at.tzinfo is None:
        raise EventError("event time must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are IEEE 754 doubles: larger integers are refused


def _plain(value: Any) -> bool:
    """Whether ``value`` is JSON whose RFC 8785 form ``json.dumps`` writes byte for byte: objects with ASCII
    keys (sorted alike by code point and by UTF-16 unit), strings, integers in the exact range, booleans, null,
    arrays. Floats (ECMAScript number formatting) and anything else are left to ``rfc8785``."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_SAFE_INTEGER <= value <= _SAFE_INTEGER)
    if kind is dict:
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return False


def _canonical(value: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of ``value``. Leaves are plain JSON (strings, integers, lists), which the C encoder writes
    in the canonical form about 4x faster than ``rfc8785``: escapes, separators and key order are the same
    (property-tested against ``rfc8785`` in tests/ledger/test_events.py); anything else goes to ``rfc8785``."""
    if _plain(value):
        try:
            return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate: not valid JSON text, rfc8785 says why
            pass
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EventError(f"not canonicalisable JSON: {exc}") from exc


def encode_event(kind: str, data: Mapping[str, Any], *, at: datetime) -> bytes:
    """The exact leaf bytes of a public event (RFC 8785)."""
    if not kind:
        raise EventError("event kind must not be empty")
    clash = _RESERVED & data.keys()
    if clash:
        raise EventError(f"event data must not set {sorted(clash)}")
    return _canonical({**data, "kind": str(kind), "v": EVENT_VERSION, "time": _timestamp(at)})


def new_salt() -> bytes:
    """A fresh 256-bit salt for one personal event; the citizen keeps it."""
    return secrets.token_bytes(SALT_SIZE)


def salted_commitment(salt: bytes, payload: Mapping[str, Any]) -> str:
    """Hex SHA-256(salt || canonical JSON of payload): hiding without the salt, binding with it."""
    if len(salt) < 16:
        raise EventError("salt must be at least 16 bytes")
    return hashlib.sha256(salt + _canonical(payload)).hexdigest()


def encode_personal_event(kind: str, salt: bytes, payload: Mapping[str, Any], *, at: datetime) -> bytes:
    """The leaf of an event about a person: only ``{"commitment": salted_commitment(salt, payload)}``."""
    return encode_event(kind, {"commitment": salted_commitment(salt, payload)}, at=at)


def decode_event(leaf: bytes) -> dict[str, Any]:
    """Parse leaf bytes, insisting they are canonical, so a leaf has exactly one valid encoding."""
    try:
        value = json.loads(leaf)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EventError("leaf is not JSON") from exc
    if not isinstance(value, dict) or not value.keys() >= _RESERVED:
        raise EventError("leaf is not an event object")
    if _canonical(value) != leaf:
        raise EventError("leaf is not in RFC 8785 canonical form")
    return value
