"""Who may call what: the expected status of every route, for every role, on its own resource and another's.

``tests/e2e/test_authz_matrix.py`` calls every route of the app as each role and compares with this table; a
route the app serves without a row here fails the test, so a new endpoint cannot ship without a decision.

Roles (``tests/e2e/world.py``): ``anonymous``; ``citizen`` and ``other_citizen``; ``company`` (an open account on
the citizen's Sésame), ``company_no_account`` (registered, no account anywhere) and ``other_company`` (an account
on the other citizen's Sésame); ``verifier`` (trusted for the registry's indicators) and ``verifier_out`` (not);
``admin``. "Own" fills the path (and body) from the caller's side of the world: its vault, its company, its
customer's Sésame, its attestation; "other" from the other side. Where a role owns nothing of the kind, own and
other are just two different resources.

A cell is a status code, the same for own and other; or ``(own, other)``; or ``LOGIN``, a 303 to the login page.
A row is a default and the cells that differ: ``citizens(200, 404)`` is 401 for anonymous, 200 for a citizen on
its own resource and 404 on another's, 403 for everyone else. The rules (DESIGN.md, "Errors"): 401 without a
login; 403 for a login of the wrong kind, or for another company's public resource; 404 for anything that
belongs to another citizen or that a company has no open account for, never telling it exists.
"""

from __future__ import annotations

from tests.e2e.world import ROLES

Cell = int | str | tuple[int | str, int | str]
Row = dict[str, Cell]

LOGIN = "login"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
#: Served by Litestar itself (the OpenAPI document and viewer) or plain files.
EXCLUDED = frozenset(
    {
        "GET /schema",
        "GET /schema/openapi.json",
        "GET /schema/scalar",
        "GET /schema/{path}",
        "GET /static/{file_path}",
    }
)
COMPANIES = ("company", "company_no_account", "other_company")
CITIZENS = ("citizen", "other_citizen")
VERIFIERS = ("verifier", "verifier_out")


def row(default: Cell, **cells: Cell) -> Row:
    unknown = set(cells) - set(ROLES)
    assert not unknown, f"no such role: {unknown}"
    return {role: cells.get(role, default) for role in ROLES}


def _pair(own: Cell, other: Cell | None) -> Cell:
    return own if other is None else (own, other)


def public(status: int = 200, **cells: Cell) -> Row:
    """Anyone, signed in or not."""
    return row(status, **cells)


def signed_in(status: int, **cells: Cell) -> Row:
    """Any login."""
    return row(status, **{"anonymous": 401, **cells})


def citizens(own: Cell, other: Cell | None = None, *, anonymous: Cell = 401, **cells: Cell) -> Row:
    """Citizens only; ``other`` for the other citizen's resource."""
    cell = _pair(own, other)
    return row(403, **{"anonymous": anonymous, **dict.fromkeys(CITIZENS, cell), **cells})


def companies(
    own: Cell,
    other: Cell | None = None,
    *,
    no_account: Cell | None = None,
    anonymous: Cell = 401,
    **cells: Cell,
) -> Row:
    """Company logins only; ``no_account`` for the company without an account where it differs."""
    cell = _pair(own, other)
    by_role: dict[str, Cell] = {"anonymous": anonymous, **dict.fromkeys(COMPANIES, cell)}
    if no_account is not None:
        by_role["company_no_account"] = no_account
    return row(403, **{**by_role, **cells})


def verifiers(own: Cell, other: Cell | None = None, *, anonymous: Cell = 401, **cells: Cell) -> Row:
    cell = _pair(own, other)
    return row(403, **{"anonymous": anonymous, **dict.fromkeys(VERIFIERS, cell), **cells})


def citizen_page(own: Cell = 200, other: Cell | None = None) -> Row:
    return citizens(own, other, anonymous=LOGIN)


def company_page(own: Cell = 200, other: Cell | None = None, *, no_account: Cell | None = None) -> Row:
    return companies(own, other, no_account=no_account, anonymous=LOGIN)


GS1_OTHER_KEYS = (
    "00",
    "253",
    "255",
    "401",
    "402",
    "414",
    "415",
    "417",
    "8003",
    "8004",
    "8006",
    "8010",
    "8013",
)

