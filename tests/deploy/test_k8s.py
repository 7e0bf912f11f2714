"""The Kubernetes manifests of deploy/k8s/, offline: every document is valid against the
Kubernetes schemas that kubernetes-validate ships, and they agree with what the service reads
(its settings, its policy, its channels file, its HTTP pages) and with one another (names,
labels, ports)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from tiering.core.policy_file import load_policy, parse_policy_text
from tiering.settings import Settings
from tiering.sinks.channels.config import parse_channels

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = ROOT / "tiering" / "core" / "default_policy.toml"
K8S = ROOT / "deploy" / "k8s"
#: the newest Kubernetes whose schemas the pinned kubernetes-validate ships
KUBERNETES_VERSION = "1.37.0"
NAMESPACE = "deposit-tiering"
KNOWN = {f"TIERING_{name.upper()}" for name in Settings.model_fields}
#: settings that must come from a Secret, never from a ConfigMap or a literal value
SECRET_SETTINGS = {
    f"TIERING_{name.upper()}"
    for name, field in Settings.model_fields.items()
    if field.annotation is SecretStr
}
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")

Doc = dict[str, Any]


class _Loader(yaml.SafeLoader):
    """Rejects a key given twice in one mapping, as kubectl does (PyYAML keeps the last)."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    if twice := sorted({k for k in keys if keys.count(k) > 1}):
        raise yaml.constructor.ConstructorError(
            None, None, f"key given twice: {', '.join(twice)}", node.start_mark
        )
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@cache
def documents() -> tuple[tuple[str, Doc], ...]:
    """``(file name, document)`` of every manifest."""
    found = []
    for path in MANIFESTS:
        for doc in yaml.load_all(path.read_text("utf-8"), _Loader):
            if doc is not None:
                found.append((path.name, doc))
    return tuple(found)


def the(kind: str, name: str) -> Doc:
    matches = [d for _, d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} documents"
    return matches[0]


def workloads() -> list[Doc]:
    return [d for _, d in documents() if d["kind"] in ("StatefulSet", "Deployment")]


def containers() -> list[tuple[Doc, Doc]]:
    """``(workload, container)`` of every container of every workload."""
    return [(w, c) for w in workloads() for c in w["spec"]["template"]["spec"]["containers"]]


def config_data() -> dict[str, str]:
    data: dict[str, str] = {}
    for _, d in documents():
        if d["kind"] == "ConfigMap":
            data.update(d.get("data", {}))
    return data


def environment(container: Doc) -> dict[str, str]:
    """The container's variables as it sees them: its ConfigMaps' (envFrom), then its own
    ``env`` (which wins); a Secret's key reads as ``secret:<name>/<key>``."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, "only ConfigMaps go in whole (envFrom)"
        env.update(the("ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in var["valueFrom"]:  # the pod's own name, for instance
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", var["name"]
            env[var["name"]] = "tiering-worker-0"
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = f"secret:{ref['name']}/{ref['key']}"
    return env


def container_port(container: Doc, port: int | str) -> int:
    """The number of a probe's or a Service's port, named or not."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


@pytest.mark.parametrize(
    ("name", "doc"),
    documents(),
    ids=[f"{name}:{d['kind']}/{d['metadata']['name']}" for name, d in documents()],
)
def test_every_document_is_valid_for_kubernetes(name: str, doc: Doc) -> None:
    problem = ""
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = "/".join(str(p) for p in exc.path)
        problem = f"{name}: {doc['kind']}/{doc['metadata']['name']} at {where}: {exc.message}"
    assert not problem, problem
    if doc["kind"] != "Namespace":
        assert doc["metadata"]["namespace"] == NAMESPACE, name


