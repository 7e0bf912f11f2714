"""The managers' inbox (``tiering inbox``): a small aiohttp web page where each manager signs in
with their token, sees the notifications meant for them or for their team at their branch as
they arrive, and acknowledges them (policy §9: staff see only their own customers)."""

from __future__ import annotations

from sinks.inbox.app import InboxSetupError, create_app, run, serve

__all__ = ["InboxSetupError", "create_app", "run", "serve"]
