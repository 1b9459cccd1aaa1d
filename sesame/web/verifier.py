"""The verifier's page: indicators awaiting attestation in its trust scope; attest (sign), refuse (with a
reason) or revoke."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import services as profiles
from company_profiles.schemas import AttestationRequest, RefusalRequest, VerificationState
from sesame.accounts.services import Principal
from sesame.errors import Forbidden, SesameError
from sesame.keys import KeyRing
from sesame.web.forms import form_dict, form_id, redirect
from sesame.web.i18n import N_, translator_for
from sesame.web.indicators import badge_for, label, show_value
from sesame.web.rendering import page, request_locale
from sesame.web.session import require

__all__ = ["VerifierPages"]

#: How many companies the queue scans (by name); enough for a registry's daily work, bounded for the page.
QUEUE_COMPANIES = 200
DONE = {
    "attested": N_("Attestation signed and published in the ledger."),
    "revoked": N_("Attestation revoked; the revocation is in the ledger."),
    "refused": N_("Refusal recorded and published in the ledger; the company sees your reason."),
}
REFUSAL_REASON = N_("Say why you cannot attest this value (1 to 200 characters).")


async def verifier_scope(db: AsyncSession, account_id: int) -> tuple[str, list[str]]:
    """The verifier's name and trust scope (indicator keys)."""
    lookup = getattr(profiles, "verifier_for_account", None)
    if lookup is not None:
        found = await lookup(db, account_id)
        if found is None:
            raise Forbidden("this account is not a registered verifier")
        return str(found.name), list(found.scope)
    # Until company_profiles offers a public lookup, use its own private one (a service function, not a table).
    verifier = await profiles._verifier_for_account(db, account_id)
    return verifier.name, list(verifier.scope)


class VerifierPages(Controller):
    path = "/verifier"
    include_in_schema = False

    @get("/")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        verifier = require(viewer, "verifier")
        return await self._queue_page(request, db, verifier, done=DONE.get(done or ""))

    async def _queue_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        verifier: Principal,
        *,
        done: str | None = None,
        error: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        lang = request_locale(request)
        t = translator_for(lang)
        name, scope = await verifier_scope(db, verifier.id)
        companies = await profiles.list_companies(db, limit=QUEUE_COMPANIES)
        awaiting: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        attested: list[dict[str, Any]] = []
        for summary in companies.items:
            profile = await profiles.public_profile(db, summary.id)
            for view in profile.indicators:
                if view.key not in scope or not view.disclosed:
                    continue
                style, text = badge_for(view.state.value)
                row = {
                    "company": profile,
                    "view": view,
                    "label": label(view.key, lang),
                    "shown": show_value(view.key, view.value, view.unit, lang),
                    "value_json": view.value,
                    "badge_style": style,
                    "badge_text": t.gettext(text),
                }
                if view.state is VerificationState.attested:
                    attested.append(row)
                elif view.state is VerificationState.refused:
                    refused.append(row)
                else:
                    awaiting.append(row)
        return page(
            request,
            "verifier/queue.html",
            viewer=verifier,
            name=name,
            scope=[label(k, lang) for k in scope],
            awaiting=awaiting,
            refused=refused,
            attested=attested,
            done=done,
            error=error,
            status_code=status_code,
        )

    @post("/attest")
    async def attest(
        self, request: Request[Any, Any, Any], db: AsyncSession, keys: KeyRing, viewer: Principal | None
    ) -> Response[Any]:
        verifier = require(viewer, "verifier")
        form = await form_dict(request)
        company_id = form_id(form.get("company_id"))
        version = form_id(form.get("version"))
        key = form.get("indicator", "")
        # The value attested is the one disclosed in that version, read again here (never from the form).
        detail = await profiles.version_detail(db, company_id, version)
        content = detail.indicators.get(key)
        if content is None:
            raise SesameError("this indicator is not disclosed in that version")
        await profiles.issue_attestation(
            db,
            keys,
            company_id=company_id,
            account_id=verifier.id,
            request=AttestationRequest(indicator=key, value=content["value"], version=version),
        )
        return redirect("/verifier?done=attested")

    @post("/refuse")
    async def refuse(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[Any]:
        verifier = require(viewer, "verifier")
        form = await form_dict(request)
        company_id = form_id(form.get("company_id"))
        key = form.get("indicator", "")[:64]
        reason = " ".join((form.get("reason") or "").split())
        if not 1 <= len(reason) <= 200:
            # The form of this one row shows the message; the others stay as they were.
            error = {"company_id": str(company_id), "indicator": key, "text": REFUSAL_REASON}
            return await self._queue_page(request, db, verifier, error=error, status_code=422)
        await profiles.refuse_attestation(
            db,
            company_id=company_id,
            account_id=verifier.id,
            request=RefusalRequest(
                indicator=key or "-", version=form_id(form.get("version")) or None, reason=reason
            ),
        )
        return redirect("/verifier?done=refused")

    @post("/revoke")
    async def revoke(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[Any]:
        verifier = require(viewer, "verifier")
        form = await form_dict(request)
        attestation_id = form_id(form.get("attestation_id"))
        await profiles.revoke_attestation(
            db, attestation_id=attestation_id, account_id=verifier.id, reason=form.get("reason") or None
        )
        return redirect("/verifier?done=revoked")
