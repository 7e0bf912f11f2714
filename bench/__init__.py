"""Benchmarks against the real local Kafka (``make bench``): the ceiling of one Python process,
the pipeline's throughput, latency, memory and recovery. Results: ``bench/results/*.json`` and
``docs/benchmarks.md``."""
