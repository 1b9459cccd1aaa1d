"""The vault's exceptions, all under ``sesame.errors.SesameError`` so one handler maps them to RFC 9457."""

from __future__ import annotations

from typing import Any

from sesame.errors import Conflict, InvalidInput, NotFound, SesameError

__all__ = [
    "AccountNotOpen",
    "AttestationsMissing",
    "DecryptionError",
    "InvalidPresentation",
    "NoCompany",
    "SesameNotFound",
    "VaultErased",
    "VaultError",
    "VaultNotFound",
]


class VaultError(SesameError):
    """Base of every error the vault raises on purpose."""


class DecryptionError(VaultError):
    """Something failed to decrypt or unwrap. Deliberately says nothing more: no oracle, never garbage."""

    status = 500
    type_slug = "decryption-failed"
    title = "Decryption failed"

    def __init__(self) -> None:
        super().__init__("decryption failed")


class VaultNotFound(NotFound, VaultError):
    type_slug = "not-found"


class SesameNotFound(VaultNotFound):
    """Unknown or erased ``sesame_id``, or one the caller may not see: never told apart."""


class VaultErased(Conflict, VaultError):
    type_slug = "vault-erased"
    title = "This vault has been erased"


class NoCompany(Conflict, VaultError):
    type_slug = "no-company"
    title = "Register your company first"


class AttestationsMissing(Conflict, VaultError):
    """Opening an account needs every mandatory indicator attested; ``missing`` lists the gaps."""

    type_slug = "attestations-missing"
    title = "Mandatory indicators are not all attested"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            "every mandatory civil-status indicator must be attested by a trusted verifier first",
            missing=list(missing),
        )


class AccountNotOpen(Conflict, VaultError):
    type_slug = "account-not-open"
    title = "The company account is not open"


class StateConflict(Conflict, VaultError):
    type_slug = "vault-state-conflict"


class InvalidField(InvalidInput, VaultError):
    """A field name or value the catalogue rejects."""


class InvalidPresentation(VaultError):
    """An SD-JWT presentation that does not verify; ``reason`` says which check failed."""

    status = 422
    type_slug = "invalid-presentation"
    title = "The presentation does not verify"

    def __init__(self, reason: str, **extra: Any) -> None:
        super().__init__(reason, **extra)
        self.reason = reason
