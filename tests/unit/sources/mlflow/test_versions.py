"""The library versions an MLflow model records, read without MLflow from its directory."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from k8s_mlserve.model.bundle import check_library_versions
from k8s_mlserve.sources.mlflow.versions import recorded_library_versions, requirement_pins

REQUIREMENTS = """\
mlflow==3.1.0
cloudpickle==3.1.1
numpy==2.3.1
pandas == 2.3.0 ; python_version >= "3.10"
scikit_learn==1.5.2
scipy==1.16.0
joblib>=1.3
"""


def test_requirement_pins_keep_the_libraries_a_bundle_records(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    assert requirement_pins(tmp_path / "requirements.txt") == {
        "numpy": "2.3.1",
        "pandas": "2.3.0",
        "scikit-learn": "1.5.2",
    }
    assert requirement_pins(tmp_path / "missing.txt") == {}


def test_the_sklearn_flavour_names_the_scikit_learn_version(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    mlmodel = SimpleNamespace(
        flavors={
            "python_function": {"python_version": "3.12.3"},
            "sklearn": {"pickled_model": "model.pkl", "sklearn_version": "1.4.2"},
        }
    )
    versions = recorded_library_versions(mlmodel, tmp_path)
    assert versions == {
        "numpy": "2.3.1",
        "pandas": "2.3.0",
        "python": "3.12.3",
        "scikit-learn": "1.4.2",
    }
    refusal = check_library_versions({"library_versions": versions}, "1.6.1", where="MLflow model")
    assert refusal is not None
    assert refusal.startswith("MLflow model was written with scikit-learn 1.4.2 but")


def test_a_model_directory_without_versions_records_none(tmp_path: Path) -> None:
    assert recorded_library_versions(SimpleNamespace(flavors={}), tmp_path) == {}
