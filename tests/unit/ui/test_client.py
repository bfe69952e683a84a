"""``ApiClient``: answers and failures of a real app as sentences, never an exception."""

from __future__ import annotations

import httpx
import pytest

from k8s_mlserve.ui.client import ApiClient

from ..toy_model import ROW, FakeSource
from .conftest import ClientFactory


def test_a_prediction_comes_back_with_the_model_version(connect: ClientFactory) -> None:
    reply = connect().predict(ROW)
    assert reply.ok
    assert reply.message == ""
    assert reply.body["label"] in {"yes", "no"}
    assert reply.body["model_version"] == "v1"


@pytest.mark.parametrize("key", ["wrong-key", None])
def test_a_wrong_or_missing_key_says_the_key_was_refused(
    connect: ClientFactory, key: str | None
) -> None:
    reply = connect(api_key=key).predict(ROW)
    assert reply.status == 401
    assert not reply.ok
    assert "refused the prediction" in reply.message
    assert "missing or invalid API key" in reply.message
    assert "Check the API key" in reply.message


def test_invalid_input_names_the_field_and_what_is_wrong(connect: ClientFactory) -> None:
    reply = connect().predict({**ROW, "colour": "purple"})
    assert reply.status == 422
    assert "did not accept the input" in reply.message
    assert "colour: value 'purple' was never seen in training" in reply.message
    assert reply.details[0]["field"] == "colour"


def test_no_model_yet_says_to_try_again(connect: ClientFactory) -> None:
    source = FakeSource(None)
    source.error = RuntimeError("the registry is empty")
    reply = connect(source=source).predict(ROW)
    assert reply.status == 503
    assert "no model ready yet" in reply.message
    assert "Try again" in reply.message


def test_the_drift_report_needs_the_right_token(connect: ClientFactory) -> None:
    good = connect().drift()
    assert good.ok
    assert "verdict" in good.body
    assert "histograms" not in good.body
    drawn = connect().drift(histograms=True)
    assert [h["name"] for h in drawn.body["histograms"]] == ["x", "count", "colour"]
    wrong = connect(monitoring_token="not-the-token").drift()
    assert wrong.status == 401
    assert "refused the drift report" in wrong.message
    assert not connect(monitoring_token=None).can_watch_drift


def test_service_information_and_probes(connect: ClientFactory) -> None:
    client = connect()
    assert client.info().body["auth"] == "enabled"
    assert client.version().body["name"] == "toy-model"
    assert client.health().ok
    assert client.ready().ok


def _failing(error: Exception) -> ApiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return ApiClient("http://nowhere:8000/", transport=httpx.MockTransport(handler))


def test_an_unreachable_server_is_a_sentence_naming_its_address() -> None:
    reply = _failing(httpx.ConnectError("connection refused")).health()
    assert reply.status is None
    assert not reply.ok
    assert reply.message.startswith("Cannot reach the server at http://nowhere:8000 ")
    assert "connection refused" in reply.message


def test_a_timeout_is_a_sentence() -> None:
    reply = _failing(httpx.ReadTimeout("slow")).predict(ROW)
    assert reply.status is None
    assert (
        reply.message == "The server at http://nowhere:8000 did not answer the prediction in time."
    )


def test_an_error_that_is_not_json_shows_its_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad Gateway from the proxy")

    reply = ApiClient("http://proxy", transport=httpx.MockTransport(handler)).version()
    assert reply.status == 502
    assert reply.message == (
        "The server answered 502 to the model version: Bad Gateway from the proxy"
    )
