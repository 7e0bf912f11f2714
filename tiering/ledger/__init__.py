"""Postings → exact balances → tier decisions (POLICY §3, §5, §7): the rules (``rules``,
``postings``, ``state``, pure), the batch processor, its store, rows and records."""