MATRIX: dict[str, Row] = {
    # -- platform and accounts --------------------------------------------------------------------------------
    "GET /health": public(),
    "GET /.well-known/jwks.json": public(),
    "POST /api/v1/accounts": public(201),  # sign-up; a signed-in caller may create another account too
    "POST /api/v1/auth/token": public(),
    "GET /api/v1/accounts/me": signed_in(200),
    "GET /api/v1/bench/constant": public(),  # the benchmark's yardstick (a constant body)
    "POST /api/v1/bench/constant": public(),  # the same, for a body shaped like a scan
    # -- the transparency ledger: public, witnesses registered by the admin -------------------------------------
    "GET /api/v1/ledger/checkpoint": public(),
    "GET /api/v1/ledger/key": public(),
    "GET /api/v1/ledger/entries": public(),
    "GET /api/v1/ledger/entries/{index}": public(),
    "GET /api/v1/ledger/proofs/inclusion": public(),
    "GET /api/v1/ledger/proofs/consistency": public(),
    "GET /api/v1/ledger/witnesses": public(),
    "POST /api/v1/ledger/witnesses": signed_in(403, admin=201),
    "POST /api/v1/ledger/cosignatures": public(
        422
    ),  # the signature authenticates the witness; a bad one is 422
    # -- companies, civil status, attestations ------------------------------------------------------------------
    "GET /api/v1/companies": public(),
    "POST /api/v1/companies": companies(409),  # every company of the world has registered already
    "GET /api/v1/companies/mine": companies(200),
    "GET /api/v1/companies/{company_id}": public(),
    "PUT /api/v1/companies/{company_id}/civil-status": companies(200, 403),
    "GET /api/v1/companies/{company_id}/civil-status/versions": public(),
    "GET /api/v1/companies/{company_id}/civil-status/versions/{version}": public(),
    "GET /api/v1/companies/{company_id}/attestations": public(),
    "POST /api/v1/companies/{company_id}/attestations": verifiers(201, verifier_out=403),
    "GET /api/v1/companies/{company_id}/refusals": public(),
    # the registry's indicators of both companies are attested: nothing awaits a refusal (409), out of scope 403
    "POST /api/v1/companies/{company_id}/refusals": verifiers(409, verifier_out=403),
    "GET /api/v1/attestations/{attestation_id}": public(),
    "POST /api/v1/attestations/{attestation_id}/revoke": verifiers(200, 403),
    "POST /api/v1/attestations/verify": public(),
    "GET /api/v1/indicators": public(),
    "GET /api/v1/verifiers": public(),
    "GET /api/v1/open-data/companies": public(),
    # -- recommendations and zones: a citizen recommends a company it is a customer of ---------------------------
    "PUT /api/v1/companies/{company_id}/recommendations/mine": citizens(200, 403),
    "GET /api/v1/companies/{company_id}/recommendations/mine": citizens(200, 404),
    "DELETE /api/v1/companies/{company_id}/recommendations/mine": citizens(204, 404),
    "GET /api/v1/companies/{company_id}/recommendations/summary": public(),
    "GET /api/v1/vault/recommendations": citizens(200),
    "GET /api/v1/zones": public(),
    "GET /api/v1/zones/{zone}": public(),
    # -- products, scanning, the GS1 resolver -------------------------------------------------------------------
    "POST /api/v1/companies/{company_id}/products": companies(201, 403),
    "PUT /api/v1/companies/{company_id}/products/{gtin}": companies(200, 403),
    "GET /api/v1/companies/{company_id}/products": public(),
    "GET /api/v1/products/{gtin}": public(),
    "GET /api/v1/products/{gtin}/versions": public(),
    "GET /api/v1/products/{gtin}/versions/{version}": public(),
    "GET /api/v1/products/{gtin}/sustainability": public(),
    "GET /api/v1/products/{gtin}/traceability": public(),
    "GET /api/v1/products/{gtin}/certification": public(),
    "GET /api/v1/products/{gtin}/qr.svg": public(),
    "GET /api/v1/products/{gtin}/qr.png": public(),
    "POST /api/v1/scan": public(),
    "POST /api/v1/scan/image": public(),
    "GET /.well-known/gs1resolver": public(),
    "GET /01/{rest}": public(),
    # other primary keys: a syntax check (400), then "not known here" (404)
    **{f"GET /{ai}/{{rest}}": public(404 if ai in ("401", "8004", "8013") else 400) for ai in GS1_OTHER_KEYS},
    "GET /8017/{rest}": public(400),
    "GET /8018/{rest}": public(400),
    # -- the citizen's vault ---------------------------------------------------------------------------------------
    "GET /api/v1/vault": citizens(200),
    "DELETE /api/v1/vault": citizens(204),
    "GET /api/v1/vault/fields": citizens(200),
    "GET /api/v1/vault/fields/{name}": citizens(200),
    "PUT /api/v1/vault/fields/{name}": citizens(200),
    "DELETE /api/v1/vault/fields/{name}": citizens(204),
    "GET /api/v1/vault/fields/{name}/versions": citizens(200),
    "GET /api/v1/vault/company-accounts": citizens(200),
    "POST /api/v1/vault/company-accounts/{account_id}/accept": citizens(200, 404),
    "POST /api/v1/vault/company-accounts/{account_id}/decline": citizens(200, 404),
    "POST /api/v1/vault/company-accounts/{account_id}/close": citizens(200, 404),
    "GET /api/v1/vault/grants": citizens(200),
    "POST /api/v1/vault/grants": citizens(201, 404),  # to another citizen's company account: absent
    "DELETE /api/v1/vault/grants/{grant_id}": citizens(200, 404),
    "GET /api/v1/vault/requests": citizens(200),
    "POST /api/v1/vault/requests/{request_id}/decision": citizens(200, 404),
    "GET /api/v1/vault/receipts": citizens(200),
    "GET /api/v1/vault/receipts/{receipt_id}/proof": citizens(200, 404),
    "GET /api/v1/vault/export": citizens(200),
    "GET /api/v1/vault/qr.svg": citizens(200),
    "GET /api/v1/vault/settings": citizens(200),
    "PUT /api/v1/vault/settings": citizens(200),
    "POST /api/v1/vault/presentations": citizens(201),
    "POST /api/v1/presentations/verify": public(422),  # anyone may verify; a malformed presentation is 422
    # -- companies on a Sésame: only with an open account, else 404 whether or not the Sésame exists -------------
    "POST /api/v1/sesames/{sesame_id}/company-accounts": companies((409, 201), no_account=409),
    "GET /api/v1/sesames/{sesame_id}/company-account": companies(200, 404, no_account=404),
    "POST /api/v1/sesames/{sesame_id}/requests": companies(201, 404, no_account=404),
    "GET /api/v1/sesames/{sesame_id}/requests/{request_id}": companies(200, 404, no_account=404),
    "GET /api/v1/sesames/{sesame_id}/fields": companies(200, 404, no_account=404),
    # -- checkouts: the till's side (company token or till key), the citizen's side ------------------------------
    "GET /api/v1/tills": companies(200),
    "POST /api/v1/tills": companies(201),
    "DELETE /api/v1/tills/{till_id}": companies(204, 404, no_account=404),
    # 409 "no open account" also for an unknown Sésame, so a till never learns whether one exists
    "POST /api/v1/checkouts": companies(201, 409, no_account=409),
    "GET /api/v1/checkouts/events": companies(200),
    "GET /api/v1/checkouts/{checkout_id}": companies(200, 404, no_account=404),
    "GET /api/v1/checkouts/{checkout_id}/webhook-deliveries": companies(200, 404, no_account=404),
    "GET /api/v1/vault/checkouts": citizens(200),
    "GET /api/v1/vault/checkouts/events": citizens(200),
    "GET /api/v1/vault/checkouts/{checkout_id}": citizens(200, 404),
    "POST /api/v1/vault/checkouts/{checkout_id}/decision": citizens(200, 404),
    # -- dossiers, segments, offers --------------------------------------------------------------------------------
    "GET /api/v1/vault/dossiers": citizens(200),
    "POST /api/v1/vault/dossiers": citizens(201),
    "GET /api/v1/vault/dossiers/{dossier_id}": citizens(200, 404),
    "PUT /api/v1/vault/dossiers/{dossier_id}": citizens(200, 404),
    "DELETE /api/v1/vault/dossiers/{dossier_id}": citizens(204, 404),
    "GET /api/v1/vault/dossiers/{dossier_id}/shares": citizens(200, 404),
    "POST /api/v1/vault/dossiers/{dossier_id}/shares": citizens(201, 404),
    "DELETE /api/v1/vault/dossiers/{dossier_id}/shares/{share_id}": citizens(204, 404),
    "GET /api/v1/vault/shared-dossiers": citizens(200),
    "GET /api/v1/vault/shared-dossiers/{share_id}": citizens(200, 404),  # own: shared with me
    "POST /api/v1/vault/shared-dossiers/{share_id}/import": citizens(201, 404),
    # a link share is read by whoever holds the link, if signed in as a citizen; its QR code by anyone
    "GET /api/v1/shared-dossiers/{token}": citizens(200),
    "POST /api/v1/shared-dossiers/{token}/import": citizens(201),
    "GET /api/v1/shared-dossiers/{token}/qr.svg": public(),
    "GET /api/v1/segments": public(),
    "GET /api/v1/vault/segments": citizens(200),
    "PUT /api/v1/vault/segments": citizens(200),
    "GET /api/v1/vault/offers": citizens(200),
    "DELETE /api/v1/vault/offers/{offer_id}": citizens(204, 404),
    "PUT /api/v1/vault/offers/mutes/{company_id}": citizens(204),
    "DELETE /api/v1/vault/offers/mutes/{company_id}": citizens(204),
    "GET /api/v1/offers": companies(200),
    "POST /api/v1/offers": companies(201),
    "GET /api/v1/offers/{offer_id}": companies(200, 404, no_account=404),
    # -- web pages: public ---------------------------------------------------------------------------------------
    "GET /": public(),
    "GET /login": public(),
    "POST /login": public(303),
    "POST /logout": public(303),
    "GET /signup": public(),
    "POST /signup": public(303),
    "GET /lang/{code}": public(303),
    "GET /erased": public(),
    "GET /companies": public(),
    "GET /companies/{company_id}": public(),
    "GET /products/{gtin}": public(),
    "GET /scan": public(),
    "GET /zones": public(),
    "GET /zones/{zone}": public(),
    "POST /scan/photo": public(),
    "GET /ledger": public(),
    "GET /s/{sesame_id}": public(),  # what a phone shows for a scanned Sésame card: nothing about the person
    # -- web pages: the citizen ------------------------------------------------------------------------------------
    "GET /me": citizen_page(),
    "GET /me/card": citizen_page(),
    "GET /me/fields": citizen_page(),
    "POST /me/fields": citizen_page(303),
    "POST /me/fields/{name}/delete": citizen_page(303),
    "GET /me/companies": citizen_page(),
    "GET /me/companies/{account_id}": citizen_page(200, 404),
    "POST /me/companies/{account_id}/{action}": citizen_page(303, 404),
    "POST /me/grants": citizen_page(303, 404),
    "POST /me/grants/{grant_id}/withdraw": citizen_page(303, 404),
    "POST /me/requests/{request_id}": citizen_page(303, 404),
    "POST /me/recommendations/{company_id}": citizen_page(303, 403),
    "GET /me/log": citizen_page(),
    "GET /me/settings": citizen_page(),
    "POST /me/settings": citizen_page(303),
    "GET /me/export": citizen_page(),
    "GET /me/erase": citizen_page(),
    "POST /me/erase": citizen_page(303),
    "GET /me/dossiers": citizen_page(),
    "POST /me/dossiers": citizen_page(303),
    "GET /me/dossiers/{dossier_id}": citizen_page(200, 404),
    "POST /me/dossiers/{dossier_id}": citizen_page(303, 404),
    "POST /me/dossiers/{dossier_id}/delete": citizen_page(303, 404),
    "POST /me/dossiers/{dossier_id}/shares": citizen_page(200, 404),  # a link: the page shows it once
    "POST /me/dossiers/{dossier_id}/shares/{share_id}/revoke": citizen_page(303, 404),
    "GET /me/shared/{share_id}": citizen_page(200, 404),  # own: shared with me
    "POST /me/shared/{share_id}/import": citizen_page(303, 404),
    # a link share opens for whoever holds the link, once signed in as a citizen
    "GET /shared/{token}": citizen_page(),
    "POST /shared/{token}/import": citizen_page(303),
    "GET /me/offers": citizen_page(),
    "POST /me/offers/segments": citizen_page(303),
    "POST /me/offers/{offer_id}/dismiss": citizen_page(303, 404),  # other: an offer never delivered to me
    "POST /me/offers/mutes/{company_id}": citizen_page(303),
    "POST /me/offers/mutes/{company_id}/unmute": citizen_page(303),
    "GET /me/pay": citizen_page(),
    "GET /me/pay/{checkout_id}": citizen_page(200, 404),
    "POST /me/pay/{checkout_id}": citizen_page(303, 404),
    # -- web pages: the company ------------------------------------------------------------------------------------
    "GET /company": company_page(),
    "POST /company/register": company_page(409),
    "GET /company/civil-status": company_page(),
    # "other" posts the other company's mandatory values: refused as a change of identity
    "POST /company/civil-status": company_page(303, 409),
    "GET /company/products": company_page(),
    "POST /company/products": company_page(303),
    "GET /company/labels": company_page(),
    "GET /company/customers": company_page(),
    "POST /company/customers/{action}": company_page(200, 404, no_account=404),
    "GET /company/offers": company_page(),
    "POST /company/offers": company_page(303),
    "GET /company/till": company_page(),
    "POST /company/till": company_page(303, 409, no_account=409),
    "GET /company/till/{checkout_id}": company_page(200, 404, no_account=404),
    # -- web pages: the verifier -----------------------------------------------------------------------------------
    "GET /verifier": verifiers(200, anonymous=LOGIN),
    "POST /verifier/attest": verifiers(303, anonymous=LOGIN, verifier_out=403),
    "POST /verifier/revoke": verifiers(303, 403, anonymous=LOGIN),
    "POST /verifier/refuse": verifiers(409, anonymous=LOGIN, verifier_out=403),  # as the API row
}


def expected(route: str, role: str, which: str) -> int | str:
    cell = MATRIX[route][role]
    if isinstance(cell, tuple):
        return cell[0] if which == "own" else cell[1]
    return cell
