"""The compiled (ONNX) model answers as scikit-learn does: every row of each example's data set,
and random rows inside the training ranges."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8s_mlserve import load_bundle, read_metadata, resolve_bundle_path, write_bundle
from k8s_mlserve.inference.predictor import Predictions, Predictor
from k8s_mlserve.model.compiled import TOLERANCE
from k8s_mlserve.model.schema import CategoricalFeature, InputSchema, NumericFeature
from k8s_mlserve.testing import ServerProcess
from k8s_mlserve.training.runner import fit_example

from .conftest import API_KEYS, MONITORING_TOKEN

pytestmark = pytest.mark.integration

MODELS = [("iris", "rf"), ("iris", "svm"), ("iris", "logreg"), ("diabetes", "rf"), ("churn", "rf")]
IDS = [f"{example}-{algorithm}" for example, algorithm in MODELS]


@pytest.fixture(scope="module", params=MODELS, ids=IDS)
def runtimes(
    request: pytest.FixtureRequest, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Predictor, Predictor, pd.DataFrame]:
    """(compiled, scikit-learn) predictors of one example, and its whole data set."""
    example, algorithm = request.param
    trained = fit_example(example, algorithm=algorithm, data=str(data_dir))
    path = write_bundle(
        tmp_path_factory.mktemp("compiled") / "v1",
        trained.model,
        trained.train_frame,
        name=trained.name,
        version="v1",
        response=trained.response,
        reference=False,
    )
    bundle = load_bundle(path)
    compiled = bundle.metadata.compiled
    assert compiled is not None
    assert compiled.status == "ok", compiled.reason
    assert compiled.parity is not None
    assert compiled.parity.rows == len(trained.train_frame)
    frame = pd.concat([trained.train_frame, trained.test_frame])
    onnx = Predictor(bundle, runtime="onnx")
    assert (onnx.runtime.name, onnx.runtime_reason) == ("onnx", None)
    return onnx, Predictor(bundle, runtime="sklearn"), frame


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a validated request carries them: missing values are None."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{str(k): v for k, v in record.items()} for record in records]


def assert_same_answers(compiled: Predictions, reference: Predictions) -> None:
    assert compiled.labels == reference.labels
    for ours, theirs in zip(compiled.results, reference.results, strict=True):
        assert ours.keys() == theirs.keys()
        for name, value in ours.items():
            if name == "probabilities":
                for cls, p in value.items():
                    assert math.isclose(p, theirs[name][cls], abs_tol=TOLERANCE), (name, cls)
            elif isinstance(value, float):
                assert math.isclose(value, theirs[name], abs_tol=TOLERANCE), name
            else:
                assert value == theirs[name], name
    scores = np.array(compiled.scores, dtype=float)
    expected = np.array(reference.scores, dtype=float)
    assert np.allclose(scores, expected, atol=TOLERANCE, equal_nan=True)


def test_every_row_of_the_data_set_gets_the_same_answer(
    runtimes: tuple[Predictor, Predictor, pd.DataFrame],
) -> None:
    onnx, sklearn, frame = runtimes
    rows = rows_of(frame)
    onnx.validate(rows)
    assert_same_answers(onnx.predict(rows), sklearn.predict(rows))


def row_strategy(schema: InputSchema) -> st.SearchStrategy[dict[str, Any]]:
    """Rows inside the training ranges, with the training levels, null where nullable."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for feature in schema.features:
        value: st.SearchStrategy[Any]
        if isinstance(feature, CategoricalFeature):
            value = st.sampled_from(feature.levels)
        else:
            assert isinstance(feature, NumericFeature)
            low = feature.minimum if feature.minimum is not None else -1e6
            high = feature.maximum if feature.maximum is not None else 1e6
            if feature.dtype == "integer":
                value = st.integers(math.ceil(low), math.floor(high))
            else:
                value = st.floats(low, high, allow_nan=False, allow_infinity=False)
        fields[feature.name] = st.one_of(st.none(), value) if feature.nullable else value
    return st.fixed_dictionaries(fields)


def test_random_rows_in_the_training_ranges_get_the_same_answer(
    runtimes: tuple[Predictor, Predictor, pd.DataFrame],
) -> None:
    onnx, sklearn, _ = runtimes

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(rows=st.lists(row_strategy(onnx.schema), min_size=1, max_size=32))
    def check(rows: list[dict[str, Any]]) -> None:
        onnx.validate(rows)
        assert_same_answers(onnx.predict(rows), sklearn.predict(rows))

    check()


def _native_packages(pid: int) -> set[str]:
    """Packages whose compiled extension modules the process has mapped."""
    packages = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        _, found, rest = line.partition("/site-packages/")
        if found:
            packages.add(rest.split("/", 1)[0])
    return packages


@pytest.mark.parametrize("example", ["diabetes", "churn"])  # one input tensor, one per feature
def test_a_compiled_model_is_served_without_pandas_scipy_or_scikit_learn(
    example: str, registries: dict[str, Path], secrets_dir: Path
) -> None:
    """What a replica's memory holds: the compiled model needs none of them (drift computations
    import pandas and SciPy when they first run)."""
    schema = read_metadata(resolve_bundle_path(registries[example])).input_schema
    env = {"MLSERVE_MODEL__PATH": str(registries[example])}
    with ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as server:
        assert server.process is not None
        answer = server.client.post(
            "/predict", json={"instances": [schema.example_row()] * 3}, headers=server.headers()
        )
        assert answer.status_code == 200, answer.text
        assert server.client.get("/version").json()["runtime"]["name"] == "onnx"
        loaded = _native_packages(server.process.pid)
        assert "onnxruntime" in loaded  # the probe sees what is loaded
        assert not loaded & {"pandas", "scipy", "sklearn"}, sorted(loaded)

        drift = server.client.get("/drift", headers={"Authorization": f"Bearer {MONITORING_TOKEN}"})
        assert drift.status_code == 200, drift.text
        assert drift.json()["verdict"] == "insufficient data"  # computed, with too few rows
