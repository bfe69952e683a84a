"""Named environments: overrides merged into the spec, rendered directly (``--env``) or as a
kustomize tree whose overlays, built by a current ``kubectl kustomize``, equal the direct render."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_mlserve.cli import main
from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import (
    DeploymentSpec,
    SecretSource,
    load_environments,
    load_spec,
    parse_environments,
    parse_spec,
    render,
)
from k8s_mlserve.manifests.environments import merge
from k8s_mlserve.manifests.kustomize import json_patch, write_tree
from k8s_mlserve.manifests.naming import CONFIG_HASH

from ...browser import missing_tool
from .conftest import counting_source, example_data, example_path, example_specs, minimal, relative
from .schema_validation import shipped_versions, validate

CURRENT = shipped_versions()[-1]
Key = tuple[str, str]


def _by_key(manifests: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests}


def _kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]


# --- merging -------------------------------------------------------------------------------


def test_mappings_merge_lists_replace_and_null_removes() -> None:
    base = {"api": {"replicas": 2, "resources": {"limits": {"cpu": "1"}}}, "labels": {"a": "1"}}
    override = {"api": {"resources": {"limits": {"memory": "1Gi"}}}, "labels": None, "x": [1]}
    assert merge(base, override) == {
        "api": {"replicas": 2, "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
        "labels": None,
        "x": [1],
    }
    assert base["labels"] == {"a": "1"}  # the base is left as it was


def test_a_section_of_another_type_replaces_the_base_section() -> None:
    base = {"strategy": {"type": "blue-green", "live": "blue", "blue": {}}}
    canary = {"strategy": {"type": "canary", "percent": 10}}
    assert merge(base, canary) == canary
    assert merge(base, {"strategy": {"type": "blue-green", "live": "green"}}) == {
        "strategy": {"type": "blue-green", "live": "green", "blue": {}}
    }


def test_an_environment_is_the_base_with_its_overrides() -> None:
    data = minimal(
        api={"replicas": 2},
        autoscaling={"min_replicas": 2, "max_replicas": 4},
        environments={"dev": {"api": {"replicas": 1}, "autoscaling": None}},
    )
    base = parse_spec(data)
    dev = parse_spec(data, environment="dev")
    assert (base.api.replicas, base.autoscaling is not None) == (2, True)
    assert (dev.api.replicas, dev.autoscaling) == (1, None)
    assert dev.name == base.name


def test_an_environment_without_api_keys_serves_without_authentication() -> None:
    data = minimal(environments={"dev": {"secrets": {"api_keys": None}}})
    base, dev = parse_spec(data), parse_spec(data, environment="dev")
    assert base.secrets.api_keys is not None
    assert dev.secrets.api_keys is None
    config = {m["kind"]: m for m in render(dev, counting_source())}["ConfigMap"]["data"]
    assert config["MLSERVE_AUTH__REQUIRED"] == "false"


def test_an_unknown_environment_lists_the_declared_ones() -> None:
    data = minimal(environments={"staging": {}, "production": {}})
    with pytest.raises(ConfigurationError, match=r"no environment 'prod'.*staging, production"):
        parse_spec(data, environment="prod")
    with pytest.raises(ConfigurationError, match="declares: none"):
        parse_spec(minimal(), environment="staging")


def test_a_mistake_in_any_environment_is_reported_with_its_field() -> None:
    data = minimal(environments={"staging": {}, "production": {"api": {"replicas": 0}}})
    with pytest.raises(ConfigurationError) as caught:
        parse_spec(data, environment="staging")
    assert "environment production" in str(caught.value)
    assert "api.replicas" in str(caught.value)


@pytest.mark.parametrize(
    ("environments", "message"),
    [
        ({"prod": {"name": "other"}}, "environments.prod.name: an environment cannot change name"),
        ({"prod": {"environments": {}}}, "cannot change environments"),
        ({"Prod": {}}, "environments.Prod: an environment name is"),
        ({"prod": [1]}, "environments.prod: must be a mapping"),
        (["prod"], "environments must be a mapping"),
    ],
)
def test_malformed_environments_are_refused(environments: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_environments(minimal(environments=environments))


def test_the_diabetes_example_declares_staging_and_production() -> None:
    base, environments = load_environments(example_path("diabetes"))
    assert set(environments) == {"staging", "production"}
    staging, production = environments["staging"], environments["production"]
    assert (staging.target_namespace, staging.api.replicas) == ("diabetes-staging", 1)
    assert staging.autoscaling is None
    assert not staging.disruption_budget.enabled
    assert staging.config.log_level == "debug"
    assert production.target_namespace == "diabetes-production"
    assert production.autoscaling is not None
    assert (production.autoscaling.min_replicas, production.autoscaling.max_replicas) == (3, 10)
    assert production.storage.models.access_mode == "ReadWriteMany"
    hashes = {
        name: _by_key(render(spec, counting_source()))[("Deployment", "diabetes")]["spec"][
            "template"
        ]["metadata"]["annotations"][CONFIG_HASH]
        for name, spec in {"base": base, **environments}.items()
    }
    assert len(set(hashes.values())) == 3  # each environment's settings roll its own pods


# --- JSON patches --------------------------------------------------------------------------


def test_json_patches_name_only_what_changed_with_escaped_pointers() -> None:
    old = {"metadata": {"annotations": {"a/b": "1", "c~d": "x"}}, "spec": {"l": [1, 2], "k": 1}}
    new = {"metadata": {"annotations": {"a/b": "2"}}, "spec": {"l": [1, 2, 3], "n": 0, "k": 1}}
    assert json_patch(old, new) == [
        {"op": "remove", "path": "/metadata/annotations/c~0d"},
        {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "2"},
        {"op": "replace", "path": "/spec/l", "value": [1, 2, 3]},
        {"op": "add", "path": "/spec/n", "value": 0},
    ]
    assert json_patch(old, old) == []


# --- the kustomize tree against a current kubectl ------------------------------------------


def _kubectl_with_kustomize() -> str:
    """A kubectl whose kustomize is version 5 or newer (the one kubectl 1.27+ embeds)."""
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        shown = subprocess.run(
            [kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True
        )
        if shown.returncode == 0:
            version = json.loads(shown.stdout).get("kustomizeVersion", "v0")
            if int(version.lstrip("v").split(".")[0]) >= 5:
                return kubectl
    missing_tool("a kubectl with kustomize 5 or newer on PATH, to build the overlays")


def _kustomize(kubectl: str, directory: Path) -> list[dict[str, Any]]:
    built = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return [m for m in yaml.safe_load_all(built.stdout) if m]


def _direct(spec: DeploymentSpec, base: DeploymentSpec) -> list[dict[str, Any]]:
    """What ``manifests --env`` renders, with the generated values the tree drew for the base
    (the tree shares them between environments; a cluster keeps them the same way)."""
    source = counting_source()
    secrets = {
        m["metadata"]["name"]: m["stringData"] for m in _kind(render(base, source), "Secret")
    }
    return render(spec, dataclasses.replace(counting_source(), keep=secrets))


def _with_environments(path: Path) -> list[Path]:
    return [p for p in example_specs() if "environments" in (yaml.safe_load(p.read_text()) or {})]


def _variety() -> dict[str, Any]:
    """A spec whose environments change kinds, API versions, strategies and sections."""
    data = example_data("iris")
    data["environments"] = {
        "old-cluster": {"kubernetes_version": "1.20"},
        "canary": {
            "autoscaling": None,
            "api": {"replicas": 4},
            "strategy": {"type": "canary", "percent": 25, "canary": {"image_tag": "0.2.0"}},
        },
        "bare": {"network_policy": {"enabled": False}, "training": None, "namespace": "x"},
    }
    return data


def test_every_example_with_environments_is_covered() -> None:
    assert example_path("diabetes") in _with_environments(example_path("diabetes"))


@pytest.mark.parametrize("target", ["1.20", CURRENT])
@pytest.mark.parametrize(
    "path", _with_environments(example_path("diabetes")), ids=relative
)
def test_each_overlay_builds_exactly_the_direct_render(
    path: Path, target: str, tmp_path: Path
) -> None:
    kubectl = _kubectl_with_kustomize()
    data = {**yaml.safe_load(path.read_text()), "kubernetes_version": target}
    _check_tree(kubectl, data, tmp_path, base_dir=path.parent, target=target)


def test_overlays_that_add_drop_and_re_version_objects_build_the_direct_render(
    tmp_path: Path,
) -> None:
    kubectl = _kubectl_with_kustomize()
    _check_tree(kubectl, _variety(), tmp_path, base_dir=example_path("iris").parent, target=None)


def _check_tree(
    kubectl: str, data: dict[str, Any], tmp_path: Path, *, base_dir: Path, target: str | None
) -> None:
    base, environments = parse_environments(data, base_dir=base_dir)
    assert environments
    write_tree(base, environments, tmp_path, counting_source())
    built_base = _kustomize(kubectl, tmp_path / "base")
    assert _by_key(built_base) == _by_key(render(base, counting_source()))
    for name, spec in environments.items():
        built = _by_key(_kustomize(kubectl, tmp_path / "overlays" / name))
        direct = _by_key(_direct(spec, base))
        assert set(built) == set(direct), name
        for key, manifest in direct.items():
            assert built[key] == manifest, (name, key)
        version = target or str(spec.kubernetes_version)
        if version in ("1.20", CURRENT):
            assert [e for m in direct.values() for e in validate(m, version)] == [], name


def test_the_overlay_carries_only_what_the_environment_changes(tmp_path: Path) -> None:
    base, environments = load_environments(example_path("diabetes"))
    write_tree(base, environments, tmp_path, counting_source())
    overlay = tmp_path / "overlays" / "staging"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "diabetes-staging"
    patched = {p["target"]["kind"] for p in kustomization["patches"]}
    assert {"ConfigMap", "Deployment", "HorizontalPodAutoscaler"} <= patched
    assert "Secret" not in patched  # generated values are drawn once for every environment
    deployment = yaml.safe_load((overlay / "patch-deployment-diabetes.yaml").read_text())
    paths = {op["path"] for op in deployment}
    assert "/spec/template/metadata/annotations/" + CONFIG_HASH.replace("/", "~1") in paths
    assert "/spec/replicas" in paths
    secrets = sorted((tmp_path / "base").glob("*-secret-*.yaml"))
    assert secrets
    assert all(p.stat().st_mode & 0o077 == 0 for p in secrets)


# --- the command line ----------------------------------------------------------------------


def test_manifests_env_renders_that_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifests", str(example_path("diabetes")), "--env", "staging"]) == 0
    rendered = list(yaml.safe_load_all(capsys.readouterr().out))
    namespaces = {m["metadata"].get("namespace") for m in rendered} - {None}
    assert namespaces == {"diabetes-staging"}
    assert not _kind(rendered, "HorizontalPodAutoscaler")
    assert load_spec(example_path("diabetes"), "staging").api.replicas == 1


def test_manifests_format_kustomize_writes_base_and_overlays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "deploy"
    args = ["manifests", str(example_path("diabetes")), "--format", "kustomize", "-o", str(out)]
    assert main(args) == 0
    assert "overlays/staging, overlays/production" in capsys.readouterr().err
    for directory in ("base", "overlays/staging", "overlays/production"):
        assert (out / directory / "kustomization.yaml").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "kustomize"], "add --output-dir"),
        (["--format", "kustomize", "-o", "x", "--env", "staging"], "leave out --env"),
        (["--format", "kustomize", "-o", "x", "--rules-file", "r.yaml"], "--rules-file go with"),
        (["--env", "prod"], "no environment 'prod'; the spec declares: staging, production"),
    ],
)
def test_manifests_refuses_what_cannot_be_done(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    extra = [str(tmp_path / a) if a in ("x", "r.yaml") else a for a in extra]
    assert main(["manifests", str(example_path("diabetes")), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_spec_without_environments_still_loads_and_renders() -> None:
    data = example_data("churn")
    assert "environments" not in data
    spec = parse_spec(data, base_dir=example_path("churn").parent)
    assert render(spec, SecretSource(environ={}))
