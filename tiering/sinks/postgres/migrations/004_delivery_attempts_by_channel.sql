-- Delivery reads a channel's latest attempts as it starts, so that a restart mid-burst keeps to
-- the destination's rate limit (tiering/delivery/attempts.py).
CREATE INDEX notification_deliveries_by_channel ON notification_deliveries (channel, attempted_at);
