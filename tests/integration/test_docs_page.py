"""The /docs page in a real browser: Swagger UI over a real server, authorized with an API key.

Headless Chromium driven by Selenium through Debian's chromedriver (``apt-get install chromium
chromium-driver``); without them the browser test skips, naming what is missing, except under
``CI=true``, where it fails (``tests/browser.py``). A screenshot of
the page is saved in the test's temporary directory and its path printed.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_mlserve.testing import ServerProcess

from ..browser import headless_chromium, missing_tool
from .conftest import API_KEYS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IRIS_LABELS = {"setosa", "versicolor", "virginica"}
WAIT = 60.0  # seconds for the page to render or answer; a bound, not a measurement


@pytest.fixture(scope="module")
def server(registries: dict[str, Path], secrets_dir: Path) -> Iterator[ServerProcess]:
    """The iris example served with the API keys of ``secrets_dir``."""
    env = {"MLSERVE_MODEL__PATH": str(registries["iris"])}
    with ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as process:
        yield process


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium, tall enough for the operation's response."""
    with headless_chromium(tmp_path / "profile", purpose="open /docs", height=2400) as driver:
        yield driver


def test_swagger_ui_authorizes_and_predicts_in_a_browser(
    server: ServerProcess, browser: Any, tmp_path: Path
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    shot = tmp_path / "docs.png"
    print(f"screenshot of /docs: {shot}")
    # The page redraws elements as it loads: one found a moment ago may be gone; look again.
    wait = WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,))

    def visible(selector: str, root: Any = None) -> Any:
        if root is None:
            return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, selector)))
        return wait.until(lambda _: root.find_element(By.CSS_SELECTOR, selector))

    try:
        browser.get(f"{server.url}/docs")
        predict = visible("#operations-default-predict")
        operations = browser.find_elements(By.CSS_SELECTOR, ".opblock")
        assert len(operations) > 10, f"the operation list is not rendered; see {shot}"

        visible("button.authorize").click()
        dialog = visible(".modal-ux")
        section = next(
            box
            for box in dialog.find_elements(By.CSS_SELECTOR, ".auth-container")
            if "X-API-Key" in box.text
        )
        section.find_element(By.CSS_SELECTOR, "input").send_keys(API_KEYS[0])
        section.find_element(By.CSS_SELECTOR, "button.authorize").click()
        wait.until(lambda _: "Logout" in section.text)
        dialog.find_element(By.CSS_SELECTOR, "button.btn-done").click()

        predict.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        visible(".try-out__btn", predict).click()
        visible("button.execute", predict).click()
        status = visible(".live-responses-table tr.response .response-col_status", predict)
        wait.until(lambda _: status.text.strip())
        body_box = predict.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight")
        body_text = body_box.text
        assert status.text.strip() == "200", f"{status.text!r}: {body_text}; see {shot}"
        body = json.loads(body_text)
        assert body["label"] in IRIS_LABELS, f"{body}; see {shot}"
        assert body["model_version"] == "v1"

        loaded = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        elsewhere = [url for url in loaded if not url.startswith(server.url + "/")]
        assert loaded
        assert not elsewhere, f"the page loaded files from elsewhere: {elsewhere}; see {shot}"
    finally:
        browser.save_screenshot(str(shot))


def _raw_get(server: ServerProcess, target: str) -> int:
    """GET ``target`` exactly as written (no client normalises its dot segments)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", target)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "target",
    [
        "/docs/static/../../openapi.json",
        "/docs/static/../static/swagger-ui.css",
        "/docs/static/..",
        "/docs/static/%2e%2e/%2e%2e/pyproject.toml",
        "/docs/static/..%2f..%2f__init__.py",
        "/docs/static/%2e%2e%2fcore.py",
        "/docs/static/..%5c..%5c__init__.py",
        "/docs/static//etc/passwd",
        "/docs/static/index.css",
    ],
)
def test_paths_out_of_the_assets_are_404_over_real_http(server: ServerProcess, target: str) -> None:
    assert _raw_get(server, target) == 404


def test_the_page_assets_are_served_over_real_http(server: ServerProcess) -> None:
    page = server.client.get("/docs").text
    urls = re.findall(r'(?:href|src)="(/docs/static/[^"]+)"', page)
    assert urls
    for url in urls:
        response = server.client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=86400"


def _paste(command: str) -> dict[str, Any]:
    """Run a curl command in a shell with the key in ``$API_KEY``, as a reader would."""
    if shutil.which("curl") is None:
        missing_tool("curl not found on PATH to run the example")
    result = subprocess.run(
        ["sh", "-c", command + " -sS --fail-with-body"],
        env={**os.environ, "API_KEY": API_KEYS[0]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (command, result.stdout, result.stderr)
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_the_curl_example_on_the_page_works_when_pasted(server: ServerProcess) -> None:
    page = server.client.get("/docs").text
    found = re.search(r"<pre>(curl .*?)</pre>", page, re.DOTALL)
    assert found, "the page shows a curl example"
    assert _paste(html.unescape(found.group(1)))["label"] in IRIS_LABELS


def test_the_curl_example_of_the_docs_works_when_pasted(server: ServerProcess) -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    section = text[text.index("## The API page") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block
    lines = [line for line in block.group(1).splitlines() if not line.startswith("export ")]
    command = "\n".join(lines).replace("http://localhost:8000", server.url)
    assert _paste(command)["label"] in IRIS_LABELS
