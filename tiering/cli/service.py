"""The long-running commands: the worker, delivery on its own, the managers' inbox."""

from __future__ import annotations

import asyncio
import contextlib

import click

from tiering.cli.common import run, settings
from tiering.settings import Settings


def watch_kafka(s: Settings) -> None:
    """For every Kafka client of this process: outages told in a few lines, on the gauge and
    ``/healthz`` (:mod:`tiering.wire.kafka_outages`), reconnects backed off, and outputs held
    through an outage of any length."""
    from tiering.runtime.faust_internals import back_off_reconnects, hold_batches_without_leader
    from tiering.wire import kafka_outages

    back_off_reconnects(kafka_outages.watch_kafka(s))
    hold_batches_without_leader()


@click.command()
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Apply database migrations before starting.",
)
@click.option(
    "--delivery/--no-delivery",
    default=True,
    show_default=True,
    help="Also deliver notifications (inbox table, webhooks, e-mail) from this process, as its "
    "own consumer group. With --no-delivery, run `tiering deliver` on its own.",
)
def worker(loglevel: str, migrate: bool, delivery: bool) -> None:
    """Run the stream processor (a Faust worker).

    Creates missing topics, applies migrations, then consumes deposit-transactions until
    stopped with Ctrl-C or SIGTERM. Several workers with the same TIERING_APP_ID share the
    partitions; give each its own TIERING_WEB_PORT.
    """
    import faust
    import uvloop

    from tiering.runtime.app import TieringApp
    from tiering.sinks.channels.errors import ChannelsConfigError
    from tiering.sinks.postgres.connection import wait_out
    from tiering.sinks.postgres.migrate import migrate as apply_migrations
    from tiering.wire.topics import ensure_topics

    # every loop of the worker (its own, and that of Faust's consumer thread) is uvloop's
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    s = settings()
    watch_kafka(s)
    run(ensure_topics(s))
    if migrate:  # PostgreSQL away at the start is waited out, as later
        run(wait_out("migrate", lambda: apply_migrations(s)))
    try:
        tiering = TieringApp(s, delivery=delivery)
    except ChannelsConfigError as exc:
        raise click.ClickException(str(exc)) from None
    runner = faust.Worker(tiering.app, loglevel=loglevel)
    # Faust's terminal spinner turns the root logger to DEBUG (it spins on every record) when
    # the level is WARNING or above: every debug call in Faust and aiokafka then builds a log
    # record, which cost most of the worker's time in the benchmark.
    runner.spinner = None
    runner.execute_from_commandline()


@click.command()
def deliver() -> None:
    """Deliver manager notifications until Ctrl-C or SIGTERM, without tiering.

    Writes every notification to the inbox table, then sends it on the channels of
    TIERING_CHANNELS_FILE (webhooks per team, e-mail), with retries and a dead-letter topic. Its
    own consumer group, so a slow channel never holds up tiering. Metrics on TIERING_WEB_PORT.
    """
    from prometheus_client import start_http_server

    from tiering.delivery.service import run_delivery
    from tiering.sinks.channels.errors import ChannelsConfigError

    s = settings()
    watch_kafka(s)
    try:
        start_http_server(s.web_port, addr=s.web_host)
        with contextlib.suppress(KeyboardInterrupt):
            run(run_delivery(s))
    except ChannelsConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option(
    "--host", default=None, help="Listen address  [default: TIERING_INBOX_HOST, 127.0.0.1]"
)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Port  [default: TIERING_INBOX_PORT, 8080]",
)
def inbox(host: str | None, port: int | None) -> None:
    """Serve the managers' inbox web page until Ctrl-C or SIGTERM.

    Managers sign in with the token from `tiering managers token`, see the notifications for
    them and for their team at their branch as they arrive, and acknowledge them. Sessions are
    signed with TIERING_INBOX_SECRET (empty: a random key, so sessions end with the process).
    Pages are in the manager's language from the directory, else the browser's, else
    TIERING_LANGUAGE. It listens on loopback by default; serve it beyond that only behind a
    TLS proxy.
    """
    from tiering.inbox.app import InboxSetupError, run_inbox

    s = settings()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run(run_inbox(s, host, port))
    except InboxSetupError as exc:
        raise click.ClickException(str(exc)) from None
