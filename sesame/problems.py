"""The one place where errors become HTTP: RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ledger.errors import LedgerError, TamperError, UnknownIndexError
from sesame.errors import BadSyntax, FieldError, InvalidInput, NotFound, Problem, RateLimited, SesameError

log = logging.getLogger("sesame")
PROBLEM_BASE = "https://sesame.example/problems/"
MEDIA_TYPE = "application/problem+json"
#: The web shell's HTML page for a browser asking for a path no route serves (``(request, exc) -> Response``);
#: ``sesame.web`` installs it. The API, and every client that does not prefer HTML, keep problem JSON.
BROWSER_PAGES: list[Callable[[Request[Any, Any, Any], HTTPException], Response[Any]]] = []
_NOT_PAGES = ("/api/", "/.well-known/", "/static/", "/schema", "/health")


def _response(problem: Problem, headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(problem.as_dict(), status_code=problem.status, media_type=MEDIA_TYPE, headers=headers)


def _field_errors(extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                source = str(item.get("source") or "body")
                key = item.get("key")
                where = f"{source}.{key}" if key else source
                errors.append(FieldError(where, str(item.get("message", "invalid"))))
    return errors


def sesame_error(request: Request[Any, Any, Any], exc: SesameError) -> Response[dict[str, Any]]:
    errors = [{"field": e.field, "reason": e.reason} for e in getattr(exc, "errors", [])]
    problem = Problem(
        type=PROBLEM_BASE + exc.type_slug,
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        instance=request.url.path,
        errors=errors,
        extra=exc.extra,
    )
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="sesame"'}
    if exc.status >= 500:
        log.error("server-side domain error: %s", exc.detail)
    return _response(problem, headers)


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Framework validation: a field-level reason is a 422, an unreadable body a 400."""
    errors = _field_errors(exc.extra)
    keyed = [e for e in errors if e.field not in ("body", "query", "path", "header", "cookie")]
    status = 422 if keyed else 400
    detail = exc.detail or "invalid request"
    if status == 400 and errors:
        detail = "; ".join(e.reason for e in errors)
    problem = Problem(
        type=PROBLEM_BASE + ("invalid-input" if status == 422 else "bad-syntax"),
        title="Invalid input" if status == 422 else "Malformed request",
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=[{"field": e.field, "reason": e.reason} for e in errors],
    )
    return _response(problem)


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page: outside the API, and ``text/html`` preferred to JSON in ``Accept``."""
    if request.url.path.startswith(_NOT_PAGES):
        return False
    best = request.accept.best_match(["application/json", MEDIA_TYPE, "text/html"])
    return best == "text/html"


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status in (404, 405) and BROWSER_PAGES and wants_html(request):
        return BROWSER_PAGES[0](request, exc)
    problem = Problem(
        type=PROBLEM_BASE + f"http-{status}",
        title=str(getattr(exc, "detail", "")) or "Error",
        status=status,
        detail=str(exc.detail),
        instance=request.url.path,
    )
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="sesame"')
    return _response(problem, headers or None)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    problem = Problem(
        type=PROBLEM_BASE + "internal",
        title="Internal error",
        status=500,
        detail="an unexpected error happened; it has been logged",
        instance=request.url.path,
    )
    return _response(problem)


def ledger_error(request: Request[Any, Any, Any], exc: LedgerError) -> Response[dict[str, Any]]:
    """The ledger package knows nothing of HTTP; its errors are mapped here like any domain error."""
    if isinstance(exc, UnknownIndexError):
        return sesame_error(request, NotFound(str(exc)))
    if isinstance(exc, TamperError):
        log.error("ledger integrity failure: %s", exc)
        return unexpected_error(request, exc)
    return sesame_error(request, InvalidInput.one("body", str(exc)))


#: asyncpg's errors for a server going away or not back yet, by name (the kernel does not import a driver).
_DISCONNECTS = frozenset(
    {
        "AdminShutdownError",
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "CrashShutdownError",
        "InternalClientError",
        "TooManyConnectionsError",
    }
)


def _unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database (or another backing service) cannot be reached now"."""
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    ):
        return True
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ConnectionError) or type(seen).__name__ in _DISCONNECTS:
            return True
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "orig", None)
    return False


def unavailable_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The database restarting or out of reach: a 503 the client may retry, not a 500; any other database
    error stays an unexpected one."""
    if not _unavailable(exc):
        return unexpected_error(request, exc)
    log.warning("backing service unavailable on %s %s: %r", request.method, request.url.path, exc)
    problem = Problem(
        type=PROBLEM_BASE + "unavailable",
        title="Service unavailable",
        status=503,
        detail="the service cannot reach its database right now; try again shortly",
        instance=request.url.path,
    )
    return _response(problem, {"Retry-After": "1"})


def nesting_error(request: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    """JSON nested deeper than the decoder recurses (``[[[[...]]]]``): the body is refused, not a 500."""
    log.warning("request too deeply nested on %s %s", request.method, request.url.path)
    return sesame_error(request, BadSyntax("the request body is nested too deeply"))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    SesameError: sesame_error,
    LedgerError: ledger_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    RecursionError: nesting_error,
    DBAPIError: unavailable_error,
    ConnectionError: unavailable_error,
    Exception: unexpected_error,
}
