"""The networking sections of the deployment spec: the API ``service``, the ``ingress`` and the
``network_policy`` peers (also used by ``mlflow.allow_from``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .spec_types import DnsLabel, DnsSubdomain, Labels, Section


class Service(Section):
    """The API Service."""

    type: Literal["ClusterIP", "NodePort"] = "ClusterIP"
    port: int = Field(8000, ge=1, le=65535)
    node_port: int | None = Field(None, ge=30000, le=32767)

    @model_validator(mode="after")
    def _node_port_needs_type(self) -> Service:
        if self.node_port is not None and self.type != "NodePort":
            raise ValueError("node_port is only used with type: NodePort")
        return self


NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


class Peer(Section):
    """Pods allowed to reach a port: by pod labels, namespace labels, namespace name, or a
    combination (all of which must then match)."""

    pod_labels: Labels | None = None
    namespace_labels: Labels | None = None
    namespace: DnsLabel | None = None

    @model_validator(mode="after")
    def _something(self) -> Peer:
        if self.pod_labels is None and self.namespace_labels is None and self.namespace is None:
            raise ValueError("set pod_labels, namespace_labels or namespace")
        if self.namespace is not None and NAMESPACE_NAME_LABEL in (self.namespace_labels or {}):
            raise ValueError(
                f"namespace sets the {NAMESPACE_NAME_LABEL} label; remove it from namespace_labels"
            )
        return self

    @property
    def other_namespaces(self) -> bool:
        """Whether the peer admits pods of namespaces other than the policy's own."""
        return self.namespace is not None or self.namespace_labels is not None


def _same_namespace() -> list[Peer]:
    return [Peer(pod_labels={})]


class NetworkPolicy(Section):
    """NetworkPolicies admitting only the server port, from the listed peers."""

    enabled: bool = True
    allow_from: list[Peer] = Field(default_factory=_same_namespace)


class Ingress(Section):
    """An Ingress to the API Service."""

    host: str = Field(
        pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    )
    path: str = Field("/", pattern=r"^/")
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = "Prefix"
    class_name: str | None = None
    tls_secret: DnsSubdomain | None = None
    annotations: dict[str, str] = Field(default_factory=dict)
    controller: Peer | None = Field(
        None,
        description="the ingress controller's pods, admitted to the API pods by their "
        "NetworkPolicy, e.g. {namespace: ingress-nginx}",
    )
