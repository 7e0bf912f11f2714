"""Opening balances from a CSV file, as BALANCE_SNAPSHOT postings (``tiering import-balances``).

Columns: ``customer_id, account_id, balance, currency, as_of``, and optionally ``account_type``
(DEPOSIT, LOAN, CREDIT or WEALTH; empty or absent: DEPOSIT; the policy's ``[accounts] counted``
says which make up the §3 deposit balance). ``as_of`` is an ISO 8601 date or date-time; without
a UTC offset it is China Standard Time (UTC+8), the bank's calendar. All the accounts of a
customer with the same ``as_of`` place the customer once (POLICY §3; one INITIAL, no
notification), however many accounts they have.
Each good line becomes a snapshot whose txn_id is derived from the account and ``as_of``, so
importing the same file twice changes nothing. A bad line is reported with its line number and
the rest are still loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from aiokafka import AIOKafkaProducer
from rich.progress import Progress

from tiering.core.bank_time import CHINA_STANDARD_TIME, epoch_ms
from tiering.core.money import MAX_ABS_FEN, to_fen
from tiering.core.policy import ACCOUNT_TYPES, Policy
from tiering.csv_files import Rejected, count_lines, read_csv
from tiering.settings import Settings
from tiering.wire.codec import DEPOSIT_TRANSACTION, AvroCodec
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.topics import DEPOSIT_TRANSACTIONS, ensure_topics

COLUMNS = ("customer_id", "account_id", "balance", "currency", "as_of")


def parse_as_of(text: str) -> int:
    """ISO 8601 date or date-time → epoch milliseconds; no offset means UTC+8."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"as_of {text!r} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_STANDARD_TIME)
    return epoch_ms(moment)


def snapshot_record(row: dict[str, str], policy: Policy) -> dict[str, Any]:
    """One CSV row as a DepositTransaction record; ``ValueError`` says what is wrong."""
    values = {c: (row.get(c) or "").strip() for c in COLUMNS}
    for column in ("customer_id", "account_id", "balance", "currency", "as_of"):
        if not values[column]:
            raise ValueError(f"{column} is empty")
    try:
        balance = Decimal(values["balance"].replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"balance {values['balance']!r} is not an amount") from None
    if not balance.is_finite() or balance < 0:
        raise ValueError(f"balance {values['balance']!r} must be zero or more")
    if abs(to_fen(balance)) > MAX_ABS_FEN:
        raise ValueError("balance exceeds decimal(18,2)")
    currency = values["currency"].upper()
    if currency not in policy.rates:
        raise ValueError(f"currency {values['currency']!r} has no rate in the policy")
    as_of = parse_as_of(values["as_of"])
    account_type = (row.get("account_type") or "").strip().upper() or None
    if account_type is not None and account_type not in ACCOUNT_TYPES:
        raise ValueError(
            f"account_type {row.get('account_type')!r} is none of {', '.join(ACCOUNT_TYPES)}"
        )
    return {
        "txn_id": f"opening:{values['account_id']}:{as_of}",
        "customer_id": values["customer_id"],
        "account_id": values["account_id"],
        "txn_type": "BALANCE_SNAPSHOT",
        "amount": balance.quantize(Decimal("0.01")),
        "currency": currency,
        "channel": "AUTO",
        "branch_id": None,
        "product_code": None,
        "event_time": as_of,
        "account_type": account_type,
    }


def read_balances(
    stream: TextIO, policy: Policy
) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    """``(line number, record or Rejected)`` for every data line; header problems raise."""
    return read_csv(stream, COLUMNS, lambda _, row: snapshot_record(row, policy))


async def send_balances(
    settings: Settings, file: Path, dry_run: bool
) -> tuple[int, list[Rejected]]:
    """Read ``file`` and produce its good lines to ``deposit-transactions``, with a progress
    bar; return how many were sent and the rejected lines."""
    codec = AvroCodec()
    total = count_lines(file)
    producer: AIOKafkaProducer | None = None
    if not dry_run:
        await ensure_topics(settings)
        producer = AIOKafkaProducer(
            **kafka_client_options(settings),
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
        )
        await producer.start()
    topic = settings.topic(DEPOSIT_TRANSACTIONS)
    loaded, rejected = 0, []
    try:
        with Progress() as progress, file.open(newline="", encoding="utf-8") as f:
            task = progress.add_task("opening balances", total=total)
            for line, item in read_balances(f, settings.policy):
                if isinstance(item, Rejected):
                    rejected.append(item)
                else:
                    if producer is not None:
                        await producer.send(
                            topic,
                            key=item["customer_id"].encode(),
                            value=codec.encode(DEPOSIT_TRANSACTION, item),
                        )
                    loaded += 1
                if line % 1000 == 0:
                    progress.update(task, completed=line - 1)
            if producer is not None:
                await producer.flush()
            progress.update(task, completed=total)
    finally:
        if producer is not None:
            await producer.stop()
    return loaded, rejected
