"""The delivery channels besides the PostgreSQL inbox: WeCom and DingTalk group robots, plain
JSON webhooks, and e-mail over SMTP, configured by ``TIERING_CHANNELS_FILE``."""
