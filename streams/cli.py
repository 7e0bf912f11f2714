"""``tiering``: the command line of the service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, cast

import click
from pydantic import ValidationError

from streams.core.policy import PolicyError, load_policy
from streams.settings import Settings

log = logging.getLogger("tiering")


def _settings() -> Settings:
    try:
        settings = Settings()
        settings.policy  # noqa: B018  (load and check the policy before anything starts)
    except ValidationError as exc:
        problems = "; ".join(
            f"TIERING_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise click.ClickException(f"configuration: {problems}") from None
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    return settings


def _run(coro: object) -> object:
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except OSError as exc:
        raise click.ClickException(f"cannot reach a service: {exc}") from None


def _report_import(summary: str, rejected: list[Any], rejects: Path | None) -> None:
    """What an import did: a summary, each rejected line by number (the first 50), all of them
    to ``rejects`` if asked; exit status 1 when any line was rejected."""
    from streams.csv_import import write_rejects

    click.echo(f"{summary}; rejected {len(rejected):,} lines")
    for r in rejected[:50]:
        click.echo(f"  line {r.line}: {r.reason}", err=True)
    if len(rejected) > 50:
        click.echo(f"  … and {len(rejected) - 50:,} more", err=True)
    if rejects is not None and rejected:
        write_rejects(rejects, rejected)
        click.echo(f"rejected lines written to {rejects}", err=True)
    if rejected:
        sys.exit(1)


_REJECTS = click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the rejected lines, with line number and reason, to this CSV file.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """Real-time deposit tiering: exact balances, the bank's tiers, and what each team
    should do about them.

    Configuration comes from TIERING_* environment variables (see README); every default
    works with `make up`.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
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

    from sinks.migrate import migrate as apply_migrations
    from streams.app import TieringApp
    from streams.topics import ensure_topics

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _run(ensure_topics(settings))
    if migrate:
        _run(apply_migrations(settings.database_url.get_secret_value(), settings.db_schema))
    tiering = TieringApp(settings, delivery=delivery)
    runner = faust.Worker(tiering.app, loglevel=loglevel)
    # Faust's terminal spinner turns the root logger to DEBUG (it spins on every record) when
    # the level is WARNING or above: every debug call in Faust and aiokafka then builds a log
    # record, which cost most of the worker's time in the benchmark.
    runner.spinner = None
    runner.execute_from_commandline()


@main.command()
def deliver() -> None:
    """Deliver manager notifications until Ctrl-C or SIGTERM, without tiering.

    Writes every notification to the inbox table, then sends it on the channels of
    TIERING_CHANNELS_FILE (webhooks per team, e-mail), with retries and a dead-letter topic. Its
    own consumer group, so a slow channel never holds up tiering. Metrics on TIERING_WEB_PORT.
    """
    from prometheus_client import start_http_server

    from sinks.delivery import ChannelsConfigError, run_delivery

    settings = _settings()
    try:
        start_http_server(settings.web_port, addr=settings.web_host)
        with contextlib.suppress(KeyboardInterrupt):
            _run(run_delivery(settings))
    except ChannelsConfigError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def db() -> None:
    """PostgreSQL: schema migrations."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply the SQL migrations under sinks/migrations that are not applied yet."""
    from sinks.migrate import migrate

    settings = _settings()
    applied = _run(migrate(settings.database_url.get_secret_value(), settings.db_schema))
    click.echo(f"schema {settings.db_schema}: " + (", ".join(applied) if applied else "up to date"))  # type: ignore[arg-type]


@main.group()
def topics() -> None:
    """Kafka topics of this deployment."""


@topics.command("create")
def topics_create() -> None:
    """Create the contract's topics that are missing (TIERING_TOPIC_PARTITIONS partitions)."""
    from streams.topics import ensure_topics

    settings = _settings()
    created = _run(ensure_topics(settings))
    click.echo("created: " + ", ".join(created) if created else "all topics exist")  # type: ignore[arg-type]


@main.group()
def policy() -> None:
    """The tier policy file."""


@policy.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def policy_check(file: Path | None) -> None:
    """Validate FILE (default: TIERING_POLICY_FILE or the packaged policy) and show it."""
    from streams.core.money import format_yuan

    try:
        p = load_policy(file or Settings().policy_file)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"policy {p.version}: OK")
    for name, bound in zip(("POTENTIAL", "PREMIUM", "HIGH_END"), p.lower_bounds_fen, strict=True):
        click.echo(f"  {name:<10} from {format_yuan(bound):>16} CNY")
    click.echo(f"  downgrade grace: {p.downgrade_grace_ms // 86_400_000} days")


@main.command("import-balances")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; send nothing.")
@_REJECTS
def import_balances(file: Path, dry_run: bool, rejects: Path | None) -> None:
    """Load opening balances from FILE (CSV) as BALANCE_SNAPSHOT postings.

    Columns: customer_id, account_id, balance, currency, as_of (ISO 8601; without an offset,
    China Standard Time). Bad lines are reported by line number and skipped; the others are
    loaded. Importing a file again changes nothing. Exit status 1 when any line was rejected.
    """
    from streams.csv_import import CsvFileError, Rejected
    from streams.import_balances import send_balances

    settings = _settings()
    try:
        result = _run(send_balances(settings, file, dry_run))
    except CsvFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    loaded, rejected = cast(tuple[int, list[Rejected]], result)
    verb = "checked" if dry_run else "loaded"
    _report_import(f"{verb} {loaded:,} balances from {file}", rejected, rejects)


