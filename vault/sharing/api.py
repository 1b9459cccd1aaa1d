"""Thin controllers: dossiers and shares, segments, offers (company side and citizen side)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from sesame.accounts.services import Principal
from sesame.settings import Settings
from vault.sharing import services
from vault.sharing.schemas import (
    DossierIn,
    DossierOut,
    DossierSummary,
    OfferIn,
    OfferOut,
    ReceivedOffer,
    ReceivedShare,
    SegmentOut,
    SegmentsIn,
    SegmentsOut,
    ShareCreated,
    SharedDossier,
    ShareIn,
    ShareOut,
)

__all__ = ["ROUTES"]

_TOKEN = Parameter(min_length=1, max_length=200, description="the link share's token")


class DossierController(Controller):
    path = "/api/v1/vault/dossiers"
    tags = ["dossiers"]

    @post("/", status_code=201, summary="Compile a dossier on a sector or a market")
    async def create(
        self, data: DossierIn, db: AsyncSession, principal: Principal, settings: Settings
    ) -> DossierOut:
        principal.require("citizen")
        return await services.create_dossier(db, owner_id=principal.id, data=data, k=settings.k_anonymity)

    @get("/", summary="My dossiers")
    async def list_own(self, db: AsyncSession, principal: Principal) -> list[DossierSummary]:
        principal.require("citizen")
        return await services.list_dossiers(db, owner_id=principal.id)

    @get("/{dossier_id:int}", summary="One of my dossiers, with each company's current profile")
    async def get_one(
        self, dossier_id: int, db: AsyncSession, principal: Principal, settings: Settings
    ) -> DossierOut:
        principal.require("citizen")
        return await services.get_dossier(
            db, owner_id=principal.id, dossier_id=dossier_id, k=settings.k_anonymity
        )

    @put("/{dossier_id:int}", summary="Replace a dossier's title, sector and companies")
    async def replace(
        self, dossier_id: int, data: DossierIn, db: AsyncSession, principal: Principal, settings: Settings
    ) -> DossierOut:
        principal.require("citizen")
        return await services.replace_dossier(
            db, owner_id=principal.id, dossier_id=dossier_id, data=data, k=settings.k_anonymity
        )

    @delete("/{dossier_id:int}", status_code=204, summary="Delete a dossier and end its shares")
    async def remove(self, dossier_id: int, db: AsyncSession, principal: Principal) -> None:
        principal.require("citizen")
        await services.delete_dossier(db, owner_id=principal.id, dossier_id=dossier_id)

    @post(
        "/{dossier_id:int}/shares", status_code=201, summary="Share with a citizen (sesame_id) or by a link"
    )
    async def share(
        self, dossier_id: int, data: ShareIn, db: AsyncSession, principal: Principal, settings: Settings
    ) -> ShareCreated:
        principal.require("citizen")
        return await services.share_dossier(
            db, settings, owner_id=principal.id, dossier_id=dossier_id, data=data
        )

    @get("/{dossier_id:int}/shares", summary="The shares of one of my dossiers")
    async def shares(self, dossier_id: int, db: AsyncSession, principal: Principal) -> list[ShareOut]:
        principal.require("citizen")
        return await services.list_shares(db, owner_id=principal.id, dossier_id=dossier_id)

    @delete("/{dossier_id:int}/shares/{share_id:int}", status_code=204, summary="Revoke a share")
    async def revoke(self, dossier_id: int, share_id: int, db: AsyncSession, principal: Principal) -> None:
        principal.require("citizen")
        await services.revoke_share(db, owner_id=principal.id, dossier_id=dossier_id, share_id=share_id)


class ReceivedDossierController(Controller):
    path = "/api/v1/vault/shared-dossiers"
    tags = ["dossiers"]

    @get("/", summary="Dossiers other citizens shared with me")
    async def inbox(self, db: AsyncSession, principal: Principal) -> list[ReceivedShare]:
        principal.require("citizen")
        return await services.received_shares(db, recipient_id=principal.id)

    @get("/{share_id:int}", summary="A dossier shared with me, with each company's current verified profile")
    async def read(
        self, share_id: int, db: AsyncSession, principal: Principal, settings: Settings
    ) -> SharedDossier:
        principal.require("citizen")
        return await services.shared_dossier(
            db, viewer_id=principal.id, share_id=share_id, k=settings.k_anonymity
        )

    @post("/{share_id:int}/import", status_code=201, summary="Copy a dossier shared with me into my dossiers")
    async def import_copy(
        self, share_id: int, db: AsyncSession, principal: Principal, settings: Settings
    ) -> DossierOut:
        principal.require("citizen")
        return await services.import_shared(
            db, viewer_id=principal.id, share_id=share_id, k=settings.k_anonymity
        )


class SharedLinkController(Controller):
    path = "/api/v1/shared-dossiers"
    tags = ["dossiers"]

    @get("/{token:str}", summary="A dossier shared by link (signed-in citizens)")
    async def read(
        self, db: AsyncSession, principal: Principal, settings: Settings, token: str = _TOKEN
    ) -> SharedDossier:
        principal.require("citizen")
        return await services.shared_dossier(db, viewer_id=principal.id, token=token, k=settings.k_anonymity)

    @post("/{token:str}/import", status_code=201, summary="Copy a dossier shared by link into my dossiers")
    async def import_copy(
        self, db: AsyncSession, principal: Principal, settings: Settings, token: str = _TOKEN
    ) -> DossierOut:
        principal.require("citizen")
        return await services.import_shared(db, viewer_id=principal.id, token=token, k=settings.k_anonymity)

    @get(
        "/{token:str}/qr.svg",
        summary="The link's QR code (404 once expired or revoked)",
        media_type="image/svg+xml",
    )
    async def qr(self, db: AsyncSession, settings: Settings, token: str = _TOKEN) -> Response[str]:
        svg = await services.share_qr_svg(db, settings, token=token)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


class SegmentController(Controller):
    path = "/api/v1"
    tags = ["segments"]

    @get("/segments", summary="The catalogue of interest segments")
    async def catalogue(self) -> list[SegmentOut]:
        return services.segment_catalogue()

    @get("/vault/segments", summary="My segments, my zone for offers, the companies I muted")
    async def mine(self, db: AsyncSession, principal: Principal) -> SegmentsOut:
        principal.require("citizen")
        return await services.get_segments(db, citizen_id=principal.id)

    @put(
        "/vault/segments",
        summary="Opt into exactly these segments (out of all others); set my zone for offers",
    )
    async def set_mine(self, data: SegmentsIn, db: AsyncSession, principal: Principal) -> SegmentsOut:
        principal.require("citizen")
        return await services.set_segments(db, citizen_id=principal.id, data=data)


class ReceivedOfferController(Controller):
    path = "/api/v1/vault/offers"
    tags = ["offers"]

    @get("/", summary="Offers delivered to me (muted companies left out)")
    async def inbox(
        self, db: AsyncSession, principal: Principal, include_expired: bool = Parameter(default=False)
    ) -> list[ReceivedOffer]:
        principal.require("citizen")
        return await services.received_offers(db, citizen_id=principal.id, include_expired=include_expired)

    @delete("/{offer_id:int}", status_code=204, summary="Remove an offer from my list")
    async def dismiss(self, offer_id: int, db: AsyncSession, principal: Principal) -> None:
        principal.require("citizen")
        await services.dismiss_offer(db, citizen_id=principal.id, offer_id=offer_id)

    @put("/mutes/{company_id:int}", status_code=204, summary="Mute a company: no more offers from it")
    async def mute(self, company_id: int, db: AsyncSession, principal: Principal) -> None:
        principal.require("citizen")
        await services.mute_company(db, citizen_id=principal.id, company_id=company_id)

    @delete("/mutes/{company_id:int}", status_code=204, summary="Unmute a company")
    async def unmute(self, company_id: int, db: AsyncSession, principal: Principal) -> None:
        principal.require("citizen")
        await services.unmute_company(db, citizen_id=principal.id, company_id=company_id)


class OfferController(Controller):
    path = "/api/v1/offers"
    tags = ["offers"]

    @post("/", status_code=201, summary="Send an offer to a segment (and a zone); learn only how many got it")
    async def send(
        self, data: OfferIn, db: AsyncSession, principal: Principal, settings: Settings
    ) -> OfferOut:
        principal.require("company")
        return await services.send_offer(db, principal_id=principal.id, data=data, k=settings.k_anonymity)

    @get("/", summary="My company's offers")
    async def list_own(self, db: AsyncSession, principal: Principal, settings: Settings) -> list[OfferOut]:
        principal.require("company")
        return await services.company_offers(db, principal_id=principal.id, k=settings.k_anonymity)

    @get("/{offer_id:int}", summary="One of my company's offers")
    async def get_one(
        self, offer_id: int, db: AsyncSession, principal: Principal, settings: Settings
    ) -> OfferOut:
        principal.require("company")
        return await services.company_offer(
            db, principal_id=principal.id, offer_id=offer_id, k=settings.k_anonymity
        )


ROUTES: list[Any] = [
    DossierController,
    ReceivedDossierController,
    SharedLinkController,
    SegmentController,
    ReceivedOfferController,
    OfferController,
]
