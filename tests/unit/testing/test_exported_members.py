from __future__ import annotations

import subprocess
import sys

import k8s_mlserve.testing as testing


def test_public_api_is_pinned() -> None:
    assert testing.__all__ == [
        "Cluster",
        "CommandLoader",
        "DeployedStack",
        "EndpointStats",
        "ImageLoader",
        "KindLoader",
        "LoadStats",
        "LoadTestError",
        "MlflowServer",
        "NoLoader",
        "PayloadFactory",
        "SecretsDir",
        "ServerFactory",
        "ServerProcess",
        "StackDeployer",
        "StopWaiting",
        "free_port",
        "loader_from_setting",
        "run_load",
        "schema_from_bundle",
        "schema_from_openapi",
        "wait_for",
    ]
    assert testing.__all__ == sorted(testing.__all__, key=str)
    for name in testing.__all__:
        assert getattr(testing, name) is not None


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    # pytest loads the plugin in every session of every project installed next to it.
    code = (
        "import sys, k8s_mlserve.testing.plugin; "
        "print(*(m in sys.modules for m in ('kubernetes', 'locust', 'gevent', 'mlflow', "
        "'pytest_kind.cluster')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * 5
