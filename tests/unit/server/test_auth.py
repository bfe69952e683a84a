"""API keys and the monitoring token: which header carries them, and which routes need which."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from starlette.requests import Request

from k8s_mlserve.model.bundle import Bundle
from k8s_mlserve.server.auth import KeyChecker
from k8s_mlserve.server.routes import AUTH_OFF_WARNING
from k8s_mlserve.testing.inprocess import InProcessApp

from ..toy_model import ROW, FakeSource
from .conftest import API_KEY, MONITORING_TOKEN, ClientFactory, key, monitoring

KEYS = KeyChecker([SecretStr("key-one"), SecretStr("key-two")])
PROBES = ("/health", "/ready", "/startup", "/v2/health/live", "/v2/health/ready")


def request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


# -- KeyChecker ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "key-one"},
        {"X-API-Key": "key-two"},
        {"X-API-Key": "  key-two "},
        {"Authorization": "Bearer key-one"},
        {"Authorization": "bearer key-two"},
        {"Authorization": "Bearer   key-one  "},
        # Both headers: an API key for one guard and a token for the other; either may match.
        {"X-API-Key": "some-api-key", "Authorization": "Bearer key-two"},
        {"X-API-Key": "key-one", "Authorization": "Bearer some-token"},
    ],
)
def test_any_configured_key_is_accepted_in_either_header(headers: dict[str, str]) -> None:
    assert KEYS.allows(request(headers))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "key-three"},
        {"X-API-Key": "key-"},
        {"X-API-Key": "key-one-and-more"},
        {"Authorization": "Basic key-one"},
        {"Authorization": "key-one"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"X-API-Key": "some-api-key", "Authorization": "Bearer some-token"},
    ],
)
def test_anything_else_is_refused(headers: dict[str, str]) -> None:
    assert not KEYS.allows(request(headers))


def test_without_keys_the_checker_is_off_and_allows_everyone() -> None:
    off = KeyChecker([])
    assert not off.enabled
    assert off.allows(request({}))
    assert KEYS.enabled


# -- the guards on the routes ----------------------------------------------------------------


def test_predict_and_reload_need_an_api_key(shared_client: InProcessApp) -> None:
    for route, body in (("/predict", ROW), ("/admin/reload", None)):
        for headers in ({}, {"X-API-Key": "wrong"}, monitoring()):
            response = shared_client.post(route, json=body, headers=headers)
            assert response.status_code == 401, (route, headers)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["error"]["message"] == "missing or invalid API key"
        assert shared_client.post(route, json=body, headers=key()).status_code == 200, route
        bearer = {"Authorization": f"Bearer {API_KEY}"}
        assert shared_client.post(route, json=body, headers=bearer).status_code == 200, route


def test_metrics_and_drift_need_the_monitoring_token(shared_client: InProcessApp) -> None:
    for route in ("/metrics", "/drift"):
        for headers in ({}, key(), {"Authorization": "Bearer wrong"}):
            response = shared_client.get(route, headers=headers)
            assert response.status_code == 401, (route, headers)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["error"]["message"] == "missing or invalid monitoring token"
        assert shared_client.get(route, headers=monitoring()).status_code == 200, route
        assert shared_client.get(route, headers={"X-API-Key": MONITORING_TOKEN}).status_code == 200


def test_probes_never_need_a_key(shared_client: InProcessApp) -> None:
    for route in PROBES:
        assert shared_client.get(route).status_code == 200, route


def test_the_service_information_says_auth_is_enabled(shared_client: InProcessApp) -> None:
    assert shared_client.get("/").json()["auth"] == "enabled"


def test_without_keys_or_token_every_route_is_open_and_says_so(
    client_factory: ClientFactory, toy_bundle: Bundle
) -> None:
    client = client_factory(FakeSource(toy_bundle), auth={"api_keys": [], "monitoring_token": None})
    assert client.post("/predict", json=ROW).status_code == 200
    assert client.post("/admin/reload").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/drift").status_code == 200
    info = client.get("/").json()
    assert info["auth"] == AUTH_OFF_WARNING
    assert "authentication is OFF" in info["auth"]


def test_a_scraper_sending_an_api_key_and_the_token_reads_the_metrics(
    shared_client: InProcessApp,
) -> None:
    both = {**key(), **monitoring()}
    assert shared_client.get("/metrics", headers=both).status_code == 200
    assert shared_client.get("/metrics", headers=key()).status_code == 401
    assert shared_client.post("/predict", json=ROW, headers=both).status_code == 200


def test_the_api_keys_and_the_monitoring_token_are_independent(
    client_factory: ClientFactory, toy_bundle: Bundle
) -> None:
    client = client_factory(FakeSource(toy_bundle), auth={"api_keys": []})
    assert client.post("/predict", json=ROW).status_code == 200
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=monitoring()).status_code == 200
