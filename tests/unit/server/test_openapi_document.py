"""The OpenAPI document against the app: every route, parameter and answered status is described.

The routes are those ``create_app`` really builds; the statuses are those the server really
answers (sent here, failures included), and each answered JSON body matches the schema the
document gives for that status.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.routing import Route

from k8s_mlserve.errors import ModelSourceError
from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.server import create_app
from k8s_mlserve.server.docs_page import ASSETS, render_docs
from k8s_mlserve.server.openapi import build_openapi
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import MODEL_NAME, ROW, ROWS, FakeSource
from .conftest import ClientFactory, key, make_settings, monitoring

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
V2_INFER = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [0.5]}]}


@pytest.fixture(scope="module")
def document(shared_client: InProcessApp) -> dict[str, Any]:
    response = shared_client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def app_routes(toy_bundle: Bundle) -> list[tuple[str, str, Route]]:
    """(path template, lower-case method, route) for every route of the real app (no HEAD)."""
    app = create_app(make_settings(), sources=[FakeSource(toy_bundle)])
    found = []
    for route in app.routes:
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((route.path, method.lower(), route))
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def answered(
    client: InProcessApp,
    document: dict[str, Any],
    method: str,
    template: str,
    url: str | None = None,
    expected: int | None = None,
    **kwargs: Any,
) -> int:
    """Send the request; its status must be documented and its JSON body match the schema."""
    response = client.request(method.upper(), url or template, **kwargs)
    status = response.status_code
    if expected is not None:
        assert status == expected, (method, url or template, status, response.text)
    responses = document["paths"][template][method]["responses"]
    assert str(status) in responses, (method, template, status, sorted(responses))
    content = responses[str(status)].get("content", {})
    if "application/json" in content:
        schema = content["application/json"]["schema"]
        validator = Draft202012Validator({"components": document["components"], **schema})
        errors = [e.message for e in validator.iter_errors(response.json())]
        assert not errors, (method, template, status, errors, response.text)
    else:
        media = response.headers["content-type"].split(";")[0]
        assert media in content, (method, template, media, sorted(content))
    return status


# -- structure -------------------------------------------------------------------------------


def test_every_route_of_the_app_is_documented_with_its_method(
    document: dict[str, Any], toy_bundle: Bundle
) -> None:
    served = {(path, method) for path, method, _ in app_routes(toy_bundle)}
    documented = {(path, method) for path, method, _ in operations(document)}
    assert served - documented == set(), "routes missing from the document"
    assert documented - served == set(), "documented operations the app does not serve"


def test_path_parameters_are_declared_for_templated_paths(
    document: dict[str, Any], toy_bundle: Bundle
) -> None:
    for path, method, route in app_routes(toy_bundle):
        op = document["paths"][path][method]
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(route.param_convertors), (path, method)
        assert declared == set(re.findall(r"{(\w+)}", path))
        for parameter in op.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["type"] == "string"
                assert parameter["required"] is True


def test_every_operation_has_a_unique_operation_id(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(isinstance(i, str) and i for i in ids)


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    # openapi_spec_validator is not a dependency: the structure is checked here by hand, and
    # every schema against the JSON Schema 2020-12 metaschema (OpenAPI 3.1's dialect).
    assert document["openapi"] == "3.1.0"
    assert {"title", "version"} <= set(document["info"])
    schemes = document["components"]["securitySchemes"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        walk(schema)
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
    for path, method, op in operations(document):
        assert path.startswith("/")
        assert op["responses"], (path, method)
        for status, answer in op["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", status), (path, method, status)
            assert isinstance(answer["description"], str)
            for media in answer.get("content", {}).values():
                Draft202012Validator.check_schema(media["schema"])
                walk(media["schema"])
        for requirement in op.get("security", []):
            assert set(requirement) <= set(schemes)
        body = op.get("requestBody")
        if body is not None:
            assert method in {"post", "put", "patch"}
            for media in body["content"].values():
                walk(media["schema"])
        names = [(p["name"], p["in"]) for p in op.get("parameters", [])]
        assert len(names) == len(set(names))
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], ref


def test_the_examples_are_valid_requests(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        for media in op.get("requestBody", {}).get("content", {}).values():
            if "example" in media:
                validator = Draft202012Validator(
                    {"components": document["components"], **media["schema"]}
                )
                assert not list(validator.iter_errors(media["example"])), (path, method)


def test_the_document_without_a_model_and_without_auth_still_renders() -> None:
    document = build_openapi(None, title="t", auth_enabled=False, monitoring_enabled=False)
    predict = document["paths"]["/predict"]["post"]
    assert predict["security"] == []
    assert "401" not in predict["responses"]
    assert "401" not in document["paths"]["/metrics"]["get"]["responses"]
    assert "<h1>" in render_docs(document, base_url="http://h")


# -- statuses really answered ----------------------------------------------------------------


def test_successful_answers_are_documented(
    shared_client: InProcessApp, document: dict[str, Any]
) -> None:
    c, d = shared_client, document
    model = f"/v2/models/{MODEL_NAME}"
    versioned = f"{model}/versions/v1"
    for template in ("/", "/version", "/health", "/ready", "/startup", "/openapi.json", "/docs"):
        answered(c, d, "get", template, expected=200)
    for name in ASSETS:
        answered(c, d, "get", "/docs/static/{name}", f"/docs/static/{name}", 200)
    answered(c, d, "get", "/metrics", expected=200, headers=monitoring())
    answered(c, d, "get", "/drift", expected=200, headers=monitoring())
    answered(c, d, "get", "/drift", "/drift?histograms=true", 200, headers=monitoring())
    answered(c, d, "post", "/predict", expected=200, json=ROW, headers=key())
    answered(c, d, "post", "/predict", expected=200, json={"instances": ROWS}, headers=key())
    answered(c, d, "get", "/v1/models", expected=200)
    answered(c, d, "get", "/v1/models/{name}", f"/v1/models/{MODEL_NAME}", 200)
    v1 = {"instances": [ROW, [0.1, 7, "green"]]}
    url = f"/v1/models/{MODEL_NAME}:predict"
    answered(c, d, "post", "/v1/models/{name}:predict", url, 200, json=v1, headers=key())
    for template in ("/v2", "/v2/health/live", "/v2/health/ready"):
        answered(c, d, "get", template, expected=200)
    for template, url in (
        ("/v2/models/{name}", model),
        ("/v2/models/{name}/versions/{version}", versioned),
    ):
        answered(c, d, "get", template, url, 200)
        answered(c, d, "get", template + "/ready", url + "/ready", 200)
        columns = {
            "inputs": [
                {"name": "x", "shape": [2], "datatype": "FP64", "data": [0.5, 2.0]},
                {"name": "count", "shape": [2], "datatype": "INT64", "data": [3, 5]},
                {"name": "colour", "shape": [2], "datatype": "BYTES", "data": ["red", "blue"]},
            ]
        }
        answered(
            c, d, "post", template + "/infer", url + "/infer", 200, json=columns, headers=key()
        )


def test_guarded_routes_document_their_401(
    shared_client: InProcessApp, document: dict[str, Any]
) -> None:
    c, d = shared_client, document
    answered(c, d, "post", "/predict", expected=401, json=ROW)
    answered(c, d, "post", "/admin/reload", expected=401)
    answered(c, d, "get", "/metrics", expected=401)
    answered(c, d, "get", "/drift", expected=401)
    v1 = f"/v1/models/{MODEL_NAME}:predict"
    answered(c, d, "post", "/v1/models/{name}:predict", v1, 401, json={"instances": [ROW]})
    v2 = f"/v2/models/{MODEL_NAME}"
    answered(c, d, "post", "/v2/models/{name}/infer", v2 + "/infer", 401, json=V2_INFER)
    answered(
        c,
        d,
        "post",
        "/v2/models/{name}/versions/{version}/infer",
        v2 + "/versions/v1/infer",
        401,
        json=V2_INFER,
    )


def test_unknown_models_and_versions_document_their_404(
    shared_client: InProcessApp, document: dict[str, Any]
) -> None:
    c, d = shared_client, document
    h = key()
    answered(c, d, "get", "/v1/models/{name}", "/v1/models/nope", 404)
    answered(c, d, "post", "/v1/models/{name}:predict", "/v1/models/nope:predict", 404, headers=h)
    answered(c, d, "get", "/docs/static/{name}", "/docs/static/index.html", 404)
    for template, url in (
        ("/v2/models/{name}", "/v2/models/nope"),
        ("/v2/models/{name}/versions/{version}", f"/v2/models/{MODEL_NAME}/versions/v9"),
        ("/v2/models/{name}/versions/{version}", "/v2/models/nope/versions/v1"),
    ):
        answered(c, d, "get", template, url, 404)
        answered(c, d, "get", template + "/ready", url + "/ready", 404)
        answered(c, d, "post", template + "/infer", url + "/infer", 404, json=V2_INFER, headers=h)


def test_bad_bodies_document_their_400_and_422(
    shared_client: InProcessApp, document: dict[str, Any]
) -> None:
    c, d = shared_client, document
    h = {**key(), "Content-Type": "application/json"}
    bad_row = {**ROW, "x": "not a number"}
    v1 = f"/v1/models/{MODEL_NAME}:predict"
    v2 = f"/v2/models/{MODEL_NAME}/infer"
    answered(c, d, "post", "/predict", expected=400, content=b"{not json", headers=h)
    answered(c, d, "post", "/predict", expected=422, json=bad_row, headers=h)
    answered(c, d, "post", "/predict", expected=422, json={"instances": []}, headers=h)
    answered(c, d, "post", "/v1/models/{name}:predict", v1, 400, content=b"[", headers=h)
    answered(c, d, "post", "/v1/models/{name}:predict", v1, 400, json={"rows": []}, headers=h)
    answered(
        c, d, "post", "/v1/models/{name}:predict", v1, 422, json={"instances": [bad_row]}, headers=h
    )
    answered(c, d, "post", "/v2/models/{name}/infer", v2, 400, content=b"{", headers=h)
    answered(c, d, "post", "/v2/models/{name}/infer", v2, 400, json={"inputs": 1}, headers=h)
    unseen = {
        "inputs": [
            {"name": "x", "shape": [1], "datatype": "FP64", "data": [0.5]},
            {"name": "count", "shape": [1], "datatype": "INT64", "data": [3]},
            {"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["purple"]},
        ]
    }
    answered(c, d, "post", "/v2/models/{name}/infer", v2, 422, json=unseen, headers=h)


def test_over_the_limits_documents_413(
    client_factory: ClientFactory, toy_bundle: Bundle, document: dict[str, Any]
) -> None:
    c = client_factory(FakeSource(toy_bundle), server={"max_instances": 2})
    d = document
    h = key()
    answered(c, d, "post", "/predict", expected=413, json={"instances": ROWS}, headers=h)
    v1 = f"/v1/models/{MODEL_NAME}:predict"
    answered(
        c, d, "post", "/v1/models/{name}:predict", v1, 413, json={"instances": ROWS}, headers=h
    )
    v2 = f"/v2/models/{MODEL_NAME}/infer"
    three = {"inputs": [{"name": "x", "shape": [3], "datatype": "FP64", "data": [1, 2, 3]}]}
    three["inputs"] += [
        {"name": "count", "shape": [3], "datatype": "INT64", "data": [1, 2, 3]},
        {"name": "colour", "shape": [3], "datatype": "BYTES", "data": ["red"] * 3},
    ]
    answered(c, d, "post", "/v2/models/{name}/infer", v2, 413, json=three, headers=h)
    big = b"[" + b" " * 2_000_000 + b"]"
    answered(c, d, "post", "/predict", expected=413, content=big, headers=h)


def test_a_failed_reload_documents_its_409(
    client_factory: ClientFactory, toy_bundle: Bundle, document: dict[str, Any]
) -> None:
    source = FakeSource(toy_bundle)
    client = client_factory(source)
    source.error = ModelSourceError("the registry is down")
    answered(client, document, "post", "/admin/reload", expected=409, headers=key())
    source.error = None
    answered(client, document, "post", "/admin/reload", expected=200, headers=key())


def test_without_a_model_the_503s_are_documented(
    client_factory: ClientFactory, toy_bundle: Bundle
) -> None:
    source = FakeSource(toy_bundle)
    source.error = ModelSourceError("the registry is down")
    c = client_factory(source, wait=False)
    d: dict[str, Any] = c.get("/openapi.json").json()
    h = key()
    answered(c, d, "get", "/version", expected=503)
    answered(c, d, "get", "/ready", expected=503)
    answered(c, d, "get", "/startup")
    answered(c, d, "get", "/health", expected=200)
    answered(c, d, "get", "/drift", expected=503, headers=monitoring())
    answered(c, d, "post", "/predict", expected=503, json=ROW, headers=h)
    answered(c, d, "post", "/admin/reload", headers=h)
    answered(c, d, "get", "/v1/models", expected=200)
    v1 = f"/v1/models/{MODEL_NAME}"
    answered(c, d, "get", "/v1/models/{name}", v1, 503)
    answered(c, d, "post", "/v1/models/{name}:predict", v1 + ":predict", 503, json={}, headers=h)
    answered(c, d, "get", "/v2/health/ready", expected=503)
    for template, url in (
        ("/v2/models/{name}", f"/v2/models/{MODEL_NAME}"),
        ("/v2/models/{name}/versions/{version}", f"/v2/models/{MODEL_NAME}/versions/v1"),
    ):
        answered(c, d, "get", template, url, 503)
        answered(c, d, "get", template + "/ready", url + "/ready", 503)
        answered(c, d, "post", template + "/infer", url + "/infer", 503, json=V2_INFER, headers=h)


def test_drift_histograms_are_documented_and_a_bad_flag_is_422(
    shared_client: InProcessApp, document: dict[str, Any]
) -> None:
    shared_client.post("/predict", json={"instances": ROWS}, headers=key())
    plain = shared_client.get("/drift", headers=monitoring()).json()
    assert "histograms" not in plain
    url = "/drift?histograms=true"
    answered(shared_client, document, "get", "/drift", url, 200, headers=monitoring())
    body = shared_client.get(url, headers=monitoring()).json()
    by_name = {h["name"]: h for h in body["histograms"]}
    assert list(by_name) == ["x", "count", "colour"]  # the reference's features, in its order
    assert sum(by_name["x"]["current"]) == body["window_size"]
    assert by_name["x"]["kind"] == "numeric"
    assert by_name["colour"]["kind"] == "categorical"
    parameters = document["paths"]["/drift"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in parameters] == [("histograms", "query")]

    url = "/drift?histograms=maybe"
    answered(shared_client, document, "get", "/drift", url, 422, headers=monitoring())
    error = shared_client.get(url, headers=monitoring()).json()["error"]
    assert error["message"] == "invalid query parameter"
    assert error["details"] == [
        {"field": "histograms", "message": "must be true or false, got 'maybe'"}
    ]


def test_disabled_drift_documents_its_404(
    client_factory: ClientFactory, toy_bundle: Bundle, document: dict[str, Any]
) -> None:
    client = client_factory(FakeSource(toy_bundle), drift={"enabled": False})
    answered(client, document, "get", "/drift", expected=404, headers=monitoring())


def test_a_wrong_method_is_405_with_allow_as_the_document_says(
    shared_client: InProcessApp, document: dict[str, Any]
) -> None:
    response = shared_client.get("/predict")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "405" in document["info"]["description"]
    assert "get" not in document["paths"]["/predict"]
