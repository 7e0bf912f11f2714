"""For people who watch rather than run the service: the demo bank and the KPI report."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tiering.cli.common import run, settings
from tiering.i18n import LANGUAGES, Language

F = TypeVar("F", bound=Callable[..., Any])


def language_option(what: str) -> Callable[[F], F]:
    """``--language``, for a command whose output a bank employee reads."""
    return click.option(
        "--language",
        type=click.Choice(LANGUAGES),
        default=None,
        help=f"{what}: zh_Hans_CN (Simplified Chinese), zh_Hant (Traditional Chinese) or en. "
        "Default: TIERING_LANGUAGE, which defaults to zh_Hans_CN.",
    )


@click.command()
@click.option("--customers", default=5000, show_default=True, help="Synthetic customers.")
@click.option(
    "--postings",
    default=60000,
    show_default=True,
    help="Day-to-day postings tried after the opening balances (salaries, interest and fees "
    "come on top; declined withdrawals are not sent).",
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
@click.option(
    "--prepare-only",
    is_flag=True,
    help="Only load the demo's managers' directory and print the sign-in links.",
)
def demo(
    customers: int,
    postings: int,
    rate: int,
    follow: bool,
    wait: float,
    seed: int | None,
    prepare_only: bool,
) -> None:
    """Feed a synthetic bank into deposit-transactions and show tier changes live.

    First the demo's managers' directory is loaded (every team at each of the bank's four
    branches; loading it again changes nothing), and a sign-in link to the managers' inbox is
    printed for one manager of each team. The links need TIERING_INBOX_SECRET, the secret the
    inbox runs with (`make demo` starts the inbox with one). Then opening balances, and day-to-day
    postings (a withdrawal larger than the balance is declined, as a core system would) with the
    payroll days, month end and the hours of a day, and online-banking events.
    """
    from tiering.tools.demo import DemoNotReadyError, DemoRun, run_demo

    s = settings()
    demo_run = DemoRun(customers, postings, rate, follow, wait, seed, prepare_only)
    with contextlib.suppress(KeyboardInterrupt):
        try:
            run(run_demo(s, demo_run))
        except DemoNotReadyError as exc:
            raise click.ClickException(str(exc)) from None


@click.command()
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
@language_option("The report's language")
def report(first: str, last: str, out: Path, language: Language | None) -> None:
    """Write a KPI report of a period as one self-contained HTML file, for branch heads.

    Customers and deposits per tier now, tier changes per day, notifications per team with
    the acknowledged share (from PostgreSQL), and deposit growth and churn per tier,
    satisfaction, marketing completion against the policy's targets and the KPIs per branch
    (from Prometheus at TIERING_PROMETHEUS_URL, default http://127.0.0.1:9090, when it answers).
    Amounts in yuan (large totals in 万元 in Chinese), days and times in China time. Chinese
    charts need a CJK font (Debian's fonts-noto-cjk).
    """
    from rich.console import Console

    from tiering.tools.report import MissingFontError, Period, build_report, prometheus_url

    s = settings()
    try:
        period = Period.parse(first, last)
        url = prometheus_url(s)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        with Console(stderr=True).status("building the report") as status:
            run(build_report(s, period, out, url, status=status.update, language=language))
    except MissingFontError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"report for {period} written to {out}")


@click.command()
@click.argument("name", required=False)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Choose the cohort and show it per tier and branch; send nothing (the run is still "
    "recorded, as a dry run).",
)
@language_option("The language of what is shown")
def campaign(name: str | None, dry_run: bool, language: Language | None) -> None:
    """Push a campaign of the policy file ([campaigns.NAME]) to its cohort (POLICY §6).

    The cohort: customers now in the campaign's tiers whose interest score in its product
    category (online-banking views, decayed by [interest] half_life_days) is at least its
    min_interest, and whose risk tolerance in force admits every product of its combination
    (§9; those left out are counted by reason). Each is sent to the notifier, which tells
    the team of the customer's tier once, with the combination and the campaign's action;
    running it again the same day, or within the notifications cooldown, tells no one twice.
    Reads PostgreSQL (profiles, balances, managers, risk assessments), writes to the internal
    signals topic, and records every run in campaign_runs. Without NAME: lists the campaigns.
    """
    from rich.console import Console
    from rich.progress import Progress

    from tiering.tools.campaign import run_campaign, sending_label, show_run

    s = settings()
    campaigns = s.policy.campaigns
    if name is None or name not in campaigns:
        known = ", ".join(campaigns) or "none"
        if name is None:
            click.echo(f"campaigns in the policy ({s.policy.version}): {known}")
            return
        raise click.UsageError(f"no campaign {name!r} in the policy; its campaigns: {known}")
    shown = language or s.language
    console = Console()
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(sending_label(shown), total=None)

        def progress(sent: int, total: int) -> None:
            bar.update(task, completed=sent, total=total)

        result = run(run_campaign(s, campaigns[name], dry_run, progress))
    show_run(console, result, s.policy, shown)


@click.command()
@click.argument("customer_id")
@click.option(
    "--history",
    default=10,
    show_default=True,
    type=click.IntRange(min=1, max=1000),
    help="How many of the customer's tier changes to show, newest first.",
)
@language_option("The language of what is shown")
def explain(customer_id: str, history: int, language: Language | None) -> None:
    """Explain why CUSTOMER_ID is in their tier: what a supervisor or a complaint handler asks.

    Shows the customer's tier with its bounds (POLICY §3), their balance (the instant deposit
    balance, the basis of §3) and branch, the policy version that decided the tier, a pending
    downgrade and the day it falls due, the tier changes newest first with what moved each (a
    posting by its txn_id, the end of a downgrade's grace period, or a new exchange rate) and
    the policy version of each, and the latest notifications about the customer (team, kind,
    acknowledged or not). Amounts in yuan, times in China time. Reads PostgreSQL only.
    The full customer id is shown on the terminal, never logged (§9). Exit status 1 when the
    service knows no such customer.
    """
    from rich.console import Console

    from tiering.tools.explain import (
        UnknownCustomerError,
        fetch_explanation,
        show_explanation,
        unknown_customer,
    )

    s = settings()
    shown = language or s.language
    try:
        found = run(fetch_explanation(s, customer_id, history))
    except UnknownCustomerError:
        raise click.ClickException(unknown_customer(customer_id, shown)) from None
    show_explanation(Console(), found, shown)
