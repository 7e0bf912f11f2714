"""Signals → ManagerNotifications (POLICY §4, §5, §7.4, §9): who hears of what, how urgently,
what they should do, and what a notification says; :mod:`tiering.delivery` sends them."""
