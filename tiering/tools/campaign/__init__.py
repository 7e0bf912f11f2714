"""``tiering campaign``: POLICY §6's example, a group of customers showing rising interest in a
kind of product gets a matching combination pushed to them. The policy file names each
campaign (``[campaigns.NAME]``); ``cohort`` chooses its customers (pure), ``sources`` reads
them from PostgreSQL and records each run, ``run`` sends one CAMPAIGN signal per customer
through the notifier, ``screen`` shows the result in the reader's language."""

from __future__ import annotations

from tiering.tools.campaign.run import CampaignRun, run_campaign
from tiering.tools.campaign.screen import sending_label, show_run

__all__ = ["CampaignRun", "run_campaign", "sending_label", "show_run"]
