"""Request body limits: every route takes at most ``Settings.max_body_bytes``; file uploads take more.

The app's own limit (``request_max_body_size`` in ``sesame.app``) is ``max_body_bytes`` (1 MiB): JSON and form
bodies never need more, and a bigger limit only lets a client make the server buffer and parse more. The few
routes that take a photo or a file live on an ``UploadController``, whose limit is ``max_upload_bytes`` (8 MiB)
of the app it is registered on. A body over the limit is refused with 413 (RFC 9457, ``sesame.problems``)
before it is read when ``Content-Length`` says so, and as soon as the streamed bytes pass it otherwise.
"""

from __future__ import annotations

from litestar import Controller, Litestar
from litestar.router import Router

from sesame.settings import Settings


def _settings_of(owner: Router) -> Settings:
    root = owner
    while root.owner is not None:
        root = root.owner
    if not isinstance(root, Litestar):
        raise TypeError("an UploadController must be registered on a Sésame app")
    settings: Settings = root.state.settings
    return settings


class UploadController(Controller):
    """Base of the controllers whose routes take file uploads: bodies up to ``Settings.max_upload_bytes``.

    Keep only upload routes on such a controller: every route on it gets the larger limit.
    """

    def __init__(self, owner: Router) -> None:
        super().__init__(owner)
        self.request_max_body_size = _settings_of(owner).max_upload_bytes


__all__ = ["UploadController"]
