"""The MLflow source against a real tracking store (SQLite, in process; no server needed):
loading by alias, version and run, errors, the write-through cache, pyfunc models."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression

from k8s_mlserve import BundleRegistry, LibraryMismatchError, ModelSourceError, load_bundle
from k8s_mlserve.inference.predictor import Predictor
from k8s_mlserve.model.bundle import write_bundle
from k8s_mlserve.model.schema import NumericFeature
from k8s_mlserve.sources import DirectorySource
from k8s_mlserve.sources.mlflow.cache import PROVENANCE_FILE
from k8s_mlserve.sources.mlflow.loading import load_model_dir
from k8s_mlserve.sources.mlflow.source import MLflowSource
from k8s_mlserve.training.runner import fit_example
from k8s_mlserve.training.tracking import log_and_register, promote
from k8s_mlserve.training.trained import TrainedModel

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite tracking store; artifacts land beside it."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}"


@pytest.fixture(scope="module")
def iris_rf() -> TrainedModel:
    return fit_example("iris", algorithm="rf")


@pytest.fixture(scope="module")
def registered(store: str, iris_rf: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> str:
    """iris-model version 1 (@champion) and 2 (a logistic regression, @challenger)."""
    cwd = Path.cwd()
    root = tmp_path_factory.mktemp("artifacts")
    environment = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        # A SQLite store puts artifacts under ./mlruns: keep them in the temporary directory.
        os.chdir(root)
        first = log_and_register(iris_rf, tracking_uri=store, model_name="iris-unit")
        second = log_and_register(
            fit_example("iris", algorithm="logreg"),
            tracking_uri=store,
            model_name="iris-unit",
        )
    finally:
        os.chdir(cwd)
    assert os.environ.get("MLFLOW_TRACKING_URI") == environment  # the caller's setting is kept
    assert (first.version, first.alias) == ("1", "champion")
    assert (second.version, second.alias) == ("2", "challenger")  # same f1_score: no better
    return store


def test_load_follows_the_alias_with_probabilities_and_the_recorded_contract(
    registered: str, iris_rf: TrainedModel, tmp_path: Path
) -> None:
    source = MLflowSource("models:/iris-unit@champion", tracking_uri=registered)
    assert source.current_version() == "v1"
    bundle = source.load()
    meta = bundle.metadata
    assert (meta.name, meta.version, meta.algorithm) == ("iris-unit", "v1", "rf")
    assert meta.mlflow_model_uri == "models:/iris-unit/1"
    assert meta.mlflow_run_id
    assert meta.input_schema.names == list(iris_rf.train_frame.columns)
    assert meta.input_schema == load_example_schema(iris_rf)
    assert meta.classes == ["setosa", "versicolor", "virginica"]
    assert meta.training_rows == 120
    assert bundle.metrics["f1_score"] == iris_rf.metrics["f1_score"]
    assert meta.params["n_estimators"] == 100
    probabilities = bundle.model.predict_proba(iris_rf.test_frame)
    np.testing.assert_allclose(probabilities, iris_rf.model.predict_proba(iris_rf.test_frame))

    promote("iris-unit", "2", tracking_uri=registered)
    try:
        assert source.current_version() == "v2"
        assert source.load().metadata.algorithm == "logreg"
    finally:
        promote("iris-unit", "1", tracking_uri=registered)


def load_example_schema(trained: TrainedModel) -> Any:
    from k8s_mlserve.model.schema import InputSchema

    return InputSchema.infer(trained.train_frame)


def test_load_by_version_and_by_run(registered: str) -> None:
    by_version = MLflowSource("models:/iris-unit/2", tracking_uri=registered).load()
    assert by_version.metadata.version == "v2"
    run_id = by_version.metadata.mlflow_run_id
    assert run_id is not None
    by_run = MLflowSource(f"runs:/{run_id}/model", tracking_uri=registered).load()
    assert by_run.metadata.version == f"run-{run_id[:12]}"
    assert by_run.metadata.name == "iris-model"  # recorded at training
    assert by_run.metadata.algorithm == "logreg"


def test_missing_alias_and_unknown_model_are_source_errors(registered: str) -> None:
    with pytest.raises(ModelSourceError, match="cannot resolve the alias @gold"):
        MLflowSource("models:/iris-unit@gold", tracking_uri=registered).current_version()
    with pytest.raises(ModelSourceError, match="cannot find version 9"):
        MLflowSource("models:/iris-unit/9", tracking_uri=registered).load()


def test_unreachable_mlflow_is_a_short_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    source = MLflowSource("models:/iris-model@champion", tracking_uri="http://127.0.0.1:9")
    with pytest.raises(ModelSourceError) as caught:
        source.current_version()
    assert str(caught.value) == (
        "cannot resolve the alias @champion: MLflow at http://127.0.0.1:9 is unreachable "
        "(connection refused)"
    )


def test_write_through_cache_is_a_registry_that_serves_without_mlflow(
    registered: str, tmp_path: Path
) -> None:
    source = MLflowSource(
        "models:/iris-unit@champion", tracking_uri=registered, cache_dir=tmp_path / "cache"
    )
    bundle = source.load()
    cache = tmp_path / "cache" / "iris-unit"
    assert bundle.path == cache / "versions" / "v1"
    registry = BundleRegistry(cache)
    assert registry.current_version() == "v1"
    cached = load_bundle(registry.current_path())  # verifies the sha256 of model.joblib
    assert cached.metadata.input_schema == bundle.metadata.input_schema
    assert cached.metadata.response is None
    assert cached.metadata.mlflow_model_uri == "models:/iris-unit/1"
    assert cached.metadata.algorithm == "rf"
    # What MLflow recorded about the model, not what this process happens to run.
    assert cached.metadata.library_versions == bundle.metadata.library_versions
    assert cached.metadata.library_versions["scikit-learn"] == sklearn.__version__
    assert cached.metrics == bundle.metrics
    # Compiled on the way in, checked on rows drawn from the recorded schema.
    compiled = cached.metadata.compiled
    assert compiled is not None
    assert compiled.status == "ok", compiled.reason
    assert compiled.parity is not None
    assert compiled.parity.rows > 100
    assert Predictor(cached).runtime.name == "onnx"
    provenance = json.loads((registry.current_path() / PROVENANCE_FILE).read_text())
    assert provenance["model_uri"] == "models:/iris-unit@champion"

    # The same version again comes from the cache, without a download.
    again = MLflowSource(
        "models:/iris-unit@champion", tracking_uri=registered, cache_dir=tmp_path / "cache"
    )
    assert again.load().path == bundle.path
    assert again.description == "mlflow models:/iris-unit@champion"
    # What a restarted server reads when MLflow is down.
    assert DirectorySource(cache).load().metadata.version == "v1"


def test_write_through_prunes_only_its_own_old_versions(
    registered: str, iris_rf: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("k8s_mlserve.sources.mlflow.cache.KEEP", 1)
    cache_dir = tmp_path / "cache"
    registry = BundleRegistry(cache_dir / "iris-unit")
    # A version the cache did not write (e.g. the cache shares a volume with training).
    write_bundle(
        registry.version_path("v0"), iris_rf.model, iris_rf.train_frame, name="x", version="v0"
    )
    MLflowSource("models:/iris-unit/1", tracking_uri=registered, cache_dir=cache_dir).load()
    assert registry.versions() == ["v0", "v1"]
    MLflowSource("models:/iris-unit/2", tracking_uri=registered, cache_dir=cache_dir).load()
    assert registry.versions() == ["v0", "v2"]
    assert registry.current_version() == "v2"


def test_a_model_saved_with_another_scikit_learn_is_refused_before_unpickling(
    iris_rf: TrainedModel, tmp_path: Path
) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    path = tmp_path / "model"
    frame = iris_rf.train_frame
    model = LogisticRegression(max_iter=500).fit(frame, iris_rf.model.predict(frame))
    mlflow.sklearn.save_model(
        model,
        str(path),
        signature=infer_signature(frame, model.predict(frame)),
        pip_requirements=["numpy==1.26.4", "scikit-learn==0.99.0"],
    )
    mlmodel = path / "MLmodel"
    recorded = f"sklearn_version: {sklearn.__version__}"
    assert recorded in mlmodel.read_text()
    mlmodel.write_text(mlmodel.read_text().replace(recorded, "sklearn_version: 0.99.0"))

    loaded = load_model_dir(path)  # not strict: loaded, with a warning
    assert loaded.flavour == "sklearn"
    assert loaded.library_versions["scikit-learn"] == "0.99.0"
    assert loaded.library_versions["numpy"] == "1.26.4"

    serialized = list(path.glob("model.*"))  # model.skops or model.pkl
    assert serialized
    for model_file in serialized:
        model_file.write_bytes(b"never unpickled")
    with pytest.raises(LibraryMismatchError) as refused:
        load_model_dir(path, strict_versions=True, where="MLflow model models:/iris/1")
    assert str(refused.value).startswith(
        "MLflow model models:/iris/1 was written with scikit-learn 0.99.0 but scikit-learn "
        f"{sklearn.__version__} is installed"
    )


def test_a_version_that_failed_is_not_downloaded_again_until_the_alias_moves(
    registered: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    import k8s_mlserve.sources.mlflow.source as module

    calls = {"download": 0, "load": 0}
    real_download = module._download

    def download(*args: Any) -> str:
        calls["download"] += 1
        return real_download(*args)

    def refuse_the_first(path: Path, **kwargs: Any) -> Any:
        calls["load"] += 1
        if calls["load"] == 1:
            raise LibraryMismatchError("MLflow model models:/iris-unit/1 was written with 0.99")
        return load_model_dir(path, **kwargs)

    monkeypatch.setattr(module, "_download", download)
    monkeypatch.setattr(module, "load_model_dir", refuse_the_first)
    client = MlflowClient(tracking_uri=registered)
    client.set_registered_model_alias("iris-unit", "remembered", "1")
    source = MLflowSource("models:/iris-unit@remembered", tracking_uri=registered)
    for _ in range(3):
        with pytest.raises(LibraryMismatchError, match=r"was written with 0\.99"):
            source.load()
    assert calls == {"download": 1, "load": 1}  # refused from memory, nothing re-read

    client.set_registered_model_alias("iris-unit", "remembered", "2")
    assert source.load().metadata.version == "v2"
    assert calls == {"download": 2, "load": 2}


# MLflow compares the example's columns with range() when saving it; pandas 3 deprecates that.
@pytest.mark.filterwarnings("ignore:Operation with range is deprecated")
def test_pyfunc_models_serve_labels(tmp_path: Path) -> None:
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from mlflow.pyfunc.model import PythonModel
    from mlflow.types import ColSpec, Schema

    class Threshold(PythonModel):
        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            return np.where(model_input["x"] > 2, "high", "low")

    signature = ModelSignature(
        inputs=Schema([ColSpec("double", "x"), ColSpec("long", "n")]),
        outputs=Schema([ColSpec("string")]),
    )
    path = tmp_path / "model"
    mlflow.pyfunc.save_model(
        str(path),
        python_model=Threshold(),
        signature=signature,
        input_example=pd.DataFrame({"x": [1.0, 4.0], "n": [1, 7]}),
        pip_requirements=[],
    )
    loaded = load_model_dir(path)
    assert loaded.flavour == "pyfunc"
    assert loaded.classes is None
    x, n = loaded.schema.features
    assert isinstance(x, NumericFeature)
    assert (x.dtype, x.minimum, x.maximum) == ("float", 1.0, 4.0)
    assert isinstance(n, NumericFeature)
    assert n.dtype == "integer"
    assert not hasattr(loaded.model, "predict_proba")
    # Request rows arrive as floats; the adapter casts integer columns back for pyfunc.
    rows = loaded.schema.to_frame([{"x": 1.0, "n": 1}, {"x": 3.5, "n": 2}])
    assert list(loaded.model.predict(rows)) == ["low", "high"]
