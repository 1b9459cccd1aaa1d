"""Thin controllers of company_profiles: parse, check the caller's role, call a service, return a schema."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.params import Parameter, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import services
from company_profiles.schemas import (
    AttestationCheck,
    AttestationOut,
    AttestationRequest,
    CivilStatusFiling,
    CompanyList,
    CompanyProfile,
    CompanyRef,
    CompanyRegistered,
    CompanyRegistration,
    FilingReceipt,
    IndicatorDefinition,
    JwsIn,
    RefusalOut,
    RefusalRequest,
    Revocation,
    VerifierOut,
    VersionDetail,
    VersionSummary,
)
from sesame.accounts.services import Principal
from sesame.db import MAX_ID
from sesame.errors import NotFound
from sesame.keys import KeyRing

__all__ = ["ROUTES"]

CompanyId = Annotated[int, Parameter(description="company id", ge=1, le=MAX_ID)]


class CompanyController(Controller):
    path = "/api/v1/companies"
    tags = ["companies"]

    @post("/", status_code=201, summary="Register the calling company account's company")
    async def register(
        self, data: CompanyRegistration, db: AsyncSession, principal: Principal
    ) -> CompanyRegistered:
        principal.require("company")
        return await services.register_company(db, account_id=principal.id, registration=data)

    @get("/", summary="Companies, searchable by name and NACE sector")
    async def list_companies(
        self,
        db: AsyncSession,
        q: Annotated[str | None, Parameter(max_length=200, description="part of the legal name")] = None,
        sector: Annotated[str | None, Parameter(max_length=5, description="NACE code or prefix")] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
    ) -> CompanyList:
        return await services.list_companies(db, query=q, sector=sector, limit=limit, offset=offset)

    @get("/mine", summary="The calling company account's company")
    async def mine(self, db: AsyncSession, principal: Principal) -> CompanyRef:
        principal.require("company")
        ref = await services.company_for_account(db, principal.id)
        if ref is None:
            raise NotFound("this account has not registered its company yet")
        return ref

    @get("/{company_id:int}", summary="Public profile: indicators, verification states, transparency score")
    async def profile(self, company_id: CompanyId, db: AsyncSession) -> CompanyProfile:
        return await services.public_profile(db, company_id)

    @put("/{company_id:int}/civil-status", summary="File a new civil-status version")
    async def file(
        self, company_id: CompanyId, data: CivilStatusFiling, db: AsyncSession, principal: Principal
    ) -> FilingReceipt:
        principal.require("company")
        return await services.file_civil_status(
            db, company_id=company_id, account_id=principal.id, filing=data
        )

    @get("/{company_id:int}/civil-status/versions", summary="Every civil-status version, with ledger indexes")
    async def versions(self, company_id: CompanyId, db: AsyncSession) -> list[VersionSummary]:
        return await services.versions(db, company_id)

    @get("/{company_id:int}/civil-status/versions/{version:int}", summary="One civil-status version in full")
    async def version(
        self,
        company_id: CompanyId,
        version: Annotated[int, Parameter(ge=1, le=MAX_ID)],
        db: AsyncSession,
    ) -> VersionDetail:
        return await services.version_detail(db, company_id, version)

    @get("/{company_id:int}/attestations", summary="Every attestation about the company")
    async def attestations(self, company_id: CompanyId, db: AsyncSession) -> list[AttestationOut]:
        return await services.company_attestations(db, company_id)

    @post("/{company_id:int}/attestations", status_code=201, summary="Attest one indicator (verifiers)")
    async def attest(
        self,
        company_id: CompanyId,
        data: AttestationRequest,
        db: AsyncSession,
        keys: KeyRing,
        principal: Principal,
    ) -> AttestationOut:
        principal.require("verifier")
        return await services.issue_attestation(
            db, keys, company_id=company_id, account_id=principal.id, request=data
        )

    @get(
        "/{company_id:int}/refusals",
        summary="Every refusal by a verifier to attest one of the company's values",
    )
    async def refusals(self, company_id: CompanyId, db: AsyncSession) -> list[RefusalOut]:
        return await services.company_refusals(db, company_id)

    @post(
        "/{company_id:int}/refusals",
        status_code=201,
        summary="Refuse to attest an indicator awaiting attestation, with a reason (verifiers)",
    )
    async def refuse(
        self, company_id: CompanyId, data: RefusalRequest, db: AsyncSession, principal: Principal
    ) -> RefusalOut:
        principal.require("verifier")
        return await services.refuse_attestation(
            db, company_id=company_id, account_id=principal.id, request=data
        )


class AttestationController(Controller):
    path = "/api/v1/attestations"
    tags = ["attestations"]

    @get("/{attestation_id:int}", summary="One attestation, with its JWS")
    async def get_one(
        self, attestation_id: Annotated[int, Parameter(ge=1, le=MAX_ID)], db: AsyncSession
    ) -> AttestationOut:
        return await services.get_attestation(db, attestation_id)

    @post("/{attestation_id:int}/revoke", status_code=200, summary="Revoke an attestation (its verifier)")
    async def revoke(
        self,
        attestation_id: Annotated[int, Parameter(ge=1, le=MAX_ID)],
        db: AsyncSession,
        principal: Principal,
        data: Revocation | None = None,
    ) -> AttestationOut:
        principal.require("verifier")
        return await services.revoke_attestation(
            db, attestation_id=attestation_id, account_id=principal.id, reason=data.reason if data else None
        )

    @post(
        "/verify",
        status_code=200,
        summary="Check an attestation JWS (signature, scope, value, revocation, expiry)",
    )
    async def verify(self, data: JwsIn, db: AsyncSession) -> AttestationCheck:
        return await services.verify_attestation(db, data.jws)


class CatalogueController(Controller):
    path = "/api/v1"
    tags = ["companies"]

    @get("/indicators", summary="The indicator catalogue")
    async def indicators(self) -> list[IndicatorDefinition]:
        return services.indicator_catalogue()

    @get("/verifiers", summary="Verifiers and the indicators each is trusted for")
    async def verifiers(self, db: AsyncSession) -> list[VerifierOut]:
        return await services.list_verifiers(db)

    @get("/open-data/companies", summary="Every company's current civil status, as JSON lines or CSV")
    async def open_data(
        self,
        state: State,
        data_format: Annotated[
            Literal["jsonl", "csv"], QueryParameter(name="format", description="jsonl (default) or csv")
        ] = "jsonl",
    ) -> Stream:
        factory = state.sessionmaker
        if data_format == "csv":
            return Stream(
                services.open_data_csv(factory),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="companies.csv"'},
            )
        return Stream(
            services.open_data_jsonl(factory),
            media_type="application/jsonl",
            headers={"Content-Disposition": 'attachment; filename="companies.jsonl"'},
        )


ROUTES = [CompanyController, AttestationController, CatalogueController]
