"""Sign-in links on the real PostgreSQL: a link signs its manager in and shows what they may see;
it stops working with a new token, at its expiry, under another secret, and nowhere without a
secret; the ticket is never logged."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from tests.harness.deployment import Deployment
from tests.integration.test_inbox import ALICE_SEES, listed, seed
from tiering.directory.links import LINK_SECONDS, NoLinkSecretError, sign_in_link
from tiering.directory.tokens import issue_token
from tiering.inbox.app import create_app
from tiering.inbox.frame import AccessLogger
from tiering.settings import Settings

SECRET = "a secret for these tests only"


def with_secret(d: Deployment, secret: str = SECRET) -> Settings:
    return d.settings.model_copy(update={"inbox_secret": SecretStr(secret)})


@pytest.fixture
async def inbox(deployment: Any) -> AsyncIterator[tuple[Deployment, TestClient]]:
    d = await deployment("links")
    await seed(d)
    server = TestServer(create_app(with_secret(d)), host="127.0.0.1")
    # the access log as `tiering inbox` writes it (routes, never paths and query strings)
    await server.start_server(access_log_class=AccessLogger)
    client = TestClient(server)
    try:
        yield d, client
    finally:
        await client.close()


async def open_link(client: TestClient, link: str) -> int:
    """Open ``link`` (made for any host) on the test server: the status of its answer."""
    parts = urlsplit(link)
    response = await client.get(f"{parts.path}?{parts.query}", allow_redirects=False)
    if response.status == 303:
        assert response.headers["Location"] == "/notifications"
    return response.status


async def test_a_link_signs_its_manager_in(inbox: Any, caplog: Any) -> None:
    d, client = inbox
    caplog.set_level(logging.INFO)
    link = await sign_in_link(with_secret(d), "MA")
    await sign_in_link(with_secret(d), "MA")  # making another keeps the first working
    assert await open_link(client, link) == 303
    assert await listed(client) == ALICE_SEES
    page = await (await client.get("/notifications")).text()
    assert "<strong>Alice</strong>" in page
    ticket = link.split("ticket=")[1]
    assert "GET /signin/link 303" in caplog.text
    assert ticket not in caplog.text


async def test_a_new_token_or_the_expiry_ends_a_link(inbox: Any) -> None:
    d, client = inbox
    old = await sign_in_link(with_secret(d), "MA")
    await issue_token(d.settings, "MA")
    assert await open_link(client, old) == 401
    assert (await client.get("/notifications", allow_redirects=False)).status == 303  # not in
    expired = await sign_in_link(with_secret(d), "MA", now=time.time() - LINK_SECONDS - 1)
    assert await open_link(client, expired) == 401
    assert await open_link(client, await sign_in_link(with_secret(d), "MA")) == 303


async def test_a_link_made_with_another_secret_is_refused(inbox: Any) -> None:
    d, client = inbox
    other = await sign_in_link(with_secret(d, "another secret"), "MA")
    assert await open_link(client, other) == 401


async def test_without_a_secret_there_are_no_links(deployment: Any) -> None:
    d = await deployment("nolinks")
    await seed(d)
    with pytest.raises(NoLinkSecretError):
        await sign_in_link(d.settings, "MA")
    client = TestClient(TestServer(create_app(d.settings), host="127.0.0.1"))
    await client.start_server()
    try:
        assert await open_link(client, await sign_in_link(with_secret(d), "MA")) == 401
    finally:
        await client.close()


async def test_a_manager_without_a_token_is_given_one(inbox: Any) -> None:
    d, client = inbox
    await d.fetch(
        "INSERT INTO managers (manager_id, name, team, branch_id)"
        " VALUES ('MN', 'Nina', 'WEALTH_TEAM', 'BR1')"
    )
    link = await sign_in_link(with_secret(d), "MN")
    [row] = await d.fetch("SELECT token_hash FROM managers WHERE manager_id = 'MN'")
    assert row["token_hash"]
    assert await open_link(client, link) == 303
    assert await listed(client) == ["n-wealth"]
