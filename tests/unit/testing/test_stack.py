"""How a stack turns an example's spec into what is deployed, without a cluster: the spec
defaults and overrides, the files copied into the models claim, and the in-pod extraction."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.kube.portforward import PortForward
from k8s_mlserve.manifests import KubeVersion, render
from k8s_mlserve.testing.cluster import Cluster, KubectlError
from k8s_mlserve.testing.seeding import EXTRACT, archive
from k8s_mlserve.testing.specs import (
    StackError,
    api_service,
    deep_merge,
    example_dataset,
    models_claim,
    split_image,
)
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer

ROOT = Path(__file__).resolve().parents[3]
IMAGE = "k8s-mlserve-test:0.1.0-abc123"


class VersionOnly(Cluster):
    """A cluster that only answers its version (building a spec asks nothing else)."""

    def server_version(self) -> KubeVersion:
        return KubeVersion(1, 20)


@pytest.fixture
def deployer(tmp_path: Path) -> StackDeployer:
    return StackDeployer(
        VersionOnly(kubeconfig=tmp_path / "kc"),
        IMAGE,
        examples_dir=ROOT / "examples",
        data_dir=tmp_path / "data",
    )


def test_deep_merge_merges_mappings_and_replaces_the_rest() -> None:
    base: dict[str, Any] = {
        "api": {"replicas": 2, "resources": {"requests": {"cpu": "1"}}},
        "mlflow": {"a": 1},
    }
    merged = deep_merge(base, {"api": {"replicas": 1}, "mlflow": None, "new": [1]})
    assert merged == {
        "api": {"replicas": 1, "resources": {"requests": {"cpu": "1"}}},
        "mlflow": None,
        "new": [1],
    }
    assert base["api"]["replicas"] == 2  # not modified


def test_split_image() -> None:
    assert split_image("k8s-mlserve-test:0.1.0") == ("k8s-mlserve-test", "0.1.0")
    assert split_image("registry:5000/team/api") == ("registry:5000/team/api", None)
    assert split_image("registry:5000/team/api:2") == ("registry:5000/team/api", "2")


def test_datasets_of_the_examples() -> None:
    assert example_dataset("diabetes") == "diabetes.csv"
    assert example_dataset("churn") == "telco-customer-churn.csv"
    assert example_dataset("iris") is None
    assert example_dataset("no-such-example") is None


def test_iris_is_deployed_with_the_test_image_in_a_fresh_namespace(
    deployer: StackDeployer,
) -> None:
    spec = deployer.build_spec("iris")
    assert spec.namespace is not None
    assert spec.namespace.startswith("mlserve-test-iris-")
    assert len(spec.namespace) == len("mlserve-test-iris-") + 6
    assert spec.create_namespace is False
    assert str(spec.kubernetes_version) == "1.20"
    assert spec.image.reference() == IMAGE
    assert [v.image_tag for _, v in spec.variants()] == ["0.1.0-abc123", "0.1.0-abc123"]
    assert spec.service.type == "NodePort"
    assert spec.service.node_port is None
    assert spec.training is not None
    assert spec.training.data is None
    assert deployer.build_spec("iris").namespace != spec.namespace


def test_churn_trains_on_the_copy_of_its_dataset(deployer: StackDeployer) -> None:
    spec = deployer.build_spec("churn")
    assert spec.training is not None
    assert spec.training.data == "/models/.datasets/telco-customer-churn.csv"
    assert [v.image_tag for _, v in spec.variants()] == ["0.1.0-abc123"]


def test_overrides_come_last(deployer: StackDeployer) -> None:
    spec = deployer.build_spec(
        "diabetes",
        overrides={
            "api": {"replicas": 1},
            "autoscaling": None,
            "mlflow": None,
            "model": {"registered_name": None},
            "training": {"data": "https://example.org/diabetes.csv"},
            "service": {"type": "NodePort", "node_port": 30999},
        },
        namespace="chosen",
    )
    assert spec.namespace == "chosen"
    assert spec.api.replicas == 1
    assert spec.mlflow is None
    assert spec.autoscaling is None
    assert spec.training is not None
    assert spec.training.data == "https://example.org/diabetes.csv"
    assert spec.service.node_port == 30999


def test_the_rendered_stack_targets_the_cluster_version(deployer: StackDeployer) -> None:
    manifests = render(
        deployer.build_spec(
            "diabetes", overrides={"mlflow": None, "model": {"registered_name": None}}
        )
    )
    versions = {m["kind"]: m["apiVersion"] for m in manifests}
    assert versions["HorizontalPodAutoscaler"] == "autoscaling/v2beta2"
    assert versions["PodDisruptionBudget"] == "policy/v1beta1"
    assert "Namespace" not in versions  # the stack creates its own, labelled
    assert api_service(manifests)["metadata"]["name"] == "diabetes"
    assert models_claim(manifests) == "diabetes-models"


def test_a_missing_dataset_is_named_before_anything_is_deployed(
    deployer: StackDeployer, tmp_path: Path
) -> None:
    spec = deployer.build_spec("churn")
    with pytest.raises(StackError, match=r"reads telco-customer-churn\.csv, which pods cannot"):
        deployer.files_to_copy(spec, None, tmp_path / "data")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "telco-customer-churn.csv").write_text("a,b\n1,2\n")
    files = deployer.files_to_copy(spec, None, tmp_path / "data")
    assert files == {
        ".datasets/telco-customer-churn.csv": tmp_path / "data/telco-customer-churn.csv"
    }
    with pytest.raises(StackError, match=r"model directory .* does not exist"):
        deployer.files_to_copy(spec, tmp_path / "model", tmp_path / "data")
    (tmp_path / "model").mkdir()
    files = deployer.files_to_copy(spec, tmp_path / "model", tmp_path / "data")
    assert files["churn"] == tmp_path / "model"


def test_an_unknown_spec_is_refused(deployer: StackDeployer) -> None:
    with pytest.raises(StackError, match="no deployment spec at"):
        deployer.build_spec("no-such-example")


def test_the_pod_side_extracts_the_archive(tmp_path: Path) -> None:
    model = tmp_path / "registry"
    (model / "versions" / "v1").mkdir(parents=True)
    (model / "current").write_text("v1\n")
    (model / "versions" / "v1" / "metadata.json").write_text("{}")
    data = tmp_path / "diabetes.csv"
    data.write_text("Glucose\n148\n")
    payload = archive({".datasets/diabetes.csv": data, "diabetes": model})
    with tarfile.open(fileobj=BytesIO(payload)) as opened:
        names = opened.getnames()
    assert ".datasets/diabetes.csv" in names
    assert "diabetes/versions/v1/metadata.json" in names
    target = tmp_path / "models"
    target.mkdir()
    subprocess.run(
        [sys.executable, "-c", EXTRACT, str(target)], input=payload, check=True, timeout=60
    )
    assert (target / ".datasets" / "diabetes.csv").read_text() == "Glucose\n148\n"
    assert (target / "diabetes" / "current").read_text() == "v1\n"
    assert (target / "diabetes" / "versions" / "v1" / "metadata.json").is_file()


def test_a_model_project_image_is_tagged_by_what_goes_into_it(tmp_path: Path) -> None:
    from k8s_mlserve.testing.images import project_digest

    project = tmp_path / "project"
    (project / "src" / "pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    (project / "src" / "pkg" / "model.py").write_text("A = 1\n")
    wheel = tmp_path / "k8s_mlserve-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel one")
    first = project_digest(project, wheel, "[mlflow]")
    # what never reaches the image does not change the tag
    (project / ".venv").mkdir()
    (project / ".venv" / "x").write_text("noise")
    (project / "models").mkdir()
    (project / "models" / "model.joblib").write_bytes(b"trained")
    assert project_digest(project, wheel, "[mlflow]") == first
    # the project's code, the wheel and the extras do
    (project / "src" / "pkg" / "model.py").write_text("A = 2\n")
    second = project_digest(project, wheel, "[mlflow]")
    assert second != first
    wheel.write_bytes(b"wheel two")
    assert project_digest(project, wheel, "[mlflow]") != second
    assert project_digest(project, wheel, "") != project_digest(project, wheel, "[mlflow]")


class Recording(VersionOnly):
    """Records what is applied and awaited, in order; its port-forwards exit at once."""

    record: list[str]

    def apply(self, manifests: Any, *, namespace: str | None = None) -> str:
        self.record += [f"apply {m['kind']}/{m['metadata']['name']}" for m in manifests]
        return ""

    def wait_for_job(self, name: str, namespace: str, *, timeout: float = 600.0) -> None:
        self.record.append(f"wait Job/{name}")

    def wait_for_rollout(
        self, name: str, namespace: str, *, kind: str = "Deployment", timeout: float = 600.0
    ) -> None:
        self.record.append(f"wait {kind}/{name}")

    def kubectl_json(self, *args: str, namespace: str | None = None) -> Any:
        return {"data": {}}  # the API Secret, read back after the rollouts

    def command(self, *args: str, namespace: str | None = None) -> list[str]:
        return [sys.executable, "-c", "raise SystemExit(1)"]

    def diagnostics(self, namespace: str, selector: str | None = None) -> str:
        return ""


def test_the_postgres_statefulset_is_awaited_before_training_and_the_api(tmp_path: Path) -> None:
    cluster = Recording(kubeconfig=tmp_path / "kc")
    cluster.record = []
    deployer = StackDeployer(cluster, IMAGE, examples_dir=ROOT / "examples")
    spec = deployer.build_spec("diabetes", namespace="ns")
    manifests = render(spec)
    with pytest.raises(KubectlError, match="port-forward exited"):  # after every wait
        deployer._bring_up(spec, manifests, {}, timeout=5)
    waits = [e for e in cluster.record if e.startswith("wait ")]
    assert waits == [
        "wait StatefulSet/diabetes-postgres",
        "wait Deployment/diabetes-mlflow",
        "wait Deployment/diabetes-ui",  # the example's web page, which needs no model to start
        next(e for e in waits if e.startswith("wait Job/diabetes-train")),
        "wait Deployment/diabetes",
    ]
    applied = cluster.record.index("apply StatefulSet/diabetes-postgres")
    assert applied < cluster.record.index("wait StatefulSet/diabetes-postgres")


def test_a_deployed_stack_waits_for_its_statefulset_and_deployments(tmp_path: Path) -> None:
    cluster = Recording(kubeconfig=tmp_path / "kc")
    cluster.record = []
    spec = StackDeployer(cluster, IMAGE, examples_dir=ROOT / "examples").build_spec("diabetes")
    stack = DeployedStack(
        name=spec.name,
        namespace="ns",
        spec=spec,
        manifests=render(spec),
        cluster=cluster,
        forward=PortForward(cluster, "svc/diabetes", 8000, namespace="ns"),
        api_key=None,
        monitoring_token=None,
    )
    stack.wait_for_rollouts(5)
    stack.client.close()
    assert cluster.record == [
        "wait StatefulSet/diabetes-postgres",
        "wait Deployment/diabetes",
        "wait Deployment/diabetes-mlflow",
        "wait Deployment/diabetes-ui",
    ]
