"""Where decisions go: PostgreSQL (balances, tier history) and, later, delivery channels."""
