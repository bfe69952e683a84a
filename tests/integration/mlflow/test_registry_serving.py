"""Train, register, serve @champion and follow a promotion, against a real ``mlflow server``
with a SQLite backend store and with a PostgreSQL one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.models import get_model_info

from k8s_mlserve import BundleRegistry, load_bundle
from k8s_mlserve.cli import main
from k8s_mlserve.testing import MlflowServer, ServerProcess, wait_for
from k8s_mlserve.training.examples import EXAMPLES
from k8s_mlserve.training.runner import TrainingRun, fit_example, train_example
from k8s_mlserve.training.tracking import log_and_register

from .conftest import RequestStream

pytestmark = pytest.mark.integration

METRICS = {"accuracy", "precision", "recall", "f1_score", "auc_roc"}
DIABETES_ROW = {
    "Pregnancies": 6,
    "Glucose": 148,
    "BloodPressure": 72,
    "SkinThickness": 35,
    "Insulin": 0,
    "BMI": 33.6,
    "DiabetesPedigreeFunction": 0.627,
    "Age": 50,
}


@pytest.fixture(scope="session")
def examples(
    tracking: MlflowServer, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, TrainingRun]:
    """The three examples trained with tracking on: bundles written and versions registered."""
    root = tmp_path_factory.mktemp("tracked-models")
    return {
        name: train_example(
            name, output=root / name, data=str(data_dir), quiet=True, tracking_uri=tracking.url
        )
        for name in EXAMPLES
    }


def test_training_logs_the_run_and_registers_a_champion(
    examples: dict[str, TrainingRun], tracking: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking.url)  # for get_model_info
    client = MlflowClient(tracking.url)
    for example, trained in examples.items():
        tracked = trained.tracked
        assert tracked is not None
        assert (tracked.model_name, tracked.version, tracked.alias) == (
            f"{example}-model",
            "1",
            "champion",
        )
        run = client.get_run(tracked.run_id)
        experiment = client.get_experiment(run.info.experiment_id)
        assert experiment.name == f"{example}-classification"
        bundle = load_bundle(trained.path)
        assert run.info.run_name == f"{example}-{bundle.metadata.algorithm}"
        assert set(run.data.metrics) == METRICS
        assert run.data.metrics == pytest.approx(trained.metrics)
        assert run.data.params == {k: str(v) for k, v in bundle.metadata.params.items()}

        champion = client.get_model_version_by_alias(tracked.model_name, "champion")
        assert (champion.version, champion.run_id) == ("1", tracked.run_id)
        info = get_model_info(f"models:/{tracked.model_name}/1")
        assert info.signature is not None
        assert info.signature.inputs.input_names() == bundle.metadata.input_schema.names
        assert info.saved_input_example_info is not None
        assert "sklearn" in info.flavors

        # The bundle is still written, named after the registered version, with the run id.
        assert trained.version == "v1"
        assert bundle.metadata.mlflow_run_id == tracked.run_id
        assert BundleRegistry(trained.path.parent.parent).current_version() == "v1"


def test_diabetes_champion_answers_the_workshop_contract(
    examples: dict[str, TrainingRun],
    tracking: MlflowServer,
    serve: Callable[..., ServerProcess],
    tmp_path: Path,
) -> None:
    server = serve(tracking.url, uri="models:/diabetes-model@champion", cache_dir=tmp_path)
    answer = server.client.post("/predict", json=DIABETES_ROW, headers=server.headers()).json()
    assert set(answer) >= {"has_diabetes", "probability", "risk_level", "probabilities"}
    assert answer["risk_level"] in {"low", "moderate", "high"}
    assert answer["model_version"] == "v1"
    version = server.client.get("/version").json()
    tracked = examples["diabetes"].tracked
    assert tracked is not None
    assert version["run_id"] == tracked.run_id
    assert version["source"] == "mlflow models:/diabetes-model@champion"
    assert version["metrics"]["f1_score"] == examples["diabetes"].metrics["f1_score"]
    # Written through to the cache as a bundle.
    cached = load_bundle(BundleRegistry(tmp_path / "diabetes-model").current_path())
    assert cached.metadata.response is not None
    assert cached.metadata.response.flag_field == "has_diabetes"


def test_a_version_that_does_not_beat_the_champion_is_challenger_until_forced(
    examples: dict[str, TrainingRun], tracking: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = examples["iris"].path.parent.parent
    argv = ["train", "iris", "-o", str(registry), "-q", "--tracking-uri", tracking.url]
    # Same data, same seed: the same scores, which do not beat the champion.
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "registered iris-model version 2 in MLflow" in out
    assert "as @challenger: f1_score" in out
    assert BundleRegistry(registry).versions() == ["v1", "v2"]
    assert BundleRegistry(registry).current_version() == "v1"

    assert main([*argv, "--force-champion"]) == 0
    assert "version 3 in MLflow" in capsys.readouterr().out
    assert BundleRegistry(registry).current_version() == "v3"

    assert main(["registry", "--tracking-uri", tracking.url, "list", "iris-model"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["VERSION", "ALIASES", "F1_SCORE", "CREATED", "(UTC)", "RUN"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["3", "@champion"],
        ["2", "@challenger"],
        ["1", "-"],
    ]


def test_a_promotion_is_followed_under_load_without_a_failed_request(
    tracking: MlflowServer,
    serve: Callable[..., ServerProcess],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = "iris-rollout"
    first = log_and_register(
        fit_example("iris", algorithm="rf"), tracking_uri=tracking.url, model_name=name
    )
    second = log_and_register(
        fit_example("iris", algorithm="logreg"), tracking_uri=tracking.url, model_name=name
    )
    assert (first.alias, second.alias) == ("champion", "challenger")

    server = serve(tracking.url, uri=f"models:/{name}@champion", cache_dir=tmp_path)
    assert server.client.get("/version").json()["version"] == "v1"
    stream = RequestStream(server).start()
    try:
        stream.wait_for_answers(50)
        # latest: the newest registered version, the one just trained
        assert main(["registry", "--tracking-uri", tracking.url, "promote", name, "latest"]) == 0
        assert "version 2 is now @champion (was version 1)" in capsys.readouterr().out
        wait_for(
            lambda: server.client.get("/version").json()["version"] == "v2",
            timeout=30,
            what="the promotion to reach /version",
        )
        stream.wait_for_answers(50)
    finally:
        stream.stop()
    assert stream.failures == []
    assert stream.versions == ["v1", "v2"]
    version = server.client.get("/version").json()
    assert version["algorithm"] == "logreg"
    assert version["run_id"] == second.run_id
    cache = BundleRegistry(tmp_path / name)
    assert (cache.versions(), cache.current_version()) == (["v1", "v2"], "v2")
