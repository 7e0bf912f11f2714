"""Dated exchange rates from a CSV file (``tiering import-rates``): what the ledger values each
foreign account at, in CNY, from the bank day each rate is effective (POLICY §3,
:mod:`tiering.ledger.fx`).

Columns ``currency, rate, effective_date``: an ISO 4217 code other than CNY, the CNY paid for
one unit as a decimal string (above zero, at most ten decimals; never read as a float), and the
bank day (YYYY-MM-DD, China time) from which it is in force. Each good line is recorded in
PostgreSQL (``fx_rates``, the audit trail) and sent as a copy to every partition of the rates
topic, so whichever worker holds a partition of the postings sees it. A rate is never
overwritten: another rate for a currency and day already recorded (in the database or earlier
in the file) is a bad line; the same rate again changes nothing (its id is derived from
currency, day and rate).

What it tells bank staff (each bad line's reason, the summary) is in ``TIERING_LANGUAGE``
(catalog domain ``imports``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

import asyncpg
from aiokafka import AIOKafkaProducer
from rich.progress import Progress

from tiering.csv_files import Rejected, count_lines, read_csv
from tiering.i18n import Language, translations
from tiering.ledger.fx import CNY, EPOCH_DAY, rate_id, rate_record
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect
from tiering.wire.codec import FX_RATE, AvroCodec
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.topics import DeploymentTopics, ensure_topics, partitions_of

COLUMNS = ("currency", "rate", "effective_date")
#: the rate's scale in the FxRate schema and in fx_rates
MAX_DECIMALS = 10
MAX_RATE = Decimal(10**10)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"\d+(\.\d+)?")

#: a message in the reader's language (``translations(language, "imports").gettext``)
Gettext = Callable[[str], str]


def _english(message: str) -> str:
    return message


def gettext_of(language: Language) -> Gettext:
    return translations(language, "imports").gettext


_STORED = """
SELECT currency, effective_date, rate FROM fx_rates
WHERE (currency, effective_date) IN (SELECT * FROM unnest($1::text[], $2::date[]))
"""
_INSERT = """
INSERT INTO fx_rates (currency, effective_date, rate, rate_id)
SELECT * FROM unnest($1::text[], $2::date[], $3::numeric[], $4::text[])
ON CONFLICT (currency, effective_date) DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class DatedRate:
    """One line of the file."""

    currency: str
    rate: Decimal
    effective_date: date

    @property
    def day(self) -> int:
        return (self.effective_date - EPOCH_DAY).days


def parse_row(row: dict[str, str], _: Gettext = _english) -> DatedRate:
    """One line; ``ValueError`` names what is wrong, in the language of ``_``."""
    currency = (row.get("currency") or "").strip().upper()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        message = _("currency %(currency)s is not an ISO 4217 code (three letters)")
        raise ValueError(message % {"currency": repr(currency)})
    if currency == CNY:
        raise ValueError(_("currency CNY: the CNY rate is always 1"))
    text = (row.get("rate") or "").strip()
    if not _DECIMAL.fullmatch(text):
        message = _("rate %(rate)s is not a decimal number of CNY per unit, e.g. 7.1028")
        raise ValueError(message % {"rate": repr(text)})
    try:
        rate = Decimal(text)
    except InvalidOperation:  # pragma: no cover (the pattern admits only decimals)
        message = _("rate %(rate)s is not a decimal number of CNY per unit, e.g. 7.1028")
        raise ValueError(message % {"rate": repr(text)}) from None
    if not 0 < rate < MAX_RATE:
        message = _("rate %(rate)s must be above zero and below %(most)s")
        raise ValueError(message % {"rate": text, "most": f"{MAX_RATE:,}"})
    if -rate.as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]
        message = _("rate %(rate)s has more than %(decimals)s decimals")
        raise ValueError(message % {"rate": text, "decimals": MAX_DECIMALS})
    raw = (row.get("effective_date") or "").strip()
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        effective = date.fromisoformat(raw)
    except ValueError:
        message = _("effective_date %(date)s is not a date (YYYY-MM-DD)")
        raise ValueError(message % {"date": repr(raw)}) from None
    return DatedRate(currency, rate, effective)


def _contradiction(r: DatedRate, other: Decimal, where: str, _: Gettext) -> str:
    message = _(
        "another rate for %(currency)s on %(date)s: %(where)s has %(rate)s "
        "(a rate once recorded is never changed)"
    )
    day = r.effective_date.isoformat()
    shown = format(other.normalize(), "f")  # numeric(20,10) keeps ten decimals
    return message % {"currency": r.currency, "date": day, "where": where, "rate": shown}


