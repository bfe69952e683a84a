"""The k8s-mlserve pytest plugin (registered through the ``pytest11`` entry point).

Hooks only: the options (group ``k8s-mlserve``), the ``e2e`` and ``slow`` markers, the skip of
``e2e`` tests when no cluster can be used (one line saying what is missing), the session header
line, and the logs of the servers and stacks a failed test used. The fixtures live in
``fixtures.py``; see ``docs/testing.md``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Generator
from typing import Any

import pytest

from . import session
from .fixtures import (
    mlserve_bundle,
    mlserve_cluster,
    mlserve_deploy,
    mlserve_example,
    mlserve_image,
    mlserve_image_loader,
    mlserve_mlflow,
    mlserve_options,
    mlserve_secrets,
    mlserve_server,
    mlserve_server_factory,
    mlserve_stack,
    mlserve_stack_images,
)
from .mlflow import MlflowServer
from .options import DEFAULT_KIND_CLUSTER, ENV
from .server import ServerFactory, ServerProcess

__all__ = [
    "mlserve_bundle",
    "mlserve_cluster",
    "mlserve_deploy",
    "mlserve_example",
    "mlserve_image",
    "mlserve_image_loader",
    "mlserve_mlflow",
    "mlserve_options",
    "mlserve_secrets",
    "mlserve_server",
    "mlserve_server_factory",
    "mlserve_stack",
    "mlserve_stack_images",
]

KIND_PLUGIN = "pytest-kind"
LOG_LINES = 200


def _pytest_kind_present(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether pytest-kind's plugin defines ``--kubeconfig`` and ``--keep-cluster`` here.

    Both plugins want those two options and argparse refuses a second definition, so this plugin
    reuses pytest-kind's. pytest-kind is registered here, under its entry-point name, unless it is
    registered or blocked (``-p no:pytest-kind``) already: that fixes the order, whichever plugin
    pytest would have loaded first, and the auto-loader then skips pytest-kind as present.
    """
    if pluginmanager.has_plugin(KIND_PLUGIN) or pluginmanager.has_plugin("pytest_kind.plugin"):
        return True
    if pluginmanager.is_blocked(KIND_PLUGIN) or pluginmanager.is_blocked("pytest_kind.plugin"):
        return False
    try:
        kind_plugin = importlib.import_module("pytest_kind.plugin")
    except ImportError:
        return False
    pluginmanager.register(kind_plugin, KIND_PLUGIN)
    return True


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    define_shared = not _pytest_kind_present(pluginmanager)
    title = "k8s-mlserve (model server, MLflow and cluster tests"
    title += ")" if define_shared else "; --kubeconfig and --keep-cluster are listed under kind)"
    group = parser.getgroup("k8s-mlserve", title)

    def env(dest: str) -> str:
        return f" [env: {ENV[dest]}]"

    if define_shared:
        group.addoption(
            "--kubeconfig",
            dest="kubeconfig",
            default=None,
            help="run cluster tests on the existing cluster of this kubeconfig" + env("kubeconfig"),
        )
    group.addoption(
        "--kind",
        dest="mlserve_kind",
        action="store_true",
        default=None,
        help="create a cluster with kind (kind, kubectl and docker from PATH) for cluster tests"
        + env("mlserve_kind"),
    )
    group.addoption(
        "--kind-cluster-name",
        dest="kind_cluster_name",
        default=None,
        help=f"name of the kind cluster (default {DEFAULT_KIND_CLUSTER}; an existing one is "
        "reused and kept)" + env("kind_cluster_name"),
    )
    group.addoption(
        "--kind-node-image",
        dest="kind_node_image",
        default=None,
        help="kind node image, i.e. the Kubernetes version, e.g. kindest/node:v1.20.15"
        + env("kind_node_image"),
    )
    if define_shared:
        group.addoption(
            "--keep-cluster",
            dest="keep_cluster",
            action="store_true",
            default=None,
            help="do not delete the kind cluster at the end" + env("keep_cluster"),
        )
    group.addoption(
        "--kubectl",
        dest="mlserve_kubectl",
        default=None,
        help="the kubectl to run (default: kubectl on PATH)" + env("mlserve_kubectl"),
    )
    group.addoption(
        "--image-loader",
        dest="image_loader",
        default=None,
        help="how built images reach the cluster: kind, kind:NAME, none, or a command in which "
        "{image} is replaced, e.g. 'sudo load-image.sh {image}' (default: kind with --kind, "
        "else none)" + env("image_loader"),
    )
    group.addoption(
        "--keep-namespace",
        dest="keep_namespace",
        action="store_true",
        default=None,
        help="do not delete the namespaces of deployed stacks" + env("keep_namespace"),
    )
    group.addoption(
        "--base-image",
        dest="base_image",
        default=None,
        help="base image with python3 and venv for building the server image" + env("base_image"),
    )
    group.addoption(
        "--mlserve-image",
        dest="mlserve_image",
        default=None,
        help="deploy this server image instead of building one" + env("mlserve_image"),
    )
    group.addoption(
        "--mlserve-image-extras",
        dest="mlserve_image_extras",
        default=None,
        help="extras installed in the built image, e.g. [mlflow]" + env("mlserve_image_extras"),
    )
    group.addoption(
        "--mlserve-wheel",
        dest="mlserve_wheel",
        default=None,
        help="k8s-mlserve wheel (or source tree) installed in a model project's image (default: "
        "the project's wheels/ or dist/, or the source tree k8s-mlserve runs from)"
        + env("mlserve_wheel"),
    )
    group.addoption(
        "--mlserve-mlflow-image",
        dest="mlserve_mlflow_image",
        default=None,
        help="MLflow image of MLflow stacks, or 'build' to build k8s-mlserve's (default)"
        + env("mlserve_mlflow_image"),
    )
    group.addoption(
        "--mlserve-postgres-image",
        dest="mlserve_postgres_image",
        default=None,
        help="PostgreSQL image of MLflow stacks (default postgres:16), or 'build' for clusters "
        "that cannot pull" + env("mlserve_postgres_image"),
    )
    group.addoption(
        "--mlserve-model",
        dest="mlserve_model",
        default=None,
        help="bundle or registry directory served by mlserve_server (default: train the "
        "mlserve_example)" + env("mlserve_model"),
    )
    group.addoption(
        "--mlserve-data-dir",
        dest="mlserve_data_dir",
        default=None,
        help="directory holding the examples' datasets (diabetes.csv, "
        "telco-customer-churn.csv)" + env("mlserve_data_dir"),
    )
    group.addoption(
        "--mlserve-mlflow-backend",
        dest="mlserve_mlflow_backend",
        default=None,
        help="backend store of mlserve_mlflow, e.g. postgresql://user:pw@host/db (default: "
        "SQLite in a temporary directory)" + env("mlserve_mlflow_backend"),
    )
    group.addoption(
        "--mlserve-deploy-timeout",
        dest="mlserve_deploy_timeout",
        default=None,
        help="seconds to wait for a training Job or a rollout (default 600)"
        + env("mlserve_deploy_timeout"),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: needs a Kubernetes cluster (skipped without one)")
    config.addinivalue_line("markers", "slow: takes more than a minute")
    session.configure(config)


def pytest_report_header(config: pytest.Config) -> str:
    return session.options(config).describe()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    kept = session.kept_namespaces(config)
    if kept:
        terminalreporter.write_line(f"k8s-mlserve: namespaces kept: {' '.join(kept)}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    e2e = [item for item in items if item.get_closest_marker("e2e") is not None]
    if not e2e:
        return
    reason = session.problem(config)
    if reason is not None:
        for item in e2e:
            item.add_marker(pytest.mark.skip(reason=reason))


def _tail(text: str) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) > LOG_LINES:
        lines = [f"... ({len(lines) - LOG_LINES} earlier lines left out)", *lines[-LOG_LINES:]]
    return "\n".join(lines) or "(empty)"


def failure_sections(funcargs: dict[str, Any]) -> list[tuple[str, str]]:
    """The logs of the servers and stacks among a test's fixture values."""
    sections: list[tuple[str, str]] = []
    # Only a session that deployed a stack has imported the (heavy) stack module.
    stack_module = sys.modules.get("k8s_mlserve.testing.stack")
    stack_type = getattr(stack_module, "DeployedStack", None)
    for name, value in funcargs.items():
        if isinstance(value, ServerProcess):
            sections.append((f"k8s-mlserve server log ({name}, {value.url})", _tail(value.log())))
        elif isinstance(value, ServerFactory):
            for server in value.servers:
                sections.append((f"k8s-mlserve server log ({server.url})", _tail(server.log())))
        elif isinstance(value, MlflowServer):
            sections.append((f"MLflow server log ({name})", _tail(value.log())))
        elif stack_type is not None and isinstance(value, stack_type):
            sections.append((f"stack in namespace {value.namespace}", _tail(value.diagnostics())))
    return sections


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when == "call":
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        for title, text in failure_sections(funcargs):
            report.sections.append((title, text))
    return report
