"""The MLflow model source: URIs, schemas from signatures, loading, the write-through cache, and
how ``build_sources`` orders the bundle, the cache and MLflow.

The loading tests use a real MLflow tracking store (SQLite, in process): no server needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve import BundleRegistry, ConfigurationError, ModelSourceError, load_bundle
from k8s_mlserve.model.bundle import Bundle, write_bundle
from k8s_mlserve.model.schema import CategoricalFeature, NumericFeature
from k8s_mlserve.settings import Settings
from k8s_mlserve.sources import DirectorySource, FollowingSource, ModelSource, build_sources
from k8s_mlserve.sources.mlflow.cache import PROVENANCE_FILE
from k8s_mlserve.sources.mlflow.schema import schema_from_columns
from k8s_mlserve.sources.mlflow.source import MLflowSource, ModelURI, load_model_dir
from k8s_mlserve.training.runner import fit_example
from k8s_mlserve.training.tracking import log_and_register, promote
from k8s_mlserve.training.trained import TrainedModel

# -- model URIs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "kind", "name", "reference"),
    [
        ("models:/diabetes-model@champion", "alias", "diabetes-model", "champion"),
        ("models:/diabetes-model/3", "version", "diabetes-model", "3"),
        ("runs:/0123abcd/model", "run", "0123abcd", "model"),
        ("runs:/0123abcd/nested/model/", "run", "0123abcd", "nested/model"),
    ],
)
def test_model_uris_parse(uri: str, kind: str, name: str, reference: str) -> None:
    parsed = ModelURI.parse(uri)
    assert (parsed.kind, parsed.name, parsed.reference) == (kind, name, reference)


@pytest.mark.parametrize(
    "uri",
    [
        "models:/diabetes-model",
        "models:/diabetes-model/latest",
        "models:/@champion",
        "models:/diabetes-model@",
        "runs:/0123abcd",
        "s3://bucket/model",
        "/models/diabetes",
    ],
)
def test_unsupported_model_uris_name_the_accepted_forms(uri: str) -> None:
    with pytest.raises(ConfigurationError, match=r"models:/NAME@ALIAS, models:/NAME/VERSION or"):
        ModelURI.parse(uri)


def test_run_uris_resolve_without_asking_mlflow() -> None:
    source = MLflowSource("runs:/0123456789abcdef0123/model", tracking_uri="http://127.0.0.1:9")
    resolved = source.resolve()
    assert resolved.version == "run-0123456789ab"
    assert resolved.run_id == "0123456789abcdef0123"
    assert source.current_version() == "run-0123456789ab"


def test_cache_path_is_per_model(tmp_path: Path) -> None:
    alias = MLflowSource("models:/iris-model@champion", tracking_uri="x", cache_dir=tmp_path)
    run = MLflowSource("runs:/abc/model", tracking_uri="x", cache_dir=tmp_path)
    assert alias.cache_path == tmp_path / "iris-model"
    assert run.cache_path == tmp_path / "run-abc"
    assert MLflowSource("models:/m/1", tracking_uri="x").cache_path is None


# -- input schemas from signatures -------------------------------------------------------------


def test_schema_from_columns_takes_ranges_and_levels_from_the_example() -> None:
    example = pd.DataFrame(
        {"age": [30, 50, 41], "bmi": [22.5, np.nan, 31.0], "plan": ["gold", "basic", "gold"]}
    )
    schema = schema_from_columns(
        [("age", "long", True), ("bmi", "double", False), ("plan", "string", True)], example
    )
    age, bmi, plan = schema.features
    assert isinstance(age, NumericFeature)
    assert (age.dtype, age.minimum, age.maximum, age.nullable) == ("integer", 30.0, 50.0, False)
    assert isinstance(bmi, NumericFeature)
    assert (bmi.dtype, bmi.minimum, bmi.maximum, bmi.nullable) == ("float", 22.5, 31.0, True)
    assert isinstance(plan, CategoricalFeature)
    assert plan.levels == ["basic", "gold"]
    assert schema.validate_row({"age": 35, "bmi": None, "plan": "gold"}) == []
    assert schema.validate_row({"age": 35, "bmi": 20.0, "plan": "platinum"})


def test_schema_from_columns_without_example_has_no_ranges() -> None:
    schema = schema_from_columns([("x", "float", True), ("flag", "boolean", True)])
    x, flag = schema.features
    assert isinstance(x, NumericFeature)
    assert x.minimum is None
    assert isinstance(flag, NumericFeature)
    assert flag.dtype == "integer"
    assert schema.example_row() == {"x": 0, "flag": 0}


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([("plan", "string", True)], "no input example to learn its values from"),
        ([("when", "datetime", True)], "only numbers, booleans and strings"),
        ([(None, "double", True)], "unnamed columns"),
    ],
)
def test_schema_from_columns_refuses_what_it_cannot_validate(
    columns: list[tuple[str | None, str, bool]], message: str
) -> None:
    with pytest.raises(ModelSourceError, match=message):
        schema_from_columns(columns)


# -- resolution order --------------------------------------------------------------------------


class FakeSource:
    def __init__(self, description: str, version: str | None, bundle: Any = None) -> None:
        self.description = description
        self.version = version
        self.bundle = bundle
        self.loads = 0

    def current_version(self) -> str:
        if self.version is None:
            raise ModelSourceError(f"{self.description} is down")
        return self.version

    def load(self) -> Bundle:
        self.loads += 1
        if self.version is None:
            raise ModelSourceError(f"{self.description} is down")
        bundle: Bundle = self.bundle
        return bundle


def test_following_source_starts_from_the_first_that_loads_then_follows() -> None:
    cached, latest = object(), object()
    pvc = FakeSource("pvc", None)
    cache = FakeSource("cache", "v1", bundle=cached)
    mlflow = FakeSource("mlflow", None, bundle=latest)
    source = FollowingSource([pvc, cache, mlflow], follow=mlflow)
    assert isinstance(source, ModelSource)

    assert source.load() is cached
    assert source.description == "cache"
    assert (pvc.loads, cache.loads, mlflow.loads) == (1, 1, 0)

    # From now on only the followed source is asked, even while it fails.
    with pytest.raises(ModelSourceError, match="mlflow is down"):
        source.current_version()
    assert source.description == "mlflow"
    mlflow.version = "v2"
    assert source.current_version() == "v2"
    assert source.load() is latest
    assert cache.loads == 1


def test_following_source_reports_every_start_failure() -> None:
    source = FollowingSource(
        [FakeSource("pvc", None), FakeSource("mlflow", None)], follow=FakeSource("mlflow", None)
    )
    with pytest.raises(ModelSourceError, match=r"^pvc: pvc is down; mlflow: mlflow is down$"):
        source.load()
    assert source.description == FollowingSource.START_DESCRIPTION
    assert not source.started


def settings(**model: Any) -> Settings:
    return Settings.model_validate({"model": model, "mlflow": {"tracking_uri": "http://mlflow"}})


def test_build_sources_without_uri_is_the_directory(tmp_path: Path) -> None:
    (source,) = build_sources(settings(path=tmp_path))
    assert isinstance(source, DirectorySource)


def test_build_sources_orders_bundle_cache_and_mlflow(tmp_path: Path) -> None:
    uri = "models:/iris-model@champion"
    (source,) = build_sources(settings(path=tmp_path / "pvc", uri=uri, cache_dir=tmp_path / "c"))
    assert isinstance(source, FollowingSource)
    assert [s.description for s in source.start] == [
        f"directory {tmp_path / 'pvc'}",
        f"directory {tmp_path / 'c' / 'iris-model'}",
        f"mlflow {uri}",
    ]
    assert source.follow is source.start[-1]

    (mlflow_first,) = build_sources(
        settings(uri=uri, cache_dir=tmp_path / "c", resolution="mlflow,bundle")
    )
    assert isinstance(mlflow_first, FollowingSource)
    assert [s.description for s in mlflow_first.start] == [
        f"mlflow {uri}",
        f"directory {tmp_path / 'c' / 'iris-model'}",
    ]


def test_build_sources_needs_a_tracking_uri_and_a_usable_order(tmp_path: Path) -> None:
    no_tracking = Settings.model_validate({"model": {"uri": "models:/m@champion"}})
    no_tracking.mlflow.tracking_uri = None
    with pytest.raises(ConfigurationError, match="MLFLOW_TRACKING_URI"):
        build_sources(no_tracking)
    with pytest.raises(ConfigurationError, match="RESOLUTION=mlflow"):
        build_sources(settings(path=tmp_path, resolution="mlflow"))


def test_a_directory_server_never_imports_mlflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from k8s_mlserve.settings import Settings\n"
        "from k8s_mlserve.sources import build_sources\n"
        f"build_sources(Settings.model_validate({{'model': {{'path': {str(tmp_path)!r}}}}}))\n"
        "import k8s_mlserve.server\n"
        "print('mlflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- loading from a real tracking store --------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _no_telemetry() -> Iterator[None]:
    """MLflow reports usage to its developers; a test run has nothing to report."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        yield


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
    assert cached.metrics == bundle.metrics
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
