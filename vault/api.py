"""Thin controllers: the citizen's vault (``/api/v1/vault``), companies on a Sésame (``/api/v1/sesames``),
and the public SD-JWT verifier. Parse, call ``vault.services``, return a schema; errors are mapped elsewhere."""

from __future__ import annotations

import io
from typing import Annotated, Any

import segno
from litestar import Controller, Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from sesame.accounts.services import Principal
from sesame.keys import KeyRing
from sesame.settings import Settings
from vault import sdjwt, services
from vault.models import CompanyAccount, FieldRequest, Grant
from vault.schemas import (
    AcceptIn,
    CompanyAccountOut,
    CompanyReadOut,
    DecisionIn,
    DecisionOut,
    FieldIn,
    FieldOut,
    GrantIn,
    GrantOut,
    PresentationIn,
    PresentationOut,
    ReceiptOut,
    RequestIn,
    RequestOut,
    SettingsIO,
    VaultOut,
    VerifyIn,
    VerifyOut,
)

NO_STORE = {"Cache-Control": "no-store"}
#: A row id in a path: what the tables can hold (PostgreSQL ``integer``), so a larger one is a 400, not a 500.
Id = Annotated[int, Parameter(ge=1, le=2_147_483_647)]


async def provide_citizen(principal: Principal) -> Principal:
    return principal.require("citizen")


async def provide_company(principal: Principal) -> Principal:
    return principal.require("company")


def card_url(settings: Settings, sesame_id: str) -> str:
    return f"{settings.public_url}/s/{sesame_id}"


def _field(value: services.FieldValue) -> FieldOut:
    return FieldOut(name=value.name, value=value.value, version=value.version, updated_at=value.updated_at)


def _account(a: CompanyAccount) -> CompanyAccountOut:
    return CompanyAccountOut.model_validate(services.account_json(a))


def _grant(g: Grant) -> GrantOut:
    return GrantOut.model_validate(services.grant_json(g, services.utcnow()))


def _request(q: FieldRequest) -> RequestOut:
    return RequestOut.model_validate(services.request_json(q))


