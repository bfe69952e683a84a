"""The local fixtures that start real servers, used from pytest sessions of their own the way a
model project uses them: the bundle, the model server (and its log on failure), the server
factory, and MLflow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from k8s_mlserve.training.runner import train_example

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.integration

IRIS_ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A child of this process that exited but was not reaped yet still has a pid.
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split()[2] == "Z"


def test_server_serves_the_example_trained_for_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        from k8s_mlserve.model.registry import BundleRegistry

        ROW = {IRIS_ROW!r}
        SEEN = []

        def test_predict(mlserve_server, mlserve_bundle, mlserve_secrets):
            SEEN.append(mlserve_server)
            assert BundleRegistry.is_registry(mlserve_bundle)
            assert mlserve_bundle.name == "iris"
            assert mlserve_server.api_key == mlserve_secrets.api_key
            answer = mlserve_server.client.post(
                "/predict", json=ROW, headers=mlserve_server.headers()
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["label"] == "setosa"
            assert mlserve_server.client.post("/predict", json=ROW).status_code == 401

        def test_same_server_for_the_session(mlserve_server):
            assert SEEN == [mlserve_server]
            assert mlserve_server.process.poll() is None
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_supplied_model_is_served(pytester: pytest.Pytester, tmp_path: Path) -> None:
    run = train_example("iris", output=tmp_path / "my-model", algorithm="logreg", quiet=True)
    pytester.makepyfile(
        f"""
        from pathlib import Path

        def test_version(mlserve_server, mlserve_bundle):
            assert mlserve_bundle == Path({str(run.path)!r})
            body = mlserve_server.client.get("/version").json()
            assert body["algorithm"] == "logreg"
        """
    )
    pytester.runpytest("--mlserve-model", str(run.path)).assert_outcomes(passed=1)


def test_the_server_log_is_shown_when_a_test_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(mlserve_server):
            mlserve_server.client.get("/version")
            raise AssertionError("deliberate")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- k8s-mlserve server log (mlserve_server, http://127.0.0.1:*) -*",
            "*Uvicorn running on http://127.0.0.1:*",
            "*serving iris-model version v1*",
        ]
    )


def test_factory_servers_have_their_own_settings_and_stop_at_the_end(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pids = tmp_path / "pids.json"
    pytester.makepyfile(
        f"""
        import json

        def test_two_environments(mlserve_server_factory, mlserve_bundle):
            staging = mlserve_server_factory(
                mlserve_bundle, env={{"MLSERVE_SERVER__ENVIRONMENT": "staging"}}
            )
            production = mlserve_server_factory(
                mlserve_bundle, env={{"MLSERVE_SERVER__ENVIRONMENT": "production"}}
            )
            assert staging.url != production.url
            assert staging.client.get("/").json()["environment"] == "staging"
            assert production.client.get("/").json()["environment"] == "production"
            with open({str(pids)!r}, "w") as handle:
                json.dump([staging.process.pid, production.process.pid], handle)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    started = json.loads(pids.read_text())
    assert len(started) == 2
    assert all(gone(pid) for pid in started)


def test_mlflow_server_tracks_runs_and_serves_artifacts(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    facts = tmp_path / "facts.json"
    pytester.makepyfile(
        f"""
        import json
        import httpx

        def test_tracking(mlserve_mlflow):
            api = mlserve_mlflow.tracking_uri + "/api/2.0/mlflow"
            assert httpx.get(mlserve_mlflow.url + "/health").status_code == 200
            created = httpx.post(api + "/experiments/create", json={{"name": "plugin-test"}})
            assert created.status_code == 200, created.text
            experiment = created.json()["experiment_id"]
            run = httpx.post(api + "/runs/create", json={{"experiment_id": experiment}}).json()
            run_id = run["run"]["info"]["run_id"]
            logged = httpx.post(
                api + "/runs/log-metric",
                json={{"run_id": run_id, "key": "auc", "value": 0.9, "timestamp": 0, "step": 0}},
            )
            assert logged.status_code == 200, logged.text
            uploaded = httpx.put(
                mlserve_mlflow.url + "/api/2.0/mlflow-artifacts/artifacts/plugin/note.txt",
                content=b"hello",
            )
            assert uploaded.status_code == 200, uploaded.text
            with open({str(facts)!r}, "w") as handle:
                json.dump(
                    {{
                        "sqlite": mlserve_mlflow.uses_sqlite,
                        "db": str(mlserve_mlflow.root / "mlflow.db"),
                        "artifact": str(mlserve_mlflow.artifacts_dir / "plugin" / "note.txt"),
                        "pid": mlserve_mlflow.process.pid,
                    }},
                    handle,
                )
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    seen = json.loads(facts.read_text())
    assert seen["sqlite"] is True
    assert Path(seen["db"]).stat().st_size > 0
    assert Path(seen["artifact"]).read_bytes() == b"hello"
    assert gone(seen["pid"])
