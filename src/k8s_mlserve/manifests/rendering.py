"""Render a spec into Kubernetes objects in a stable order, as multi-document YAML or as one
file per object plus a ``kustomization.yaml``.

The order: namespace, config, storage, workloads, services, policies, monitoring; within a kind,
by name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import yaml
from kubernetes import client

from ..errors import ConfigurationError
from .alerts import build_prometheus_rule
from .analysis_job import build_analysis
from .config import SecretSource, build_api_secret, build_config_map
from .dashboard import build_dashboard_config_map
from .mlflow_stack import build_mlflow_stack
from .monitoring import build_service_monitor
from .naming import labels
from .network import build_api_network_policy, build_api_service, build_ingress
from .scaling import build_autoscalers, build_disruption_budget
from .spec import DeploymentSpec
from .storage import build_claims
from .ui import build_ui
from .versions import api_version, check_supported
from .workload import build_api_deployments, build_drift_check, build_training_job

Manifest = dict[str, Any]

KIND_ORDER: Final = (
    "Namespace",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Job",
    "CronJob",
    "Deployment",
    "StatefulSet",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ServiceMonitor",
    "PrometheusRule",
)
_FIRST_KEYS: Final = ("apiVersion", "kind", "metadata", "name", "namespace")


def _namespace(spec: DeploymentSpec) -> client.V1Namespace | None:
    if not spec.create_namespace or spec.target_namespace == "default":
        return None
    return client.V1Namespace(
        api_version=api_version("Namespace", spec.kubernetes_version),
        kind="Namespace",
        metadata=client.V1ObjectMeta(name=spec.target_namespace, labels=labels(spec)),
    )


def build_objects(spec: DeploymentSpec, source: SecretSource | None = None) -> list[Any]:
    """Every object of the spec, as the ``kubernetes`` client's models, unordered."""
    check_supported(spec.kubernetes_version)
    source = source or SecretSource()
    objects: list[Any] = [
        _namespace(spec),
        build_config_map(spec),
        build_api_secret(spec, source),
        *build_claims(spec),
        build_training_job(spec),
        build_drift_check(spec),
        *build_analysis(spec),
        *build_api_deployments(spec),
        build_api_service(spec),
        build_ingress(spec),
        *build_autoscalers(spec),
        build_disruption_budget(spec),
        build_api_network_policy(spec),
        build_service_monitor(spec),
        build_prometheus_rule(spec),
        build_dashboard_config_map(spec),
        *build_mlflow_stack(spec, source),
        *build_ui(spec),
    ]
    return [o for o in objects if o is not None]


def _tidy(value: Any) -> Any:
    # Identity keys first, the way people write manifests; the rest keep the schema's order.
    if isinstance(value, dict):
        first = [k for k in _FIRST_KEYS if k in value]
        rest = [k for k in value if k not in _FIRST_KEYS]
        return {k: _tidy(value[k]) for k in first + rest}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


def _sort_key(manifest: Manifest) -> tuple[int, str]:
    kind = manifest["kind"]
    if kind not in KIND_ORDER:
        raise ConfigurationError(f"no rendering order for kind {kind}")
    return KIND_ORDER.index(kind), manifest["metadata"]["name"]


def render(spec: DeploymentSpec, source: SecretSource | None = None) -> list[Manifest]:
    """The spec's objects as plain data, in a stable order, ready to dump or apply.

    Secret values are resolved now (``source`` defaults to the process environment and a
    random generator), so two renders of a spec with generated values differ in those only,
    unless ``source`` keeps them (``SecretSource(keep=...)``, see ``generated_secret_keys``).
    """
    api = client.ApiClient()
    manifests = [
        _tidy(api.sanitize_for_serialization(o))  # type: ignore[no-untyped-call]
        for o in build_objects(spec, source)
    ]
    return sorted(manifests, key=_sort_key)


def to_yaml(manifests: list[Manifest]) -> str:
    """Multi-document YAML for ``kubectl apply -f -``."""
    return yaml.safe_dump_all(
        manifests, sort_keys=False, default_flow_style=False, explicit_start=True, width=100
    )


def file_name(index: int, manifest: Manifest) -> str:
    return f"{index:02d}-{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


def write_directory(manifests: list[Manifest], directory: str | Path) -> list[Path]:
    """One file per object plus a ``kustomization.yaml`` listing them in order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for index, manifest in enumerate(manifests):
        path = directory / file_name(index, manifest)
        write_text(path, to_yaml([manifest]), secret=manifest["kind"] == "Secret")
        written.append(path)
    path = directory / "kustomization.yaml"
    write_text(path, kustomization(resources=[p.name for p in written]))
    return [*written, path]


class _BlockDumper(yaml.SafeDumper):
    """Writes strings of several lines (inline patches) as literal blocks."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_text)


def kustomization(**fields: Any) -> str:
    """A ``kustomization.yaml`` with these fields."""
    document = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **fields}
    return yaml.dump(document, Dumper=_BlockDumper, sort_keys=False, width=100)


def write_text(path: Path, text: str, *, secret: bool = False) -> None:
    """Write a manifest file; one holding secret values in clear text is readable by its owner
    only, from the moment it exists."""
    if not secret:
        path.write_text(text, encoding="utf-8")
        return
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
