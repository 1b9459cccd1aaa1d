"""Citizens' vaults: encrypted fields, company accounts, grants, access receipts, export, erasure, SD-JWT.

Field values are sealed with AES-256-GCM under a per-vault data key (DEK) wrapped by the master KEK
(``vault.crypto``, the one module with crypto in it). A company reads only what is granted now, and every read
leaves an access receipt whose salted commitment goes into the transparency ledger (``vault.receipts`` commits
the receipts of concurrent reads together). ``vault.sdjwt`` issues and verifies SD-JWT presentations (RFC 9901).

Example (services; the HTTP API in ``vault.api`` is a thin layer over them)::

    from vault import services

    await services.set_field(session, keys, account_id=citizen_id, name="email", value="ada@example.org")
    account = await services.request_company_account(session, principal_id=company_login, sesame_id=sid)
    await services.decide_company_account(session, account_id=citizen_id, company_account_id=account.id,
                                           action="accept")
    await services.give_grant(session, account_id=citizen_id, company_account_id=account.id,
                              fields=["email"], purpose="order follow-up", expires_at=later)
    read = await services.read_granted_fields(session, keys, principal_id=company_login, sesame_id=sid)
    read.fields  # {"email": "ada@example.org"}

Functions other packages may call: ``services.vault_for_sesame_id``, ``services.citizen_settings``,
``services.open_account_between``, ``services.sesame_id_for_account``.
"""

__all__: list[str] = []
