"""The server in process: a toy model behind a fake source, driven through Starlette's TestClient.

The toy model is a Pipeline (one-hot + logistic regression) on 300 synthetic rows with a numeric,
an integer and a categorical feature, and the response fields of a binary classifier, so that every
kind of input, output and error can be exercised without a socket or a real dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from k8s_mlserve.drift import build_reference
from k8s_mlserve.model.bundle import Bundle, ResponseSpec, load_bundle, write_bundle
from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.server import create_app
from k8s_mlserve.settings import Settings
from k8s_mlserve.testing.inprocess import InProcessApp

API_KEY = "unit-test-key"
MONITORING_TOKEN = "unit-test-token"
MODEL_NAME = "toy-model"
ROW: dict[str, Any] = {"x": 0.5, "count": 3, "colour": "red"}


def toy_frame(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "count": rng.integers(0, 10, size=rows),
            "colour": rng.choice(["red", "green", "blue"], size=rows),
        }
    )
    target = np.where(frame["x"] + (frame["colour"] == "red") > 0.5, "yes", "no")
    return frame, pd.Series(target)


def write_toy_bundle(path: Path, version: str = "v1") -> Path:
    frame, target = toy_frame()
    encode = ColumnTransformer(
        [("numbers", "passthrough", ["x", "count"]), ("colour", OneHotEncoder(), ["colour"])]
    )
    model = Pipeline([("prepare", encode), ("classify", LogisticRegression())]).fit(frame, target)
    return write_bundle(
        path,
        model,
        frame,
        name=MODEL_NAME,
        version=version,
        algorithm="logreg",
        response=ResponseSpec(positive_class="yes", flag_field="is_yes", risk_field="risk"),
        reference=build_reference(frame, InputSchema.infer(frame)),
    )


class FakeSource:
    """A model source serving a fixed bundle, or failing with ``error`` when it is set."""

    def __init__(self, bundle: Bundle | None, description: str = "fake source") -> None:
        self.bundle = bundle
        self.description = description
        self.error: Exception | None = None
        self.loads = 0

    def current_version(self) -> str:
        if self.error is not None:
            raise self.error
        assert self.bundle is not None
        return self.bundle.metadata.version

    def load(self) -> Bundle:
        self.loads += 1
        if self.error is not None:
            raise self.error
        assert self.bundle is not None
        return self.bundle


@pytest.fixture(scope="session")
def toy_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(write_toy_bundle(tmp_path_factory.mktemp("toy") / "v1"))


def make_settings(**sections: dict[str, Any]) -> Settings:
    """Settings with the test key and token, poll and drift loops slowed out of the way."""
    data: dict[str, Any] = {
        "auth": {"api_keys": [API_KEY], "monitoring_token": MONITORING_TOKEN},
        "model": {"poll_interval": 3600},
        "drift": {"interval": 3600},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return Settings.model_validate(data)


ClientFactory = Callable[..., InProcessApp]


@pytest.fixture
def client_factory() -> Iterator[ClientFactory]:
    """Start apps in process: factory(source, **settings sections) -> a client, lifespan on.

    With ``wait`` (the default), the client is returned once the model is served.
    """
    clients: list[InProcessApp] = []

    def factory(
        source: FakeSource, *, wait: bool = True, **sections: dict[str, Any]
    ) -> InProcessApp:
        client = InProcessApp(create_app(make_settings(**sections), sources=[source]))
        client.__enter__()
        clients.append(client)
        if wait:
            client.wait_until_ready()
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_factory: ClientFactory, toy_bundle: Bundle) -> InProcessApp:
    """An app serving the toy model, with the test API key and monitoring token."""
    return client_factory(FakeSource(toy_bundle))


def key() -> dict[str, str]:
    return {"X-API-Key": API_KEY}


def monitoring() -> dict[str, str]:
    return {"Authorization": f"Bearer {MONITORING_TOKEN}"}
