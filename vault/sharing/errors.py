"""The sharing branch of Sésame's one exception tree: dossiers, shares, segments and offers."""

from __future__ import annotations

from sesame.errors import Conflict, NotFound

__all__ = [
    "DossierNotFound",
    "NoCompany",
    "OfferNotFound",
    "RecipientNotFound",
    "ShareNotFound",
]


class DossierNotFound(NotFound):
    """Absent, or another citizen's: never told apart."""

    type_slug = "dossier-not-found"
    title = "No such dossier"


class ShareNotFound(NotFound):
    """Unknown, expired or revoked share, or one meant for someone else: never told apart."""

    type_slug = "share-not-found"
    title = "No such shared dossier"


class RecipientNotFound(NotFound):
    type_slug = "recipient-not-found"
    title = "No Sésame with this id"


class OfferNotFound(NotFound):
    type_slug = "offer-not-found"
    title = "No such offer"


class NoCompany(Conflict):
    type_slug = "no-company"
    title = "Register your company first"
