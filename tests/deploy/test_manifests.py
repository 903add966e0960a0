"""Static checks of the deployment files: Dockerfile, docker-compose.yml, deploy/k8s/.

No Docker engine or cluster is needed: Kubernetes manifests are validated offline against
the schemas shipped in `kubernetes-validate`, and docker-compose.yml and deploy/k8s/ are
checked against each other and against the table in docs/CONVENTIONS.md.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import json
import re
import runpy
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_ENV_EXAMPLE = ROOT / "deploy" / "compose.env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
HEALTHCHECK_SCRIPT = ROOT / "deploy" / "docker" / "healthcheck.py"
CONVENTIONS = ROOT / "docs" / "CONVENTIONS.md"

APP_SERVICES = {"identity", "agents", "certs", "seals", "stamping", "notify", "gateway"}
IMAGE = "eseal:latest"
SECRET_NAME = "eseal-secrets"
SECRET_KEYS = {
    "ESEAL_INTERNAL_SECRET",
    "ESEAL_MASTER_KEY",
    "ESEAL_KEYED_HASH_SECRET",
    "ESEAL_PG_URL",
    "ESEAL_AMQP_URL",
    "ESEAL_SMS_API_KEY",
    "ESEAL_REDIS_URL",
    "ESEAL_STAMPING_CLIENT_TOKEN_SECRET",
    "ESEAL_RABBITMQ_MANAGEMENT_URL",
    "ESEAL_RABBITMQ_MANAGEMENT_USER",
    "ESEAL_RABBITMQ_MANAGEMENT_PASSWORD",
    "ESEAL_TENCENT_SECRET_ID",
    "ESEAL_TENCENT_SECRET_KEY",
}
# Values that must come from the operator, never from the repository. (ESEAL_SMS_API_KEY
# is not among them: compose uses the sandbox SMS adapter, which needs no key.)
COMPOSE_SECRET_VARS = {
    "ESEAL_INTERNAL_SECRET",
    "ESEAL_MASTER_KEY",
    "ESEAL_KEYED_HASH_SECRET",
    # An empty value would be used as an empty HMAC key (pydantic keeps "" as a value).
    "ESEAL_STAMPING_CLIENT_TOKEN_SECRET",
}
# Key material goes only where keys are wrapped/unwrapped, person keys are derived, SMS is
# sent, or client tokens are signed.
KEY_HOLDERS = {
    "ESEAL_MASTER_KEY": {"certs", "identity"},
    "ESEAL_KEYED_HASH_SECRET": {"identity"},
    "ESEAL_SMS_API_KEY": {"certs"},
    "ESEAL_STAMPING_CLIENT_TOKEN_SECRET": {"stamping"},
    # Rate-limit buckets shared by the gateway's replicas; no other service uses Redis.
    "ESEAL_REDIS_URL": {"gateway"},
    # Subscribers' broker users are provisioned by notify's commands only.
    "ESEAL_RABBITMQ_MANAGEMENT_PASSWORD": {"notify"},
    # The identity providers' key pair: face and real-name checks (identity, agents).
    "ESEAL_TENCENT_SECRET_KEY": {"identity", "agents"},
}
PLACEHOLDER = "CHANGE_ME"
# The oldest Kubernetes the manifests target (also the oldest schema set any allowed
# kubernetes-validate ships, see requirements-dev.txt), and the newest one installed.
K8S_VERSIONS = sorted({"1.30.0", kubernetes_validate.latest_version()})


# --------------------------------------------------------------------------- helpers


def conventions_table() -> dict[str, tuple[int, int, str]]:
    """service -> (port, internal port, database) from the table in docs/CONVENTIONS.md."""
    rows = re.findall(
        # the database column: a name, or a dash and a remark for the stateless gateway
        r"^\|\s*([a-z]+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*([^|\n]+?)\s*\|\s*$",
        CONVENTIONS.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    return {name: (int(port), int(internal), db) for name, port, internal, db in rows}


def conventions_ports() -> dict[str, int]:
    return {name: port for name, (port, _, _) in conventions_table().items()}


def conventions_internal_ports() -> dict[str, int]:
    return {name: internal for name, (_, internal, _) in conventions_table().items()}


def k8s_manifest_files() -> list[Path]:
    return sorted(
        p
        for p in K8S.rglob("*")
        if p.suffix in {".yaml", ".yml"} and p.name != "kustomization.yaml"
    )


@functools.cache
def _parse_yaml(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load_docs(path: Path) -> list[dict[str, Any]]:
    # Parsed once per run; each caller gets its own copy.
    return copy.deepcopy(_parse_yaml(path))


def kustomization() -> dict[str, Any]:
    (doc,) = load_docs(K8S / "kustomization.yaml")
    return doc


def applied_docs() -> list[dict[str, Any]]:
    """Every object the kustomize base applies (files listed under resources)."""
    return [d for r in kustomization()["resources"] for d in load_docs(K8S / r)]


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in applied_docs() if d["kind"] == kind}


def secret_template() -> dict[str, Any]:
    secrets = [
        d for p in k8s_manifest_files() for d in load_docs(p) if d["kind"] == "Secret"
    ]
    assert len(secrets) == 1, "expected exactly one Secret (the template)"
    return secrets[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def main_container(deployment: dict[str, Any]) -> dict[str, Any]:
    name = deployment["metadata"]["name"]
    containers = {c["name"]: c for c in pod_spec(deployment)["containers"]}
    assert name in containers, f"Deployment {name} has no container named {name}"
    return containers[name]


def all_containers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(obj)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def env_names(container: dict[str, Any]) -> set[str]:
    """Names of the variables a container gets: env entries plus envFrom sources' keys."""
    names = {e["name"] for e in container.get("env", [])}
    configmaps = objects("ConfigMap")
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            ref = source["configMapRef"]["name"]
            assert ref in configmaps, f"envFrom names a missing ConfigMap {ref}"
            names |= set(configmaps[ref]["data"])
        elif "secretRef" in source:
            ref = source["secretRef"]["name"]
            assert ref == SECRET_NAME, f"envFrom names an unknown Secret {ref}"
            names |= set(secret_template()["stringData"])
        else:
            raise AssertionError(f"unexpected envFrom source {source}")
    return names


