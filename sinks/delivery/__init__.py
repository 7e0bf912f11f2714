"""Delivery of ManagerNotifications: the PostgreSQL inbox, webhooks (WeCom, DingTalk, JSON)
and e-mail, as a consumer group of its own so a slow channel never stalls tiering."""

from __future__ import annotations

from sinks.delivery.config import ChannelsConfig, load_channels, parse_channels
from sinks.delivery.exceptions import ChannelsConfigError, DeliveryError
from sinks.delivery.notification import Notification
from sinks.delivery.service import DeliveryService, run_delivery

__all__ = [
    "ChannelsConfig",
    "ChannelsConfigError",
    "DeliveryError",
    "DeliveryService",
    "Notification",
    "load_channels",
    "parse_channels",
    "run_delivery",
]
