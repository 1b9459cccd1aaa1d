"""Errors on web pages become HTML pages (the JSON API keeps RFC 9457 problems from ``sesame.problems``)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from sesame.errors import RateLimited, SesameError
from sesame.web.i18n import N_
from sesame.web.rendering import page
from sesame.web.session import LoginRequired, WrongRole, login_redirect, viewer_from_token

log = logging.getLogger("sesame.web")

TITLES = {
    400: N_("This request could not be read"),
    401: N_("Please log in"),
    403: N_("You are not allowed to do this"),
    404: N_("Nothing here"),
    409: N_("This conflicts with the current state"),
    413: N_("This file is too large"),
    422: N_("Some values are not valid"),
    429: N_("Too many attempts; please wait a moment"),
    500: N_("Something went wrong on our side"),
}
CSRF_FAILED = N_("This form has expired. Go back, reload the page and try again.")


def _error_page(request: Request[Any, Any, Any], status: int, detail: str | None) -> Response[str]:
    viewer = viewer_from_token(request)
    response = page(
        request,
        "pages/error.html",
        viewer=viewer,
        status_code=status,
        title=TITLES.get(status, TITLES[400] if status < 500 else TITLES[500]),
        detail=detail,
    )
    return response


def sesame_error_page(request: Request[Any, Any, Any], exc: SesameError) -> Response[Any]:
    if isinstance(exc, LoginRequired):
        return login_redirect(request)
    if isinstance(exc, WrongRole):
        return _error_page(request, 403, None)
    response = _error_page(request, exc.status, exc.detail if exc.status < 500 else None)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def http_error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        return _error_page(request, 403, CSRF_FAILED)
    if isinstance(exc, NotFoundException):
        return _error_page(request, 404, None)
    if isinstance(exc, ValidationException):
        return _error_page(request, 400, None)
    return _error_page(request, exc.status_code, None)


def unexpected_error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, None)


EXCEPTION_PAGES: dict[type[Exception] | int, Any] = {
    SesameError: sesame_error_page,
    HTTPException: http_error_page,
    Exception: unexpected_error_page,
}
