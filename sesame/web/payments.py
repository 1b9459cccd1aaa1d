"""The citizen's live payment prompts: the page listens to the event stream and shows each prompt with the
company's highlighted figures; Confirm and Decline are CSRF-checked forms calling the checkout service."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from scanner.checkout import services as checkouts
from scanner.checkout.schemas import prompt_out
from scanner.checkout.worker import runtime_for
from sesame.accounts.services import Principal
from sesame.keys import KeyRing
from sesame.models import utcnow
from sesame.settings import Settings
from sesame.web.forms import form_dict, redirect
from sesame.web.i18n import N_
from sesame.web.rendering import page
from sesame.web.session import require

__all__ = ["PaymentPages"]

CheckoutId = Annotated[str, Parameter(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
DONE = {
    "confirmed": N_("Payment confirmed. The till has your answer."),
    "declined": N_("Payment declined. The till has your answer."),
}


class PaymentPages(Controller):
    path = "/me/pay"
    include_in_schema = False

    @get("/")
    async def prompts(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        now = utcnow()
        pending = await checkouts.citizen_checkouts(db, citizen.id, status="pending", now=now)
        recent = await checkouts.citizen_checkouts(db, citizen.id, status=None, now=now, limit=10)
        return page(
            request,
            "citizen/pay.html",
            viewer=citizen,
            pending=[prompt_out(c) for c in pending if c.expires_at and c.status == "pending"],
            recent=[prompt_out(c) for c in recent if c.status != "pending"],
            done=DONE.get(done or ""),
        )

    @get("/{checkout_id:str}")
    async def prompt(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        checkout_id: CheckoutId,
    ) -> Response[str]:
        """One prompt as a fragment, inserted by the page when the event stream announces it."""
        citizen = require(viewer, "citizen")
        runtime = runtime_for(request.app)
        found = await checkouts.citizen_checkout(
            db, citizen.id, checkout_id, notifier=runtime.notifier, now=utcnow()
        )
        return page(request, "citizen/prompt.html", viewer=citizen, prompt=prompt_out(found))

    @post("/{checkout_id:str}")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        keys: KeyRing,
        settings: Settings,
        viewer: Principal | None,
        checkout_id: CheckoutId,
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_dict(request)
        confirm = form.get("decision") == "confirm"
        runtime = runtime_for(request.app)
        await checkouts.decide(
            db,
            keys,
            runtime.provider,
            citizen_id=citizen.id,
            checkout_id=checkout_id,
            confirm=confirm,
            issuer=settings.token_issuer,
            notifier=runtime.notifier,
            now=utcnow(),
        )
        return redirect("/me/pay?done=" + ("confirmed" if confirm else "declined"))
