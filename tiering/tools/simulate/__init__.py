"""``tiering policy simulate CANDIDATE.toml``: what publishing a candidate policy version would
do to the customers as they stand, before anyone publishes it (README "The policy lifecycle").

``source`` reads the customers' states in bulk (the ledger table's changelog) and the versions
published; ``outcome`` re-places each on a copy with the very function the workers use at a
switch and counts what it did; ``output`` shows it in the terminal and writes CSV files and an
HTML page with charts (gettext domain ``simulate``).
"""
