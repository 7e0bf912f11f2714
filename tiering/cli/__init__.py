"""``tiering``: the command line of the service. Each command imports what it runs only when it
runs, so ``--help`` stays quick."""

from __future__ import annotations

import logging

import click

from tiering.cli.admin import db, managers, policy, topics
from tiering.cli.imports import (
    import_balances,
    import_managers,
    import_rates,
    import_risk_profiles,
)
from tiering.cli.service import deliver, inbox, worker
from tiering.cli.tools import campaign, demo, explain, report


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


for command in (
    worker,
    deliver,
    inbox,
    db,
    topics,
    policy,
    managers,
    import_balances,
    import_risk_profiles,
    import_rates,
    import_managers,
    demo,
    report,
    campaign,
    explain,
):
    main.add_command(command)
