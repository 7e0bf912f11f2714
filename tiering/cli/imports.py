"""The bank's files in: opening balances, customers' risk tolerance, the managers' directory,
dated exchange rates.
Each names its bad lines by number and loads the rest."""

from __future__ import annotations

from pathlib import Path

import click

from tiering.cli.common import DRY_RUN, REJECTS, report_import, run_import, settings

_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@click.command("import-balances")
@_FILE
@click.option("--dry-run", is_flag=True, help="Check the file; send nothing.")
@REJECTS
def import_balances(file: Path, dry_run: bool, rejects: Path | None) -> None:
    """Load opening balances from FILE (CSV) as BALANCE_SNAPSHOT postings.

    Columns: customer_id, account_id, balance, currency, as_of (ISO 8601; without an offset,
    China Standard Time). Bad lines are reported by line number and skipped; the others are
    loaded. Importing a file again changes nothing. Exit status 1 when any line was rejected.
    """
    from tiering.tools.import_balances import send_balances

    loaded, rejected = run_import(file, send_balances(settings(), file, dry_run))
    verb = "checked" if dry_run else "loaded"
    report_import(f"{verb} {loaded:,} balances from {file}", rejected, rejects)


@click.command("import-risk-profiles")
@_FILE
@DRY_RUN
@REJECTS
def import_risk_profiles(file: Path, dry_run: bool, rejects: Path | None) -> None:
    """Add customers' risk assessments from FILE to their history (CSV: customer_id,
    risk_level 1-5, assessed_on YYYY-MM-DD).

    Notifications recommend only products within a customer's known tolerance: their newest
    assessment, while it is within the policy's [suitability] assessment_valid_months of the
    event; a customer without one is offered only the lowest-risk products (policy §9). Every
    assessment is kept; another level for a customer and day already recorded is rejected.
    Bad lines are reported by line number and skipped. Importing a file again changes nothing.
    Exit status 1 when any line was rejected.
    """
    from tiering.directory.risk_profiles import import_risk_profiles as load

    loaded, rejected = run_import(file, load(settings(), file, dry_run))
    verb = "checked" if dry_run else "loaded"
    report_import(f"{verb} {loaded:,} risk assessments from {file}", rejected, rejects)


@click.command("import-rates")
@_FILE
@DRY_RUN
@REJECTS
def import_rates(file: Path, dry_run: bool, rejects: Path | None) -> None:
    """Publish dated exchange rates from FILE (CSV: currency, rate, effective_date).

    currency is an ISO 4217 code other than CNY; rate the CNY paid for one unit, a decimal
    such as 7.1028 (at most ten decimals); effective_date the bank day (YYYY-MM-DD, China
    time) from which it is in force, until a rate of a later day. Foreign accounts are valued
    in CNY at the rate in force on the day (policy §3); a new rate revalues every customer
    holding the currency once the stream reaches its day, and their tier is decided again.
    Until a dated rate of a currency is known, the policy's [rates] apply. Each rate is
    recorded in PostgreSQL (fx_rates) and sent to every worker; a rate once recorded is never
    changed: another rate for the same currency and day is rejected. Bad lines are reported by
    line number and skipped. Importing a file again changes nothing. Exit status 1 when any
    line was rejected.
    """
    from tiering.tools.import_rates import gettext_of, summary
    from tiering.tools.import_rates import import_rates as load

    loaded_settings = settings()
    loaded, rejected = run_import(file, load(loaded_settings, file, dry_run))
    said = summary(loaded, file, dry_run, gettext_of(loaded_settings.language))
    report_import(said, rejected, rejects)


@click.command("import-managers")
@_FILE
@DRY_RUN
@REJECTS
def import_managers(file: Path, dry_run: bool, rejects: Path | None) -> None:
    """Load the managers' directory from FILE (CSV) into PostgreSQL.

    Columns: manager_id, name, team, branch_id, email, customer_id; one line per manager and
    customer they look after, a line with an empty customer_id only defines the manager. team
    is one of BRANCH_SERVICE, CUSTOMER_MANAGER, WEALTH_TEAM, PRIVATE_BANKING (policy §4).
    Optional columns: language (zh-CN, zh-TW, en), role (manager, the default, or supervisor:
    who also reads, in the inbox, who looked at their branch's notifications). Bad lines are
    reported by line number and skipped; the others are loaded, in one transaction.
    Importing a file again changes nothing. Exit status 1 when any line was rejected.
    """
    from tiering.directory.managers import import_directory

    result = run_import(file, import_directory(settings(), file, dry_run))
    verb = "checked" if dry_run else "loaded"
    summary = (
        f"{verb} {result.managers:,} managers and {result.assignments:,} customer assignments"
        f" from {file}"
    )
    report_import(summary, result.rejected, rejects)
