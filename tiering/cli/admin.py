"""Operators' housekeeping: migrations, topics, the policy file, inbox sign-in tokens."""

from __future__ import annotations

from pathlib import Path

import click

from tiering.cli.common import run, settings
from tiering.cli.tools import language_option
from tiering.core.bank_time import CHINA_STANDARD_TIME, DAY_MS, from_epoch_ms
from tiering.core.policy import PolicyError
from tiering.core.tiers import Tier
from tiering.i18n import Language


@click.group()
def db() -> None:
    """PostgreSQL: schema migrations."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply the SQL migrations (tiering/sinks/postgres/migrations) not applied yet."""
    from tiering.sinks.postgres.migrate import migrate

    s = settings()
    applied = run(migrate(s))
    click.echo(f"schema {s.db_schema}: " + (", ".join(applied) if applied else "up to date"))


@click.group()
def topics() -> None:
    """Kafka topics of this deployment."""


@topics.command("create")
def topics_create() -> None:
    """Create the contract's topics that are missing (TIERING_TOPIC_PARTITIONS partitions)."""
    from tiering.wire.topics import ensure_topics

    created = run(ensure_topics(settings()))
    click.echo("created: " + ", ".join(created) if created else "all topics exist")


@click.group()
def policy() -> None:
    """The tier policy: check a file, publish it as a version, list the versions."""


@policy.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def policy_check(file: Path | None) -> None:
    """Validate FILE (default: TIERING_POLICY_FILE or the packaged policy) and show it."""
    from tiering.core.money import format_yuan
    from tiering.core.policy_file import load_policy
    from tiering.settings import Settings

    try:
        p = load_policy(file or Settings().policy_file)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"policy {p.version}: OK")
    if p.effective_from_ms is not None:
        click.echo(f"  in force from {china_time(p.effective_from_ms)}, once published")
    for tier in Tier:
        if tier is not Tier.ORDINARY:
            click.echo(f"  {tier.name:<10} from {format_yuan(p.lower_bound(tier)):>16} CNY")
    click.echo(f"  downgrade grace: {p.downgrade_grace_ms // DAY_MS} days")
    click.echo(f"  basis: {p.basis.describe()}")
    click.echo(
        f"  idle funds: {format_yuan(p.idle_min_balance_fen)} CNY or more held "
        f"{p.idle_ms // DAY_MS} days with no withdrawal (PREMIUM, HIGH_END)"
    )
    click.echo(
        f"  risk assessments count for {p.assessment_valid_months} months "
        "(older: tolerance unknown)"
    )
    for name, c in p.campaigns.items():
        click.echo(
            f"  campaign {name}: {'/'.join(t.name for t in c.tiers)} with {c.interest} interest "
            f"{c.min_interest} or more -> {' + '.join(c.products)}"
        )
    if p.without_simplified:
        click.echo(
            "  without zh_Hans (Simplified Chinese readers see the zh_Hant text): "
            + ", ".join(p.without_simplified)
        )


@policy.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Check FILE against the versions published; send nothing."
)
def policy_publish(file: Path, dry_run: bool) -> None:
    """Publish FILE as a new policy version, in force from its effective_from.

    FILE is checked first, as `tiering policy check` does, and must say effective_from (a
    moment in China time, e.g. effective_from = 2027-01-01T00:00:00). It goes to every
    partition of the compacted policy topic; each worker applies, to each posting, the version
    in force at the posting's event time, and re-places its customers under the new version
    when its event time reaches effective_from: all workers switch at the same event time,
    without a restart. A published version is never changed: publishing it again does nothing,
    and a different text needs a new policy_version taking effect after the newest one.
    Run `tiering policy simulate FILE` first to see what it would move.
    """
    from tiering.tools.policy_publish import publish_version

    try:
        done = run(publish_version(settings(), file.read_text("utf-8"), dry_run))
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    v = done.version
    what = (
        "checked, not sent (--dry-run)"
        if dry_run
        else f"sent to {done.partitions} partition(s)"
        if done.sent
        else "published already, unchanged"
    )
    click.echo(f"policy {v.version}, in force from {china_time(v.effective_from_ms)}: {what}")
    if done.late:
        click.echo(
            "warning: that moment has passed; a worker whose postings are already later "
            "switches at once, and decisions it made before stand",
            err=True,
        )


@policy.command("simulate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write moves.csv, notifications.csv, workload.csv and simulation.html here.",
)
@language_option("The language of what is shown and written")
def policy_simulate(file: Path, out: Path | None, language: Language | None) -> None:
    """Show what publishing FILE would do, before anyone publishes it.

    Reads every customer as they stand (the ledger table's changelog on Kafka, while the
    workers run) and re-places each, on a copy, under FILE at its effective_from, with the
    rule the workers apply at a switch. Shows how many customers would move between which
    tiers, per branch and team; the notifications the teams would get; and each team's
    workload now and under FILE. FILE is checked as `tiering policy publish` checks it.
    """
    from rich.console import Console
    from rich.progress import Progress

    from tiering.tools.simulate.output import (
        placing_label,
        reading_label,
        render_html,
        show,
        write_csv,
        written,
    )
    from tiering.tools.simulate.run import run_simulation

    s = settings()
    shown = language or s.language
    with Progress(console=Console(stderr=True), transient=True) as bar:
        reading = bar.add_task(reading_label(shown), total=None)
        placing = bar.add_task(placing_label(shown), total=None)

        def read(done: int, total: int) -> None:
            bar.update(reading, completed=done, total=total)

        def placed(done: int, total: int) -> None:
            bar.update(placing, completed=done, total=total)

        try:
            result = run(run_simulation(s, file.read_text("utf-8"), read, placed))
        except PolicyError as exc:
            raise click.ClickException(str(exc)) from None
    show(Console(), result, shown)
    if out is not None:
        files = write_csv(out, result)
        page = out / "simulation.html"
        page.write_text(render_html(result, shown), "utf-8")
        click.echo(written([*files, page], shown))


@policy.command("versions")
def policy_versions() -> None:
    """List the policy versions published, oldest first, with the moment each takes over."""
    from tiering.tools.policy_publish import published_versions

    versions = run(published_versions(settings()))
    if not versions:
        click.echo("no version published: the workers' TIERING_POLICY_FILE is in force")
    for v in versions:
        click.echo(f"{v.version}  in force from {china_time(v.effective_from_ms)}")


@click.group()
def managers() -> None:
    """The managers' directory: inbox sign-in tokens."""


@managers.command("token")
@click.argument("manager_id")
def managers_token(manager_id: str) -> None:
    """Issue a new inbox sign-in token for MANAGER_ID and print it, once.

    Only its SHA-256 is stored: a lost token cannot be shown again, only replaced. The previous
    token stops working and the sessions it opened end. Hand it over by a trusted channel.
    """
    from tiering.directory.tokens import UnknownManagerError, issue_token

    try:
        token = run(issue_token(settings(), manager_id))
    except UnknownManagerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"sign-in token for {manager_id} (shown once; any earlier one no longer works):", err=True
    )
    click.echo(token)


def china_time(ms: int) -> str:
    """A policy version's moment as operators read it: ``2027-01-01 00:00:00 China time``."""
    return f"{from_epoch_ms(ms).astimezone(CHINA_STANDARD_TIME):%Y-%m-%d %H:%M:%S} China time"
