"""What the local fixtures do before starting anything: a missing supplied model, the MLflow
server's command line, the backend option. The fixtures that start servers (the model server, its
factory, MLflow) are tested in tests/integration/testing/test_fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mlserve.testing import MlflowServer

pytest_plugins = ["pytester"]


def test_a_missing_supplied_model_is_an_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("def test_bundle(mlserve_bundle): pass")
    result = pytester.runpytest("--mlserve-model", str(tmp_path / "nothing"))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*--mlserve-model: {tmp_path / 'nothing'} does not exist*"])


def test_mlflow_server_command_uses_a_given_database(tmp_path: Path) -> None:
    uri = "postgresql://mlflow:secret@db.example:5432/mlflow"
    server = MlflowServer(tmp_path, backend_store_uri=uri, port=5123)
    command = server.command()
    assert command[command.index("--backend-store-uri") + 1] == uri
    assert command[command.index("--artifacts-destination") + 1] == str(tmp_path / "artifacts")
    assert command[command.index("--port") + 1] == "5123"
    assert "--serve-artifacts" in command
    assert not server.uses_sqlite
    assert MlflowServer(tmp_path).backend_store_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_the_mlflow_backend_option_reaches_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_backend(mlserve_options):
            assert mlserve_options.mlflow_backend == "postgresql://u:p@db/mlflow"
        """
    )
    result = pytester.runpytest("--mlserve-mlflow-backend", "postgresql://u:p@db/mlflow")
    result.assert_outcomes(passed=1)
