"""Reading the state of live objects: is a Deployment or a StatefulSet rolled out, is a pod ready.

The one place these questions are answered, for the release commands and the test harness alike.
Both take objects as the API returns them (dicts, as ``kubectl get -o json`` prints them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Waiting reasons that no retry will cure: the pod will never start.
FINAL_IMAGE_REASONS = frozenset({"ErrImageNeverPull", "InvalidImageName"})
#: Waiting reasons of a pull that failed and is retried with a growing back-off.
PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff"})


def desired_replicas(deployment: Mapping[str, Any]) -> int:
    """The replicas a Deployment or StatefulSet asks for (1 when the field is absent, as the API
    defaults it)."""
    replicas = (deployment.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def rollout_problem(deployment: Mapping[str, Any], *, need_replicas: bool = False) -> str | None:
    """Why a Deployment is not fully rolled out, or ``None`` when it is.

    Rolled out means: its latest change is observed, every wanted replica is updated and
    available, and no pod of an older revision is left. A Deployment scaled to 0 is rolled out,
    unless ``need_replicas`` asks for one that can take traffic.
    """
    wanted = desired_replicas(deployment)
    status = deployment.get("status") or {}
    if need_replicas and wanted == 0:
        return "it is scaled to 0 replicas"
    generation = (deployment.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return "its latest change is not rolled out yet"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == (
            "ProgressDeadlineExceeded"
        ):
            return f"progress deadline exceeded: {condition.get('message', '')}"
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    total = int(status.get("replicas") or 0)
    if updated < wanted or available < wanted or total > wanted:
        return f"{available} of {wanted} replicas available, {updated} updated, {total} in total"
    return None


def statefulset_problem(statefulset: Mapping[str, Any]) -> str | None:
    """Why a StatefulSet is not fully rolled out, or ``None`` when it is.

    Decided as ``kubectl rollout status`` does: its latest change is observed, every wanted
    replica is ready, and, with rolling updates, every replica from the partition on (all by
    default) runs the latest revision.
    """
    wanted = desired_replicas(statefulset)
    spec = statefulset.get("spec") or {}
    status = statefulset.get("status") or {}
    generation = (statefulset.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return "its latest change is not rolled out yet"
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        to_update = max(wanted - partition, 0)
    else:  # OnDelete: pods take the new revision only when deleted
        to_update = 0
    if ready < wanted or updated < to_update or total > wanted:
        return f"{ready} of {wanted} replicas ready, {updated} updated, {total} in total"
    return None


def pod_is_ready(pod: Mapping[str, Any], *, serving: bool = False) -> bool:
    """Whether a pod's Ready condition is true; with ``serving``, also not being deleted."""
    if serving and (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@dataclass(frozen=True)
class ImageProblem:
    """A container of a pod that cannot get its image."""

    pod: str
    image: str
    reason: str
    message: str

    @property
    def final(self) -> bool:
        """Whether retrying cannot help (as opposed to a pull that is being retried)."""
        return self.reason in FINAL_IMAGE_REASONS

    def __str__(self) -> str:
        detail = f": {self.message}" if self.message else ""
        return f"pod {self.pod} cannot get image {self.image} ({self.reason}{detail})"


def image_problem(pod: Mapping[str, Any]) -> ImageProblem | None:
    """The first container (init containers included) of ``pod`` stuck on its image, if any."""
    spec = pod.get("spec") or {}
    images = {
        c.get("name"): c.get("image", "?")
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
    }
    status = pod.get("status") or {}
    for container in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in FINAL_IMAGE_REASONS or reason in PULL_REASONS:
            name = container.get("name")
            return ImageProblem(
                pod=str((pod.get("metadata") or {}).get("name", "?")),
                image=str(container.get("image") or images.get(name, "?")),
                reason=str(reason),
                message=str(waiting.get("message") or ""),
            )
    return None
