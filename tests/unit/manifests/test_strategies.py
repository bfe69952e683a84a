from __future__ import annotations

import pytest

from k8s_mlserve.manifests.strategies import api_variants, canary_split, service_selector

from .conftest import api_container, make_spec, rendered


@pytest.mark.parametrize(
    ("total", "percent", "split"),
    [
        (4, 25, (3, 1)),
        (10, 10, (9, 1)),
        (10, 15, (8, 2)),  # 1.5 rounds half up
        (3, 1, (2, 1)),  # a canary above 0% gets at least one pod
        (3, 99, (1, 2)),  # and leaves stable one below 100%
        (5, 0, (5, 0)),
        (5, 100, (0, 5)),
    ],
)
def test_canary_split(total: int, percent: int, split: tuple[int, int]) -> None:
    assert canary_split(total, percent) == split
    assert sum(canary_split(total, percent)) == total


def test_rolling_is_one_deployment_selected_whole() -> None:
    spec = make_spec(api={"replicas": 3})
    objects = rendered(spec)
    deployment = objects["Deployment/demo"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": "25%",
        "maxUnavailable": 0,
    }
    assert objects["Service/demo"]["spec"]["selector"] == service_selector(spec)
    assert service_selector(spec) == {
        "app.kubernetes.io/instance": "demo",
        "app.kubernetes.io/component": "api",
    }


def test_blue_green_selects_the_live_colour() -> None:
    spec = make_spec(
        strategy={"type": "blue-green", "live": "green", "green": {"image_tag": "2.0.0"}}
    )
    objects = rendered(spec)
    blue, green = objects["Deployment/demo-blue"], objects["Deployment/demo-green"]
    assert api_container(blue)["image"] == "k8s-mlserve:1.0.0"
    assert api_container(green)["image"] == "k8s-mlserve:2.0.0"
    assert green["spec"]["selector"]["matchLabels"]["k8s-mlserve/colour"] == "green"
    assert green["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "2.0.0"
    assert objects["Service/demo"]["spec"]["selector"]["k8s-mlserve/colour"] == "green"
    assert "Deployment/demo" not in objects


def test_blue_green_autoscales_each_colour() -> None:
    objects = rendered(make_spec(strategy={"type": "blue-green"}, autoscaling={}))
    assert {k for k in objects if k.startswith("HorizontalPodAutoscaler/")} == {
        "HorizontalPodAutoscaler/demo-blue",
        "HorizontalPodAutoscaler/demo-green",
    }
    assert "replicas" not in objects["Deployment/demo-blue"]["spec"]


def test_canary_splits_replicas_behind_one_service() -> None:
    spec = make_spec(
        api={"replicas": 4},
        mlflow={},
        model={"registered_name": "m"},
        strategy={
            "type": "canary",
            "percent": 25,
            "canary": {"image_tag": "2.0.0", "model_alias": "challenger"},
        },
    )
    objects = rendered(spec)
    stable, canary = objects["Deployment/demo-stable"], objects["Deployment/demo-canary"]
    assert (stable["spec"]["replicas"], canary["spec"]["replicas"]) == (3, 1)
    assert "k8s-mlserve/track" not in objects["Service/demo"]["spec"]["selector"]
    env = {e["name"]: e.get("value") for e in api_container(canary)["env"]}
    assert env["MLSERVE_MODEL__URI"] == "models:/m@challenger"
    assert "MLSERVE_MODEL__URI" not in {e["name"] for e in api_container(stable)["env"]}
    assert [v.suffix for v in api_variants(spec)] == ["stable", "canary"]


def test_a_variant_can_pin_a_model_version() -> None:
    spec = make_spec(
        model={"version": "v1"},
        strategy={"type": "blue-green", "live": "blue", "green": {"model_version": "v2"}},
    )
    objects = rendered(spec)
    paths = {}
    for colour in ("blue", "green"):
        env = api_container(objects[f"Deployment/demo-{colour}"])["env"]
        paths[colour] = next(e["value"] for e in env if e["name"] == "MLSERVE_MODEL__PATH")
    assert paths == {"blue": "/models/demo/versions/v1", "green": "/models/demo/versions/v2"}


def test_an_unpinned_variant_follows_the_registry() -> None:
    objects = rendered(make_spec())
    env = api_container(objects["Deployment/demo"])["env"]
    assert all(e["name"] != "MLSERVE_MODEL__PATH" for e in env)
