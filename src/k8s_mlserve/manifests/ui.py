"""The web page next to the API (the ``ui`` section): a Deployment running ``k8s-mlserve ui``
against the API Service, its Service, and a NetworkPolicy admitting the API's peers.

The page's pods are hardened like the API's, read the API key and the monitoring token from the
same Secret at the same path, and roll with the same ConfigMap digest. Its path on the Ingress is
rendered with the Ingress (``network.build_ingress``).
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from . import contract, naming
from .config import config_hash, has_api_secret
from .naming import labels, names
from .network import admitted_peers, build_network_policy, build_service
from .pod import (
    Mounts,
    container_security,
    home_env,
    mlserve_mounts,
    pod_spec,
    resource_requirements,
)
from .spec import DeploymentSpec
from .spec_types import split_image
from .spec_ui import Ui
from .versions import api_version

_STARTUP_SECONDS = 120


def api_url(spec: DeploymentSpec) -> str:
    """The API as the page reaches it: its Service, inside the namespace."""
    return f"http://{names(spec).api}:{spec.service.port}"


def ui_args(spec: DeploymentSpec, ui: Ui) -> list[str]:
    """The arguments of ``k8s-mlserve ui``: the API, the secrets, the address, the base path."""
    args = ["--url", api_url(spec)]
    if has_api_secret(spec):
        args += ["--secrets-dir", contract.SECRETS_MOUNT]
    args += ["--host", contract.HOST, "--port", str(contract.UI_PORT)]
    if ui.ingress_path is not None:
        args += ["--base-path", ui.ingress_path]
    return args


def _probe(path: str, *, period: int, failures: int) -> client.V1Probe:
    return client.V1Probe(
        http_get=client.V1HTTPGetAction(path=path, port=contract.PORT_NAME),
        period_seconds=period,
        timeout_seconds=3,
        failure_threshold=failures,
        success_threshold=1,
    )


def _container(spec: DeploymentSpec, ui: Ui, image: str, mounts: Mounts) -> client.V1Container:
    # Streamlit serves its health route under the base path too.
    health = f"{ui.ingress_path or ''}{contract.UI_HEALTH_PATH}"
    return client.V1Container(
        name="ui",
        image=image,
        image_pull_policy=spec.image.pull_policy,
        command=list(contract.UI_COMMAND),
        args=ui_args(spec, ui),
        ports=[
            client.V1ContainerPort(
                name=contract.PORT_NAME, container_port=contract.UI_PORT, protocol="TCP"
            )
        ],
        env=[home_env()],  # Streamlit writes ~/.streamlit
        resources=resource_requirements(ui.resources),
        startup_probe=_probe(health, period=5, failures=_STARTUP_SECONDS // 5),
        readiness_probe=_probe(health, period=5, failures=2),
        liveness_probe=_probe(health, period=10, failures=3),
        security_context=container_security(),
        volume_mounts=mounts.mounts,
    )


def build_ui_deployment(spec: DeploymentSpec) -> client.V1Deployment | None:
    """The web page's Deployment, or ``None`` without an enabled ``ui`` section."""
    ui = spec.page
    if ui is None:
        return None
    image = ui.image or spec.image.reference()
    mounts = mlserve_mounts(spec, models=False, logs=False, secrets=True)
    container = _container(spec, ui, image, mounts)
    pod_labels = labels(spec, naming.UI, version=split_image(image)[1])
    return client.V1Deployment(
        api_version=api_version("Deployment", spec.kubernetes_version),
        kind="Deployment",
        metadata=client.V1ObjectMeta(
            name=names(spec).ui, namespace=spec.target_namespace, labels=pod_labels
        ),
        spec=client.V1DeploymentSpec(
            replicas=ui.replicas,
            selector=client.V1LabelSelector(match_labels=naming.selector(spec, naming.UI)),
            # A new pod is ready before an old one goes, so a single replica keeps the page up.
            strategy=client.V1DeploymentStrategy(
                type="RollingUpdate",
                rolling_update=client.V1RollingUpdateDeployment(max_surge=1, max_unavailable=0),
            ),
            revision_history_limit=5,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(
                    labels=pod_labels, annotations={naming.CONFIG_HASH: config_hash(spec)}
                ),
                spec=pod_spec(spec, [container], mounts),
            ),
        ),
    )


def build_ui_service(spec: DeploymentSpec) -> client.V1Service | None:
    """A ClusterIP Service on port 80 in front of the page's pods."""
    if not spec.serves_ui:
        return None
    return build_service(
        spec, names(spec).ui, naming.UI, naming.selector(spec, naming.UI), contract.UI_SERVICE_PORT
    )


def build_ui_network_policy(spec: DeploymentSpec) -> client.V1NetworkPolicy | None:
    """Admit only the page's port, from the peers the API admits (the ingress controller too)."""
    if not spec.serves_ui or not spec.network_policy.enabled:
        return None
    peers = admitted_peers(spec)
    return build_network_policy(spec, names(spec).ui, naming.UI, contract.UI_PORT, peers)


def build_ui(spec: DeploymentSpec) -> list[Any]:
    """Every object of the web page, or nothing without an enabled ``ui`` section."""
    objects = [build_ui_deployment(spec), build_ui_service(spec), build_ui_network_policy(spec)]
    return [o for o in objects if o is not None]
