"""Accounts and authentication: sign-up, Argon2id passwords, EdDSA access tokens, role checks.

Example::

    account = await services.sign_up(session, kind="citizen", email="a@example.org", password="...")
    token = services.issue_token(keys, settings, account)
    principal = await services.authenticate_token(session, keys, settings, token)
"""
