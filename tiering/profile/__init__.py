"""Online behaviour → customer profiles → product-interest signals (POLICY §6, §7.1): the rules
(``rules``, ``events``, ``state``, pure), the batch processor and its rows."""
