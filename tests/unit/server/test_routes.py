"""This server's own routes: /predict, /, /version, /openapi.json, /docs and /admin/reload."""

from __future__ import annotations

import pytest

from k8s_mlserve.__version__ import __version__
from k8s_mlserve.errors import ModelSourceError
from k8s_mlserve.model.bundle import Bundle, load_bundle
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import MODEL_NAME, ROW, ROWS, FakeSource, write_toy_bundle
from .conftest import API_KEY, MONITORING_TOKEN, ClientFactory, key


@pytest.fixture(scope="module")
def toy_bundle_v2(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return load_bundle(write_toy_bundle(tmp_path_factory.mktemp("toy") / "v2", version="v2"))


# -- /predict --------------------------------------------------------------------------------


def test_one_row_is_answered_with_its_result(shared_client: InProcessApp) -> None:
    response = shared_client.post("/predict", json=ROW, headers=key())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result = response.json()
    assert set(result) == {
        "label",
        "probabilities",
        "is_yes",
        "probability",
        "risk",
        "model_version",
    }
    assert result["model_version"] == "v1"
    assert set(result["probabilities"]) == {"no", "yes"}
    assert sum(result["probabilities"].values()) == pytest.approx(1)


def test_the_response_fields_follow_the_positive_class(shared_client: InProcessApp) -> None:
    body = shared_client.post("/predict", json={"instances": ROWS}, headers=key()).json()
    results = body["predictions"]
    assert {r["label"] for r in results} == {"yes", "no"}
    for result in results:
        yes = result["probabilities"]["yes"]
        assert result["label"] == ("yes" if yes > 0.5 else "no")
        assert result["is_yes"] is (result["label"] == "yes")
        assert result["probability"] == pytest.approx(yes, abs=1e-6)
        assert result["risk"] == ("low" if yes < 0.3 else "moderate" if yes < 0.7 else "high")


def test_instances_are_answered_in_order_with_the_model_version(
    shared_client: InProcessApp,
) -> None:
    body = shared_client.post("/predict", json={"instances": ROWS}, headers=key()).json()
    singles = [shared_client.post("/predict", json=row, headers=key()).json() for row in ROWS]
    assert body == {"predictions": singles, "model_version": "v1"}


# -- service information ---------------------------------------------------------------------


def test_the_service_information(shared_client: InProcessApp) -> None:
    response = shared_client.get("/")
    assert response.status_code == 200
    info = response.json()
    assert info["service"] == "k8s-mlserve"
    assert info["server_version"] == __version__
    assert info["environment"] == "development"
    assert info["model"] == {"name": MODEL_NAME, "version": "v1"}
    assert info["auth"] == "enabled"
    assert {"POST /predict", "GET /metrics", "POST /admin/reload"} <= set(info["endpoints"])
    assert API_KEY not in response.text
    assert MONITORING_TOKEN not in response.text


def test_the_version_and_provenance_of_the_served_model(
    shared_client: InProcessApp, toy_bundle: Bundle
) -> None:
    response = shared_client.get("/version")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("name", "version", "algorithm", "model_class", "source")} == {
        "name": MODEL_NAME,
        "version": "v1",
        "algorithm": "logreg",
        "model_class": "sklearn.pipeline.Pipeline",
        "source": "fake source",
    }
    assert body["run_id"] is None
    assert body["metrics"] == {}
    assert body["trained_at"] == toy_bundle.metadata.created_at.isoformat()
    assert "last_reload" not in body


# -- documentation ---------------------------------------------------------------------------


def test_the_openapi_document_describes_the_model_fields(shared_client: InProcessApp) -> None:
    response = shared_client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == f"k8s-mlserve: {MODEL_NAME}"
    assert document["info"]["version"] == "v1"
    row = document["components"]["schemas"]["Row"]
    assert list(row["properties"]) == ["x", "count", "colour"]
    assert row["properties"]["x"]["type"] == "number"
    assert row["properties"]["count"]["type"] == "integer"
    assert row["properties"]["colour"]["enum"] == ["blue", "green", "red"]
    assert row["required"] == ["x", "count", "colour"]
    assert row["additionalProperties"] is False
    result = document["components"]["schemas"]["Result"]["properties"]
    assert {"label", "probabilities", "is_yes", "probability", "risk"} <= set(result)
    assert result["risk"]["enum"] == ["low", "moderate", "high"]
    predict = document["paths"]["/predict"]["post"]
    assert predict["security"] == [{"apiKey": []}, {"bearer": []}]
    example = predict["requestBody"]["content"]["application/json"]["example"]
    assert shared_client.post("/predict", json=example, headers=key()).status_code == 200


def test_the_docs_page_is_html_listing_the_fields(shared_client: InProcessApp) -> None:
    response = shared_client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.startswith("<!doctype html>")
    assert f"<title>k8s-mlserve: {MODEL_NAME}</title>" in page
    assert '<div id="swagger-ui"></div>' in page
    for field in ("x", "count", "colour"):
        assert f"<td><code>{field}</code></td>" in page


# -- /admin/reload ---------------------------------------------------------------------------


def test_reload_of_the_served_version_changes_nothing(client: InProcessApp) -> None:
    response = client.post("/admin/reload", headers=key())
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["message"]) == (True, "already serving version v1")
    last = client.get("/version").json()["last_reload"]
    assert (last["ok"], last["message"], last["at"]) == (True, body["message"], body["at"])


def test_reload_swaps_in_the_source_s_new_version(
    client_factory: ClientFactory, toy_bundle: Bundle, toy_bundle_v2: Bundle
) -> None:
    source = FakeSource(toy_bundle)
    client = client_factory(source)
    source.bundle = toy_bundle_v2
    response = client.post("/admin/reload", headers=key())
    assert response.status_code == 200
    assert response.json()["message"] == "now serving version v2"
    assert client.get("/version").json()["version"] == "v2"
    assert client.post("/predict", json=ROW, headers=key()).json()["model_version"] == "v2"


def test_a_failed_reload_is_409_and_keeps_the_model(
    client_factory: ClientFactory, toy_bundle: Bundle
) -> None:
    source = FakeSource(toy_bundle)
    client = client_factory(source)
    source.error = ModelSourceError("the registry is down")
    response = client.post("/admin/reload", headers=key())
    assert response.status_code == 409
    body = response.json()
    assert (body["ok"], body["message"]) == (False, "fake source: the registry is down")
    assert client.post("/predict", json=ROW, headers=key()).json()["model_version"] == "v1"
    assert client.get("/version").json()["last_reload"]["ok"] is False
