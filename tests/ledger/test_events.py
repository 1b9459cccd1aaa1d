"""Canonical leaves: RFC 8785 bytes, reserved keys, salted commitments."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import EventError
from ledger.events import (
    EventKind,
    decode_event,
    encode_event,
    encode_personal_event,
    new_salt,
    salted_commitment,
)

RELAXED = settings(deadline=None)  # CPU-bound examples: no flaky deadline on a busy machine
AT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)


def test_leaf_bytes_are_canonical() -> None:
    leaf = encode_event(EventKind.DISCLOSURE_FILED, {"version": 2, "company_id": 3, "é": "ü"}, at=AT)
    assert (
        leaf
        == (
            '{"company_id":3,"kind":"disclosure.filed","time":"2026-03-01T12:30:05.123456Z","v":1,'
            '"version":2,"é":"ü"}'
        ).encode()
    )
    assert decode_event(leaf)["company_id"] == 3


def test_time_is_normalised_to_utc() -> None:
    paris = AT.astimezone(timezone(timedelta(hours=1)))
    assert encode_event("x", {}, at=paris) == encode_event("x", {}, at=AT)
    with pytest.raises(EventError):
        encode_event("x", {}, at=datetime(2026, 1, 1))


@pytest.mark.parametrize("key", ["kind", "v", "time"])
def test_reserved_keys(key: str) -> None:
    with pytest.raises(EventError):
        encode_event("x", {key: 1}, at=AT)


def test_not_json() -> None:
    with pytest.raises(EventError):
        encode_event("x", {"n": float("nan")}, at=AT)
    with pytest.raises(EventError):
        encode_event("x", {"o": object()}, at=AT)


def test_decode_rejects_non_canonical() -> None:
    leaf = encode_event("x", {"a": 1}, at=AT)
    with pytest.raises(EventError):
        decode_event(leaf.replace(b'{"a":1,', b'{"a": 1,'))
    with pytest.raises(EventError):
        decode_event(b"[1]")
    with pytest.raises(EventError):
        decode_event(b"\xff")


def test_salted_commitment() -> None:
    salt = bytes(range(32))
    payload = {"grant_id": 9, "fields": ["email"]}
    expected = hashlib.sha256(salt + b'{"fields":["email"],"grant_id":9}').hexdigest()
    assert salted_commitment(salt, payload) == expected
    leaf = encode_personal_event(EventKind.GRANT_GIVEN, salt, payload, at=AT)
    event = decode_event(leaf)
    assert event["commitment"] == expected
    assert b"email" not in leaf
    with pytest.raises(EventError):
        salted_commitment(b"short", payload)


def test_salts_are_fresh() -> None:
    assert len(new_salt()) == 32
    assert new_salt() != new_salt()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@RELAXED
@given(
    data=st.dictionaries(st.text(max_size=8).filter(lambda k: k not in {"kind", "v", "time"}), json_values)
)
def test_round_trip(data: dict[str, object]) -> None:
    leaf = encode_event("x", data, at=AT)
    decoded = decode_event(leaf)
    assert {k: v for k, v in decoded.items() if k not in {"kind", "v", "time"}} == data
    assert encode_event("x", data, at=AT) == leaf


# Everything JSON can hold, and a little more: floats (left to rfc8785), integers past 2**53 and lone surrogates
# (both refused), non-ASCII and astral keys (sorted by UTF-16 unit in RFC 8785), control characters.
any_text = st.text(alphabet=st.characters(codec=None), max_size=8)
wide_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3),
    max_leaves=12,
)


@RELAXED
@given(value=st.dictionaries(any_text, wide_values, max_size=4))
def test_the_fast_encoder_writes_exactly_what_rfc8785_writes(value: dict[str, object]) -> None:
    """Leaves go through ``json.dumps`` when they are plain JSON: the bytes must be rfc8785's, or the same
    refusal (a leaf hashed differently here than in another language would break every proof)."""
    import rfc8785

    from ledger.events import _canonical

    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, UnicodeEncodeError):
        with pytest.raises(EventError):
            _canonical(value)
        return
    assert _canonical(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\ufb01": 2},  # UTF-16 order puts the astral key (a surrogate pair) first
        {"a": '\x00\x1f\x7f\u2028"\\\b\t\n\f\r'},
        {"n": 2**53 - 1, "m": -(2**53) + 1, "t": True, "f": False, "z": None, "l": [1, "é", []]},
        {"x": 1.5e300},
    ],
)
def test_the_fast_encoder_on_the_tricky_cases(value: dict[str, object]) -> None:
    import rfc8785

    from ledger.events import _canonical

    assert _canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [{"big": 2**53}, {"s": "\ud800"}, {"k": float("nan")}])
def test_what_rfc8785_refuses_is_refused(value: dict[str, object]) -> None:
    from ledger.events import _canonical

    with pytest.raises(EventError):
        _canonical(value)
