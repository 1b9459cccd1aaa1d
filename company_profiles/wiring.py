"""Hooks company_profiles gives the kernel: verifiers' public keys in the JWKS, re-wrapping on KEK rotation.

Called by ``sesame.wiring.install()`` (once per process, from ``create_app`` and the CLI).
"""

from __future__ import annotations

from company_profiles import services
from sesame import rotation

__all__ = ["install"]


def install() -> None:
    import sesame.app

    if services.verifier_jwks not in sesame.app.JWKS_PROVIDERS:
        sesame.app.JWKS_PROVIDERS.append(services.verifier_jwks)
    rotation.register("verifier keys", services.verifier_keys_pending, services.rewrap_verifier_keys)
