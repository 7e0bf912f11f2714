"""The Docker Compose setup and the local launcher agree: same ports, names and variables."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tiering.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def launcher_kafka() -> str:
    """The Kafka version `make up` runs by default (deploy/local/kafka/pom.xml)."""
    pom = (ROOT / "deploy" / "local" / "kafka" / "pom.xml").read_text()
    found = re.search(r"<kafka.version>(.+?)</kafka.version>", pom)
    assert found, "no <kafka.version> in deploy/local/kafka/pom.xml"
    return found[1]


def test_compose_has_the_stack_on_the_local_ports() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"kafka", "postgres", "worker", "prometheus", "grafana"}
    ports = {name: [p.split(":", 1)[1] for p in s.get("ports", [])] for name, s in services.items()}
    assert ports["kafka"] == ["9092:9092"]
    assert ports["postgres"] == ["5432:5432"]
    assert ports["worker"] == ["6066:6066"]
    assert ports["prometheus"] == ["9090:9090"]
    assert services["kafka"]["image"] == f"apache/kafka:{launcher_kafka()}"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["worker"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_compose_worker_uses_only_known_variables() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["worker"]["environment"]
    known = {f"TIERING_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known
    assert env["TIERING_DATABASE_URL"].endswith("/tiering")
    assert Settings(**{k[len("TIERING_") :].lower(): v for k, v in env.items()}).web_port == 6066


def test_both_prometheus_configs_scrape_the_worker_port() -> None:
    local = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    docker = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.docker.yml").read_text())
    local_targets = local["scrape_configs"][0]["static_configs"][0]["targets"]
    assert "127.0.0.1:6066" in local_targets
    assert [f"127.0.0.1:{p}" for p in range(6070, 6076)] == local_targets[-6:]
    assert docker["scrape_configs"][0]["static_configs"][0]["targets"] == ["worker:6066"]
