"""``tiering report``: a KPI snapshot of a period as one self-contained HTML file, for branch
heads who read reports rather than dashboards (POLICY §7).

From PostgreSQL: customers and deposits per tier now, tier changes per day, notifications per
team and kind with the acknowledged share. From Prometheus, when it answers: deposit growth and
churn per tier over the period. Days are China Standard Time. ``sources`` gathers, ``figures``
aggregates, ``charts`` draws (PNG), ``page`` fills ``templates/report.html``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tiering.settings import Settings
from tiering.tools.report.charts import draw_charts
from tiering.tools.report.figures import Report
from tiering.tools.report.page import render_html
from tiering.tools.report.period import CST, Period
from tiering.tools.report.sources import gather, prometheus_url

__all__ = ["Period", "Report", "build_report", "prometheus_url"]


async def build_report(
    settings: Settings,
    period: Period,
    out: Path,
    url: str | None = None,
    status: Callable[[str], None] = lambda _: None,
) -> Report:
    """Gather, draw and write the report to ``out``; ``status`` hears what is happening."""
    url = url or prometheus_url(settings)
    started = time.monotonic()
    status(f"reading PostgreSQL (schema {settings.db_schema}) and Prometheus ({url})")
    report = await gather(settings, period, url, datetime.now(CST))
    status("drawing the charts")
    report.charts = await asyncio.to_thread(draw_charts, report)
    status(f"writing {out}")
    await asyncio.to_thread(out.write_text, render_html(report), encoding="utf-8")
    status(f"done in {time.monotonic() - started:.1f}s")
    return report
