"""Warnings for specs that render valid objects which work on some clusters only."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.cli import main
from k8s_mlserve.manifests import load_spec
from k8s_mlserve.manifests.caveats import caveats, most_api_pods

from .conftest import example_path, make_spec


def _storage_caveats(**overrides: Any) -> list[str]:
    return [c for c in caveats(make_spec(**overrides)) if "ReadWriteOnce" in c]


def test_several_api_pods_on_read_write_once_claims_need_one_node() -> None:
    (caveat,) = _storage_caveats(api={"replicas": 4})
    assert caveat.startswith(
        "up to 4 API pods mount the ReadWriteOnce claim(s) demo-models and demo-logs"
    )
    assert "same node" in caveat
    assert "storage.models.access_mode and storage.logs.access_mode to ReadWriteMany" in caveat


def test_one_api_pod_or_shareable_claims_need_no_warning() -> None:
    assert _storage_caveats(api={"replicas": 1}) == []
    shared = {"access_mode": "ReadWriteMany"}
    assert _storage_caveats(storage={"models": shared, "logs": shared}) == []
    # Existing claims have the access mode they were made with.
    existing = {"models": {"existing_claim": "m"}, "logs": {"existing_claim": "l"}}
    assert _storage_caveats(storage=existing) == []
    (only_logs,) = _storage_caveats(storage={"models": shared})
    assert "claim(s) demo-logs:" in only_logs
    assert "storage.logs.access_mode to" in only_logs
    # A model baked into the image needs no models claim.
    (baked,) = _storage_caveats(model={"source": "image"})
    assert "claim(s) demo-logs:" in baked


@pytest.mark.parametrize(
    ("overrides", "pods"),
    [
        ({"api": {"replicas": 1}}, 1),
        ({"api": {"replicas": 1}, "strategy": {"type": "blue-green"}}, 2),  # both colours run
        ({"api": {"replicas": 1}, "autoscaling": {"min_replicas": 1, "max_replicas": 3}}, 3),
        ({"api": {"replicas": 4}, "strategy": {"type": "canary", "percent": 25}}, 4),
    ],
)
def test_the_most_api_pods_count_every_deployment(overrides: dict[str, Any], pods: int) -> None:
    assert most_api_pods(make_spec(**overrides)) == pods
    assert bool(_storage_caveats(**overrides)) == (pods > 1)


def test_an_ingress_whose_controller_the_network_policy_blocks() -> None:
    (caveat,) = caveats(make_spec(api={"replicas": 1}, ingress={"host": "a.example.com"}))
    assert "admits only pods of namespace demo" in caveat
    assert "ingress.controller" in caveat
    admitted: list[dict[str, Any]] = [
        {"ingress": {"host": "a.example.com", "controller": {"namespace": "ingress-nginx"}}},
        {
            "ingress": {"host": "a.example.com"},
            "network_policy": {"allow_from": [{"namespace_labels": {"ingress": "true"}}]},
        },
        {"ingress": {"host": "a.example.com"}, "network_policy": {"enabled": False}},
    ]
    for overrides in admitted:
        assert caveats(make_spec(api={"replicas": 1}, **overrides)) == []


def test_the_churn_example_runs_on_one_node() -> None:
    (caveat,) = caveats(load_spec(example_path("churn")))
    assert "up to 4 API pods" in caveat


def test_manifests_prints_the_warnings_and_still_renders(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["manifests", str(example_path("churn"))]) == 0
    out, err = capsys.readouterr()
    assert "kind: Deployment" in out
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warnings == [f"warning: {c}" for c in caveats(load_spec(example_path("churn")))]
