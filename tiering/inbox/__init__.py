"""The managers' inbox (``tiering inbox``): a small aiohttp web page where each manager signs in
with their token, sees the notifications meant for them or for their team at their branch as
they arrive, and acknowledges them (policy §9: staff see only their own customers)."""
