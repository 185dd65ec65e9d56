# Over 300 lines because deployment files are valid: a validator and self-check per file kind.
"""The deployment files are validated here, since no Docker engine or cluster runs: the
compose file against the Compose Specification's JSON Schema (the one docker-compose ships)
and by ``docker compose config``; the Kubernetes manifests, as kustomize builds them, against
the Kubernetes OpenAPI schemas (kubernetes-validate, offline, strict). Each validator is also
shown a broken copy, so these tests can fail. Beyond the schemas: every ROUTING_* variable in
them is a real setting, every command a real CLI command, every probe a real endpoint.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from routing.cli import app as cli
from routing.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s" / "base"
LOCAL = DEPLOY / "k8s" / "local"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
SETTINGS = {f"ROUTING_{name.upper()}" for name in Settings.model_fields}
K8S_VERSION = kubernetes_validate.latest_version()


def _unavailable(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required in CI (scripts/test.sh installs it)")
    pytest.skip(f"{what} not installed")


def _compose_schema() -> dict[str, Any]:
    """The Compose Specification schema shipped inside docker-compose (Debian package), found
    through the interpreter its launcher names."""
    launcher = shutil.which("docker-compose")
    if launcher is None:
        _unavailable("docker-compose (for the Compose Specification schema)")
    python = Path(launcher or "").read_text(errors="replace").splitlines()[0].removeprefix("#!")
    found = subprocess.run(
        [*python.split(), "-c", "import compose.config as c; print(c.__path__[0])"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    path = Path(found.stdout.strip()) / "compose_spec.json"
    if found.returncode != 0 or not path.is_file():
        _unavailable("the Compose Specification schema of docker-compose")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


# --- compose ---------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    schema = _compose_schema()
    # The file names draft 2019-09 by its http:// address, which jsonschema does not know (it
    # would fall back to the latest draft): name the draft here.
    assert "draft/2019-09/" in schema["$schema"]
    jsonschema.Draft201909Validator.check_schema(schema)
    compose_spec = jsonschema.Draft201909Validator(schema)
    compose_spec.validate(_compose())

    broken = copy.deepcopy(_compose())
    broken["services"]["relay"]["restart_policy"] = "always"  # not a service key
    with pytest.raises(jsonschema.ValidationError):
        compose_spec.validate(broken)


def test_docker_compose_config_accepts_it_and_demands_the_password(tmp_path: Path) -> None:
    cli_ = _compose_cli()
    if cli_ is None:
        _unavailable("docker compose / docker-compose")
        return
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    ok = subprocess.run(
        [*cli_, "-f", str(COMPOSE), "config"], env={**env, "POSTGRES_PASSWORD": "test-only"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    resolved = yaml.safe_load(ok.stdout)
    assert set(resolved["services"]) >= {
        "postgres",
        "kafka",
        "api",
        "relay",
        "ingest",
        "projections",
    }

    missing = subprocess.run(
        [*cli_, "-f", str(COMPOSE), "config"], env=env, capture_output=True, text=True, check=False
    )
    assert missing.returncode != 0, "a password must never default to a committed value"
    assert "POSTGRES_PASSWORD" in missing.stderr

    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("condition: service_healthy", "condition: up", 1))
    bad = subprocess.run(
        [*cli_, "-f", str(broken), "config"], env={**env, "POSTGRES_PASSWORD": "x"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode != 0


def test_compose_runs_kafka_in_kraft_mode_with_the_official_image() -> None:
    kafka = _compose()["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert not any("zookeeper" in str(v).lower() for v in kafka["environment"].values())
    assert _compose()["services"]["postgres"]["image"].startswith("postgres:")


def test_compose_uses_real_settings_and_commands() -> None:
    services = _compose()["services"]
    runner = CliRunner()
    for name in ("api", "relay", "ingest", "projections", "config-check"):
        service = services[name]
        env = service.get("environment", {})
        unknown = {k for k in env if k.startswith("ROUTING_")} - SETTINGS
        assert not unknown, f"{name}: not settings: {unknown}"
        assert env.get("ROUTING_STORE") == "postgres"
        result = runner.invoke(cli, [*service["command"], "--help"])
        assert result.exit_code == 0, f"{name}: `routing {' '.join(service['command'])}`"
    for name in ("relay", "ingest", "projections"):
        assert services[name]["environment"]["ROUTING_METRICS_PORT"]
        assert "/live" in " ".join(services[name]["healthcheck"]["test"])
    assert "/ready" in " ".join(services["api"]["healthcheck"]["test"])


# --- Kubernetes ------------------------------------------------------------------------------


def _kustomize(root: Path = K8S) -> list[dict[str, Any]]:
    """What `kubectl apply -k <root>` would apply (kustomize built in to kubectl)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:  # the base's resources as listed, without kustomize's transformations
        if root != K8S:
            _unavailable("kubectl (kustomize) for the overlay")
        kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
        return [
            d
            for name in kustomization["resources"]
            for d in yaml.safe_load_all((K8S / name).read_text())
            if d
        ]
    built = subprocess.run(
        [str(kubectl), "kustomize", str(root)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_manifests_match_the_kubernetes_schemas() -> None:
    docs = _kustomize()
    docs.append(yaml.safe_load((K8S / "secret.example.yaml").read_text()))
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)

    deployment = copy.deepcopy(_by_kind(docs, "Deployment")["routing-api"])
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    probe = copy.deepcopy(_by_kind(docs, "Deployment")["routing-relay"])
    probe["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(probe, K8S_VERSION, strict=True)


def test_the_local_overlay_adds_kafka_and_postgresql_without_any_password() -> None:
    docs = _kustomize(LOCAL)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    sets = _by_kind(docs, "StatefulSet")
    kafka = sets["kafka"]["spec"]["template"]["spec"]["containers"][0]
    assert kafka["image"].startswith("apache/kafka:")
    env = {e["name"]: e["value"] for e in kafka["env"]}
    assert "controller" in env["KAFKA_PROCESS_ROLES"]
    assert set(_by_kind(docs, "Deployment")) >= {"routing-api", "routing-projections"}
    config = _by_kind(docs, "ConfigMap")["routing-config"]["data"]
    assert config["ROUTING_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    secret = _by_kind(docs, "Secret")["routing-secrets"]
    assert set(secret["data"]) == {"ROUTING_POSTGRES_DSN"}
    dsn = base64.b64decode(secret["data"]["ROUTING_POSTGRES_DSN"]).decode()
    assert dsn == "postgresql://routing@postgres:5432/routing", "no password, trust auth"


def test_every_process_has_probes_resources_config_and_secret() -> None:
    docs = _kustomize()
    deployments = _by_kind(docs, "Deployment")
    assert set(deployments) == {
        "routing-api", "routing-relay", "routing-ingest", "routing-projections"
    }  # fmt: skip
    for name, d in deployments.items():
        spec = d["spec"]["template"]["spec"]
        for c in [*spec["containers"], *spec.get("initContainers", [])]:
            assert c["resources"]["requests"], name
            assert c["resources"]["limits"], name
            refs = {next(iter(r.values()))["name"] for r in c["envFrom"]}
            assert refs == {"routing-config", "routing-secrets"}, name
            assert not c.get("env"), f"{name}: configuration comes from ConfigMap and Secret"
        main = spec["containers"][0]
        assert main["livenessProbe"]["httpGet"]["path"] == "/live", name
        assert main["readinessProbe"]["httpGet"]["path"] == "/ready", name
        assert spec["initContainers"][0]["args"][:2] == ["config", "check"], name
    config = _by_kind(docs, "ConfigMap")["routing-config"]["data"]
    assert set(config) <= SETTINGS, f"not settings: {set(config) - SETTINGS}"
    assert "ROUTING_POSTGRES_DSN" not in config, "the DSN holds a password: Secret only"
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    assert set(secret["stringData"]) <= SETTINGS
    assert "CHANGE-ME" in secret["stringData"]["ROUTING_POSTGRES_DSN"]
    assert not _by_kind(docs, "Secret"), "no Secret is committed to be applied"


def test_replicas_follow_the_roles_and_the_partitions() -> None:
    docs = _kustomize()
    deployments = _by_kind(docs, "Deployment")
    config = _by_kind(docs, "ConfigMap")["routing-config"]["data"]
    events, inbound = (
        int(config["ROUTING_EVENTS_PARTITIONS"]),
        int(config["ROUTING_INBOUND_PARTITIONS"]),
    )
    assert deployments["routing-api"]["spec"]["replicas"] >= 2
    relay = deployments["routing-relay"]["spec"]
    assert relay["replicas"] == 1
    assert relay["strategy"]["type"] == "Recreate"
    projections = deployments["routing-projections"]["spec"]["replicas"]
    assert 1 <= projections <= events
    assert events % projections == 0, "an even share of partitions per pod"
    assert 1 <= deployments["routing-ingest"]["spec"]["replicas"] <= inbound
    hpa = _by_kind(docs, "HorizontalPodAutoscaler")["routing-api"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "routing-api"


def test_probe_paths_are_served(memory_settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from routing.operations.health import Readiness
    from routing.operations.server import ops_app

    with TestClient(create_app(memory_settings)) as api:
        for path in ("/live", "/ready", "/metrics"):
            assert api.get(path).status_code == 200, path
    worker = ops_app(Readiness(ping_store=lambda: None, broker=None, topic="t", timeout=1))
    with TestClient(worker) as ops:
        for path in ("/live", "/ready", "/metrics"):
            assert ops.get(path).status_code == 200, path


def test_dockerfile_builds_from_files_that_exist() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert 'ENTRYPOINT ["routing"]' in text
    assert "USER 10001" in text


def test_the_replay_is_an_indexed_job_of_real_commands_and_a_merge() -> None:
    """deploy/k8s/replay: N pods each replay a range of episodes (``routing replay-part``,
    its index from JOB_COMPLETION_INDEX), one merges the parts (``routing replay-merge``)."""
    docs = _kustomize(DEPLOY / "k8s" / "replay")
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    jobs = _by_kind(docs, "Job")
    assert set(jobs) == {"routing-replay", "routing-replay-merge"}
    part = jobs["routing-replay"]["spec"]
    assert part["completionMode"] == "Indexed"
    assert part["completions"] == part["parallelism"] >= 2
    runner = CliRunner()
    for job in jobs.values():
        container = job["spec"]["template"]["spec"]["containers"][0]
        args = container["args"]
        assert int(args[args.index("--of") + 1]) == part["completions"], "one --of for both"
        assert runner.invoke(cli, [args[0], "--help"]).exit_code == 0, args[0]
        refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
        assert refs == {"routing-config", "routing-secrets"}
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]
    broken = copy.deepcopy(jobs["routing-replay"])
    broken["spec"]["completions"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
