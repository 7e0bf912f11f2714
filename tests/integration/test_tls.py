"""The service over TLS with authentication, against the tests' own broker (its SASL_SSL
listener, SCRAM-SHA-256, the test CA checked) and PostgreSQL (``sslmode=verify-full``): the
worker, ``tiering deliver`` and ``tiering inbox`` do their work there, and a wrong password or
an untrusted certificate ends a command with one line saying so, never with the secret."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from tests.harness.deployment import ROOT, Deployment
from tests.harness.private import PrivateKafka, PrivatePostgres, TestCA
from tests.harness.private.process import free_ports
from tests.harness.prometheus import http_status
from tests.harness.records import DAY_MS, T0, posting
from tests.harness.waiting import wait_for
from tiering.directory.tokens import issue_token

#: every session of the deployment's database, whether it is encrypted, and by whom
SESSIONS = """
SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
"""


def tiering(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``tiering ARGS`` to its end, with only the ``TIERING_*`` variables of ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TIERING_")}
    return subprocess.run(
        [sys.executable, "-m", "tiering", *args],
        cwd=ROOT,
        env={**full_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def signed_in_inbox(port: int, token: str) -> str:
    """The notifications page of the inbox on ``port``, signed in with ``token``."""
    base = f"http://127.0.0.1:{port}"
    # unsafe: keep the session cookie of a server addressed by its IP address
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/signin") as page:
            assert page.status == 200
            csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert csrf is not None
        async with http.post(
            f"{base}/signin", data={"csrf": csrf.group(1), "token": token}
        ) as signed_in:
            assert signed_in.status == 200, await signed_in.text()
        async with http.get(f"{base}/notifications") as listed:
            assert listed.status == 200
            return await listed.text()


async def test_worker_delivery_and_inbox_work_over_sasl_ssl_and_verified_tls(
    deployment: Any,
    private_kafka: PrivateKafka,
    private_postgres: PrivatePostgres,
    tmp_path: Path,
) -> None:
    services = {**private_kafka.env("SASL_SSL", "SCRAM-SHA-256"), **private_postgres.env()}
    d: Deployment = await deployment("tls", services=services)
    await d.fetch(
        "INSERT INTO managers (manager_id, name, team, branch_id) "
        "VALUES ('M-W1', 'Wang', 'WEALTH_TEAM', 'BR007')"
    )
    await d.fetch("INSERT INTO customer_managers (customer_id, manager_id) VALUES ('C1', 'M-W1')")
    deliver_port, inbox_port = free_ports(2)
    d.start_worker(tmp_path, delivery=False)
    d.start_command(tmp_path, "deliver", env={"TIERING_WEB_PORT": str(deliver_port)})
    d.start_command(tmp_path, "inbox", "--port", str(inbox_port))
    await d.wait_healthy()

    await d.produce(
        [
            posting("T1", "C1", "100000.00", event_time_ms=T0, branch_id="BR001"),
            posting("T2", "C1", "500000.00", event_time_ms=T0 + DAY_MS, branch_id="BR001"),
        ]
    )

    async def balance_stored() -> list[Any]:
        return await d.fetch("SELECT balance, tier FROM customer_balances WHERE customer_id='C1'")

    rows = await wait_for(balance_stored, 60, "C1's balance in PostgreSQL")
    assert [tuple(r) for r in rows] == [(Decimal("600000.00"), "PREMIUM")]
    changes = await d.fetch("SELECT new_tier FROM tier_changes WHERE customer_id='C1' ORDER BY 1")
    assert sorted(r["new_tier"] for r in changes) == ["POTENTIAL", "PREMIUM"]

    async def delivered() -> list[Any]:
        return await d.fetch(
            "SELECT notification_id FROM notifications "
            "WHERE customer_id='C1' AND kind='TIER_UPGRADE' AND manager_id='M-W1'"
        )

    notifications = await wait_for(delivered, 60, "the upgrade in the inbox table")
    assert len(notifications) == 1
    await wait_for(
        lambda: _answers(f"http://127.0.0.1:{inbox_port}/signin"), 30, "the inbox to answer"
    )
    page = await signed_in_inbox(inbox_port, await issue_token(d.settings, "M-W1"))
    assert f'data-id="{notifications[0]["notification_id"]}"' in page

    # The cluster takes connections in clear too: every one the service made is encrypted.
    sessions = {(r["application_name"], r["ssl"]) for r in await d.fetch(SESSIONS)}
    names = {name for name, _ in sessions}
    assert {d.name, f"{d.name}-delivery", "tiering-inbox"} <= names, sessions
    assert all(ssl for _, ssl in sessions), sessions
    logs = "".join(log.read_text(errors="replace") for log in d.logs)
    assert "Authenticated as tiering via SCRAM-SHA-256" in logs
    for secret in (private_kafka.password, private_postgres.password):
        assert secret not in logs


async def _answers(url: str) -> bool:
    return await asyncio.to_thread(http_status, url) == 200


async def test_a_wrong_password_or_an_untrusted_ca_ends_a_command_with_one_clear_line(
    private_kafka: PrivateKafka, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    wrong = "not-the-password-" + private_kafka.password[:4]
    env = {
        **private_kafka.env("SASL_SSL", "SCRAM-SHA-256"),
        **private_postgres.env(),
        "TIERING_KAFKA_SASL_PASSWORD": wrong,
        "TIERING_APP_ID": "twrongpassword",
        "TIERING_TOPIC_PREFIX": "twrongpassword.",
        "TIERING_WEB_PORT": str(free_ports(1)[0]),
        "TIERING_DATA_DIR": str(tmp_path / "data"),
    }
    for command in ("worker", "deliver"):
        result = tiering(command, env=env)
        assert result.returncode == 1, (command, result.stderr[-2000:])
        assert (
            f"{private_kafka.sasl_ssl_bootstrap} refused the credentials of user "
            f"'{private_kafka.username}' (SCRAM-SHA-256)"
        ) in result.stderr, (command, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
        assert wrong not in result.stdout + result.stderr

    # PostgreSQL's certificate checked against another CA than the one that signed it
    untrusted = private_postgres.verify_full_url(TestCA(tmp_path / "other-ca").ca_file)
    result = tiering("db", "migrate", env={**env, "TIERING_DATABASE_URL": untrusted})
    assert result.returncode == 1
    assert "certificate verify failed" in result.stderr, result.stderr[-2000:]
    assert private_postgres.password not in result.stdout + result.stderr


def test_mutual_tls_reaches_a_broker_that_requires_a_client_certificate(
    private_kafka: PrivateKafka, tmp_path: Path
) -> None:
    env = {
        **private_kafka.env("SSL"),
        "TIERING_APP_ID": "tmutualtls",
        "TIERING_TOPIC_PREFIX": f"tmutualtls{tmp_path.name[-4:]}.",
    }
    created = tiering("topics", "create", env=env)
    assert created.returncode == 0, created.stderr[-2000:]
    assert f"{env['TIERING_TOPIC_PREFIX']}deposit-transactions" in created.stdout
    assert private_kafka.client_cert.key_password not in created.stdout + created.stderr

    client_certificate = ("TIERING_KAFKA_CERT", "TIERING_KAFKA_KEY")
    without_certificate = {k: v for k, v in env.items() if not k.startswith(client_certificate)}
    refused = tiering("topics", "create", env=without_certificate)
    assert refused.returncode == 1
    reason = f"{private_kafka.ssl_bootstrap} closed the connection"
    assert reason in refused.stderr, refused.stderr[-2000:]
