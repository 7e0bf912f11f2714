"""``tiering``: the command line of the service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import cast

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
def worker(loglevel: str, migrate: bool) -> None:
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
    tiering = TieringApp(settings)
    faust.Worker(tiering.app, loglevel=loglevel).execute_from_commandline()


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
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the rejected lines, with line number and reason, to this CSV file.",
)
def import_balances(file: Path, dry_run: bool, rejects: Path | None) -> None:
    """Load opening balances from FILE (CSV) as BALANCE_SNAPSHOT postings.

    Columns: customer_id, account_id, balance, currency, as_of (ISO 8601; without an offset,
    China Standard Time). Bad lines are reported by line number and skipped; the others are
    loaded. Importing a file again changes nothing. Exit status 1 when any line was rejected.
    """
    from streams.import_balances import BalanceFileError, Rejected, send_balances

    settings = _settings()
    try:
        result = _run(send_balances(settings, file, dry_run))
    except BalanceFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    loaded, rejected = cast(tuple[int, list[Rejected]], result)
    verb = "checked" if dry_run else "loaded"
    click.echo(f"{verb} {loaded:,} balances from {file}; rejected {len(rejected):,} lines")
    for r in rejected[:50]:
        click.echo(f"  line {r.line}: {r.reason}", err=True)
    if len(rejected) > 50:
        click.echo(f"  … and {len(rejected) - 50:,} more", err=True)
    if rejects is not None and rejected:
        import csv

        with rejects.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["line", "reason", *rejected[0].row.keys()])
            for r in rejected:
                writer.writerow([r.line, r.reason, *r.row.values()])
        click.echo(f"rejected lines written to {rejects}", err=True)
    if rejected:
        sys.exit(1)


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
