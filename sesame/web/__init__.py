"""Sésame's web pages: Jinja2 templates, one stylesheet, vendored htmx, in French and English.

Pages call the domain packages' service functions (never their tables) and render server-side; the browser
runs JavaScript only where it must: the camera scanner, the ledger proofs checked with WebCrypto, the live
payment prompt. Every form posts to a path outside ``/api/`` with a CSRF token; the session is the API's own
EdDSA token in an HttpOnly, SameSite=Lax cookie.

``ROUTES`` (collected by ``sesame.app``) and ``render_product_page`` (used by the resolver of ``scanner`` for
browsers) are loaded lazily, so importing ``sesame.web.session`` from the app factory stays cheap::

    from sesame.web import render_product_page
    html = render_product_page(card, "fr")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sesame.web.routes import ROUTES, render_product_page

__all__ = ["ROUTES", "render_product_page"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sesame.web import routes

        return getattr(routes, name)
    raise AttributeError(name)
