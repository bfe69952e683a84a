"""A local stack from a deployment spec (``k8s-mlserve compose``): a compose file running the
containers the Kubernetes objects would run, with the same settings and Secret files.

Services, each reachable on the compose network under its Kubernetes Service names too (so the
ConfigMap's ``MLFLOW_TRACKING_URI`` works unchanged):

- ``postgres`` and ``mlflow`` with a ``mlflow`` section (MLflow serves the artifacts, so a client
  on the host can train into it through its published port);
- ``api``, the API Deployment of the strategy (the live colour, the stable track);
- ``ui`` with an enabled ``ui`` section;
- ``train``, the training Job, under the compose profile ``train``;
- ``init``, run once before the others: it copies the API Secret's files into the volume mounted
  where the pods mount the Secret, and gives each volume to the uid that writes it (what a
  Secret volume and ``fsGroup`` do on Kubernetes).

Claims become named volumes of the same names. Published ports listen on 127.0.0.1 by default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from kubernetes import client

from . import contract
from .compose_pods import Service, Sources, Translated, translate
from .compose_secrets import api_secret_dir, postgres_env_file, secret_source, write_secrets
from .config import api_secret_name, has_api_secret, postgres_secret_name
from .naming import names
from .rendering import build_objects
from .spec import DeploymentSpec
from .spec_strategy import BlueGreenStrategy, CanaryStrategy
from .ui import api_url

COMPOSE_VERSION: Final = "3.9"  # docker-compose 1.29 and Compose v2 both read it
TRAIN_PROFILE: Final = "train"
INIT: Final = "init"
_VOLUMES_MOUNT = "/volumes"
_SECRETS_SOURCE = "/run/k8s-mlserve/secrets"
_INIT_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER"]


@dataclass(frozen=True)
class Ports:
    """Where the published services listen on the host; port 0 picks a free one, ``None``
    publishes nothing."""

    address: str = "127.0.0.1"
    api: int | None = contract.PORT
    mlflow: int | None = contract.MLFLOW_PORT
    ui: int | None = contract.UI_PORT
    postgres: int | None = None

    def publish(self, host: int | None, container: int) -> list[str]:
        if host is None:
            return []
        return [f"{self.address}:{host or ''}:{container}"]


def compose_stack(
    spec: DeploymentSpec,
    *,
    secrets_dir: Path,
    compose_dir: Path,
    ports: Ports | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Render ``spec``, write its Secrets into ``secrets_dir`` (keeping generated values already
    there) and return the compose document for a file in ``compose_dir``."""
    objects = build_objects(spec, secret_source(spec, secrets_dir, environ))
    write_secrets(spec, [o for o in objects if isinstance(o, client.V1Secret)], secrets_dir)
    return compose_document(
        spec, objects, secrets_dir=_relative(secrets_dir, compose_dir), ports=ports or Ports()
    )


def compose_document(
    spec: DeploymentSpec, objects: list[Any], *, secrets_dir: str, ports: Ports
) -> dict[str, Any]:
    """The compose document of rendered ``objects``, Secrets read from ``secrets_dir`` (a path
    as the compose file names it)."""
    n = names(spec)
    found = {(o.kind, o.metadata.name): o for o in objects}
    config = {o.metadata.name: dict(o.data or {}) for o in objects if o.kind == "ConfigMap"}
    env_files = {}
    if spec.mlflow is not None:
        env_file = postgres_env_file(spec, Path(secrets_dir)).name
        env_files[postgres_secret_name(spec)] = f"{secrets_dir}/{env_file}"
    sources = Sources(config=config, env_files=env_files)
    services: dict[str, Translated] = {}
    if spec.mlflow is not None:
        claim_template = {n.postgres_claim_template: f"data-{n.postgres}-0"}
        postgres = Sources(config=config, env_files=env_files, volumes=claim_template)
        services["postgres"] = _workload(found["StatefulSet", n.postgres], postgres)
        services["mlflow"] = _workload(found["Deployment", n.mlflow], sources)
    services["api"] = _workload(found["Deployment", _api_deployment(spec)], sources)
    if spec.page is not None:
        ui = found["Deployment", n.ui]
        _reach_api_directly(spec, ui.spec.template.spec.containers[0])
        services["ui"] = _workload(ui, sources)
    jobs = [o for o in objects if o.kind == "Job"]
    if jobs:
        services["train"] = _workload(jobs[0], sources)
    document: dict[str, Any] = {
        "version": COMPOSE_VERSION,
        "services": {name: _wire(spec, name, t.service, ports) for name, t in services.items()},
    }
    document["services"][INIT] = _init(spec, services, secrets_dir)
    volumes = sorted({v for t in services.values() for v in _named_volumes(t.service)})
    document["volumes"] = {v: {} for v in volumes}
    escaped: dict[str, Any] = _escape(document)
    return escaped


