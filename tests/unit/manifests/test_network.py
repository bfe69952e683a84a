from __future__ import annotations

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import render

from .conftest import counting_source, make_spec, rendered


def test_cluster_ip_service_by_default() -> None:
    svc = rendered(make_spec())["Service/demo"]
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [
        {"name": "http", "port": 8000, "protocol": "TCP", "targetPort": "http"}
    ]


def test_node_port_with_a_fixed_port() -> None:
    svc = rendered(make_spec(service={"type": "NodePort", "node_port": 30080, "port": 80}))[
        "Service/demo"
    ]
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"][0]["nodePort"] == 30080
    assert svc["spec"]["ports"][0]["port"] == 80


def test_ingress() -> None:
    spec = make_spec(
        service={"port": 80},
        ingress={
            "host": "api.example.com",
            "path": "/demo",
            "class_name": "nginx",
            "tls_secret": "api-tls",
            "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "2m"},
        },
    )
    ingress = rendered(spec)["Ingress/demo"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["api.example.com"], "secretName": "api-tls"}]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "api.example.com"
    assert rule["http"]["paths"] == [
        {
            "backend": {"service": {"name": "demo", "port": {"number": 80}}},
            "path": "/demo",
            "pathType": "Prefix",
        }
    ]
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-body-size": "2m"
    }
    assert "Ingress/demo" not in rendered(make_spec())


def test_network_policy_admits_only_the_server_port_from_chosen_peers() -> None:
    spec = make_spec(
        kubernetes_version="1.21",
        network_policy={
            "allow_from": [
                {"pod_labels": {"app": "frontend"}},
                {"namespace": "monitoring", "pod_labels": {"app": "prometheus"}},
                {"namespace_labels": {"team": "data"}},
            ]
        },
    )
    policy = rendered(spec)["NetworkPolicy/demo-api"]["spec"]
    assert policy["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": "api"}
    }
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [
        {
            "from": [
                {"podSelector": {"matchLabels": {"app": "frontend"}}},
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    },
                    "podSelector": {"matchLabels": {"app": "prometheus"}},
                },
                {"namespaceSelector": {"matchLabels": {"team": "data"}}},
            ],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        }
    ]


def test_default_network_policy_admits_the_namespace() -> None:
    policy = rendered(make_spec())["NetworkPolicy/demo-api"]["spec"]
    assert policy["ingress"][0]["from"] == [{"podSelector": {}}]


def test_no_peers_admits_nobody() -> None:
    policy = rendered(make_spec(network_policy={"allow_from": []}))["NetworkPolicy/demo-api"]
    assert "ingress" not in policy["spec"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert "NetworkPolicy/demo-api" not in rendered(make_spec(network_policy={"enabled": False}))


def test_namespace_names_need_1_21() -> None:
    spec = make_spec(
        kubernetes_version="1.20", network_policy={"allow_from": [{"namespace": "monitoring"}]}
    )
    with pytest.raises(ConfigurationError, match="selecting namespaces by name"):
        render(spec, counting_source())


def test_the_ingress_controller_is_admitted_to_the_api_pods() -> None:
    spec = make_spec(
        ingress={
            "host": "api.example.com",
            "controller": {
                "namespace": "ingress-nginx",
                "pod_labels": {"app.kubernetes.io/name": "ingress-nginx"},
            },
        }
    )
    policy = rendered(spec)["NetworkPolicy/demo-api"]["spec"]
    assert policy["ingress"][0]["from"] == [
        {"podSelector": {}},  # the namespace, as by default
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
        },
    ]
    no_policy = make_spec(
        ingress={"host": "api.example.com", "controller": {"namespace": "ingress-nginx"}},
        network_policy={"enabled": False},
    )
    assert "NetworkPolicy/demo-api" not in rendered(no_policy)


def test_a_namespace_by_name_and_by_labels_must_both_match() -> None:
    spec = make_spec(
        network_policy={
            "allow_from": [{"namespace": "monitoring", "namespace_labels": {"team": "sre"}}]
        }
    )
    (allowed,) = rendered(spec)["NetworkPolicy/demo-api"]["spec"]["ingress"][0]["from"]
    assert allowed == {
        "namespaceSelector": {
            "matchLabels": {"team": "sre", "kubernetes.io/metadata.name": "monitoring"}
        }
    }
    with pytest.raises(ConfigurationError, match="remove it from namespace_labels"):
        make_spec(
            network_policy={
                "allow_from": [
                    {
                        "namespace": "monitoring",
                        "namespace_labels": {"kubernetes.io/metadata.name": "other"},
                    }
                ]
            }
        )


def test_the_ingress_controller_by_name_needs_1_21() -> None:
    spec = make_spec(
        kubernetes_version="1.20",
        ingress={"host": "api.example.com", "controller": {"namespace": "ingress-nginx"}},
    )
    with pytest.raises(ConfigurationError, match="selecting namespaces by name"):
        render(spec, counting_source())