class VaultController(Controller):
    """The citizen's own vault. Another citizen's things are 404, never 403."""

    path = "/api/v1/vault"
    tags = ["vault"]
    dependencies = {"citizen": Provide(provide_citizen)}

    @get("/", summary="The vault: sesame_id, field names, company accounts, grants")
    async def overview(self, citizen: Principal, db: AsyncSession, settings: Settings) -> VaultOut:
        view = await services.overview(db, account_id=citizen.id)
        v = view.vault
        return VaultOut(
            sesame_id=v.sesame_id,
            card_url=card_url(settings, v.sesame_id),
            fields=view.field_names,
            accounts=[_account(a) for a in view.accounts],
            grants=[_grant(g) for g in view.grants],
            settings=SettingsIO(
                contactless=v.contactless, highlights=list(v.highlights), language=v.language
            ),  # type: ignore[arg-type]
        )

    @delete("/", status_code=204, summary="Erase the vault: crypto-shred, close accounts, withdraw grants")
    async def erase(self, citizen: Principal, db: AsyncSession) -> None:
        await services.erase_vault(db, account_id=citizen.id)

    # -- fields --------------------------------------------------------------------------------------------
    @get("/fields", summary="Every field, decrypted (latest version)")
    async def list_fields(self, citizen: Principal, db: AsyncSession, keys: KeyRing) -> list[FieldOut]:
        return [_field(f) for f in await services.get_fields(db, keys, account_id=citizen.id)]

    @get("/fields/{name:str}", summary="One field, decrypted")
    async def get_field(self, citizen: Principal, db: AsyncSession, keys: KeyRing, name: str) -> FieldOut:
        return _field(await services.get_field(db, keys, account_id=citizen.id, name=name))

    @get("/fields/{name:str}/versions", summary="Every kept version of a field, newest first")
    async def field_versions(
        self, citizen: Principal, db: AsyncSession, keys: KeyRing, name: str
    ) -> list[FieldOut]:
        return [_field(f) for f in await services.field_history(db, keys, account_id=citizen.id, name=name)]

    @put("/fields/{name:str}", summary="Set a field (a new version; the old ones are kept)")
    async def set_field(
        self, citizen: Principal, db: AsyncSession, keys: KeyRing, name: str, data: FieldIn
    ) -> FieldOut:
        return _field(await services.set_field(db, keys, account_id=citizen.id, name=name, value=data.value))

    @delete("/fields/{name:str}", status_code=204, summary="Delete a field and all its versions")
    async def delete_field(self, citizen: Principal, db: AsyncSession, name: str) -> None:
        await services.delete_field(db, account_id=citizen.id, name=name)

    # -- company accounts ----------------------------------------------------------------------------------
    @get("/company-accounts", summary="Company accounts on this Sésame")
    async def accounts(self, citizen: Principal, db: AsyncSession) -> list[CompanyAccountOut]:
        return [_account(a) for a in await services.list_company_accounts(db, account_id=citizen.id)]

    @post("/company-accounts/{account_id:int}/accept", status_code=200, summary="Accept a company's account")
    async def accept(
        self, citizen: Principal, db: AsyncSession, account_id: Id, data: AcceptIn | None = None
    ) -> CompanyAccountOut:
        account = await services.decide_company_account(
            db,
            account_id=citizen.id,
            company_account_id=account_id,
            action="accept",
            shown_version=data.civil_status_version if data else None,
        )
        return _account(account)

    @post(
        "/company-accounts/{account_id:int}/decline", status_code=200, summary="Decline a company's account"
    )
    async def decline(self, citizen: Principal, db: AsyncSession, account_id: Id) -> CompanyAccountOut:
        return _account(
            await services.decide_company_account(
                db, account_id=citizen.id, company_account_id=account_id, action="decline"
            )
        )

    @post(
        "/company-accounts/{account_id:int}/close",
        status_code=200,
        summary="Close an account (withdraws its grants)",
    )
    async def close(self, citizen: Principal, db: AsyncSession, account_id: Id) -> CompanyAccountOut:
        return _account(
            await services.decide_company_account(
                db, account_id=citizen.id, company_account_id=account_id, action="close"
            )
        )

    # -- grants and requests -------------------------------------------------------------------------------
    @get("/grants", summary="Grants, with their state now (given, withdrawn, expired)")
    async def grants(self, citizen: Principal, db: AsyncSession) -> list[GrantOut]:
        return [_grant(g) for g in await services.list_grants(db, account_id=citizen.id)]

    @post("/grants", status_code=201, summary="Grant fields to a company with an open account")
    async def give(self, citizen: Principal, db: AsyncSession, data: GrantIn) -> GrantOut:
        grant = await services.give_grant(
            db,
            account_id=citizen.id,
            company_account_id=data.company_account_id,
            fields=data.fields,
            purpose=data.purpose,
            expires_at=data.expires_at,
        )
        return _grant(grant)

    @delete("/grants/{grant_id:int}", status_code=200, summary="Withdraw a grant")
    async def withdraw(self, citizen: Principal, db: AsyncSession, grant_id: Id) -> GrantOut:
        return _grant(await services.withdraw_grant(db, account_id=citizen.id, grant_id=grant_id))

    @get("/requests", summary="Companies' requests for fields, newest first")
    async def requests(self, citizen: Principal, db: AsyncSession) -> list[RequestOut]:
        return [_request(q) for q in await services.list_requests(db, account_id=citizen.id)]

    @post("/requests/{request_id:int}/decision", status_code=200, summary="Approve a request field by field")
    async def decide(
        self, citizen: Principal, db: AsyncSession, request_id: Id, data: DecisionIn
    ) -> DecisionOut:
        request, grant = await services.decide_request(
            db, account_id=citizen.id, request_id=request_id, approve=data.approve, expires_at=data.expires_at
        )
        return DecisionOut(request=_request(request), grant=_grant(grant) if grant else None)

    # -- receipts ------------------------------------------------------------------------------------------
    @get("/receipts", summary="Who read what, when, why (granted and denied), newest first")
    async def receipts(
        self,
        citizen: Principal,
        db: AsyncSession,
        limit: int = Parameter(default=100, ge=1, le=1000),
        before: int | None = Parameter(default=None, ge=1),
    ) -> list[ReceiptOut]:
        items = await services.list_receipts(db, account_id=citizen.id, limit=limit, before=before)
        return [ReceiptOut.model_validate(services.receipt_json(r)) for r in items]

    @get(
        "/receipts/{receipt_id:int}/proof", summary="A receipt's inclusion proof against a signed checkpoint"
    )
    async def proof(self, citizen: Principal, db: AsyncSession, receipt_id: Id) -> dict[str, Any]:
        return await services.receipt_proof(db, account_id=citizen.id, receipt_id=receipt_id)

    # -- export, card, settings, presentations -------------------------------------------------------------
    @get("/export", summary="Everything in the vault, as JSON")
    async def export(self, citizen: Principal, db: AsyncSession, keys: KeyRing) -> Response[dict[str, Any]]:
        body = await services.export_vault(db, keys, account_id=citizen.id)
        return Response(
            body,
            headers={**NO_STORE, "Content-Disposition": 'attachment; filename="sesame-export.json"'},
        )

    @get("/qr.svg", summary="The citizen's Sésame card: a QR of the sesame link", media_type="image/svg+xml")
    async def qr(self, citizen: Principal, db: AsyncSession, settings: Settings) -> Response[bytes]:
        view = await services.overview(db, account_id=citizen.id)
        buffer = io.BytesIO()
        segno.make(card_url(settings, view.vault.sesame_id), error="m").save(
            buffer, kind="svg", scale=6, border=2, title="Sésame"
        )
        return Response(buffer.getvalue(), media_type="image/svg+xml", headers=NO_STORE)

    @get("/settings", summary="Checkout preferences")
    async def get_settings(self, citizen: Principal, db: AsyncSession) -> SettingsIO:
        s = await services.citizen_settings(db, citizen.id)
        return SettingsIO(contactless=s.contactless, highlights=s.highlights, language=s.language)  # type: ignore[arg-type]

    @put("/settings", summary="Change checkout preferences")
    async def put_settings(self, citizen: Principal, db: AsyncSession, data: SettingsIO) -> SettingsIO:
        s = await services.update_settings(
            db,
            account_id=citizen.id,
            contactless=data.contactless,
            highlights=data.highlights,
            language=data.language,
        )
        return SettingsIO(contactless=s.contactless, highlights=s.highlights, language=s.language)  # type: ignore[arg-type]

    @post("/presentations", status_code=201, summary="An SD-JWT of chosen fields, key-bound to an audience")
    async def present(
        self, citizen: Principal, db: AsyncSession, keys: KeyRing, settings: Settings, data: PresentationIn
    ) -> PresentationOut:
        token = await services.issue_presentation(
            db,
            keys,
            account_id=citizen.id,
            issuer=settings.public_url,
            fields=data.fields,
            audience=data.audience,
            nonce=data.nonce,
        )
        return PresentationOut(presentation=token)