def test_the_manifests_hold_the_whole_service() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in documents()}
    assert kinds == {
        ("Namespace", NAMESPACE),
        ("ConfigMap", "tiering-config"),
        ("ConfigMap", "tiering-policy"),
        ("ConfigMap", "tiering-channels"),
        ("Secret", "tiering-secrets"),
        ("StatefulSet", "tiering-worker"),
        ("Service", "tiering-worker"),
        ("Service", "tiering-worker-metrics"),
        ("PodDisruptionBudget", "tiering-worker"),
        ("Deployment", "tiering-deliver"),
        ("Deployment", "tiering-inbox"),
        ("Service", "tiering-inbox"),
    }
    commands = {w["metadata"]["name"]: c["args"] for w, c in containers()}
    assert commands == {
        "tiering-worker": ["worker", "--no-delivery"],
        "tiering-deliver": ["deliver"],
        "tiering-inbox": ["inbox"],
    }
    for _, c in containers():
        assert c["image"] == "deposit-tiering:latest"
        assert c["imagePullPolicy"] == "IfNotPresent"


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.load((K8S / "kustomization.yaml").read_text("utf-8"), _Loader)
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    assert set(resources) == {p.name for p in MANIFESTS}


def test_only_real_settings_are_set() -> None:
    used = set(config_data()) | {n for _, c in containers() for n in environment(c)}
    tiering = {n for n in used if n.startswith("TIERING_")}
    assert tiering <= KNOWN, f"not settings: {sorted(tiering - KNOWN)}"
    for workload, c in containers():
        env = environment(c)
        # the settings every command checks before it starts
        Settings.model_validate(
            {k[len("TIERING_") :].lower(): v for k, v in env.items() if k in KNOWN}
        )
        for name in SECRET_SETTINGS & set(env):
            assert env[name] == f"secret:tiering-secrets/{name}", workload["metadata"]["name"]


def test_no_secret_in_a_config_map() -> None:
    secret = the("Secret", "tiering-secrets")
    assert secret["type"] == "Opaque"
    values = secret["stringData"]
    assert all("change-me" in v for v in values.values()), "placeholders only in the repository"
    data = config_data()
    assert not SECRET_SETTINGS & set(data)
    assert not set(values) & set(data)
    for key, value in values.items():
        for text in data.values():
            assert value not in text, key


def test_pods_read_no_service_links() -> None:
    # Service links set e.g. TIERING_INBOX_PORT=tcp://...:8080 for the Service tiering-inbox,
    # which Settings would read as the inbox port.
    for w in workloads():
        assert w["spec"]["template"]["spec"]["enableServiceLinks"] is False


def test_worker_keeps_its_state_on_its_own_volume() -> None:
    worker = the("StatefulSet", "tiering-worker")
    spec = worker["spec"]
    assert spec["replicas"] == 2
    assert spec["replicas"] <= int(config_data()["TIERING_TOPIC_PARTITIONS"])
    assert spec["podManagementPolicy"] == "Parallel"
    assert the("Service", spec["serviceName"])["spec"]["clusterIP"] == "None"
    (container,) = spec["template"]["spec"]["containers"]
    data_dir = environment(container)["TIERING_DATA_DIR"]
    claims = {t["metadata"]["name"]: t for t in spec["volumeClaimTemplates"]}
    mounts = [m for m in container["volumeMounts"] if m["name"] in claims]
    assert [m["mountPath"] for m in mounts] == [data_dir]
    assert claims[mounts[0]["name"]]["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "fsGroup" in pod["securityContext"]
    # a restarted pod rejoins as the same static member: its partitions come back to its volume
    (instance,) = [v for v in container["env"] if v["name"] == "TIERING_INSTANCE_ID"]
    assert instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


@pytest.mark.parametrize("workload", ["tiering-worker", "tiering-deliver", "tiering-inbox"])
def test_probes_hit_pages_the_command_serves(workload: str) -> None:
    (w,) = [w for w in workloads() if w["metadata"]["name"] == workload]
    pod = w["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = environment(container)
    # the worker serves /healthz; `tiering deliver` only Prometheus' client (any path is the
    # metrics); the inbox its own /healthz
    path, port_setting = {
        "tiering-worker": ("/healthz", "TIERING_WEB_PORT"),
        "tiering-deliver": ("/metrics", "TIERING_WEB_PORT"),
        "tiering-inbox": ("/healthz", "TIERING_INBOX_PORT"),
    }[workload]
    host = "TIERING_INBOX_HOST" if workload == "tiering-inbox" else "TIERING_WEB_HOST"
    assert env[host] == "0.0.0.0"
    probes = [
        container[p] for p in ("startupProbe", "readinessProbe", "livenessProbe") if p in container
    ]
    assert {"readinessProbe", "livenessProbe"} <= set(container)
    for probe in probes:
        assert probe["httpGet"]["path"] == path
        assert container_port(container, probe["httpGet"]["port"]) == int(env[port_setting])
    annotations = w["spec"]["template"]["metadata"].get("annotations", {})
    if workload != "tiering-inbox":
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) == int(env["TIERING_WEB_PORT"])
    assert pod["terminationGracePeriodSeconds"] >= 30
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"requests", "limits"} <= set(container["resources"])


