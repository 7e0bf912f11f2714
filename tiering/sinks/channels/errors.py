"""Errors of the delivery channels. Their messages are stored, logged and put in dead-letter
headers, so they never carry a secret or customer data."""

from __future__ import annotations


class ChannelsConfigError(ValueError):
    """The channels file is missing, not TOML, or names an unknown key, a bad value or an
    environment variable that is not set. The message names the file and the key."""


class DeliveryError(Exception):
    """One attempt on one channel failed; the message says how (status, error code, the
    exception's type) in words safe to store."""
