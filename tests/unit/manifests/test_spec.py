from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import (
    DEFAULT_TARGET,
    KubeVersion,
    for_cluster,
    load_spec,
    parse_spec,
    render,
)
from k8s_mlserve.manifests.spec_strategy import BlueGreenStrategy, CanaryStrategy, RollingStrategy

from .conftest import EXAMPLES, counting_source, example_path, example_specs, minimal, relative


def _error(**overrides: Any) -> str:
    with pytest.raises(ConfigurationError) as info:
        parse_spec(minimal(**overrides))
    return str(info.value)


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_load(name: str) -> None:
    spec = load_spec(example_path(name))
    assert spec.name == name
    assert spec.kubernetes_version == DEFAULT_TARGET


@pytest.mark.parametrize("path", example_specs(), ids=relative)
def test_examples_pin_no_cluster_version(path: Path) -> None:
    # They deploy to whatever cluster they are given (see for_cluster).
    assert not load_spec(path).pins_kubernetes_version


def test_example_strategies_cover_all_three() -> None:
    strategies = {type(load_spec(example_path(n)).strategy) for n in EXAMPLES}
    assert strategies == {RollingStrategy, BlueGreenStrategy, CanaryStrategy}


def test_defaults_are_safe() -> None:
    spec = parse_spec(minimal())
    assert spec.target_namespace == "demo"
    assert spec.model_name == "demo"
    assert spec.image.pull_policy == "IfNotPresent"
    assert spec.secrets.api_keys is not None
    assert spec.secrets.api_keys.generate
    assert spec.network_policy.enabled
    assert spec.disruption_budget.enabled
    assert spec.training is None
    assert spec.mlflow is None
    assert spec.autoscaling is None


def test_unknown_field_is_named() -> None:
    message = _error(image={"repository": "r", "tag": "1", "tagg": "2"})
    assert "image.tagg: Extra inputs are not permitted" in message


def test_nested_error_paths_name_list_items() -> None:
    message = _error(network_policy={"allow_from": [{"pod_labels": {}}, {}]})
    assert "network_policy.allow_from[1]: set pod_labels, namespace_labels or namespace" in message


def test_strategy_errors_skip_the_union_tag() -> None:
    message = _error(strategy={"type": "canary", "percent": 120})
    assert "strategy.percent: Input should be less than or equal to 100" in message


def test_unknown_strategy_type() -> None:
    assert "strategy: type must be 'rolling', 'blue-green' or 'canary'" in _error(
        strategy={"type": "shadow"}
    )


def test_strategy_type_defaults_to_rolling() -> None:
    spec = parse_spec(minimal(strategy={"max_surge": 1}))
    assert isinstance(spec.strategy, RollingStrategy)
    assert spec.strategy.max_surge == 1


def test_latest_is_refused_unless_allowed() -> None:
    message = _error(image={"repository": "r", "tag": "latest"})
    assert "image.tag: the tag 'latest' makes deployments unrepeatable" in message
    spec = parse_spec(minimal(image={"repository": "r", "tag": "latest", "allow_latest": True}))
    assert spec.image.tag == "latest"


def test_latest_is_refused_in_variants_and_mlflow_images() -> None:
    message = _error(strategy={"type": "blue-green", "green": {"image_tag": "latest"}})
    assert "strategy.green.image_tag: the tag 'latest'" in message
    assert "mlflow.image: the image has no tag" in _error(mlflow={"image": "ghcr.io/mlflow/mlflow"})
    assert "mlflow.postgres.image: the tag 'latest'" in _error(
        mlflow={"postgres": {"image": "postgres:latest"}}
    )


def test_repository_must_not_carry_a_tag() -> None:
    assert "the tag goes in image.tag" in _error(image={"repository": "r:1", "tag": "1"})
    # a registry port is not a tag
    spec = parse_spec(minimal(image={"repository": "registry:5000/team/app", "tag": "2.0"}))
    assert spec.image.reference() == "registry:5000/team/app:2.0"


