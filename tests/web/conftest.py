"""Web pages through Litestar's test client: a browser-like client that keeps cookies and sends CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from sesame.settings import Settings
from tests.conftest import make_settings

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Browser:
    """Follows the site like a person: GET a page, then post its form with the page's CSRF token."""

    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.client = client
        self.cookies = httpx.Cookies()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request with this browser's own cookie jar (several browsers share one app and client)."""
        self.client.cookies = self.cookies
        try:
            return await self.client.request(method, path, **kwargs)
        finally:
            self.cookies = httpx.Cookies(self.client.cookies)

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def token(self, path: str = "/login") -> str:
        page = await self.get(path)
        found = _TOKEN.search(page.text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, form_page: str = "/login", **kwargs: Any
    ) -> Any:
        body = {"_csrf_token": await self.token(form_page), **(data or {})}
        return await self.request("POST", path, data=body, **kwargs)

    async def sign_up(self, kind: str, email: str, name: str = "") -> Any:
        return await self.post(
            "/signup", {"kind": kind, "email": email, "password": PASSWORD, "display_name": name}
        )

    async def log_in(self, email: str, password: str = PASSWORD) -> Any:
        return await self.post("/login", {"email": email, "password": password})

    async def log_out(self) -> Any:
        return await self.post("/logout", {})


@pytest.fixture
def web_settings(sqlite_url: str, tmp_path: Path) -> Settings:
    from sesame import migrate

    settings = make_settings(sqlite_url, tmp_path)
    migrate.upgrade(settings)
    return settings


@pytest.fixture
def web_app(web_settings: Settings) -> Litestar:
    from sesame.app import create_app

    return create_app(web_settings)


@pytest.fixture
async def client(web_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=web_app, base_url="http://sesame.test") as test_client:
        yield test_client


@pytest.fixture
def browser(client: AsyncTestClient[Litestar]) -> Browser:
    return Browser(client)


@pytest.fixture
def other_browser(client: AsyncTestClient[Litestar]) -> Browser:
    return Browser(client)
