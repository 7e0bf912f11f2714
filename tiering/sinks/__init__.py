"""Where decisions are kept and sent: PostgreSQL (``postgres``: the one way to connect, the
batch sink, migrations) and the delivery channels (``channels``: WeCom, DingTalk, JSON
webhooks, SMTP)."""
