"""Test helpers for model projects: run a real server, wait for conditions, talk to it.

The pytest plugin (``plugin.py``, ``fixtures.py``) builds on these; so can any test or script.
``Cluster``, ``DeployedStack`` and ``StackDeployer`` are imported on first use, because they pull
in the Kubernetes client.
"""

from .load import EndpointStats, LoadStats, LoadTestError, run_load
from .loader import CommandLoader, ImageLoader, KindLoader, NoLoader, loader_from_setting
from .mlflow import MlflowServer
from .payloads import PayloadFactory, schema_from_bundle, schema_from_openapi
from .server import SecretsDir, ServerFactory, ServerProcess, StopWaiting, free_port, wait_for

__all__ = [
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

_LAZY = {
    "Cluster": "cluster",
    "DeployedStack": "stack",
    "StackDeployer": "stack",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
