from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from sesame.db import create_engine
from tests.company_profiles.recommendations.social import Social


@pytest.fixture
async def social(app: Litestar, client: AsyncTestClient[Litestar]) -> AsyncIterator[Social]:
    engine = create_engine(app.state.settings)
    try:
        yield Social(app=app, client=client, engine=engine)
    finally:
        await engine.dispose()
