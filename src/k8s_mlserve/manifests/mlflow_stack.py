"""The MLflow stack: PostgreSQL (a StatefulSet, credentials from a Secret, data on the claim of
its volumeClaimTemplate) and an MLflow tracking server using it, with artifacts on a claim served
by the tracking server.

The backend store URI is assembled by Kubernetes from the Secret's variables (``$(VAR)`` in the
container arguments), so the password never appears in a rendered object.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from . import contract, naming
from .config import SecretSource, build_postgres_secret, postgres_secret_name
from .naming import labels, names
from .network import build_network_policy, peer
from .pod import Mounts, container_security, pod_security, pod_spec, resource_requirements
from .spec import DeploymentSpec
from .spec_types import split_image
from .storage import build_claim, claim_name, claim_spec
from .versions import api_version

_PGDATA = (
    f"{contract.POSTGRES_DATA_MOUNT}/pgdata"  # a sub-directory: the volume root may hold lost+found
)


def _secret_env(spec: DeploymentSpec, *keys: str) -> list[client.V1EnvVar]:
    secret = postgres_secret_name(spec)
    return [
        client.V1EnvVar(
            name=key,
            value_from=client.V1EnvVarSource(
                secret_key_ref=client.V1SecretKeySelector(name=secret, key=key)
            ),
        )
        for key in keys
    ]


def _deployment(
    spec: DeploymentSpec, name: str, component: str, pod: client.V1PodSpec, image: str
) -> client.V1Deployment:
    # A single replica with Recreate: the claim is ReadWriteOnce.
    version = split_image(image)[1]
    pod_labels = labels(spec, component, version=version)
    return client.V1Deployment(
        api_version=api_version("Deployment", spec.kubernetes_version),
        kind="Deployment",
        metadata=client.V1ObjectMeta(name=name, namespace=spec.target_namespace, labels=pod_labels),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels=naming.selector(spec, component)),
            strategy=client.V1DeploymentStrategy(type="Recreate"),
            revision_history_limit=3,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=pod_labels), spec=pod
            ),
        ),
    )


def _statefulset(
    spec: DeploymentSpec,
    pod: client.V1PodSpec,
    claims: list[client.V1PersistentVolumeClaim],
    image: str,
) -> client.V1StatefulSet:
    # One replica: PostgreSQL's data is not shareable. The StatefulSet gives the pod a stable
    # identity and its claim, and never runs two pods of it at once, even during an update.
    n = names(spec)
    pod_labels = labels(spec, naming.POSTGRES, version=split_image(image)[1])
    return client.V1StatefulSet(
        api_version=api_version("StatefulSet", spec.kubernetes_version),
        kind="StatefulSet",
        metadata=client.V1ObjectMeta(
            name=n.postgres, namespace=spec.target_namespace, labels=pod_labels
        ),
        spec=client.V1StatefulSetSpec(
            replicas=1,
            service_name=n.postgres_headless,
            selector=client.V1LabelSelector(match_labels=naming.selector(spec, naming.POSTGRES)),
            update_strategy=client.V1StatefulSetUpdateStrategy(type="RollingUpdate"),
            revision_history_limit=3,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=pod_labels), spec=pod
            ),
            volume_claim_templates=claims or None,
        ),
    )


def _claim_template(spec: DeploymentSpec) -> client.V1PersistentVolumeClaim:
    # A StatefulSet's claim templates cannot change once created: only the selector labels,
    # which never change, label the claim.
    assert spec.mlflow is not None
    return client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(
            name=names(spec).postgres_claim_template,
            labels=naming.selector(spec, naming.POSTGRES),
        ),
        spec=claim_spec(spec, spec.mlflow.postgres.storage),
    )


def _service(
    spec: DeploymentSpec, name: str, component: str, port: int, *, headless: bool = False
) -> client.V1Service:
    return client.V1Service(
        api_version=api_version("Service", spec.kubernetes_version),
        kind="Service",
        metadata=client.V1ObjectMeta(
            name=name, namespace=spec.target_namespace, labels=labels(spec, component)
        ),
        spec=client.V1ServiceSpec(
            type="ClusterIP",
            cluster_ip="None" if headless else None,
            selector=naming.selector(spec, component),
            ports=[
                client.V1ServicePort(
                    name="tcp" if component == naming.POSTGRES else "http",
                    port=port,
                    target_port=port,
                    protocol="TCP",
                )
            ],
        ),
    )


def _postgres(spec: DeploymentSpec) -> client.V1StatefulSet:
    assert spec.mlflow is not None
    pg = spec.mlflow.postgres
    n = names(spec)
    mounts = Mounts().empty_dir("tmp", contract.TMP_MOUNT).empty_dir("run", "/var/run/postgresql")
    claims: list[client.V1PersistentVolumeClaim] = []
    if pg.storage.existing_claim is not None:
        mounts.claim(
            "data", pg.storage.existing_claim, contract.POSTGRES_DATA_MOUNT, read_only=False
        )
    else:
        mounts.claim_template(n.postgres_claim_template, contract.POSTGRES_DATA_MOUNT)
        claims.append(_claim_template(spec))
    ready = client.V1ExecAction(
        command=[
            "sh",
            "-c",
            f"pg_isready -h 127.0.0.1 -p {contract.POSTGRES_PORT} "
            '-U "$POSTGRES_USER" -d "$POSTGRES_DB"',
        ]
    )
    tcp = client.V1TCPSocketAction(port=contract.POSTGRES_PORT)
    container = client.V1Container(
        name="postgres",
        image=pg.image,
        image_pull_policy=spec.image.pull_policy,
        ports=[
            client.V1ContainerPort(
                name="tcp", container_port=contract.POSTGRES_PORT, protocol="TCP"
            )
        ],
        env=[
            *_secret_env(
                spec,
                contract.POSTGRES_USER_KEY,
                contract.POSTGRES_PASSWORD_KEY,
                contract.POSTGRES_DB_KEY,
            ),
            client.V1EnvVar(name="PGDATA", value=_PGDATA),
        ],
        resources=resource_requirements(pg.resources),
        startup_probe=client.V1Probe(tcp_socket=tcp, period_seconds=5, failure_threshold=60),
        # "_exec": the keyword every client release accepts (see workload._lifecycle)
        readiness_probe=client.V1Probe(**{"_exec": ready}, period_seconds=10, timeout_seconds=5),
        liveness_probe=client.V1Probe(tcp_socket=tcp, period_seconds=10, failure_threshold=6),
        security_context=container_security(),
        volume_mounts=mounts.mounts,
    )
    security = pod_security(pg.run_as_user, pg.run_as_user)
    pod = pod_spec(spec, [container], mounts, security=security, grace_seconds=60)
    return _statefulset(spec, pod, claims, pg.image)


def _mlflow(spec: DeploymentSpec) -> client.V1Deployment:
    assert spec.mlflow is not None
    ml = spec.mlflow
    n = names(spec)
    mounts = (
        Mounts()
        .empty_dir("tmp", contract.TMP_MOUNT)
        .claim(
            "artifacts",
            claim_name(ml.artifacts, n.mlflow_artifacts_claim),
            contract.MLFLOW_ARTIFACTS_MOUNT,
            read_only=False,
        )
    )
    backend = (
        # The driver is named: SQLAlchemy 2.1 takes a bare postgresql:// for psycopg 3.
        f"postgresql+psycopg2://$({contract.POSTGRES_USER_KEY}):$({contract.POSTGRES_PASSWORD_KEY})"
        f"@{n.postgres}:{contract.POSTGRES_PORT}/$({contract.POSTGRES_DB_KEY})"
    )
    health = client.V1HTTPGetAction(path="/health", port="http")
    container = client.V1Container(
        name="mlflow",
        image=ml.image,
        image_pull_policy=spec.image.pull_policy,
        command=["mlflow", "server"],
        args=[
            "--host",
            "0.0.0.0",
            "--port",
            str(contract.MLFLOW_PORT),
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            contract.MLFLOW_ARTIFACTS_MOUNT,
            "--serve-artifacts",
            "--workers",
            str(ml.workers),
        ],
        ports=[
            client.V1ContainerPort(name="http", container_port=contract.MLFLOW_PORT, protocol="TCP")
        ],
        env=[
            *_secret_env(
                spec,
                contract.POSTGRES_USER_KEY,
                contract.POSTGRES_PASSWORD_KEY,
                contract.POSTGRES_DB_KEY,
            ),
            client.V1EnvVar(name="HOME", value=contract.TMP_MOUNT),
            # MLflow 3 answers only Host headers it knows: the Service's names and pod addresses.
            client.V1EnvVar(name="MLFLOW_SERVER_ALLOWED_HOSTS", value=_allowed_hosts(spec)),
            client.V1EnvVar(name="MLFLOW_DISABLE_TELEMETRY", value="true"),
        ],
        resources=resource_requirements(ml.resources),
        startup_probe=client.V1Probe(http_get=health, period_seconds=5, failure_threshold=60),
        readiness_probe=client.V1Probe(http_get=health, period_seconds=10, timeout_seconds=5),
        liveness_probe=client.V1Probe(
            http_get=health, period_seconds=20, timeout_seconds=5, failure_threshold=3
        ),
        security_context=container_security(),
        volume_mounts=mounts.mounts,
    )
    security = pod_security(ml.run_as_user, ml.run_as_user)
    return _deployment(
        spec,
        n.mlflow,
        naming.MLFLOW,
        pod_spec(spec, [container], mounts, security=security),
        ml.image,
    )


def _allowed_hosts(spec: DeploymentSpec) -> str:
    service = names(spec).mlflow
    namespace = spec.target_namespace
    hosts = [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
        "localhost",
        "127.0.0.1",
    ]
    with_ports = [h for host in hosts for h in (host, f"{host}:*")]
    return ",".join([*with_ports, "10.*", "172.*", "192.168.*"])


def build_mlflow_stack(spec: DeploymentSpec, source: SecretSource) -> list[Any]:
    """Every object of the MLflow stack, or nothing when the spec has no ``mlflow`` section."""
    ml = spec.mlflow
    if ml is None:
        return []
    n = names(spec)
    objects: list[Any] = [
        build_postgres_secret(spec, source),
        build_claim(spec, ml.artifacts, n.mlflow_artifacts_claim, naming.MLFLOW),
        _postgres(spec),
        _mlflow(spec),
        # MLflow connects through the ClusterIP Service; the headless one names the pod.
        _service(spec, n.postgres, naming.POSTGRES, contract.POSTGRES_PORT),
        _service(spec, n.postgres_headless, naming.POSTGRES, contract.POSTGRES_PORT, headless=True),
        _service(spec, n.mlflow, naming.MLFLOW, contract.MLFLOW_PORT),
    ]
    if spec.network_policy.enabled:

        def pods(component: str) -> client.V1NetworkPolicyPeer:
            return client.V1NetworkPolicyPeer(
                pod_selector=client.V1LabelSelector(match_labels=naming.selector(spec, component))
            )

        clients = [pods(naming.API), pods(naming.TRAINING)]
        clients += [peer(spec, p) for p in ml.allow_from]
        objects += [
            build_network_policy(
                spec, n.postgres, naming.POSTGRES, contract.POSTGRES_PORT, [pods(naming.MLFLOW)]
            ),
            build_network_policy(spec, n.mlflow, naming.MLFLOW, contract.MLFLOW_PORT, clients),
        ]
    return [o for o in objects if o is not None]
