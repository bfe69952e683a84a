"""``apply``: render a spec for the cluster it goes to and apply it, keeping generated secrets.

The cluster's own version chooses the API versions (unless the spec pins ``kubernetes_version``).
Secret values the spec generates (``generate: true``) are read back from the live Secrets first
and reused, so applying again never rotates API keys or the PostgreSQL password; values from the
environment or a file are always taken as given. Nothing secret is printed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..kube.cluster import Cluster
from ..manifests import DeploymentSpec, render
from ..manifests.config import SecretSource, generated_secret_keys
from ..manifests.spec import for_cluster


@dataclass(frozen=True)
class Applied:
    """What ``apply_spec`` did."""

    spec: DeploymentSpec
    manifests: list[dict[str, Any]]
    kept: int
    generated: int
    output: str


def live_secret_values(cluster: Cluster, spec: DeploymentSpec) -> dict[str, dict[str, str]]:
    """The current values of the spec's generated secret keys in the cluster, by Secret name and
    key (nothing for a Secret that does not exist yet)."""
    kept: dict[str, dict[str, str]] = {}
    namespace = spec.target_namespace
    for secret, keys in generated_secret_keys(spec).items():
        out = cluster.kubectl(
            "get", "secret", secret, "--ignore-not-found", "-o", "json", namespace=namespace
        ).strip()
        if not out:
            continue
        data = json.loads(out).get("data") or {}
        for key in keys:
            if key in data:
                kept.setdefault(secret, {})[key] = base64.b64decode(data[key]).decode()
    return kept


def apply_spec(
    cluster: Cluster,
    spec: DeploymentSpec,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _line: None,
) -> Applied:
    """Render ``spec`` for ``cluster`` and ``kubectl apply`` it (see the module docstring)."""
    version = cluster.server_version()
    targeted = for_cluster(spec, version)
    say(f"cluster: Kubernetes {version}; rendering for {targeted.kubernetes_version}")
    keep = live_secret_values(cluster, targeted)
    wanted = sum(len(keys) for keys in generated_secret_keys(targeted).values())
    manifests = render(targeted, SecretSource(keep=keep))
    args = ["--dry-run=server"] if dry_run else []
    document = {"apiVersion": "v1", "kind": "List", "items": manifests}
    output = cluster.kubectl("apply", *args, "-f", "-", input=json.dumps(document), timeout=300)
    return Applied(
        spec=targeted,
        manifests=manifests,
        kept=sum(len(keys) for keys in keep.values()),
        generated=wanted - sum(len(keys) for keys in keep.values()),
        output=output,
    )