def test_a_float_tag_must_be_quoted() -> None:
    assert "write 1.1 in quotes" in _error(image={"repository": "r", "tag": 1.10})
    assert parse_spec(minimal(image={"repository": "r", "tag": 3})).image.tag == "3"


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.20", KubeVersion(1, 20)), ("v1.28.3", KubeVersion(1, 28)), ("1.31", KubeVersion(1, 31))],
)
def test_kubernetes_version(version: str, expected: KubeVersion) -> None:
    assert parse_spec(minimal(kubernetes_version=version)).kubernetes_version == expected


def test_a_spec_follows_the_cluster_unless_it_pins_a_version() -> None:
    free = parse_spec(minimal())
    assert not free.pins_kubernetes_version
    assert "kubernetes_version" not in free.model_fields_set
    targeted = for_cluster(free, KubeVersion(1, 27))
    assert targeted.kubernetes_version == KubeVersion(1, 27)
    assert not targeted.pins_kubernetes_version  # may be targeted again
    assert for_cluster(targeted, KubeVersion(1, 31)).kubernetes_version == KubeVersion(1, 31)
    assert targeted.model_dump(exclude={"kubernetes_version"}) == free.model_dump(
        exclude={"kubernetes_version"}
    )
    pinned = parse_spec(minimal(kubernetes_version="1.20"))
    assert pinned.pins_kubernetes_version
    assert for_cluster(pinned, KubeVersion(1, 34)) is pinned
    # an explicit override, like --kubernetes-version, pins too
    overridden = free.model_copy(update={"kubernetes_version": KubeVersion(1, 22)})
    assert for_cluster(overridden, KubeVersion(1, 34)).kubernetes_version == KubeVersion(1, 22)


def test_a_cluster_older_than_supported_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"the cluster runs Kubernetes 1\.19; the oldest"):
        for_cluster(parse_spec(minimal()), KubeVersion(1, 19))


def test_kubernetes_version_too_old_or_unquoted() -> None:
    assert "1.19 is not supported; the oldest supported version is 1.20" in _error(
        kubernetes_version="1.19"
    )
    assert "write the version in quotes" in _error(kubernetes_version=1.3)


def test_model_alias_and_registered_name_need_mlflow() -> None:
    assert "model.registered_name needs the mlflow section" in _error(
        model={"registered_name": "m"}
    )
    assert "strategy.canary.model_alias needs model.registered_name" in _error(
        mlflow={}, strategy={"type": "canary", "canary": {"model_alias": "challenger"}}
    )


def test_canary_refuses_autoscaling_and_needs_two_replicas() -> None:
    assert "autoscaling cannot be combined with strategy canary" in _error(
        strategy={"type": "canary"}, autoscaling={}
    )
    assert "needs api.replicas of at least 2" in _error(
        strategy={"type": "canary", "percent": 50}, api={"replicas": 1}
    )


def test_rolling_update_must_progress() -> None:
    assert "max_surge and max_unavailable cannot both be 0" in _error(
        strategy={"type": "rolling", "max_surge": 0, "max_unavailable": "0%"}
    )
    assert "must be a whole number or a percentage" in _error(strategy={"max_surge": "lots"})


def test_disruption_budget_cannot_block_every_eviction() -> None:
    assert "must be below the replica count (2)" in _error(disruption_budget={"min_available": 2})
    assert "not both" in _error(disruption_budget={"min_available": 1, "max_unavailable": 1})


