"""Training without the real datasets: iris (shipped with scikit-learn) with each algorithm, and
the errors a missing or malformed dataset gives. The diabetes and churn examples trained on their
real data are checked in tests/integration/test_training.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mlserve import BundleRegistry, DatasetError, load_bundle
from k8s_mlserve.drift.reference import load_reference
from k8s_mlserve.training.runner import fit_example, train_example


@pytest.mark.parametrize("algorithm", ["rf", "svm", "logreg"])
def test_iris_algorithms(algorithm: str) -> None:
    model = fit_example("iris", algorithm=algorithm)
    assert model.algorithm == algorithm
    assert model.metrics["accuracy"] >= 0.85
    assert list(model.train_frame.columns) == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
    ]


def test_iris_three_versions_in_one_registry(tmp_path: Path) -> None:
    for algorithm in ("rf", "svm", "logreg"):
        train_example("iris", output=tmp_path, algorithm=algorithm, quiet=True)
    registry = BundleRegistry(tmp_path)
    assert registry.versions() == ["v1", "v2", "v3"]
    assert registry.current_version() == "v3"
    assert registry.load_current().metadata.algorithm == "logreg"


def test_a_published_bundle_carries_a_drift_reference(tmp_path: Path) -> None:
    run = train_example("iris", output=tmp_path, algorithm="logreg", quiet=True)
    reference = load_reference(run.path)
    assert reference.names == load_bundle(run.path).metadata.input_schema.names
    assert reference.predictions.labels is not None
    assert set(reference.predictions.labels.counts) == {"setosa", "versicolor", "virginica"}


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        fit_example("diabetes", data=str(tmp_path / "nowhere.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(DatasetError, match="lacks the column"):
        fit_example("diabetes", data=str(bad))
