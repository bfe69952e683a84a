from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_mlserve.manifests import DeploymentSpec, SecretSource, parse_spec, render

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ("iris", "diabetes", "churn")
STRATEGIES = ("rolling", "blue-green", "canary")


def example_path(name: str) -> Path:
    return ROOT / "examples" / name / "deploy.yaml"


def example_specs() -> list[Path]:
    """Every example's deployment spec, the ones added later included."""
    return sorted(ROOT.glob("examples/*/deploy*.yaml"))


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def example_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(example_path(name).read_text())
    return data


def counting_source(environ: dict[str, str] | None = None) -> SecretSource:
    """Secret values that are reproducible within one source: gen-1-..., gen-2-..."""
    counter = itertools.count(1)

    def token(length: int) -> str:
        return f"gen-{next(counter)}-".ljust(length, "x")

    return SecretSource(environ=environ or {}, token=token)


def minimal(**overrides: Any) -> dict[str, Any]:
    """The smallest valid spec data, with top-level overrides."""
    data: dict[str, Any] = {"name": "demo", "image": {"repository": "k8s-mlserve", "tag": "1.0.0"}}
    data.update(overrides)
    return data


def make_spec(**overrides: Any) -> DeploymentSpec:
    return parse_spec(minimal(**overrides))


def variation(data: dict[str, Any], strategy: str, mlflow: bool) -> dict[str, Any]:
    """An example turned to another strategy, with or without the MLflow stack, and with every
    optional object (ingress, drift check, autoscaling where allowed) switched on; the base only
    (its environments are overrides written for the example as it is)."""
    d = copy.deepcopy(data)
    d.pop("environments", None)
    d["strategy"] = {
        "rolling": {"type": "rolling"},
        "blue-green": {"type": "blue-green", "live": "green", "green": {"image_tag": "0.2.0"}},
        "canary": {"type": "canary", "percent": 30, "canary": {"image_tag": "0.2.0"}},
    }[strategy]
    d.setdefault("api", {})["replicas"] = 3
    if strategy == "canary":
        d.pop("autoscaling", None)
    else:
        d.setdefault("autoscaling", {})
    model = d.setdefault("model", {})
    if mlflow:
        d.setdefault("mlflow", {})
        model.setdefault("registered_name", f"{d['name']}-model")
    else:
        d.pop("mlflow", None)
        model.pop("registered_name", None)
    d["ingress"] = {"host": f"{d['name']}.example.com", "tls_secret": f"{d['name']}-tls"}
    d.setdefault("drift_check", {"schedule": "0 3 * * *"})
    return d


def rendered(spec: DeploymentSpec) -> dict[str, dict[str, Any]]:
    """The rendered objects keyed by ``Kind/name``."""
    return {f"{m['kind']}/{m['metadata']['name']}": m for m in render(spec, counting_source())}


def api_container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


@pytest.fixture
def source() -> SecretSource:
    return counting_source()


@pytest.fixture
def spec_factory() -> Callable[..., DeploymentSpec]:
    return make_spec
