"""A cluster in memory, with the few API methods the rollout seam uses."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]


class ApiError(Exception):
    """Shaped like ``kubernetes.client.ApiException``: a status and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_json_patch(obj: Obj, ops: list[Obj]) -> Obj:
    """The subset of RFC 6902 the API server applies here: test, replace and add."""
    out = copy.deepcopy(obj)
    for op in ops:
        *parents, last = [_unescape(t) for t in op["path"].lstrip("/").split("/")]
        target = out
        for token in parents:
            target = target[token]
        if op["op"] == "test":
            if target.get(last) != op["value"]:
                raise ApiError(422, "Unprocessable Entity: test operation failed")
        elif op["op"] in ("replace", "add"):
            if op["op"] == "replace" and last not in target:
                raise ApiError(422, "Unprocessable Entity: missing path")
            target[last] = copy.deepcopy(op["value"])
        else:
            raise AssertionError(f"unexpected op {op['op']}")
    return out


class FakeCluster:
    """Deployments and Services in memory, with the API methods the seam names."""

    def __init__(self, manifests: list[Obj]) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        for m in manifests:
            if m["kind"] in ("Deployment", "Service"):
                obj = copy.deepcopy(m)
                obj["metadata"].update(resourceVersion="1", generation=1)
                self.objects[(m["kind"], m["metadata"]["namespace"], m["metadata"]["name"])] = obj
        self.patches: list[tuple[str, str, list[Obj]]] = []
        self.before_patch: list[Any] = []  # callbacks simulating concurrent writers

    def _get(self, kind: str, name: str, namespace: str) -> Obj:
        try:
            return self.objects[(kind, namespace, name)]
        except KeyError:
            raise ApiError(404, "Not Found") from None

    def _patch(self, kind: str, name: str, namespace: str, body: list[Obj]) -> Obj:
        assert isinstance(body, list), "changes must be JSON patches"
        for hook in self.before_patch:
            hook(self)
        current = self._get(kind, name, namespace)
        patched = apply_json_patch(current, body)
        patched["metadata"]["resourceVersion"] = str(
            int(current["metadata"]["resourceVersion"]) + 1
        )
        if kind == "Deployment" and patched["spec"] != current["spec"]:
            patched["metadata"]["generation"] += 1
        self.objects[(kind, namespace, name)] = patched
        self.patches.append((kind, name, body))
        return copy.deepcopy(patched)

    def read_namespaced_deployment(self, name: str, namespace: str) -> Obj:
        return copy.deepcopy(self._get("Deployment", name, namespace))

    def patch_namespaced_deployment(self, name: str, namespace: str, body: Any) -> Obj:
        return self._patch("Deployment", name, namespace, body)

    def read_namespaced_service(self, name: str, namespace: str) -> Obj:
        return copy.deepcopy(self._get("Service", name, namespace))

    def patch_namespaced_service(self, name: str, namespace: str, body: Any) -> Obj:
        return self._patch("Service", name, namespace, body)

    # helpers for the tests
    def deployment(self, name: str, namespace: str) -> Obj:
        return self._get("Deployment", name, namespace)

    def settle(self, name: str, namespace: str, available: int | None = None) -> None:
        """Mark a Deployment rolled out, with ``available`` pods (default: all)."""
        d = self.deployment(name, namespace)
        wanted = d["spec"].get("replicas", 1)
        count = wanted if available is None else available
        d["status"] = {
            "observedGeneration": d["metadata"]["generation"],
            "replicas": wanted,
            "updatedReplicas": count,
            "availableReplicas": count,
        }
