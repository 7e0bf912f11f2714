"""Delivery of ManagerNotifications: the PostgreSQL inbox, webhooks (WeCom, DingTalk, JSON)
and e-mail, as a consumer group of its own so a slow channel never stalls tiering."""
