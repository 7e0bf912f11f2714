"""Operators' housekeeping: migrations, topics, the policy file, inbox sign-in tokens."""

from __future__ import annotations

from pathlib import Path

import click

from tiering.cli.common import run, settings
from tiering.core.bank_time import DAY_MS
from tiering.core.policy import PolicyError
from tiering.core.tiers import Tier


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
    """The tier policy file."""


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
    for tier in Tier:
        if tier is not Tier.ORDINARY:
            click.echo(f"  {tier.name:<10} from {format_yuan(p.lower_bound(tier)):>16} CNY")
    click.echo(f"  downgrade grace: {p.downgrade_grace_ms // DAY_MS} days")
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
