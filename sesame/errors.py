"""The one exception tree of Sésame.

Services raise these; ``sesame.problems`` turns them into RFC 9457 problem JSON in one place. Domain packages
subclass them in their own ``errors.py`` so a controller never builds an HTTP error by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One invalid input field: ``field`` is a dotted path (``body.registration_id``)."""

    field: str
    reason: str


class SesameError(Exception):
    """Base of every error a service raises on purpose."""

    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class Unauthenticated(SesameError):
    status = 401
    type_slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(SesameError):
    status = 403
    type_slug = "forbidden"
    title = "Not allowed"


class NotFound(SesameError):
    """Absent, or belongs to someone else: the two are never told apart."""

    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(SesameError):
    status = 409
    type_slug = "conflict"
    title = "Conflict with the current state"


class PayloadTooLarge(SesameError):
    status = 413
    type_slug = "payload-too-large"
    title = "Payload too large"


class RateLimited(SesameError):
    status = 429
    type_slug = "rate-limited"
    title = "Too many attempts"

    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class InvalidInput(SesameError):
    """422 with a field-level reason for each bad field."""

    status = 422
    type_slug = "invalid-input"
    title = "Invalid input"

    def __init__(self, errors: list[FieldError] | FieldError, detail: str | None = None) -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__(detail or "; ".join(f"{e.field}: {e.reason}" for e in self.errors))

    @classmethod
    def one(cls, field_name: str, reason: str) -> InvalidInput:
        return cls(FieldError(field_name, reason))


class BadSyntax(SesameError):
    """400: the request is not even well-formed (a GS1 path with a syntax error, bad JSON)."""

    status = 400
    type_slug = "bad-syntax"
    title = "Malformed request"


@dataclass
class Problem:
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.instance:
            body["instance"] = self.instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body
