"""The company_profiles branch of Sésame's one exception tree (mapped to RFC 9457 by ``sesame.problems``)."""

from __future__ import annotations

from sesame.errors import Conflict, Forbidden, NotFound

__all__ = [
    "AlreadyAttested",
    "AlreadyRevoked",
    "AttestationNotFound",
    "CompanyAlreadyRegistered",
    "CompanyNotFound",
    "ConcurrentFiling",
    "NotAVerifier",
    "NotCompanyOwner",
    "NotIssuer",
    "OutsideTrustScope",
    "RegistrationTaken",
    "ValueMismatch",
    "VerifierExists",
    "VersionNotFound",
]


class CompanyNotFound(NotFound):
    type_slug = "company-not-found"
    title = "No such company"


class VersionNotFound(NotFound):
    type_slug = "version-not-found"
    title = "No such civil-status version"


class AttestationNotFound(NotFound):
    type_slug = "attestation-not-found"
    title = "No such attestation"


class NotCompanyOwner(Forbidden):
    """Profiles are public, so a company's existence is no secret: another account gets 403, not 404."""

    type_slug = "not-company-owner"
    title = "Only the company's own account may do this"


class NotAVerifier(Forbidden):
    type_slug = "not-a-verifier"
    title = "This needs a registered verifier"


class OutsideTrustScope(Forbidden):
    type_slug = "outside-trust-scope"
    title = "The verifier is not trusted for this indicator"


class NotIssuer(Forbidden):
    type_slug = "not-issuer"
    title = "Only the issuing verifier may revoke an attestation"


class CompanyAlreadyRegistered(Conflict):
    type_slug = "company-already-registered"
    title = "This account already has a company"


class RegistrationTaken(Conflict):
    type_slug = "registration-taken"
    title = "Another company is registered with this identifier"


class ConcurrentFiling(Conflict):
    type_slug = "concurrent-filing"
    title = "Another filing for this company happened at the same time; retry"


class ValueMismatch(Conflict):
    type_slug = "value-mismatch"
    title = "The value differs from the disclosed one"


class AlreadyAttested(Conflict):
    type_slug = "already-attested"
    title = "This value is attested: it awaits no attestation (revoke the attestation instead)"


class AlreadyRevoked(Conflict):
    type_slug = "already-revoked"
    title = "The attestation is already revoked"


class VerifierExists(Conflict):
    type_slug = "verifier-exists"
    title = "This account is already a verifier"
