"""Every web page in one router: HTML error pages, the ``viewer`` dependency, static files beside it."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.static_files import create_static_files_router

from sesame import problems
from sesame.web import products
from sesame.web.auth import AuthPages
from sesame.web.citizen import CitizenPages
from sesame.web.company import CompanyPages
from sesame.web.error_pages import EXCEPTION_PAGES, http_error_page
from sesame.web.offers import CompanyOfferPages, OfferPages
from sesame.web.opinions import OpinionPages
from sesame.web.payments import PaymentPages
from sesame.web.products import PhotoScanPage, ProductPages, install_resolver_page
from sesame.web.public import PublicPages
from sesame.web.rendering import STATIC_DIR
from sesame.web.session import provide_viewer
from sesame.web.sharing import DossierPages, LinkSharePages, ReceivedDossierPages
from sesame.web.verifier import VerifierPages
from sesame.web.zones import ZonePages

__all__ = ["ROUTES", "render_product_page"]


def render_product_page(card: dict[str, Any], lang: str) -> str:
    """The product page of a card dict (``scanner.services.card_for_gtin``) in ``lang``, as a string."""
    return products.render_product_page(card, lang)


PAGES = Router(
    path="/",
    route_handlers=[
        AuthPages,
        PublicPages,
        ProductPages,
        CitizenPages,
        PaymentPages,
        OpinionPages,
        DossierPages,
        ReceivedDossierPages,
        LinkSharePages,
        OfferPages,
        CompanyPages,
        CompanyOfferPages,
        VerifierPages,
        ZonePages,
    ],
    dependencies={"viewer": Provide(provide_viewer)},
    exception_handlers=EXCEPTION_PAGES,
    include_in_schema=False,
)

#: Static files are referenced with ``?v=<content hash>`` (``static_url``), so they may be cached for long.
STATIC = create_static_files_router(
    path="/static",
    directories=[STATIC_DIR],
    cache_control=CacheControlHeader(max_age=86_400, public=True),
    include_in_schema=False,
)


class UploadPages(PhotoScanPage):
    """The page upload routes, registered on the app itself: their body limit is read from the app's settings
    when the app instantiates them (``sesame.uploads``), which a controller inside ``PAGES`` would be too early
    for. Same dependencies and error pages as ``PAGES``."""

    dependencies = {"viewer": Provide(provide_viewer)}
    exception_handlers = EXCEPTION_PAGES


ROUTES: list[Any] = [PAGES, UploadPages, STATIC]
install_resolver_page()
# A browser asking for a page no route serves gets the HTML "Nothing here" page, not problem JSON.
problems.BROWSER_PAGES[:] = [http_error_page]