def test_resources_are_checked() -> None:
    assert "limits.cpu (100m) is below requests.cpu (250m)" in _error(
        api={"resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "100m"}}}
    )
    assert "is not a Kubernetes quantity" in _error(
        api={"resources": {"requests": {"memory": "lots"}}}
    )
    spec = parse_spec(
        minimal(
            api={
                "resources": {
                    "requests": {"cpu": 0.5, "memory": "1Gi"},
                    "limits": {"cpu": 1, "memory": "1024Mi"},
                }
            }
        )
    )
    assert spec.api.resources.as_dict() == {
        "requests": {"cpu": "0.5", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "1024Mi"},
    }


def test_autoscaling_bounds() -> None:
    assert "min_replicas (4) is above max_replicas (3)" in _error(
        autoscaling={"min_replicas": 4, "max_replicas": 3}
    )
    assert "set cpu_utilization, memory_utilization or both" in _error(
        autoscaling={"cpu_utilization": None, "memory_utilization": None}
    )


def test_service_node_port() -> None:
    assert "node_port is only used with type: NodePort" in _error(service={"node_port": 30080})
    assert "service.node_port: Input should be greater than or equal to 30000" in _error(
        service={"type": "NodePort", "node_port": 80}
    )


def test_names_are_dns_labels() -> None:
    assert "name: 'Diabetes' is not a valid name" in _error(name="Diabetes")


@pytest.mark.parametrize("name", ["x" * 41, "x" * 64, "Diabetes", "-x"])
def test_name_errors_state_the_enforced_limit_and_why(name: str) -> None:
    error = _error(name=name)
    assert "at most 40 characters, not Kubernetes' 63" in error
    assert "at most 63" not in error
    assert "(as in NAME-postgres-headless) and must stay within 63" in error
    assert parse_spec(minimal(name="x" * 40)).name == "x" * 40


def test_a_long_name_error_says_how_long_it_is() -> None:
    assert f"name: '{'x' * 41}' has 41 characters; a deployment name has at most 40" in _error(
        name="x" * 41
    )


def test_a_name_of_the_longest_length_keeps_every_object_name_valid() -> None:
    spec = parse_spec(
        minimal(
            name="x" * 40,
            mlflow={},
            model={"registered_name": "m"},
            training={"example": "iris", "version": "v" * 60},
            drift_check={"schedule": "@daily"},
            strategy={"type": "blue-green"},
            monitoring={"service_monitor": True},
        )
    )
    for manifest in render(spec, counting_source()):
        name = manifest["metadata"]["name"]
        assert len(name) <= 63, name
        for template in manifest.get("spec", {}).get("volumeClaimTemplates", []):
            claim = f"{template['metadata']['name']}-{name}-0"  # the StatefulSet's first claim
            assert len(claim) <= 63, claim


def test_secret_value_sources() -> None:
    assert "set exactly one of from_env, from_file or generate: true (got from_env, generate)" in (
        _error(secrets={"api_keys": {"from_env": "KEYS", "generate": True}})
    )
    assert "set exactly one of" in _error(secrets={"monitoring_token": {}})
    assert "existing names a Secret made elsewhere; remove api_keys" in _error(
        secrets={"existing": "mine", "api_keys": {"generate": True}}
    )
    spec = parse_spec(minimal(secrets={"api_keys": None, "monitoring_token": None}))
    assert spec.secrets.api_keys is None


def test_secret_files_resolve_from_the_spec_directory(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(
        "name: demo\nimage: {repository: r, tag: '1'}\n"
        "secrets:\n  api_keys: {from_file: keys.txt}\n  monitoring_token: {from_file: /abs/t}\n"
    )
    spec = load_spec(path)
    assert spec.secrets.api_keys is not None
    assert spec.secrets.monitoring_token is not None
    assert spec.secrets.api_keys.from_file == tmp_path / "keys.txt"
    assert spec.secrets.monitoring_token.from_file == Path("/abs/t")


def test_load_spec_reports_files_and_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read deployment spec"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_spec(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigurationError, match="must be a mapping of fields"):
        load_spec(bad)
    bad.write_text("name: demo\n")
    with pytest.raises(ConfigurationError, match=r"bad.yaml: invalid deployment spec:\n  image:"):
        load_spec(bad)