def test_worker_waits_for_its_state_and_drains() -> None:
    pod = the("StatefulSet", "tiering-worker")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["terminationGracePeriodSeconds"] >= 60
    startup = container["startupProbe"]
    # restoring a partition's state from its changelog: minutes, not seconds
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


def test_disruption_budget_selects_the_workers() -> None:
    pdb = the("PodDisruptionBudget", "tiering-worker")["spec"]
    assert pdb["maxUnavailable"] == 1
    worker = the("StatefulSet", "tiering-worker")["spec"]
    labels = worker["template"]["metadata"]["labels"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    others = [w for w in workloads() if w["metadata"]["name"] != "tiering-worker"]
    for w in others:
        assert (
            not pdb["selector"]["matchLabels"].items()
            <= w["spec"]["template"]["metadata"]["labels"].items()
        )


def test_selectors_and_services_reach_their_pods() -> None:
    for w in workloads():
        labels = w["spec"]["template"]["metadata"]["labels"]
        assert w["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for _, service in documents():
        if service["kind"] != "Service":
            continue
        spec = service["spec"]
        targets = [
            (w, c)
            for w, c in containers()
            if spec["selector"].items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len({w["metadata"]["name"] for w, _ in targets}) == 1, service["metadata"]["name"]
        for port in spec["ports"]:
            for _, c in targets:
                container_port(c, port["targetPort"])


def test_mounted_config_maps_and_secret_keys_exist() -> None:
    secret_keys = set(the("Secret", "tiering-secrets")["stringData"])
    for w, c in containers():
        pod = w["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claims = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
        for mount in c["volumeMounts"]:
            assert mount["name"] in volumes.keys() | claims
            if "configMap" in volumes.get(mount["name"], {}):
                the("ConfigMap", volumes[mount["name"]]["configMap"]["name"])
                assert mount.get("readOnly") is True
        for var in c.get("env", []):
            if "secretKeyRef" in var.get("valueFrom", {}):
                assert var["valueFrom"]["secretKeyRef"]["key"] in secret_keys, var["name"]
        env = environment(c)
        for setting, name, key in (
            ("TIERING_POLICY_FILE", "tiering-policy", "policy.toml"),
            ("TIERING_CHANNELS_FILE", "tiering-channels", "channels.toml"),
        ):
            if setting in env:
                assert mounted_file(pod, c, env[setting]) == (name, key)


def mounted_file(pod: Doc, container: Doc, path: str) -> tuple[str, str]:
    """``(ConfigMap, key)`` that ``path`` reads in the container."""
    folder, _, key = path.rpartition("/")
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == folder]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    return volume["configMap"]["name"], key


def test_policy_is_the_packaged_default() -> None:
    """Word for word, comments included: the pods read the policy the repository ships (write
    it again with `make k8s-policy`)."""
    text = the("ConfigMap", "tiering-policy")["data"]["policy.toml"]
    assert text == DEFAULT_POLICY.read_text(encoding="utf-8"), "run make k8s-policy"
    assert parse_policy_text(text, "policy-configmap.yaml") == load_policy()


def test_channels_file_parses_with_the_secrets_deliver_gets() -> None:
    text = the("ConfigMap", "tiering-channels")["data"]["channels.toml"]
    (deliver,) = the("Deployment", "tiering-deliver")["spec"]["template"]["spec"]["containers"]
    env = environment(deliver)
    referenced = set(re.findall(r"\$\{([^}]*)\}", text))
    assert referenced, "the example shows how secrets are referenced"
    assert {env.get(name) for name in referenced} == {
        f"secret:tiering-secrets/{name}" for name in referenced
    }
    values = the("Secret", "tiering-secrets")["stringData"]
    channels = parse_channels(text, {name: values[name] for name in referenced})
    assert channels.webhook
    assert channels.smtp is not None