@main.command("import-risk-profiles")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
@_REJECTS
def import_risk_profiles(file: Path, dry_run: bool, rejects: Path | None) -> None:
    """Load customers' risk tolerance from FILE (CSV: customer_id, risk_level 1-5).

    Notifications recommend only products within a customer's tolerance; a customer without
    one is offered only the lowest-risk products (policy §9). Bad lines are reported by line
    number and skipped. Exit status 1 when any line was rejected.
    """
    from sinks.directory import NotMigratedError
    from sinks.risk_profiles import import_risk_profiles as load
    from streams.csv_import import CsvFileError, Rejected

    settings = _settings()
    try:
        result = _run(load(settings, file, dry_run))
    except CsvFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    except NotMigratedError as exc:
        raise click.ClickException(str(exc)) from None
    loaded, rejected = cast(tuple[int, list[Rejected]], result)
    verb = "checked" if dry_run else "loaded"
    _report_import(f"{verb} {loaded:,} risk profiles from {file}", rejected, rejects)


@main.command()
@click.option("--customers", default=5000, show_default=True, help="Synthetic customers.")
@click.option(
    "--postings", default=60000, show_default=True, help="Postings after the opening balances."
)
@click.option("--rate", default=2000, show_default=True, help="Postings per second.")
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="Keep showing tier changes after the feed ends, until Ctrl-C.",
)
@click.option(
    "--wait",
    default=60.0,
    show_default=True,
    help="With --no-follow: seconds to wait for tier changes after the feed ends.",
)
@click.option("--seed", default=None, type=int, help="Random seed, for a repeatable feed.")
def demo(
    customers: int, postings: int, rate: int, follow: bool, wait: float, seed: int | None
) -> None:
    """Feed a synthetic bank into deposit-transactions and show tier changes live."""
    from streams.demo import run_demo

    settings = _settings()
    with contextlib.suppress(KeyboardInterrupt):
        _run(run_demo(settings, customers, postings, rate, follow, wait, seed))


@main.command("import-managers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
@_REJECTS
def import_managers(file: Path, dry_run: bool, rejects: Path | None) -> None:
    """Load the managers' directory from FILE (CSV) into PostgreSQL.

    Columns: manager_id, name, team, branch_id, email, customer_id; one line per manager and
    customer they look after, a line with an empty customer_id only defines the manager. team
    is one of BRANCH_SERVICE, CUSTOMER_MANAGER, WEALTH_TEAM, PRIVATE_BANKING (policy §4). Bad
    lines are reported by line number and skipped; the others are loaded, in one transaction.
    Importing a file again changes nothing. Exit status 1 when any line was rejected.
    """
    from sinks.directory import ImportResult, NotMigratedError, import_directory
    from streams.csv_import import CsvFileError

    settings = _settings()
    try:
        result = cast(ImportResult, _run(import_directory(settings, file, dry_run)))
    except CsvFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    except NotMigratedError as exc:
        raise click.ClickException(str(exc)) from None
    verb = "checked" if dry_run else "loaded"
    summary = (
        f"{verb} {result.managers:,} managers and {result.assignments:,} customer assignments"
        f" from {file}"
    )
    _report_import(summary, result.rejected, rejects)


@main.group()
def managers() -> None:
    """The managers' directory: inbox sign-in tokens."""


@managers.command("token")
@click.argument("manager_id")
def managers_token(manager_id: str) -> None:
    """Issue a new inbox sign-in token for MANAGER_ID and print it, once.

    Only its SHA-256 is stored: a lost token cannot be shown again, only replaced. The previous
    token stops working and the sessions it opened end. Hand it over by a trusted channel.
    """
    from sinks.directory import NotMigratedError, UnknownManagerError, issue_token

    settings = _settings()
    try:
        token = cast(str, _run(issue_token(settings, manager_id)))
    except (UnknownManagerError, NotMigratedError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"sign-in token for {manager_id} (shown once; any earlier one no longer works):", err=True
    )
    click.echo(token)


@main.command()
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
    It listens on loopback by default; serve it beyond that only behind a TLS proxy.
    """
    from sinks.inbox import InboxSetupError, run

    settings = _settings()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            _run(run(settings, host, port))
    except InboxSetupError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option(
    "--from", "first", required=True, help="First day of the period: YYYY-MM-DD, China time."
)
@click.option("--to", "last", required=True, help="Last day of the period, included.")
@click.option(
    "--out",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write.",
)
def report(first: str, last: str, out: Path) -> None:
    """Write a KPI report of a period as one self-contained HTML file, for branch heads.

    Customers and deposits per tier now, tier changes per day, notifications per team with
    the acknowledged share (from PostgreSQL), and deposit growth and churn per tier (from
    Prometheus at TIERING_PROMETHEUS_URL, default http://127.0.0.1:9090, when it answers).
    """
    from rich.console import Console

    from streams.report import Period, build_report, prometheus_url

    settings = _settings()
    try:
        period = Period.parse(first, last)
        url = prometheus_url(settings)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    with Console(stderr=True).status("building the report") as status:
        _run(build_report(settings, period, out, url, status=status.update))
    click.echo(f"report for {period} written to {out}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
