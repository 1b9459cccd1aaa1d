"""Hooks the scanner registers (called once per process by ``sesame.wiring.install``).

* ``company_profiles.services.profile_changed_hooks``: every filing, attestation and revocation bumps the card
  cache's generation in its own transaction, so no worker shows a seller's old figures after it commits.
"""

from __future__ import annotations

from company_profiles import services as profiles
from scanner import services

__all__ = ["install"]


def install() -> None:
    if services.profile_changed not in profiles.profile_changed_hooks:
        profiles.profile_changed_hooks.append(services.profile_changed)
