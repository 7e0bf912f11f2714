"""The managers' inbox (``tiering inbox``): a small aiohttp web page where each manager signs in
with their token, sees the notifications meant for them or for their team at their branch (at
head office: also the team's notifications without a branch, and for private banking every
branch's) as they arrive, and acknowledges them (policy §4, §9: staff see only their own
customers; ``queries.VISIBLE``)."""
