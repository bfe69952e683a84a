"""The k8s-mlserve plugin's fixtures, given this project's model: ``mlserve_bundle`` trains it."""

from __future__ import annotations

from pathlib import Path

import pytest
from own_model.train import fit

from k8s_mlserve.training.trained import publish

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry directory with this project's model as v1."""
    root = tmp_path_factory.mktemp("models") / "own-model"
    publish(fit(), root, version="v1")
    return root


@pytest.fixture(scope="session")
def mlserve_bundle(registry: Path) -> Path:
    """The model the plugin's servers and stacks serve: v1 of this project's classifier."""
    return registry / "versions" / "v1"


@pytest.fixture(scope="session")
def second_bundle(registry: Path) -> Path:
    """A second version, trained with stronger regularisation."""
    path, _ = publish(fit(c=0.05), registry, version="v2", make_current=False)
    return path


@pytest.fixture(scope="session")
def rows() -> list[dict[str, float]]:
    """Held-out rows, as a client sends them."""
    trained = fit()
    return list(trained.test_frame.to_dict(orient="records"))
