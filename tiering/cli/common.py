"""What every command shares: the settings (a wrong one stops the command with its name), running
a coroutine, and reporting an import."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from aiokafka.errors import KafkaConnectionError
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tiering.core.policy import PolicyError
from tiering.csv_files import CsvFileError, Rejected, write_rejects
from tiering.settings import Settings
from tiering.sinks.postgres.connection import NotMigratedError
from tiering.wire.kafka_clients import KafkaTLSError, kafka_ssl_context

T = TypeVar("T")


def _problem(error: ErrorDetails) -> str:
    """One setting's problem, named after its variable (a rule across several settings names
    them in its own message)."""
    if not error["loc"]:
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return f"TIERING_{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"


def settings() -> Settings:
    """``TIERING_*``, the policy they name and the Kafka TLS files, checked before anything
    starts."""
    try:
        loaded = Settings()
        loaded.policy  # noqa: B018  (load and check the policy before anything starts)
        kafka_ssl_context(loaded)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise click.ClickException(f"configuration: {problems}") from None
    except (PolicyError, KafkaTLSError) as exc:
        raise click.ClickException(str(exc)) from None
    return loaded


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``; a service that cannot be reached, or a schema that is not migrated,
    ends the command with one line saying so."""
    try:
        return asyncio.run(coro)
    except OSError as exc:
        raise click.ClickException(f"cannot reach a service: {exc}") from None
    except KafkaConnectionError as exc:  # aiokafka's, which is no OSError
        raise click.ClickException(
            f"cannot reach Kafka (TIERING_KAFKA_BOOTSTRAP_SERVERS): {' '.join(map(str, exc.args))}"
        ) from None
    except NotMigratedError as exc:
        raise click.ClickException(str(exc)) from None


def run_import(file: Path, coro: Coroutine[Any, Any, T]) -> T:
    """``run`` for an import of ``file``: a file that cannot be read as a whole is named."""
    try:
        return run(coro)
    except CsvFileError as exc:
        raise click.ClickException(f"{file}: {exc}") from None


def report_import(summary: str, rejected: list[Rejected], rejects: Path | None) -> None:
    """What an import did: a summary, each rejected line by number (the first 50), all of them
    to ``rejects`` if asked; exit status 1 when any line was rejected."""
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


REJECTS = click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the rejected lines, with line number and reason, to this CSV file.",
)
DRY_RUN = click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
