"""The rules, as plain Python: no I/O, no Faust, no clock. Find a rule by its policy section.

- ``tiers``      §3 the four tiers and classification by balance
- ``policy``     the versioned policy file and its checks
- ``money``      CNY as integer fen
- ``postings``   a posting, and the checks that turn bad input away
- ``ledger``     balances, idempotence, tier decisions with downgrade grace (§3), signals (§5)
- ``state_codec`` the ledger state as bytes for the Faust table
"""