def literal_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def compose() -> dict[str, Any]:
    # safe_load resolves the YAML anchors and `<<` merge keys the file uses.
    (doc,) = load_docs(COMPOSE_FILE)
    return doc


def compose_env(service: str) -> dict[str, str]:
    env = compose()["services"][service]["environment"]
    assert isinstance(env, dict), f"{service}: write environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in logical]


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last match wins)."""

    def to_regex(pattern: str) -> re.Pattern[str]:
        out = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                out += ".*"
                i += 2
            elif pattern[i] == "*":
                out += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                out += "[^/]"
                i += 1
            else:
                out += re.escape(pattern[i])
                i += 1
        return re.compile(out + r"\Z")

    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        regex = to_regex(line.lstrip("!").strip("/"))
        if any(regex.match(p) for p in prefixes):
            excluded = not negate
    return excluded


# --------------------------------------------------------------------------- conventions


def test_conventions_table_lists_the_application_services() -> None:
    assert set(conventions_table()) == APP_SERVICES


def test_internal_ports_are_the_public_ones_plus_1000() -> None:
    from shared.settings import INTERNAL_PORT_OFFSET, SERVICE_PORTS

    internal = conventions_internal_ports()
    assert internal == {s: p + INTERNAL_PORT_OFFSET for s, p in conventions_ports().items()}
    assert SERVICE_PORTS == conventions_ports()


# --------------------------------------------------------------------------- kustomize


def test_kustomization_lists_every_manifest_and_only_existing_files() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    for resource in listed:
        assert (K8S / resource).is_file(), f"kustomization.yaml lists missing {resource}"
    expected = {
        p.relative_to(K8S).as_posix()
        for p in k8s_manifest_files()
        if not p.name.endswith(".template.yaml")
    }
    assert set(listed) == expected


def test_secret_template_is_never_applied_by_the_base() -> None:
    # Applying it would overwrite the real Secret with placeholders.
    listed = kustomization()["resources"]
    assert not [r for r in listed if r.endswith(".template.yaml")]
    assert all(d["kind"] != "Secret" for d in applied_docs())
    assert (K8S / "secret.template.yaml").is_file()


def test_every_object_is_in_the_eseal_namespace() -> None:
    assert kustomization()["namespace"] == "eseal"
    namespaces = objects("Namespace")
    assert set(namespaces) == {"eseal"}
    for doc in applied_docs():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "eseal", doc["metadata"]["name"]
    assert secret_template()["metadata"]["namespace"] == "eseal"


def _schema_cases() -> list[Any]:
    cases = []
    for path in k8s_manifest_files():
        for i, doc in enumerate(load_docs(path)):
            for version in K8S_VERSIONS:
                name = f"{path.relative_to(K8S)}#{i}:{doc.get('kind')}/{version}"
                cases.append(pytest.param(doc, version, id=name))
    return cases


@pytest.mark.parametrize(("doc", "version"), _schema_cases())
def test_manifest_is_valid_against_the_kubernetes_schema(doc: dict[str, Any], version: str) -> None:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path)
        pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} at {path}: {exc.message}")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
def test_kustomize_renders_exactly_the_listed_objects() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], check=True, capture_output=True, text=True
    ).stdout
    got = sorted((d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(rendered) if d)
    want = sorted((d["kind"], d["metadata"]["name"]) for d in applied_docs())
    assert got == want


# --------------------------------------------------------------------------- workloads


def test_compose_and_k8s_name_the_same_application_services() -> None:
    compose_apps = {n for n in compose()["services"] if n not in {"postgres", "rabbitmq", "redis"}}
    assert compose_apps == APP_SERVICES | {f"{s}-migrate" for s in APP_SERVICES}
    assert set(objects("Deployment")) == APP_SERVICES
    assert set(objects("Service")) == APP_SERVICES
    assert set(objects("Job")) == {f"{s}-migrate" for s in APP_SERVICES}


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_compose_and_k8s_give_a_service_the_same_env_names(service: str) -> None:
    deployment = objects("Deployment")[service]
    k8s_names = env_names(main_container(deployment))
    assert set(compose_env(service)) == k8s_names
    # The migration runs with exactly the settings of the service it migrates.
    assert set(compose_env(f"{service}-migrate")) == k8s_names
    for container in all_containers(deployment):
        assert env_names(container) == k8s_names, container["name"]
    assert env_names(pod_spec(objects("Job")[f"{service}-migrate"])["containers"][0]) == k8s_names


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_service_is_selected_by_its_env(service: str) -> None:
    assert compose_env(service)["ESEAL_SERVICE"] == service
    assert compose_env(f"{service}-migrate")["ESEAL_SERVICE"] == service
    for container in all_containers(objects("Deployment")[service]):
        assert literal_env(container)["ESEAL_SERVICE"] == service
    job_container = pod_spec(objects("Job")[f"{service}-migrate"])["containers"][0]
    assert literal_env(job_container)["ESEAL_SERVICE"] == service


def test_key_material_reaches_only_the_services_that_need_it() -> None:
    for key, holders in KEY_HOLDERS.items():
        in_compose = {s for s in APP_SERVICES if key in compose_env(s)}
        in_k8s = {
            s for s in APP_SERVICES if key in env_names(main_container(objects("Deployment")[s]))
        }
        assert in_compose == holders, key
        assert in_k8s == holders, key


def test_secret_references_point_at_template_keys() -> None:
    keys = set(secret_template()["stringData"])
    workloads = list(objects("Deployment").values()) + list(objects("Job").values())
    for obj in workloads:
        for container in all_containers(obj):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == SECRET_NAME
                    assert ref["key"] in keys
                    assert ref["key"] == entry["name"], "keep the variable name as key"


def test_configmap_holds_no_secret() -> None:
    for name, configmap in objects("ConfigMap").items():
        assert not set(configmap["data"]) & SECRET_KEYS, name


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_deployment_has_probes_resources_and_the_image(service: str) -> None:
    deployment = objects("Deployment")[service]
    assert deployment["spec"]["replicas"] == 2
    container = main_container(deployment)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for c in all_containers(deployment):
        assert c["image"] == IMAGE
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]), c["name"]
        assert {"cpu", "memory"} <= set(c["resources"]["limits"]), c["name"]
    # No args: the image runs `serve`, which migrates before it listens.
    assert "args" not in container and "command" not in container


@pytest.mark.parametrize(
    "obj",
    [pytest.param(d, id=f"{d['kind']}/{d['metadata']['name']}") for d in applied_docs()
     if d["kind"] in {"Deployment", "Job"}],
)
def test_pods_run_as_non_root_on_a_read_only_root_with_tmp(obj: dict[str, Any]) -> None:
    spec = pod_spec(obj)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    for container in all_containers(obj):
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts.get("/tmp") in tmp_volumes, container["name"]


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_deployment_has_an_hpa_and_a_pdb_and_a_service(service: str) -> None:
    deployment = objects("Deployment")[service]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector_matches(deployment["spec"]["selector"]["matchLabels"], pod_labels)

    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
    hpas = [h for h in objects("HorizontalPodAutoscaler").values()
            if h["spec"]["scaleTargetRef"] == target]
    assert len(hpas) == 1, f"{service}: expected one HPA"
    hpa = hpas[0]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
    assert {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 70}}} in hpa["spec"]["metrics"]

    pdbs = [p for p in objects("PodDisruptionBudget").values()
            if selector_matches(p["spec"]["selector"]["matchLabels"], pod_labels)]
    assert len(pdbs) == 1, f"{service}: expected one PDB"
    assert pdbs[0]["apiVersion"] == "policy/v1"
    assert pdbs[0]["spec"]["minAvailable"] == 1

    svc = objects("Service")[service]
    assert svc["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert selector_matches(svc["spec"]["selector"], pod_labels)


def test_service_and_pdb_selectors_never_match_migration_pods() -> None:
    # A running migration pod has no readiness probe: a Service selecting it would route
    # requests to it, and a PDB would count it.
    for job in objects("Job").values():
        labels = job["spec"]["template"]["metadata"]["labels"]
        for svc in objects("Service").values():
            assert not selector_matches(svc["spec"]["selector"], labels), svc["metadata"]["name"]
        for pdb in objects("PodDisruptionBudget").values():
            assert not selector_matches(pdb["spec"]["selector"]["matchLabels"], labels)


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_migration_job_runs_migrate(service: str) -> None:
    job = objects("Job")[f"{service}-migrate"]
    spec = job["spec"]
    assert isinstance(spec["backoffLimit"], int)
    assert isinstance(spec["ttlSecondsAfterFinished"], int)
    assert pod_spec(job)["restartPolicy"] in {"Never", "OnFailure"}
    (container,) = pod_spec(job)["containers"]
    assert container["image"] == IMAGE
    assert container["args"] == ["migrate"]
    assert "command" not in container, "the image's entrypoint picks the service"


def test_only_the_gateway_is_exposed_by_an_ingress() -> None:
    ingresses = objects("Ingress")
    assert set(ingresses) == {"gateway"}
    backends = [
        path["backend"]["service"]
        for rule in ingresses["gateway"]["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends
    gateway_port = objects("Service")["gateway"]["spec"]["ports"][0]
    for backend in backends:
        assert backend["name"] == "gateway"
        assert backend["port"] in ({"name": gateway_port["name"]}, {"number": gateway_port["port"]})


def test_gateway_allows_the_ingress_host_as_browser_origin() -> None:
    hosts = {rule["host"] for rule in objects("Ingress")["gateway"]["spec"]["rules"]}
    tls_hosts = {h for t in objects("Ingress")["gateway"]["spec"]["tls"] for h in t["hosts"]}
    assert hosts <= tls_hosts, "serve the web client over TLS only"
    origins = objects("ConfigMap")["eseal-gateway-config"]["data"]["ESEAL_CORS_ORIGINS"]
    assert {f"https://{h}" for h in hosts} <= {o.strip() for o in origins.split(",")}


def test_gateway_trusts_exactly_the_ingress_hop_for_client_addresses() -> None:
    # More would let a client choose its address (and its rate-limit bucket) in
    # X-Forwarded-For; none would put every client behind the ingress in one bucket.
    data = objects("ConfigMap")["eseal-gateway-config"]["data"]
    assert data["ESEAL_TRUSTED_PROXIES"] == "1"
    assert "ESEAL_TRUST_FORWARDED" not in data


def test_secret_template_has_only_placeholders() -> None:
    secret = secret_template()
    assert secret["metadata"]["name"] == SECRET_NAME
    assert "data" not in secret, "no base64 values: they would hide real secrets"
    assert set(secret["stringData"]) == SECRET_KEYS
    for key, value in secret["stringData"].items():
        # Only a scheme, separators and port numbers may surround the placeholders: no
        # user, password or host may be filled in.
        assert PLACEHOLDER in value, f"{key} is not a placeholder"
        assert re.fullmatch(rf"([a-z]+://)?({PLACEHOLDER}|[:@/.0-9])*", value), f"{key}: {value}"


# --------------------------------------------------------------------------- settings

# Where each service's pydantic-settings class lives (fields are read as ESEAL_<FIELD>).
SETTINGS_CLASSES = {
    "identity": ("identity.config", "IdentitySettings"),
    "agents": ("agents.config", "AgentsSettings"),
    "certs": ("certs.config", "CertsSettings"),
    "seals": ("seals.config", "SealsSettings"),
    "stamping": ("stamping.config", "StampingSettings"),
    "notify": ("notify.config", "NotifySettings"),
    "gateway": ("gateway.config", "GatewaySettings"),
}
# Read by the image's entrypoint, not by the settings.
NOT_A_SETTING = {"ESEAL_SERVICE"}


def settings_class(service: str) -> Any:
    module, name = SETTINGS_CLASSES[service]
    return getattr(importlib.import_module(module), name)


def k8s_env_values(service: str) -> dict[str, str]:
    """What the service's container gets in Kubernetes; secrets as a dummy non-empty value."""
    container = main_container(objects("Deployment")[service])
    values = {}
    configmaps = objects("ConfigMap")
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            values.update(configmaps[source["configMapRef"]["name"]]["data"])
    for entry in container.get("env", []):
        values[entry["name"]] = entry.get("value", "secret-from-the-cluster")
    values["ESEAL_MASTER_KEY"] = "A" * 43 + "="  # valid base64 of 32 bytes, if the service reads it
    return {k: v for k, v in values.items() if k in env_names(container)}


