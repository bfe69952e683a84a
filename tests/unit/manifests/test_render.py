from __future__ import annotations

import stat
from pathlib import Path

import yaml

import k8s_mlserve.manifests as manifests_package
from k8s_mlserve.manifests import parse_spec as parse
from k8s_mlserve.manifests import render, to_yaml, write_directory
from k8s_mlserve.manifests.rendering import KIND_ORDER

from .conftest import counting_source, example_data, make_spec, variation


def test_public_api_is_pinned() -> None:
    assert manifests_package.__all__ == [
        "DEFAULT_TARGET",
        "OLDEST_SUPPORTED",
        "DeploymentSpec",
        "KubeVersion",
        "Manifest",
        "SecretSource",
        "build_objects",
        "for_cluster",
        "generated_secret_keys",
        "load_environments",
        "load_spec",
        "parse_environments",
        "parse_spec",
        "render",
        "to_yaml",
        "write_directory",
    ]


def test_order_is_namespace_config_storage_workloads_services_policies_monitoring() -> None:
    data = variation(example_data("diabetes"), "blue-green", mlflow=True)
    spec = parse({**data, "monitoring": {"service_monitor": True}})
    kinds = [m["kind"] for m in render(spec, counting_source())]
    assert kinds[0] == "Namespace"
    ranks = [KIND_ORDER.index(k) for k in kinds]
    assert ranks == sorted(ranks)
    groups = {
        "config": {"ConfigMap", "Secret"},
        "storage": {"PersistentVolumeClaim"},
        "workloads": {"Job", "CronJob", "Deployment", "StatefulSet"},
        "services": {"Service", "Ingress"},
        "policies": {"HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"},
        "monitoring": {"ServiceMonitor", "PrometheusRule"},
    }
    seen = [next(g for g, members in groups.items() if k in members) for k in kinds[1:]]
    assert list(dict.fromkeys(seen)) == list(groups)


def test_output_is_stable() -> None:
    spec = parse(example_data("churn"))
    assert to_yaml(render(spec, counting_source())) == to_yaml(render(spec, counting_source()))


def test_yaml_round_trips_with_identity_keys_first() -> None:
    manifests = render(make_spec(), counting_source())
    text = to_yaml(manifests)
    assert list(yaml.safe_load_all(text)) == manifests
    assert text.startswith("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n")
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    assert next(iter(deployment["spec"]["template"]["spec"]["containers"][0])) == "name"
    # values YAML would read as other types stay strings
    assert "MLSERVE_SERVER__PORT: '8000'" in text


def test_no_namespace_object_for_default_or_when_disabled() -> None:
    kinds = [m["kind"] for m in render(make_spec(namespace="default"), counting_source())]
    assert "Namespace" not in kinds
    kinds = [m["kind"] for m in render(make_spec(create_namespace=False), counting_source())]
    assert "Namespace" not in kinds
    assert all(
        m["metadata"]["namespace"] == "demo"
        for m in render(make_spec(create_namespace=False), counting_source())
    )


def test_common_labels_everywhere() -> None:
    for m in render(make_spec(labels={"team": "ml"}), counting_source()):
        labels = m["metadata"]["labels"]
        assert labels["team"] == "ml"
        assert labels["app.kubernetes.io/managed-by"] == "k8s-mlserve"
        assert labels["app.kubernetes.io/part-of"] == "demo"


def test_write_directory(tmp_path: Path) -> None:
    manifests = render(make_spec(), counting_source())
    paths = write_directory(manifests, tmp_path / "out")
    kustomization = yaml.safe_load((tmp_path / "out" / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == [p.name for p in paths[:-1]]
    assert kustomization["resources"][0] == "00-namespace-demo.yaml"
    loaded = [
        yaml.safe_load((tmp_path / "out" / name).read_text()) for name in kustomization["resources"]
    ]
    assert loaded == manifests
    secret_file = next(p for p in paths if "-secret-" in p.name)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