def to_compose_yaml(document: dict[str, Any], *, source: str) -> str:
    """The compose file's text, with a header saying where it comes from."""
    header = (
        f"# A local stack written by `k8s-mlserve compose {source}`: regenerate it rather than\n"
        "# edit it. Secret values are in the secrets directory it names, never in this file.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)


def _api_deployment(spec: DeploymentSpec) -> str:
    strategy = spec.strategy
    if isinstance(strategy, BlueGreenStrategy):
        return names(spec).api_variant(strategy.live)
    if isinstance(strategy, CanaryStrategy):
        return names(spec).api_variant("stable")
    return names(spec).api


def _reach_api_directly(spec: DeploymentSpec, container: client.V1Container) -> None:
    # Compose has no Service port mapping: the page calls the API on its container port.
    args = list(container.args or [])
    direct = f"http://{names(spec).api}:{contract.PORT}"
    container.args = [direct if a == api_url(spec) else a for a in args]


def _workload(workload: Any, sources: Sources) -> Translated:
    """The service of a Deployment's, StatefulSet's or Job's (first) container."""
    template: client.V1PodTemplateSpec = workload.spec.template
    pod = template.spec
    assert pod is not None  # every rendered template has one
    labels = template.metadata.labels if template.metadata else None
    return translate(pod, pod.containers[0], sources, labels=labels)


def _wire(spec: DeploymentSpec, name: str, service: Service, ports: Ports) -> Service:
    """Ports, dependencies, network names and restarts of one service of the stack."""
    n = names(spec)
    mlflow = spec.mlflow is not None
    published = {
        "postgres": ports.publish(ports.postgres, contract.POSTGRES_PORT),
        "mlflow": ports.publish(ports.mlflow, contract.MLFLOW_PORT),
        "api": ports.publish(ports.api, contract.PORT),
        "ui": ports.publish(ports.ui, contract.UI_PORT),
    }.get(name, [])
    healthy = {"condition": "service_healthy"}
    depends: dict[str, Any] = {INIT: {"condition": "service_completed_successfully"}}
    if name == "mlflow":
        depends["postgres"] = healthy
    if name in ("api", "train") and mlflow:
        depends["mlflow"] = healthy
    if name == "ui":
        depends["api"] = {"condition": "service_started"}  # the page says when the API is down
    aliases = {
        "postgres": [n.postgres, n.postgres_headless],
        "mlflow": [n.mlflow],
        "api": [n.api],
        "ui": [n.ui],
    }.get(name)
    out: Service = {}
    if name == "train":
        out["profiles"] = [TRAIN_PROFILE]
    out.update(service)
    if published:
        out["ports"] = published
    out["depends_on"] = depends
    if aliases:
        out["networks"] = {"default": {"aliases": aliases}}
    out["restart"] = "no" if name == "train" else "unless-stopped"
    return out


def _init(spec: DeploymentSpec, services: dict[str, Translated], secrets_dir: str) -> Service:
    """The one-shot service preparing the volumes, as root with only the capabilities it needs."""
    owners: dict[str, tuple[int, int]] = {}
    for translated in services.values():
        for volume, owner in translated.owners.items():
            owners.setdefault(volume, owner)
    secret = api_secret_name(spec) if has_api_secret(spec) else None
    lines = ["set -eu"]
    mounts = []
    if secret is not None:
        host = api_secret_dir(spec, Path(secrets_dir)).name
        mounts.append(f"{secrets_dir}/{host}:{_SECRETS_SOURCE}/{secret}:ro")
        target = f"{_VOLUMES_MOUNT}/{secret}"
        lines += [
            f"rm -f {target}/*",
            f"cp {_SECRETS_SOURCE}/{secret}/* {target}/",
            f"chmod 0440 {target}/*",
        ]
    for volume, (uid, gid) in sorted(owners.items()):
        path = f"{_VOLUMES_MOUNT}/{volume}"
        mounts.append(f"{volume}:{path}")
        if volume == secret:  # files just copied: always theirs
            lines.append(f"chown -R {uid}:{gid} {path}")
        else:  # a volume of data: walked only the first time
            lines.append(
                f'[ "$(stat -c %u:%g {path})" = {uid}:{gid} ] || chown -R {uid}:{gid} {path}'
            )
    return {
        "image": spec.image.reference(),
        "user": "0:0",
        "entrypoint": ["sh", "-c", "; ".join(lines)],
        "volumes": mounts,
        "read_only": True,
        "cap_drop": ["ALL"],
        "cap_add": _INIT_CAPABILITIES,
        "security_opt": ["no-new-privileges:true"],
        "network_mode": "none",
        "restart": "no",
    }


def _named_volumes(service: Service) -> list[str]:
    return [m.split(":", 1)[0] for m in service.get("volumes", []) if not m.startswith((".", "/"))]


def _relative(path: Path, start: Path) -> str:
    """``path`` as a compose file in ``start`` names it: relative when it is inside ``start``."""
    path, start = path.resolve(), start.resolve()
    if path == start:
        return "."
    if path.is_relative_to(start):
        return "./" + os.path.relpath(path, start).replace(os.sep, "/")
    return path.as_posix()


def _escape(value: Any) -> Any:
    """Every ``$`` doubled: compose substitutes variables, the stack's values are literal."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value
