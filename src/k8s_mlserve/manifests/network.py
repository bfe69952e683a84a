"""Networking: the API Service, the Ingress (with the web page's path) and the NetworkPolicies
admitting only a server port from chosen pods and namespaces."""

from __future__ import annotations

from kubernetes import client

from . import contract, naming
from .naming import labels, names
from .spec import DeploymentSpec
from .spec_network import NAMESPACE_NAME_LABEL, Peer
from .strategies import service_selector
from .versions import api_version, require


def build_api_service(spec: DeploymentSpec) -> client.V1Service:
    """ClusterIP (or NodePort) Service in front of the API pods."""
    svc = spec.service
    return build_service(
        spec,
        names(spec).api,
        naming.API,
        service_selector(spec),
        svc.port,
        service_type=svc.type,
        node_port=svc.node_port,
    )


def build_service(
    spec: DeploymentSpec,
    name: str,
    component: str,
    selector: dict[str, str],
    port: int,
    *,
    service_type: str = "ClusterIP",
    node_port: int | None = None,
) -> client.V1Service:
    """A Service of ``component``'s pods: ``port`` to their named server port."""
    return client.V1Service(
        api_version=api_version("Service", spec.kubernetes_version),
        kind="Service",
        metadata=client.V1ObjectMeta(
            name=name, namespace=spec.target_namespace, labels=labels(spec, component)
        ),
        spec=client.V1ServiceSpec(
            type=service_type,
            selector=selector,
            ports=[
                client.V1ServicePort(
                    name=contract.PORT_NAME,
                    port=port,
                    target_port=contract.PORT_NAME,
                    protocol="TCP",
                    node_port=node_port,
                )
            ],
        ),
    )


def build_ingress(spec: DeploymentSpec) -> client.V1Ingress | None:
    ingress = spec.ingress
    if ingress is None:
        return None
    backend = client.V1IngressBackend(
        service=client.V1IngressServiceBackend(
            name=names(spec).api, port=client.V1ServiceBackendPort(number=spec.service.port)
        )
    )
    paths = [
        client.V1HTTPIngressPath(path=ingress.path, path_type=ingress.path_type, backend=backend)
    ]
    ui_path = spec.page.ingress_path if spec.page is not None else None
    if ui_path is not None:
        # Streamlit serves every route of the page under its base path: a prefix, not rewritten.
        ui_backend = client.V1IngressBackend(
            service=client.V1IngressServiceBackend(
                name=names(spec).ui,
                port=client.V1ServiceBackendPort(number=contract.UI_SERVICE_PORT),
            )
        )
        paths.append(client.V1HTTPIngressPath(path=ui_path, path_type="Prefix", backend=ui_backend))
    tls = None
    if ingress.tls_secret is not None:
        tls = [client.V1IngressTLS(hosts=[ingress.host], secret_name=ingress.tls_secret)]
    return client.V1Ingress(
        api_version=api_version("Ingress", spec.kubernetes_version),
        kind="Ingress",
        metadata=client.V1ObjectMeta(
            name=names(spec).api,
            namespace=spec.target_namespace,
            labels=labels(spec, naming.API),
            annotations=dict(ingress.annotations) or None,
        ),
        spec=client.V1IngressSpec(
            ingress_class_name=ingress.class_name,
            tls=tls,
            rules=[
                client.V1IngressRule(
                    host=ingress.host,
                    http=client.V1HTTPIngressRuleValue(paths=paths),
                )
            ],
        ),
    )


def peer(spec: DeploymentSpec, allowed: Peer) -> client.V1NetworkPolicyPeer:
    """A NetworkPolicy peer; a namespace given by name needs the automatic name label."""
    namespace_labels = allowed.namespace_labels
    if allowed.namespace is not None:
        require("namespace-name-label", spec.kubernetes_version)
        namespace_labels = {**(namespace_labels or {}), NAMESPACE_NAME_LABEL: allowed.namespace}
    return client.V1NetworkPolicyPeer(
        pod_selector=(
            client.V1LabelSelector(match_labels=dict(allowed.pod_labels) or None)
            if allowed.pod_labels is not None
            else None
        ),
        namespace_selector=(
            client.V1LabelSelector(match_labels=dict(namespace_labels) or None)
            if namespace_labels is not None
            else None
        ),
    )


def build_network_policy(
    spec: DeploymentSpec,
    name: str,
    component: str,
    port: int,
    peers: list[client.V1NetworkPolicyPeer],
) -> client.V1NetworkPolicy:
    """Admit only TCP ``port`` of a component's pods, only from ``peers`` (none: nobody)."""
    return client.V1NetworkPolicy(
        api_version=api_version("NetworkPolicy", spec.kubernetes_version),
        kind="NetworkPolicy",
        metadata=client.V1ObjectMeta(
            name=name, namespace=spec.target_namespace, labels=labels(spec, component)
        ),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(match_labels=naming.selector(spec, component)),
            policy_types=["Ingress"],
            ingress=[
                client.V1NetworkPolicyIngressRule(
                    **{"_from": peers},  # the keyword every client release accepts
                    ports=[client.V1NetworkPolicyPort(port=port, protocol="TCP")],
                )
            ]
            if peers
            else None,
        ),
    )


def admitted_peers(spec: DeploymentSpec) -> list[client.V1NetworkPolicyPeer]:
    """Who may reach the API (and the web page): ``network_policy.allow_from`` and the
    ingress controller."""
    allowed = list(spec.network_policy.allow_from)
    if spec.ingress is not None and spec.ingress.controller is not None:
        allowed.append(spec.ingress.controller)
    return [peer(spec, p) for p in allowed]


def build_api_network_policy(spec: DeploymentSpec) -> client.V1NetworkPolicy | None:
    if not spec.network_policy.enabled:
        return None
    peers = admitted_peers(spec)
    if spec.serves_ui:
        # The web page calls the API, whoever else allow_from admits.
        ui_pods = client.V1LabelSelector(match_labels=naming.selector(spec, naming.UI))
        peers.append(client.V1NetworkPolicyPeer(pod_selector=ui_pods))
    return build_network_policy(spec, names(spec).network_policy, naming.API, contract.PORT, peers)
