"""Faults around an MLflow registry: an incompatible new version, MLflow stopped while serving,
MLflow absent at start (with and without a cached bundle). One SQLite-backed tracking server,
stopped and restarted on the same port by the tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from k8s_mlserve.testing import MlflowServer, ServerProcess, wait_for
from k8s_mlserve.training.examples.iris import FEATURES
from k8s_mlserve.training.runner import fit_example
from k8s_mlserve.training.tracking import log_and_register, promote
from k8s_mlserve.training.trained import TrainedModel, classification_metrics

from .conftest import IRIS_ROW, QUIET_MLFLOW, RequestStream, is_running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    root = tmp_path_factory.mktemp("mlflow-faults")
    server = MlflowServer(root, env=QUIET_MLFLOW)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def mlflow(shared_mlflow: MlflowServer) -> MlflowServer:
    """The shared tracking server, running (a test may have left it stopped)."""
    if not is_running(shared_mlflow):
        shared_mlflow.start()
    return shared_mlflow


def register_iris(tracking_uri: str, name: str, *algorithms: str) -> None:
    for algorithm in algorithms:
        trained = fit_example("iris", algorithm=algorithm)
        log_and_register(trained, tracking_uri=tracking_uri, model_name=name)


def reload_failures(server: ServerProcess) -> float:
    for line in server.client.get("/metrics").text.splitlines():
        if line.startswith("mlserve_model_reload_failures_total "):
            return float(line.split()[1])
    raise AssertionError("mlserve_model_reload_failures_total is not exported")


def serves(server: ServerProcess, version: str) -> bool:
    return bool(server.client.get("/version").json()["version"] == version)


def predict(server: ServerProcess) -> tuple[int, dict[str, object]]:
    response = server.client.post("/predict", json=IRIS_ROW, headers=server.headers())
    body: dict[str, object] = response.json()
    return response.status_code, body


def test_an_incompatible_version_is_rejected_and_the_old_one_kept(
    mlflow: MlflowServer, serve: Callable[..., ServerProcess]
) -> None:
    name = "iris-schema"
    register_iris(mlflow.url, name, "rf")
    server = serve(mlflow.url, uri=f"models:/{name}@champion")

    # A version that no longer takes petal_width, forced to champion.
    data = load_iris()
    frame = pd.DataFrame(data.data, columns=FEATURES).drop(columns=["petal_width"])
    target = pd.Series([data.target_names[i] for i in data.target])
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(frame, target)
    narrower = TrainedModel(
        name="iris-model",
        model=model,
        train_frame=frame,
        test_frame=frame,
        test_target=target,
        algorithm="rf-3-features",
        params={"n_estimators": 20},
        metrics=classification_metrics(model, frame, target),
    )
    tracked = log_and_register(
        narrower, tracking_uri=mlflow.url, model_name=name, force_champion=True
    )
    assert (tracked.version, tracked.alias) == ("2", "champion")

    error = wait_for(
        lambda: server.client.get("/ready").json().get("last_reload_error"),
        timeout=30,
        what="the reload to fail",
    )
    assert "version v2 is incompatible" in error
    assert "missing ['petal_width']" in error
    assert server.client.get("/ready").status_code == 200
    version = server.client.get("/version").json()
    assert version["version"] == "v1"
    assert version["last_reload"]["ok"] is False
    status, body = predict(server)
    assert (status, body["model_version"]) == (200, "v1")
    assert reload_failures(server) >= 1


def test_admin_reload_follows_a_promotion_at_once(
    mlflow: MlflowServer, serve: Callable[..., ServerProcess]
) -> None:
    name = "iris-admin"
    register_iris(mlflow.url, name, "rf", "logreg")
    server = serve(mlflow.url, uri=f"models:/{name}@champion", poll=3600)
    promote(name, "2", tracking_uri=mlflow.url)
    assert server.client.post("/admin/reload").status_code == 401
    traced = {**server.headers(), "X-Request-ID": "promote-7f3a"}
    response = server.client.post("/admin/reload", headers=traced)
    assert response.status_code == 200
    assert response.json()["message"] == "now serving version v2"
    # Every log line names the request it was written for, "-" outside one.
    log = server.log()
    assert "[promote-7f3a]: reloaded (admin request): now serving version v2" in log
    assert re.search(r"\[-\]: serving iris-admin version v1 from", log)
    assert re.search(r"INFO uvicorn\.error \[-\]: Uvicorn running on http://", log)  # uvicorn's too
    assert server.client.get("/version").json()["algorithm"] == "logreg"


def test_an_mlflow_outage_is_survived_at_start_and_while_serving(
    mlflow: MlflowServer, serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    name = "iris-outage"
    register_iris(mlflow.url, name, "rf", "logreg")
    uri = f"models:/{name}@champion"
    cache = tmp_path / "cache"
    running = serve(mlflow.url, uri=uri, cache_dir=cache)  # loads v1 and fills the cache
    stream = RequestStream(running).start()
    try:
        stream.wait_for_answers(20)
        mlflow.stop()

        # Serving: clients see nothing; readiness says why polls fail, and they are counted.
        error = wait_for(
            lambda: running.client.get("/ready").json().get("last_reload_error"),
            timeout=30,
            what="a failed poll",
        )
        assert f"MLflow at {mlflow.url} is unreachable" in error
        assert running.client.get("/ready").status_code == 200
        assert reload_failures(running) >= 1

        # Starting with a cached bundle: ready at once, serving it.
        cached = serve(mlflow.url, uri=uri, cache_dir=cache)
        version = cached.client.get("/version").json()
        assert (version["version"], version["source"]) == ("v1", f"directory {cache / name}")
        assert predict(cached)[0] == 200

        # Starting without: started but not ready, saying why.
        bare = serve(mlflow.url, uri=uri, wait="/startup")
        ready = bare.client.get("/ready")
        assert ready.status_code == 503
        assert f"MLflow at {mlflow.url} is unreachable" in ready.json()["reason"]
        assert predict(bare)[0] == 503
        stream.wait_for_answers(20)

        # MLflow is back with a new champion: everyone follows it.
        mlflow.start()
        promote(name, "2", tracking_uri=mlflow.url)
        for server in (running, cached):
            wait_for(partial(serves, server, "v2"), timeout=60, what="the promotion to be followed")
        bare.wait_until("/ready", timeout=90)
        stream.wait_for_answers(20)
    finally:
        stream.stop()
    assert stream.failures == []
    assert stream.versions == ["v1", "v2"]
    assert "last_reload_error" not in running.client.get("/ready").json()
    version = bare.client.get("/version").json()
    assert (version["version"], version["source"]) == ("v2", f"mlflow {uri}")
