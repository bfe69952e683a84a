"""A fake cluster with API pods answering through the API server's pod proxy."""

from __future__ import annotations

import base64
import copy
from typing import Any

from ..manifests.fake_cluster import ApiError, FakeCluster, Obj


class FakePodCluster(FakeCluster):
    """``FakeCluster`` plus pods made from the Deployments' templates, Secrets, and what each
    pod answers on a path (text, or an ``ApiError`` the proxy returns)."""

    def __init__(self, manifests: list[Obj]) -> None:
        super().__init__(manifests)
        self.pods: list[Obj] = []
        self.secrets: dict[tuple[str, str], Obj] = {}
        self.answers: dict[tuple[str, str], str | ApiError] = {}
        self.proxied: list[dict[str, Any]] = []  # every proxy call, with its headers
        for m in manifests:
            if m["kind"] == "Deployment":
                for i in range(m["spec"].get("replicas") or 0):
                    self.add_pod(f"{m['metadata']['name']}-{i}", m)
            if m["kind"] == "Secret":
                data = {
                    k: base64.b64encode(v.encode()).decode()
                    for k, v in (m.get("stringData") or {}).items()
                }
                key = (m["metadata"]["namespace"], m["metadata"]["name"])
                self.secrets[key] = {"metadata": m["metadata"], "data": data}

    def add_pod(self, name: str, deployment: Obj, *, ready: bool = True) -> Obj:
        pod = {
            "metadata": {
                "name": name,
                "namespace": deployment["metadata"]["namespace"],
                "labels": copy.deepcopy(deployment["spec"]["template"]["metadata"]["labels"]),
            },
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
        }
        self.pods.append(pod)
        return pod

    def answer(self, prefix: str, path: str, value: str | ApiError) -> None:
        """Make every pod whose name starts with ``prefix`` answer ``value`` on ``path``."""
        for pod in self.pods:
            if pod["metadata"]["name"].startswith(prefix):
                self.answers[(pod["metadata"]["name"], path)] = value

    def list_namespaced_pod(self, namespace: str, *, label_selector: str | None = None) -> Obj:
        wanted = dict(p.split("=", 1) for p in (label_selector or "").split(",") if p)
        items = [
            copy.deepcopy(p)
            for p in self.pods
            if p["metadata"]["namespace"] == namespace
            and wanted.items() <= p["metadata"]["labels"].items()
        ]
        return {"items": items}

    def read_namespaced_secret(self, name: str, namespace: str) -> Obj:
        try:
            return copy.deepcopy(self.secrets[(namespace, name)])
        except KeyError:
            raise ApiError(404, "Not Found") from None

    def connect_get_namespaced_pod_proxy_with_path(
        self,
        name: str,
        namespace: str,
        path: str,
        *,
        _preload_content: bool = True,
        _request_timeout: float | None = None,
        _headers: dict[str, Any] | None = None,
    ) -> Any:
        self.proxied.append({"name": name, "path": path, "headers": dict(_headers or {})})
        pod, _, port = name.partition(":")
        assert port == "8000", "the proxy must name the API port"
        value = self.answers.get((pod, "/" + path), ApiError(404, "Not Found"))
        if isinstance(value, ApiError):
            raise value
        return _Response(value.encode())


class _Response:
    """What the client returns without preloading: the raw response, its body in ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
