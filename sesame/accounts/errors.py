from __future__ import annotations

from sesame.errors import Conflict, Unauthenticated


class BadCredentials(Unauthenticated):
    type_slug = "bad-credentials"
    title = "Wrong email or password"


class InvalidToken(Unauthenticated):
    type_slug = "invalid-token"
    title = "Invalid or expired token"


class EmailTaken(Conflict):
    type_slug = "email-taken"
    title = "An account with this email exists"
