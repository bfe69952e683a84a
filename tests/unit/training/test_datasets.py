"""Reading training datasets: a download that fails says how to train without the network."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from k8s_mlserve.errors import DatasetError
from k8s_mlserve.training.datasets import DATA_DIR_ENV, download

URL = "https://example.invalid/datasets/telco-customer-churn-by-IBM.csv"


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("network is unreachable", request=request)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("K8S_MLSERVE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_an_offline_download_names_data_and_the_data_dir_variable(cache: Path) -> None:
    transport = httpx.MockTransport(_unreachable)
    with pytest.raises(DatasetError) as caught:
        download(URL, filename="telco-customer-churn.csv", transport=transport)
    message = str(caught.value)
    assert f"cannot download {URL}: network is unreachable" in message
    assert "--data PATH" in message
    assert DATA_DIR_ENV in message
    # The name the data directory must hold, not the URL's.
    assert "save it as telco-customer-churn.csv in a directory" in message
    assert list((cache / "datasets").iterdir()) == []  # no partial file left behind


def test_a_refused_download_falls_back_to_the_url_file_name() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(404, request=request))
    with pytest.raises(DatasetError, match="404") as caught:
        download("https://example.invalid/diabetes.csv", transport=transport)
    assert "save it as diabetes.csv" in str(caught.value)
    assert DATA_DIR_ENV in str(caught.value)


def test_a_download_is_cached(cache: Path) -> None:
    calls: list[httpx.Request] = []

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=b"a,b\n1,2\n")

    first = download(URL, transport=httpx.MockTransport(serve))
    again = download(URL, transport=httpx.MockTransport(_unreachable))
    assert first == again
    assert first.read_bytes() == b"a,b\n1,2\n"
    assert len(calls) == 1
