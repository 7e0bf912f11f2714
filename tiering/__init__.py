"""deposit-tiering: exact balances, the bank's four tiers, and what each team should do about
them, from the postings and online behaviour on Kafka. ``docs/architecture.md`` maps the
packages."""

__version__ = "0.1.0"
