"""The one deployment harness of the tests and the benchmarks: isolated deployments on the real
local Kafka and PostgreSQL (``deployment``), a Kafka and a PostgreSQL of the tests' own with TLS
(``private``), the records they are fed (``records``), reading topics to their end (``kafka``),
the local Prometheus (``prometheus``), and waiting for a condition instead of sleeping
(``waiting``)."""