def summary(loaded: int, file: Path, dry_run: bool, _: Gettext = _english) -> str:
    """What the command did, for the person who ran it."""
    if dry_run:
        message = _("checked %(count)s exchange rates from %(file)s")
    else:
        message = _("published %(count)s exchange rates from %(file)s")
    return message % {"count": f"{loaded:,}", "file": file}


Line = tuple[int, DatedRate, dict[str, str]]


def read_rates(stream: TextIO, _: Gettext = _english) -> Iterator[Line | Rejected]:
    """Every line, parsed (with its row) or rejected; a second rate for a currency and day in
    the file is rejected, the same one again skipped."""
    seen: dict[tuple[str, date], tuple[Decimal, int]] = {}
    for line, item in read_csv(stream, COLUMNS, lambda _n, row: (parse_row(row, _), row)):
        if isinstance(item, Rejected):
            yield item
            continue
        rate, row = item
        earlier = seen.setdefault((rate.currency, rate.effective_date), (rate.rate, line))
        if earlier[0] != rate.rate:
            where = _("line %(line)s") % {"line": earlier[1]}
            yield Rejected(line, _contradiction(rate, earlier[0], where, _), row)
        elif earlier[1] == line:
            yield line, rate, row


async def _record(conn: asyncpg.Connection, lines: list[Line], _: Gettext) -> list[Rejected]:
    """Record the new rates; return the lines that contradict a recorded one."""
    stored = {
        (r["currency"], r["effective_date"]): r["rate"]
        for r in await conn.fetch(
            _STORED, [r.currency for _, r, _ in lines], [r.effective_date for _, r, _ in lines]
        )
    }
    conflicts = [
        Rejected(
            line,
            _contradiction(r, stored[r.currency, r.effective_date], _("the database"), _),
            row,
        )
        for line, r, row in lines
        if stored.get((r.currency, r.effective_date), r.rate) != r.rate
    ]
    keep = [r for _, r, _ in lines if (r.currency, r.effective_date) not in stored]
    if keep:
        await conn.execute(
            _INSERT,
            [r.currency for r in keep],
            [r.effective_date for r in keep],
            [r.rate for r in keep],
            [rate_id(r.currency, r.day, r.rate) for r in keep],
        )
    return conflicts


async def import_rates(
    settings: Settings, file: Path, dry_run: bool = False
) -> tuple[int, list[Rejected]]:
    """Record and send the good lines of ``file``; return (sent, rejected in line order)."""
    total = count_lines(file)
    _ = gettext_of(settings.language)
    rejected: list[Rejected] = []
    good: list[Line] = []
    with Progress() as progress, file.open(newline="", encoding="utf-8-sig") as f:
        task = progress.add_task("exchange rates", total=total)
        for item in read_rates(f, _):
            if isinstance(item, Rejected):
                rejected.append(item)
            else:
                good.append(item)
            progress.advance(task)
        progress.update(task, completed=total)
    if dry_run or not good:
        return len(good), rejected
    conn = await connect(settings, "tiering", requires_table="fx_rates")
    try:
        async with conn.transaction():
            conflicts = await _record(conn, good, _)
    finally:
        await conn.close()
    refused = {r.line for r in conflicts}
    await _publish(settings, [r for line, r, _ in good if line not in refused])
    return len(good) - len(refused), sorted(rejected + conflicts, key=lambda r: r.line)


async def _publish(settings: Settings, rates: list[DatedRate]) -> None:
    """Each rate to every partition of the rates topic, oldest day first."""
    if not rates:
        return
    await ensure_topics(settings)
    topic = DeploymentTopics.of(settings).rates
    partitions = await partitions_of(settings, topic)
    codec = AvroCodec()
    now_ms = time.time_ns() // 1_000_000
    producer = AIOKafkaProducer(
        **kafka_client_options(settings), acks="all", enable_idempotence=True, linger_ms=20
    )
    await producer.start()
    try:
        for r in sorted(rates, key=lambda r: (r.effective_date, r.currency)):
            value = codec.encode(FX_RATE, rate_record(r.currency, r.day, r.rate, now_ms))
            for p in partitions:
                await producer.send(topic, key=r.currency.encode(), value=value, partition=p)
        await producer.flush()
    finally:
        await producer.stop()
