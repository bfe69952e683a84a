"""A rendered container as a compose service: its program, environment, volumes and probes."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from kubernetes import client

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests.compose_pods import Sources, translate

SOURCES = Sources(
    config={"demo-config": {"A": "from-config", "B": "b"}},
    env_files={"demo-postgres": "./secrets/demo-postgres.env"},
)


def pod(container: client.V1Container, **fields: object) -> client.V1PodSpec:
    return client.V1PodSpec(containers=[container], **fields)


def test_variables_kubernetes_expands_are_expanded_by_a_shell() -> None:
    shell = shutil.which("sh")
    if shell is None:
        pytest.fail("no sh on PATH")
    container = client.V1Container(
        name="c",
        command=["printf", "%s|"],
        args=["plain word", "x=$(USER_NAME):$(PASS)@host/$(DB)", 'quote " and $HOME `x`'],
    )
    service = translate(pod(container), container, SOURCES).service
    entrypoint = service["entrypoint"]
    assert entrypoint[:2] == ["sh", "-c"]
    assert "command" not in service
    environ = {"USER_NAME": "ml flow", "PASS": "p$w", "DB": "db", "HOME": "/nowhere"}
    out = subprocess.run(
        [shell, "-c", entrypoint[2]], env=environ, capture_output=True, text=True, check=True
    )
    assert out.stdout == 'plain word|x=ml flow:p$w@host/db|quote " and $HOME `x`|'


def test_a_program_without_variables_is_kept_as_it_is() -> None:
    container = client.V1Container(name="c", command=["k8s-mlserve", "ui"], args=["--port", "1"])
    service = translate(pod(container), container, SOURCES).service
    assert (service["entrypoint"], service["command"]) == (["k8s-mlserve", "ui"], ["--port", "1"])


def test_environment_from_values_config_maps_and_secrets() -> None:
    secret = client.V1EnvVarSource(
        secret_key_ref=client.V1SecretKeySelector(name="demo-postgres", key="POSTGRES_PASSWORD")
    )
    config = client.V1EnvVarSource(
        config_map_key_ref=client.V1ConfigMapKeySelector(name="demo-config", key="B")
    )
    container = client.V1Container(
        name="c",
        env_from=[
            client.V1EnvFromSource(config_map_ref=client.V1ConfigMapEnvSource(name="demo-config"))
        ],
        env=[
            client.V1EnvVar(name="A", value="own"),  # env wins over envFrom, as on Kubernetes
            client.V1EnvVar(name="FROM_CONFIG", value_from=config),
            client.V1EnvVar(name="POSTGRES_PASSWORD", value_from=secret),
        ],
    )
    service = translate(pod(container), container, SOURCES).service
    assert service["environment"] == {"A": "own", "B": "b", "FROM_CONFIG": "b"}
    assert service["env_file"] == ["./secrets/demo-postgres.env"]


def test_a_secret_key_under_another_name_is_refused() -> None:
    renamed = client.V1EnvVarSource(
        secret_key_ref=client.V1SecretKeySelector(name="demo-postgres", key="POSTGRES_PASSWORD")
    )
    container = client.V1Container(
        name="c", env=[client.V1EnvVar(name="PASSWORD", value_from=renamed)]
    )
    with pytest.raises(ConfigurationError, match="PASSWORD: a local stack passes Secret keys"):
        translate(pod(container), container, SOURCES)


def test_probes_and_named_ports() -> None:
    container = client.V1Container(
        name="c",
        ports=[client.V1ContainerPort(name="http", container_port=5000)],
        readiness_probe=client.V1Probe(
            http_get=client.V1HTTPGetAction(path="/health", port="http"), period_seconds=7
        ),
        startup_probe=client.V1Probe(
            tcp_socket=client.V1TCPSocketAction(port=5000), period_seconds=5, failure_threshold=6
        ),
    )
    check = translate(pod(container), container, SOURCES).service["healthcheck"]
    assert "'http://127.0.0.1:5000/health'" in check["test"][3]
    assert (check["interval"], check["timeout"], check["retries"]) == ("7s", "1s", 3)
    assert check["start_period"] == "30s"


def test_volumes_and_their_owners() -> None:
    mounts = [
        client.V1VolumeMount(name="tmp", mount_path="/tmp"),
        client.V1VolumeMount(name="models", mount_path="/models", read_only=True),
        client.V1VolumeMount(name="logs", mount_path="/logs"),
        client.V1VolumeMount(name="secrets", mount_path="/etc/s", read_only=True),
    ]
    claim = client.V1PersistentVolumeClaimVolumeSource
    volumes = [
        client.V1Volume(name="tmp", empty_dir=client.V1EmptyDirVolumeSource()),
        client.V1Volume(name="models", persistent_volume_claim=claim(claim_name="demo-models")),
        client.V1Volume(name="logs", persistent_volume_claim=claim(claim_name="demo-logs")),
        client.V1Volume(name="secrets", secret=client.V1SecretVolumeSource(secret_name="demo-s")),
    ]
    container = client.V1Container(name="c", volume_mounts=mounts)
    security = client.V1PodSecurityContext(run_as_user=10001, run_as_group=10001, fs_group=20)
    translated = translate(
        pod(container, volumes=volumes, security_context=security), container, SOURCES
    )
    assert translated.service["volumes"] == [
        "demo-models:/models:ro",
        "demo-logs:/logs",
        "demo-s:/etc/s:ro",
    ]
    assert translated.service["tmpfs"] == ["/tmp:mode=1777,uid=10001,gid=10001"]
    assert translated.service["user"] == "10001:10001"
    assert translated.owners == {"demo-logs": (10001, 20), "demo-s": (10001, 20)}
