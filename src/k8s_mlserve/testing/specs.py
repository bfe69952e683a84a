"""The deployment spec a test stack deploys, and where things are in its rendered manifests.

``stack_spec`` takes an example's ``deploy.yaml`` (or any spec) and adapts it to the test cluster:
its Kubernetes version, the freshly built image (for every colour or track too), a fresh
namespace created by the stack itself, no fixed node port (so that stacks never collide), and a
training Job reading its dataset from the copy in the models claim; the caller's overrides come
last and win.
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..manifests import DeploymentSpec, KubeVersion, parse_spec
from ..manifests.contract import MODELS_MOUNT, PORT_NAME
from ..manifests.environments import merge

COMPONENT = "app.kubernetes.io/component"
DATASETS_DIR = ".datasets"


class StackError(RuntimeError):
    """A stack cannot be deployed as asked (missing spec, dataset or model)."""


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, the way a spec's environments are: mappings merge
    key by key (a section of another ``type`` replaces), anything else replaces (``None``
    included, which resets an optional section)."""
    return merge(base, overrides)


def split_image(reference: str) -> tuple[str, str | None]:
    """``repository[:tag]`` into its parts (a registry's port is not a tag)."""
    name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return reference, None
    return name, tag


def example_dataset(example: str) -> str | None:
    """The file name of the dataset an example trains on, or ``None`` (iris ships with sklearn)."""
    try:
        module = importlib.import_module(f"k8s_mlserve.training.examples.{example}")
    except ImportError:
        return None
    filename = getattr(module, "FILENAME", None)
    return filename if isinstance(filename, str) else None


def dataset_path(filename: str) -> str:
    """Where the training Job finds a copied dataset."""
    return f"{MODELS_MOUNT}/{DATASETS_DIR}/{filename}"


def fresh_namespace(name: str, prefix: str = "mlserve-test") -> str:
    """A new namespace name: ``<prefix>-<name>-<6 hex digits>``, at most 63 characters."""
    suffix = secrets.token_hex(3)
    return f"{prefix}-{name}"[: 63 - len(suffix) - 1].rstrip("-") + f"-{suffix}"


def read_spec_data(
    source: str | Path | Mapping[str, Any], examples_dir: Path | None = None
) -> tuple[dict[str, Any], Path | None]:
    """The raw spec of an example name, a spec file or a mapping, and the spec's directory."""
    if isinstance(source, Mapping):
        return dict(source), None
    path = Path(source)
    if not path.suffix and examples_dir is not None:
        candidate = examples_dir / str(source) / "deploy.yaml"
        if candidate.is_file():
            path = candidate
    if not path.is_file():
        where = f" or {examples_dir}/{source}/deploy.yaml" if examples_dir else ""
        raise StackError(f"no deployment spec at {path}{where}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise StackError(f"{path} does not hold a deployment spec (a mapping)")
    return data, path.parent


def stack_spec(
    data: Mapping[str, Any],
    *,
    version: KubeVersion,
    image: str,
    namespace: str,
    overrides: Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
) -> DeploymentSpec:
    """The validated spec of a test stack (see the module docstring)."""
    repository, tag = split_image(image)
    defaults: dict[str, Any] = {
        "namespace": namespace,
        "create_namespace": False,
        "kubernetes_version": str(version),
        "image": {"repository": repository, "tag": tag or "latest"},
    }
    if tag in (None, "latest"):
        defaults["image"]["allow_latest"] = True
    service = data.get("service")
    if isinstance(service, Mapping) and service.get("node_port") is not None:
        defaults["service"] = {"node_port": None}
    strategy = data.get("strategy")
    if isinstance(strategy, Mapping):
        defaults["strategy"] = {
            key: {"image_tag": tag or "latest"}
            for key in ("blue", "green", "canary")
            if isinstance(strategy.get(key), Mapping) and "image_tag" in strategy[key]
        }
    training = data.get("training")
    if isinstance(training, Mapping) and training.get("data") is None:
        filename = example_dataset(str(training.get("example", "")))
        if filename is not None:
            defaults["training"] = {"data": dataset_path(filename)}
    merged = deep_merge(deep_merge(data, defaults), overrides or {})
    name = str(data.get("name", "stack"))
    return parse_spec(merged, source=f"{name} (test stack)", base_dir=base_dir)


def component(manifest: Mapping[str, Any]) -> str | None:
    """The ``app.kubernetes.io/component`` label of an object."""
    labels = (manifest.get("metadata") or {}).get("labels") or {}
    value = labels.get(COMPONENT)
    return str(value) if value is not None else None


def api_service(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The API Service among the rendered objects."""
    for manifest in manifests:
        if manifest["kind"] == "Service" and component(manifest) == "api":
            return manifest
    raise StackError("the rendered manifests have no API Service")


def service_port(service: Mapping[str, Any]) -> int:
    """The Service's HTTP port."""
    ports = service["spec"]["ports"]
    chosen = next((p for p in ports if p.get("name") == PORT_NAME), ports[0])
    return int(chosen["port"])


def models_claim(manifests: list[dict[str, Any]]) -> str:
    """The claim mounted as ``models`` by the stack's workloads."""
    for manifest in manifests:
        if manifest["kind"] not in ("Deployment", "Job"):
            continue
        for volume in manifest["spec"]["template"]["spec"].get("volumes") or []:
            if volume.get("name") == "models" and "persistentVolumeClaim" in volume:
                return str(volume["persistentVolumeClaim"]["claimName"])
    raise StackError("no workload of the stack mounts a models claim")