class SesameController(Controller):
    """A company on a citizen's Sésame. No open account: 404, whether or not the Sésame exists."""

    path = "/api/v1/sesames/{sesame_id:str}"
    tags = ["sesames"]
    dependencies = {"company": Provide(provide_company)}

    @post("/company-accounts", status_code=201, summary="Ask to open an account (needs attested indicators)")
    async def open_account(self, company: Principal, db: AsyncSession, sesame_id: str) -> CompanyAccountOut:
        return _account(
            await services.request_company_account(db, principal_id=company.id, sesame_id=sesame_id)
        )

    @get("/company-account", summary="This company's account on the Sésame (to follow the decision)")
    async def my_account(self, company: Principal, db: AsyncSession, sesame_id: str) -> CompanyAccountOut:
        return _account(await services.company_account_on(db, principal_id=company.id, sesame_id=sesame_id))

    @post("/requests", status_code=201, summary="Ask for fields with a purpose")
    async def request_fields(
        self, company: Principal, db: AsyncSession, sesame_id: str, data: RequestIn
    ) -> RequestOut:
        request = await services.request_fields(
            db,
            principal_id=company.id,
            sesame_id=sesame_id,
            fields=data.fields,
            purpose=data.purpose,
            expires_at=data.expires_at,
        )
        return _request(request)

    @get("/requests/{request_id:int}", summary="One of this company's requests, with the citizen's decision")
    async def get_request(
        self, company: Principal, db: AsyncSession, sesame_id: str, request_id: Id
    ) -> RequestOut:
        return _request(
            await services.company_request(
                db, principal_id=company.id, sesame_id=sesame_id, request_id=request_id
            )
        )

    @get("/fields", summary="The fields granted now; writes an access receipt")
    async def read(
        self, company: Principal, db: AsyncSession, keys: KeyRing, sesame_id: str
    ) -> CompanyReadOut:
        result = await services.read_granted_fields(db, keys, principal_id=company.id, sesame_id=sesame_id)
        return CompanyReadOut(sesame_id=result.sesame_id, fields=result.fields, read_at=result.read_at)


class PresentationController(Controller):
    path = "/api/v1/presentations"
    tags = ["vault"]

    @post("/verify", status_code=200, summary="Verify an SD-JWT presentation against the platform's JWKS")
    async def verify(self, data: VerifyIn, keys: KeyRing) -> VerifyOut:
        verified = sdjwt.verify_presentation(data.presentation, keys.jwks(), data.audience, data.nonce)
        return VerifyOut(
            valid=True,
            issuer=verified.issuer,
            claims=verified.claims,
            holder_jwk=verified.holder_jwk,
            disclosed=verified.disclosed,
        )


ROUTES: list[Any] = [VaultController, SesameController, PresentationController]
