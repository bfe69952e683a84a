"""The ``ui`` section: the web page's Deployment, Service, NetworkPolicy and Ingress path."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import load_spec, parse_spec, render

from .conftest import api_container, counting_source, example_path, make_spec, minimal, rendered
from .schema_validation import shipped_versions, validate
from .stack_checks import check_stack

CONTROLLER = {"namespace": "ingress-nginx", "pod_labels": {"app.kubernetes.io/name": "nginx"}}
UI_PODS = {"app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": "ui"}


def _ui_objects(objects: dict[str, dict[str, Any]]) -> set[str]:
    return {key for key in objects if key.endswith("/demo-ui")}


def _pod(objects: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    pod: dict[str, Any] = objects[f"Deployment/{name}"]["spec"]["template"]["spec"]
    return pod


def _ui(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return api_container(objects["Deployment/demo-ui"])


def _error(**overrides: Any) -> str:
    with pytest.raises(ConfigurationError) as info:
        parse_spec(minimal(**overrides))
    return str(info.value)


def test_the_page_is_rendered_only_when_enabled() -> None:
    assert _ui_objects(rendered(make_spec())) == set()
    assert _ui_objects(rendered(make_spec(ui={"enabled": False}))) == set()
    assert _ui_objects(rendered(make_spec(ui={}))) == {
        "Deployment/demo-ui",
        "Service/demo-ui",
        "NetworkPolicy/demo-ui",
    }
    without_policies = make_spec(ui={}, network_policy={"enabled": False})
    assert _ui_objects(rendered(without_policies)) == {"Deployment/demo-ui", "Service/demo-ui"}


def test_the_page_runs_against_the_api_service_with_the_api_image() -> None:
    objects = rendered(make_spec(service={"port": 80}, ui={"replicas": 2}))
    c = _ui(objects)
    assert c["command"] == ["k8s-mlserve", "ui"]
    assert c["args"] == [
        "--url",
        "http://demo:80",
        "--secrets-dir",
        "/etc/k8s-mlserve/secrets",
        "--host",
        "0.0.0.0",
        "--port",
        "8501",
    ]
    assert c["ports"] == [{"name": "http", "containerPort": 8501, "protocol": "TCP"}]
    assert c["image"] == api_container(objects["Deployment/demo"])["image"] == "k8s-mlserve:1.0.0"
    assert objects["Deployment/demo-ui"]["spec"]["replicas"] == 2
    # The Service of --url is the API's, on the port given.
    assert objects["Service/demo"]["spec"]["ports"][0]["port"] == 80


def test_a_separate_image_for_the_page() -> None:
    objects = rendered(make_spec(ui={"image": "registry.example.com/k8s-mlserve-ui:2.0.0"}))
    assert _ui(objects)["image"] == "registry.example.com/k8s-mlserve-ui:2.0.0"
    labels = objects["Deployment/demo-ui"]["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "2.0.0"
    assert api_container(objects["Deployment/demo"])["image"] == "k8s-mlserve:1.0.0"


def test_the_page_is_hardened_like_the_api() -> None:
    objects = rendered(make_spec(ui={}))
    api, ui = _pod(objects, "demo"), _pod(objects, "demo-ui")
    assert ui["securityContext"] == api["securityContext"]
    assert ui["securityContext"]["runAsNonRoot"] is True
    assert ui["containers"][0]["securityContext"] == api["containers"][0]["securityContext"]
    assert ui["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    for key in ("automountServiceAccountToken", "enableServiceLinks"):
        assert ui[key] is False
    # HOME and /tmp, where Streamlit writes, are on an emptyDir.
    env = {e["name"]: e["value"] for e in ui["containers"][0]["env"]}
    mounts = {m["mountPath"]: m["name"] for m in ui["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in ui["volumes"]}
    assert volumes[mounts[env["HOME"]]]["emptyDir"] == {}
    assert volumes[mounts["/tmp"]]["emptyDir"] == {}


def test_probes_ask_streamlit_for_its_health() -> None:
    c = _ui(rendered(make_spec(ui={})))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 60
    assert c["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }


@pytest.mark.parametrize(
    ("secrets", "secret_name"),
    [({}, "demo-secrets"), ({"existing": "team-api-secrets"}, "team-api-secrets")],
    ids=["rendered", "existing"],
)
def test_the_secret_is_mounted_as_the_api_mounts_it(
    secrets: dict[str, Any], secret_name: str
) -> None:
    objects = rendered(make_spec(secrets=secrets, ui={}))

    def secret_mount(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        pod = _pod(objects, name)
        (volume,) = [v for v in pod["volumes"] if "secret" in v]
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
        return volume["secret"], mount

    assert secret_mount("demo-ui") == secret_mount("demo")
    volume, mount = secret_mount("demo-ui")
    assert volume["secretName"] == secret_name
    assert mount == {"name": "secrets", "mountPath": "/etc/k8s-mlserve/secrets", "readOnly": True}
    args = _ui(objects)["args"]
    assert args[args.index("--secrets-dir") + 1] == "/etc/k8s-mlserve/secrets"


def test_without_a_secret_the_page_is_given_none() -> None:
    objects = rendered(make_spec(secrets={"api_keys": None, "monitoring_token": None}, ui={}))
    c = _ui(objects)
    assert "--secrets-dir" not in c["args"]
    assert [m["mountPath"] for m in c["volumeMounts"]] == ["/tmp"]


def test_a_configuration_change_rolls_the_page_too() -> None:
    def hashes(level: str) -> tuple[str, str]:
        objects = rendered(make_spec(config={"log_level": level}, ui={}))
        api, ui = (
            objects[f"Deployment/{name}"]["spec"]["template"]["metadata"]["annotations"]
            for name in ("demo", "demo-ui")
        )
        return api["k8s-mlserve/config-sha256"], ui["k8s-mlserve/config-sha256"]

    api, ui = hashes("info")
    assert api == ui
    assert hashes("debug")[1] != ui


def test_the_service_sends_port_80_to_the_page() -> None:
    svc = rendered(make_spec(ui={}))["Service/demo-ui"]["spec"]
    assert svc["type"] == "ClusterIP"
    assert svc["selector"] == UI_PODS
    assert svc["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]


def test_the_api_admits_the_page_whatever_allow_from_says() -> None:
    objects = rendered(make_spec(network_policy={"allow_from": []}, ui={}))
    rules = objects["NetworkPolicy/demo-api"]["spec"]["ingress"]
    assert rules == [
        {
            "from": [{"podSelector": {"matchLabels": UI_PODS}}],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        }
    ]
    # and the page admits nobody, as the API would without it
    assert "ingress" not in objects["NetworkPolicy/demo-ui"]["spec"]
    without = rendered(make_spec(network_policy={"allow_from": []}))
    assert "ingress" not in without["NetworkPolicy/demo-api"]["spec"]


def test_the_page_admits_the_peers_of_the_api_and_the_ingress_controller() -> None:
    spec = make_spec(
        network_policy={"allow_from": [{"namespace_labels": {"team": "data"}}]},
        ingress={"host": "demo.example.com", "controller": CONTROLLER},
        ui={"ingress_path": "/ui"},
    )
    objects = rendered(spec)
    policy = objects["NetworkPolicy/demo-ui"]["spec"]
    assert policy["podSelector"] == {"matchLabels": UI_PODS}
    api_peers = objects["NetworkPolicy/demo-api"]["spec"]["ingress"][0]["from"]
    assert policy["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"team": "data"}}},
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    },
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "nginx"}},
                },
            ],
            "ports": [{"port": 8501, "protocol": "TCP"}],
        }
    ]
    assert api_peers == [*policy["ingress"][0]["from"], {"podSelector": {"matchLabels": UI_PODS}}]


def test_the_page_gets_its_path_on_the_ingress_and_is_served_under_it() -> None:
    spec = make_spec(
        service={"port": 80},
        ingress={"host": "demo.example.com", "path": "/", "path_type": "ImplementationSpecific"},
        ui={"ingress_path": "/demo/ui"},
    )
    objects = rendered(spec)
    assert objects["Ingress/demo"]["spec"]["rules"][0]["http"]["paths"] == [
        {
            "backend": {"service": {"name": "demo", "port": {"number": 80}}},
            "path": "/",
            "pathType": "ImplementationSpecific",
        },
        {
            "backend": {"service": {"name": "demo-ui", "port": {"number": 80}}},
            "path": "/demo/ui",
            "pathType": "Prefix",
        },
    ]
    c = _ui(objects)
    assert c["args"][-2:] == ["--base-path", "/demo/ui"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["path"] == "/demo/ui/_stcore/health"
    # Without ingress_path the Ingress has only the API's path.
    plain = rendered(make_spec(ingress={"host": "demo.example.com"}, ui={}))
    assert len(plain["Ingress/demo"]["spec"]["rules"][0]["http"]["paths"]) == 1
    assert "--base-path" not in _ui(plain)["args"]


@pytest.mark.parametrize(
    ("ui", "message"),
    [
        ({"replicas": 0}, "ui.replicas: Input should be greater than or equal to 1"),
        ({"ingress_path": "ui"}, "ui.ingress_path: String should match pattern"),
        ({"ingress_path": "/ui/"}, "ui.ingress_path: String should match pattern"),
        ({"ingress_path": "/"}, "ui.ingress_path: String should match pattern"),
        ({"port": 8501}, "ui.port: Extra inputs are not permitted"),
        ({"image": "k8s-mlserve:latest"}, "ui.image: the tag 'latest' makes deployments"),
        ({"image": "k8s-mlserve"}, "ui.image: the image has no tag"),
        (
            {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
            "limits.cpu (1) is below requests.cpu (2)",
        ),
        (
            {"ingress_path": "/ui"},
            "ui.ingress_path is a path of the Ingress: add the ingress section",
        ),
    ],
)
def test_bad_values_are_explained(ui: dict[str, Any], message: str) -> None:
    assert message in _error(ui=ui)


def test_the_page_needs_a_path_of_its_own_on_the_ingress() -> None:
    message = _error(
        ingress={"host": "demo.example.com", "path": "/app/"}, ui={"ingress_path": "/app"}
    )
    assert "ui.ingress_path (/app) is the API's ingress.path" in message
    # A disabled page is not checked.
    make_spec(ui={"enabled": False, "ingress_path": "/ui", "image": "k8s-mlserve:latest"})


def test_the_diabetes_example_deploys_the_page() -> None:
    spec = load_spec(example_path("diabetes"))
    assert spec.serves_ui
    objects = rendered(spec)
    assert {"Deployment/diabetes-ui", "Service/diabetes-ui", "NetworkPolicy/diabetes-ui"} <= set(
        objects
    )
    c = api_container(objects["Deployment/diabetes-ui"])
    assert c["args"][:2] == ["--url", "http://diabetes:8000"]


@pytest.mark.parametrize("target", ["1.20", "1.25", shipped_versions()[-1]])
def test_every_object_of_the_page_is_valid(target: str) -> None:
    spec = parse_spec(
        minimal(
            kubernetes_version=target,
            ingress={"host": "demo.example.com", "controller": {"pod_labels": {"app": "nginx"}}},
            ui={"ingress_path": "/ui", "image": "k8s-mlserve-ui:1.0.0"},
        )
    )
    manifests = render(spec, counting_source())
    assert {m["metadata"]["name"] for m in manifests if m["kind"] == "Deployment"} == {
        "demo",
        "demo-ui",
    }
    assert [e for m in manifests for e in validate(m, target)] == []
    assert check_stack(manifests) == []
