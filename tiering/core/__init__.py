"""The bank's vocabulary, shared by every part: no I/O, no Faust, no clock.

- ``tiers``      §3 the four tiers, classification by balance, tier-change directions
- ``teams``      §4 the team that looks after each tier, and who hears of which signal
- ``kinds``      §5 signal and notification kinds, priorities
- ``signals``    what the ledger and the profile tell the notifier
- ``policy``     the versioned policy file (``policy_file`` reads and checks it)
- ``money``      CNY as integer fen
- ``bank_time``  event time: milliseconds, the bank's calendar day (China Standard Time)
- ``dedup``      re-sent events recognised by id, within a bound
- ``ids``        deterministic ids
- ``bad_input``  why an event is turned away (its dead-letter reason)
- ``state_format`` the format number stored customer state starts with
"""
