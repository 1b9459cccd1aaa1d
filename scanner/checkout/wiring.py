"""Connects the checkout to the kernel: its background worker runs with the app."""

from __future__ import annotations

from sesame import channels


def install() -> None:
    from scanner.checkout import worker

    if worker.lifespan not in channels.background_services:
        channels.background_services.append(worker.lifespan)
