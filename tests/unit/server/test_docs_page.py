"""The /docs page: Swagger UI from files this server serves itself, public like /openapi.json."""

from __future__ import annotations

import re
import shlex

import pytest

from k8s_mlserve.errors import NotFoundError
from k8s_mlserve.server.docs_page import ASSETS, asset, curl_example, render_docs
from k8s_mlserve.server.openapi import build_openapi
from k8s_mlserve.testing.inprocess import InProcessApp

from .conftest import key

REFERENCE = re.compile(r'(?:href|src)="([^"]*)"')


def page_references(page: str) -> list[str]:
    return REFERENCE.findall(page)


def test_the_page_is_swagger_ui_over_the_served_document(shared_client: InProcessApp) -> None:
    response = shared_client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    page = response.text
    assert '<div id="swagger-ui"></div>' in page
    assert "SwaggerUIBundle({" in page
    assert 'url: "/openapi.json"' in page
    assert "validatorUrl: null" in page  # the default would call a public validator


def test_the_page_loads_nothing_from_elsewhere(shared_client: InProcessApp) -> None:
    page = shared_client.get("/docs").text
    assert not re.search(r"https?://(?!testserver/)", page), "the page must not name a CDN"
    references = page_references(page)
    assert references, "the page references its assets"
    for url in references:
        assert url.startswith("/"), url
        assert url == "/openapi.json" or url.startswith("/docs/static/"), url


def test_every_asset_the_page_references_is_served_with_cache_headers(
    shared_client: InProcessApp,
) -> None:
    page = shared_client.get("/docs").text
    assets = [url for url in page_references(page) if url.startswith("/docs/static/")]
    names = {url.removeprefix("/docs/static/").split("?")[0] for url in assets}
    assert names == set(ASSETS)
    for url in assets:
        response = shared_client.get(url)
        assert response.status_code == 200, url
        name = url.removeprefix("/docs/static/").split("?")[0]
        assert response.headers["content-type"].split(";")[0] == ASSETS[name]
        assert response.headers["cache-control"] == "public, max-age=86400"
        assert "etag" in response.headers
        assert len(response.content) > 100
    script = shared_client.get("/docs/static/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in script


def test_the_page_and_its_assets_need_no_key(shared_client: InProcessApp) -> None:
    # Public, like /openapi.json: the key is entered in the page (Authorize) for the calls.
    for url in ("/docs", "/openapi.json", "/docs/static/swagger-ui.css"):
        assert shared_client.get(url).status_code == 200, url
    assert shared_client.post("/predict", json={}).status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "/docs/static/index.css",  # in the package, but not one of the page's files
        "/docs/static/swagger-editor-bundle.js",
        "/docs/static/LICENSE",
        "/docs/static/%2e%2e",
        "/docs/static/..%2f__init__.py",
        "/docs/static/%2e%2e%2f%2e%2e%2fcore.py",
        "/docs/static/..%5c__init__.py",
        "/docs/static/%252e%252e%252f__init__.py",
        "/docs/static/swagger-ui.css%00.png",
        "/docs/static/",
        "/docs/static",
    ],
)
def test_anything_but_a_known_asset_is_404(shared_client: InProcessApp, url: str) -> None:
    response = shared_client.get(url)
    assert response.status_code == 404, (url, response.text[:200])
    assert response.json()["error"]["status"] == 404


def test_asset_refuses_unknown_names_naming_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"'\.\./core\.py'; known: swagger-ui\.css"):
        asset("../core.py")
    path, media = asset("swagger-ui.css")
    assert path.name == "swagger-ui.css"
    assert media == "text/css"


def test_the_openapi_document_declares_the_key_the_authorize_button_asks_for(
    shared_client: InProcessApp,
) -> None:
    document = shared_client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, method in (
        ("/predict", "post"),
        ("/admin/reload", "post"),
        ("/v1/models/{name}:predict", "post"),
        ("/v2/models/{name}/infer", "post"),
    ):
        assert {"apiKey": []} in document["paths"][path][method]["security"], path
    assert "security" not in document["paths"]["/docs"]["get"]


def test_the_curl_example_expands_the_key_and_sends_a_valid_row(
    shared_client: InProcessApp,
) -> None:
    document = shared_client.get("/openapi.json").json()
    command = curl_example(document, "http://localhost:8080/")
    assert '-H "X-API-Key: $API_KEY"' in command  # double quotes: the shell expands the key
    words = shlex.split(command)
    assert words[:4] == ["curl", "-X", "POST", "http://localhost:8080/predict"]
    body = words[words.index("-d") + 1]
    headers = {**key(), "Content-Type": "application/json"}
    response = shared_client.post("/predict", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["label"] in {"yes", "no"}


def test_without_a_key_the_curl_example_sends_none() -> None:
    document = build_openapi(None, title="t", auth_enabled=False, monitoring_enabled=False)
    assert "X-API-Key" not in curl_example(document, "http://h")
    page = render_docs(document, base_url="http://h")
    assert "<noscript>" in page
    assert "curl -X POST http://h/predict" in page


def test_the_no_script_summary_lists_the_input_fields(shared_client: InProcessApp) -> None:
    page = shared_client.get("/docs").text
    summary = page[page.index("<noscript>") : page.index("</noscript>")]
    for field in ("x", "count", "colour"):
        assert f"<td><code>{field}</code></td>" in summary
    assert "curl -X POST http://testserver/predict" in summary
    assert "&quot;X-API-Key: $API_KEY&quot;" in summary