def load_settings(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    import os

    for name in [n for n in os.environ if n.startswith("ESEAL_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings_class(service)()


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_every_env_name_is_a_setting_of_its_service(service: str) -> None:
    # The settings ignore unknown ESEAL_* variables, so a misspelt name would go unnoticed.
    fields = {f"ESEAL_{name.upper()}" for name in settings_class(service).model_fields}
    names = env_names(main_container(objects("Deployment")[service])) - NOT_A_SETTING
    assert not names - fields, f"{service}: not settings of the service: {sorted(names - fields)}"
    compose_names = set(compose_env(service)) - NOT_A_SETTING
    assert not compose_names - fields, sorted(compose_names - fields)


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_k8s_values_parse_as_production_settings(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(service, k8s_env_values(service), monkeypatch)
    assert settings.is_production
    assert settings.listen_port == conventions_ports()[service]


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_k8s_settings_pass_the_production_guards(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With real secrets in the Secret, nothing in the manifests makes a service refuse to
    start (shared/production.py); and ESEAL_ENV is production, not left to the default."""
    env = {k: ("x" * 48 if v == "secret-from-the-cluster" else v)
           for k, v in k8s_env_values(service).items()}
    assert env.get("ESEAL_ENV") == "production"
    settings = load_settings(service, env, monkeypatch)
    assert settings.production_problems() == []


def test_k8s_providers_are_ones_production_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiohttp
    from agents.adapters.realname import TencentRealName, realname_verifier
    from agents.adapters.realname import tencent_realname as agents_tencent
    from identity.adapters.face_provider import TencentFaceProvider, face_provider, tencent_face_provider
    from identity.adapters.proofing import TencentRegistry, business_registry, tencent_registry
    from identity.adapters.proofing import tencent_realname as identity_tencent

    identity = load_settings("identity", k8s_env_values("identity"), monkeypatch)
    agents = load_settings("agents", k8s_env_values("agents"), monkeypatch)

    async def build() -> None:
        # The factories the services call: each refuses to start without its key pair (from
        # the Secret), the face check's rule id and return URL; the sandbox ones refuse
        # production.
        async with aiohttp.ClientSession() as session:
            face = face_provider(identity.face_provider, identity.env,
                                 tencent=lambda: tencent_face_provider(session, identity))
            assert isinstance(face, TencentFaceProvider)
            identity_tencent(session, identity)
            registry = business_registry(identity.registry_provider, identity.env,
                                         tencent=lambda: tencent_registry(session, identity))
            assert isinstance(registry, TencentRegistry)
            realname = realname_verifier(agents.realname_provider, agents.env, "",
                                         tencent=lambda: agents_tencent(session, agents))
            assert isinstance(realname, TencentRealName)

    asyncio.run(build())

    certs = load_settings("certs", k8s_env_values("certs"), monkeypatch)
    assert certs.sms_provider == "http", "the sandbox SMS adapter refuses production"
    assert certs.sms_url and certs.sms_url.startswith("https://")
    assert certs.sms_api_key is not None
    # CRL distribution points in certificates name the public (Ingress) URL.
    hosts = {rule["host"] for rule in objects("Ingress")["gateway"]["spec"]["rules"]}
    assert certs.public_base_url.rstrip("/") in {f"https://{h}" for h in hosts}

    stamping = load_settings("stamping", k8s_env_values("stamping"), monkeypatch)
    assert stamping.callbacks_may_reach_private_addresses is False


def test_compose_uses_the_sandbox_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in compose_env("certs").items() if "${" not in v}
    assert compose_env("certs")["ESEAL_SMS_PROVIDER"] == "${ESEAL_SMS_PROVIDER:-sandbox}"
    assert compose_env("certs")["ESEAL_SMS_API_KEY"] == "${ESEAL_SMS_API_KEY:-}"
    assert compose_env("identity")["ESEAL_FACE_PROVIDER"] == "sandbox"
    assert compose_env("agents")["ESEAL_REALNAME_PROVIDER"] == "sandbox"
    stamping = load_settings("stamping", {k: v for k, v in compose_env("stamping").items()
                                          if "${" not in v}, monkeypatch)
    assert stamping.callbacks_may_reach_private_addresses is True
    assert load_settings("certs", env, monkeypatch).env == "development"


def test_notify_support_contacts_default_to_notify_own_defaults() -> None:
    fields = settings_class("notify").model_fields
    code = {f"ESEAL_{n.upper()}": fields[n].default
            for n in ("support_phone", "support_qq_group", "support_hours")}
    configmap = objects("ConfigMap")["eseal-notify-config"]["data"]
    env = compose_env("notify")
    example = COMPOSE_ENV_EXAMPLE.read_text(encoding="utf-8")
    for var, default in code.items():
        assert configmap[var] == default, var
        assert env[var] == f"${{{var}:-{default}}}", var
        assert f"# {var}={default}\n" in example, var


# --------------------------------------------------------------------------- ports


def test_ports_match_the_conventions_table() -> None:
    ports = conventions_ports()
    url_var = {s: f"ESEAL_{s.upper()}_URL" for s in APP_SERVICES - {"gateway"}}

    for service, port in ports.items():
        # compose
        for name in (service, f"{service}-migrate"):
            assert compose_env(name)["ESEAL_PORT"] == str(port), name
        for other, var in url_var.items():
            assert compose_env(service)[var] == f"http://{other}:{ports[other]}"
        # k8s
        deployment = objects("Deployment")[service]
        container = main_container(deployment)
        internal = conventions_internal_ports()[service]
        assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [
            ("http", port), ("internal", internal)]
        for c in all_containers(deployment):
            assert literal_env(c)["ESEAL_PORT"] == str(port)
        svc_ports = objects("Service")[service]["spec"]["ports"]
        assert [p["port"] for p in svc_ports] == [port, internal]
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        for p in svc_ports:
            assert named.get(p["targetPort"], p["targetPort"]) == p["port"]

    internal_var = {s: f"ESEAL_{s.upper()}_INTERNAL_URL" for s in APP_SERVICES - {"gateway"}}
    internal_ports = conventions_internal_ports()
    config = objects("ConfigMap")["eseal-config"]["data"]
    for other, var in url_var.items():
        assert config[var] == f"http://{other}:{ports[other]}"
    for other, var in internal_var.items():
        assert config[var] == f"http://{other}:{internal_ports[other]}"
        for service in ports:
            assert compose_env(service)[var] == f"http://{other}:{internal_ports[other]}"


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_probes_and_scrapes_use_the_internal_listener(service: str) -> None:
    deployment = objects("Deployment")[service]
    container = main_container(deployment)
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    internal = conventions_internal_ports()[service]
    assert named["internal"] == internal
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        port = container[probe]["httpGet"]["port"]
        assert named.get(port, port) == internal, probe
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(internal)
    assert annotations["prometheus.io/path"] == "/metrics"


# --------------------------------------------------------------------------- network policies


def _policies_for(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [p for p in objects("NetworkPolicy").values()
            if selector_matches(p["spec"]["podSelector"].get("matchLabels", {}), labels)]


def _admitted(labels: dict[str, str], namespace: str, port: int,
              target_labels: dict[str, str]) -> bool:
    """Whether a pod (labels, namespace) may connect to ``port`` of pods with target_labels."""
    for policy in _policies_for(target_labels):
        for rule in policy["spec"].get("ingress", []):
            if not any(p.get("port") == port for p in rule.get("ports", [])):
                continue
            for peer in rule.get("from", []):
                ns_ok = ("namespaceSelector" not in peer and namespace == "eseal") or (
                    "namespaceSelector" in peer and selector_matches(
                        peer["namespaceSelector"].get("matchLabels", {}),
                        {"kubernetes.io/metadata.name": namespace}))
                pod_ok = selector_matches(peer.get("podSelector", {}).get("matchLabels", {}), labels)
                if ns_ok and pod_ok:
                    return True
    return False


def test_ingress_is_denied_by_default() -> None:
    deny = [p for p in objects("NetworkPolicy").values()
            if p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"]]
    assert deny and all("ingress" not in p["spec"] for p in deny)


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_network_policies_admit_only_the_gateway_publicly_and_eseal_internally(service: str) -> None:
    pods = {name: d["spec"]["template"]["metadata"]["labels"]
            for name, d in objects("Deployment").items()}
    jobs = [j["spec"]["template"]["metadata"]["labels"] for j in objects("Job").values()]
    target = pods[service]
    assert len(_policies_for(target)) >= 2, f"{service}: no NetworkPolicy of its own"
    public, internal = conventions_ports()[service], conventions_internal_ports()[service]
    stranger = {"app": "something-else"}
    ingress_controller = {"app.kubernetes.io/name": "ingress-nginx"}
    # public listener: the gateway (or, for the gateway, the ingress controller) only
    if service == "gateway":
        assert _admitted(ingress_controller, "ingress-nginx", public, target)
    else:
        assert _admitted(pods["gateway"], "eseal", public, target)
        assert not _admitted(ingress_controller, "ingress-nginx", public, target)
    for other in set(pods) - {"gateway", service}:
        assert not _admitted(pods[other], "eseal", public, target), other
    assert not _admitted(stranger, "eseal", public, target)
    assert not _admitted(stranger, "default", public, target)
    # internal listener: every eseal server pod, never the ingress, a job or a stranger
    for other in pods:
        assert _admitted(pods[other], "eseal", internal, target), other
    assert not _admitted(ingress_controller, "ingress-nginx", internal, target)
    assert not any(_admitted(j, "eseal", internal, target) for j in jobs)
    assert not _admitted(stranger, "eseal", internal, target)
    # no other port is opened
    for policy in _policies_for(target):
        for rule in policy["spec"].get("ingress", []):
            assert {p["port"] for p in rule["ports"]} <= {public, internal}


def test_gateway_is_the_only_published_application_port() -> None:
    services = compose()["services"]
    for name in APP_SERVICES - {"gateway"}:
        assert "ports" not in services[name], name
    port = conventions_ports()["gateway"]
    assert services["gateway"]["ports"] == [f"{port}:{port}"]


def test_dockerfile_exposes_and_healthcheck_knows_every_port() -> None:
    exposed = {
        int(p.split("/")[0])
        for instr, args in dockerfile_instructions() if instr == "EXPOSE"
        for p in args.split()
    }
    assert exposed == set(conventions_ports().values()) | set(conventions_internal_ports().values())
    script = runpy.run_path(str(HEALTHCHECK_SCRIPT), run_name="healthcheck")
    assert script["DEFAULT_PORTS"] == conventions_ports()


# --------------------------------------------------------------------------- compose


def test_compose_runs_postgres_and_rabbitmq_with_healthchecks() -> None:
    services = compose()["services"]
    postgres, rabbitmq = services["postgres"], services["rabbitmq"]
    assert postgres["image"] == "postgres:15"
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert any(v.split(":")[1] == "/var/lib/postgresql/data" for v in postgres["volumes"])
    assert rabbitmq["image"] == "rabbitmq:3.13-management"
    assert rabbitmq["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    named_volumes = set(compose()["volumes"])
    for service in (postgres, rabbitmq):
        for volume in service["volumes"]:
            assert volume.split(":")[0] in named_volumes, volume


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_compose_app_service_waits_for_its_migration(service: str) -> None:
    services = compose()["services"]
    app, migrate = services[service], services[f"{service}-migrate"]
    for s in (app, migrate):
        assert s["image"] == IMAGE
        assert s["build"] in (".", {"context": "."})
    assert app["depends_on"][f"{service}-migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    test = app["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"} and "healthcheck" in " ".join(test)
    assert not app["healthcheck"].get("disable", False)
    assert migrate["command"] == ["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart", "no") == "no", "a one-shot job must not restart"
    assert compose_env(service) == compose_env(f"{service}-migrate")
    assert compose_env(service)["ESEAL_ENV"] == "development"


def test_compose_takes_secrets_from_the_environment() -> None:
    for service in APP_SERVICES:
        env = compose_env(service)
        for var in COMPOSE_SECRET_VARS & set(env):
            # ${VAR:?message}: compose refuses to start without it; nothing committed.
            assert re.fullmatch(rf"\$\{{{var}:\?[^}}]+\}}", env[var]), f"{service}: {var}"


def test_compose_variables_are_documented_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text(encoding="utf-8")))
    example = COMPOSE_ENV_EXAMPLE.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert COMPOSE_SECRET_VARS <= used
    assert used <= documented, f"undocumented: {sorted(used - documented)}"
    # The example carries no values for the secrets.
    for var in COMPOSE_SECRET_VARS:
        assert re.search(rf"^{var}=\s*$", example, flags=re.MULTILINE), var


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_builds_the_runtime_as_specified() -> None:
    instructions = dockerfile_instructions()
    text = DOCKERFILE.read_text(encoding="utf-8")
    runs = [args for instr, args in instructions if instr == "RUN"]

    assert "python:3.11-slim" in text
    font_install = [r for r in runs if "fonts-noto-cjk" in r]
    assert font_install, "seal images need the CJK fonts"
    assert "fonts-arphic-ukai" in font_install[0]
    for run in runs:
        if "apt-get install" in run:
            assert "--no-install-recommends" in run
            assert "rm -rf /var/lib/apt/lists/*" in run
    assert any("pip install" in r and "requirements.txt" in r for r in runs)

    users = [args for instr, args in instructions if instr == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert users[-1].split(":")[0].isdigit(), "numeric, so Kubernetes can check runAsNonRoot"
    runtime_uid = int(users[-1].split(":")[0])
    for obj in applied_docs():
        if obj["kind"] in {"Deployment", "Job"}:
            assert pod_spec(obj)["securityContext"]["runAsUser"] == runtime_uid

    env = " ".join(args for instr, args in instructions if instr == "ENV")
    assert re.search(r"\bESEAL_ENV=production\b", env)
    assert re.search(r"\bESEAL_HOST=0\.0\.0\.0\b", env), "listen beyond the container's loopback"
    args = {a.split("=")[0] for instr, a in instructions if instr == "ARG"}
    assert "ESEAL_SERVICE" in args
    assert re.search(r"\bESEAL_SERVICE=\$\{?ESEAL_SERVICE\}?", env)

    (entrypoint,) = [a for instr, a in instructions if instr == "ENTRYPOINT"]
    argv = json.loads(entrypoint)  # exec form, so the service is PID 1 and gets SIGTERM
    shell = argv[argv.index("-c") + 1]
    assert shell.startswith('exec python -m "${ESEAL_SERVICE') and shell.endswith('"$@"')
    assert [a for instr, a in instructions if instr == "CMD"] == ["[]"]
    (healthcheck,) = [a for instr, a in instructions if instr == "HEALTHCHECK"]
    check = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert check == ["python", "/usr/local/bin/eseal-healthcheck"]
    assert "urllib" in HEALTHCHECK_SCRIPT.read_text(encoding="utf-8")
    assert "/healthz" in HEALTHCHECK_SCRIPT.read_text(encoding="utf-8")


def test_dockerfile_pythonpath_follows_the_conventions() -> None:
    match = re.search(r"PYTHONPATH=([^`\s]+)", CONVENTIONS.read_text(encoding="utf-8"))
    assert match
    expected = [
        "/app" if entry == "." else f"/app/{entry}" for entry in match.group(1).split(":")
    ]
    env = " ".join(args for instr, args in dockerfile_instructions() if instr == "ENV")
    found = re.search(r"PYTHONPATH=(\S+)", env)
    assert found
    assert found.group(1).split(":") == expected


def test_dockerfile_copies_only_what_the_context_keeps() -> None:
    sources = []
    for instr, args in dockerfile_instructions():
        if instr == "COPY" and "--from=" not in args:
            parts = [p for p in args.split() if not p.startswith("--")]
            sources += parts[:-1]
    assert {"shared/", "services/", "requirements.txt"} <= set(sources)
    for source in sources:
        assert not dockerignored(source), f".dockerignore drops {source}, which COPY needs"
    for must_stay_out in (".env", ".git", ".venv", "services/seals/tests/test_x.py"):
        assert dockerignored(must_stay_out), must_stay_out
    for existing in ("requirements.txt", "deploy/docker/healthcheck.py"):
        assert existing in sources and (ROOT / existing).is_file()


def test_dockerfile_builds_the_web_client_into_the_runtime() -> None:
    instructions = dockerfile_instructions()
    stages: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for instr, args in instructions:
        if instr == "FROM":
            current = args.split()[-1] if " as " in args.lower() else args
            stages[current] = []
        elif current:
            stages[current].append((instr, args))
    assert "web" in stages, "a stage named `web` builds the web client"
    web = stages["web"]
    copies = [a for i, a in web if i == "COPY"]
    runs = [a for i, a in web if i == "RUN"]
    # The lock file first and `npm ci`, so the install layer is cached and reproducible.
    assert copies[0].split()[:2] == ["web/package.json", "web/package-lock.json"]
    assert any("npm ci" in r for r in runs)
    assert runs[-1].strip() == "npm run build"
    (workdir,) = [a for i, a in web if i == "WORKDIR"]

    runtime = list(stages)[-1]
    from_web = [a.split() for i, a in stages[runtime] if i == "COPY" and "--from=web" in a]
    assert from_web == [["--from=web", f"{workdir}/dist", "/app/web/dist"]]
    # The gateway's default (services/gateway/gateway/static.py) is web/dist three levels
    # above its module, which the image places under WORKDIR /app.
    from gateway import static

    assert static.DEFAULT_DIST == ROOT / "web" / "dist"
    assert [a for i, a in stages[runtime] if i == "WORKDIR"] == ["/app"]
    assert "ESEAL_WEB_DIST" not in " ".join(a for i, a in stages[runtime] if i == "ENV")

    for source in ("web/package.json", "web/package-lock.json", "web/vite.config.js",
                   "web/src/app", "web/app/index.html"):
        assert not dockerignored(source), source
    for local_build in ("web/node_modules", "web/node_modules/vite/package.json",
                        "web/dist", "web/dist/app/index.html"):
        assert dockerignored(local_build), local_build


def test_gateway_replicas_share_rate_limits_through_redis() -> None:
    """Two gateway replicas with their own buckets would each allow the full rate."""
    gateway = compose()["services"]["gateway"]
    assert compose_env("gateway")["ESEAL_REDIS_URL"].startswith("redis://redis:")
    assert gateway["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert "healthcheck" in compose()["services"]["redis"]
    assert objects("Deployment")["gateway"]["spec"]["replicas"] >= 2
    assert "ESEAL_REDIS_URL" in env_names(main_container(objects("Deployment")["gateway"]))
