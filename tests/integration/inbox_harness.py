"""What the inbox tests share: an inbox of a deployment, served on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp.test_utils import TestClient, TestServer

from tests.harness.deployment import Deployment
from tiering.inbox.app import create_app


@asynccontextmanager
async def english_inbox(d: Deployment) -> AsyncIterator[TestClient]:
    """A browser on an inbox of ``d`` that speaks English (the words the tests assert;
    test_inbox_languages has the others); closed on leaving."""
    english = d.settings.model_copy(update={"language": "en"})
    client = TestClient(TestServer(create_app(english, keepalive=0.3), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
