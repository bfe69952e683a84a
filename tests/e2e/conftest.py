"""End-to-end suites: every example on a real cluster (see docs/e2e.md).

The cluster, the server image and the deployed stacks come from the k8s-mlserve pytest plugin
(``mlserve_cluster``, ``mlserve_image``, ``mlserve_deploy``). Without a configured cluster every
test here skips, saying what is missing.

The MLflow image is built from the Dockerfile shipped with k8s-mlserve (``K8S_MLSERVE_MLFLOW_IMAGE``
names another); PostgreSQL is the official image unless ``K8S_MLSERVE_POSTGRES_IMAGE=build``
builds one for clusters that cannot pull. Both are loaded with the plugin's image loader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.testing.specs import deep_merge
from k8s_mlserve.testing.stack import DeployedStack, StackDeployer

HERE = Path(__file__).resolve().parent

# A two-core node: keep requests small so that several stacks and rollouts fit at once.
SMALL: dict[str, Any] = {
    "api": {
        "resources": {
            "requests": {"cpu": "25m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "768Mi"},
        }
    },
    "training": {
        "resources": {
            "requests": {"cpu": "50m", "memory": "256Mi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        }
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def postgres_image(mlserve_stack_images: Callable[[], tuple[str, str]]) -> str:
    """PostgreSQL for the MLflow stack (the plugin's ``mlserve_stack_images``)."""
    return mlserve_stack_images()[1]


@pytest.fixture(scope="session")
def mlflow_image(mlserve_stack_images: Callable[[], tuple[str, str]]) -> str:
    """The MLflow tracking server for the MLflow stack (the plugin's ``mlserve_stack_images``)."""
    return mlserve_stack_images()[0]


# The diabetes example's staging environment as test_drift, test_environments, test_examples and
# test_ui share it: one API pod (one drift window sees all the traffic), no MLflow stack (that is
# test_mlflow's), its web page, and a drift-check CronJob that test_drift starts itself (the
# schedule only has to be valid). Deployed once for the session: a stack is minutes of CI.
DIABETES_ENVIRONMENT = "staging"
DIABETES: dict[str, Any] = {
    "api": {"replicas": 1},
    "mlflow": None,
    "model": {"registered_name": None},
    "autoscaling": None,
    "ui": {
        "resources": {
            "requests": {"cpu": "25m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        }
    },
    "drift_check": {
        "schedule": "0 0 1 1 *",
        "resources": {
            "requests": {"cpu": "50m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
    },
}


@pytest.fixture(scope="session")
def diabetes_stack(mlserve_deploy: StackDeployer) -> Iterator[DeployedStack]:
    """The diabetes example's staging environment with its page, deployed once for every suite
    that reads it."""
    with mlserve_deploy.deploy(
        "diabetes", environment=DIABETES_ENVIRONMENT, overrides=deep_merge(SMALL, DIABETES)
    ) as deployed:
        yield deployed
