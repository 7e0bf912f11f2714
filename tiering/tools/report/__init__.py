"""``tiering report``: a KPI snapshot of a period as one self-contained HTML file, for branch
heads who read reports rather than dashboards (POLICY §7).

From PostgreSQL: customers and deposits per tier now, tier changes per day, notifications per
team and kind with the acknowledged share. From Prometheus, when it answers: deposit growth and
churn per tier over the period, satisfaction, marketing completion against the policy's targets
(``kpis``) and the KPIs per branch. Days are China Standard Time. ``sources`` gathers, ``figures``
aggregates, ``charts`` draws (PNG, in a font ``fonts`` finds), ``page`` fills
``templates/report.html``. Every word on the page and in the charts is in the reader's language
(zh_Hans_CN, zh_Hant or en: the ``report`` gettext domain, tiers and teams from
``tiering.i18n.terms``); the names of tables, metrics and URLs are shown as they are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tiering.i18n import Language
from tiering.settings import Settings
from tiering.tools.report.charts import draw_charts
from tiering.tools.report.figures import Report
from tiering.tools.report.fonts import MissingFontError, chart_fonts
from tiering.tools.report.page import render_html
from tiering.tools.report.period import CST, Period
from tiering.tools.report.sources import gather, prometheus_url

__all__ = ["MissingFontError", "Period", "Report", "build_report", "prometheus_url"]


async def build_report(
    settings: Settings,
    period: Period,
    out: Path,
    url: str | None = None,
    status: Callable[[str], None] = lambda _: None,
    language: Language | None = None,
) -> Report:
    """Gather, draw and write the report to ``out`` in ``language`` (default: the settings');
    ``status`` hears what is happening. Raises MissingFontError before reading anything if the
    charts could not be drawn in that language."""
    url = url or prometheus_url(settings)
    language = language or settings.language
    await asyncio.to_thread(chart_fonts, language)
    started = time.monotonic()
    status(f"reading PostgreSQL (schema {settings.db_schema}) and Prometheus ({url})")
    report = await gather(settings, period, url, datetime.now(CST))
    status("drawing the charts")
    report.charts = await asyncio.to_thread(draw_charts, report, language)
    status(f"writing {out}")
    await asyncio.to_thread(out.write_text, render_html(report, language), encoding="utf-8")
    status(f"done in {time.monotonic() - started:.1f}s")
    return report
