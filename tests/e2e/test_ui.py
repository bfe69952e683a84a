"""The diabetes example's web page on a real cluster: its Service answers Streamlit's health route
and serves the page, its pods run locked down and reach the API Service (through the API's
NetworkPolicy where policies are enforced), and a prediction made in a browser comes back from the
model.

The stack is the session's diabetes stack, shared with ``test_examples`` (without its MLflow
stack, one API pod). The server image must include the ``ui`` extra
(``K8S_MLSERVE_IMAGE_EXTRAS='[mlflow,ui]'``). The browser test needs Debian's ``chromium`` and
``chromium-driver`` and skips without them, naming what is missing (fails under ``CI=true``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from k8s_mlserve.testing.stack import DeployedStack

from ..browser import headless_chromium
from .helpers import SERVER_UID, fetch_in_pod, run_in_pod

UI_SELECTOR = "app.kubernetes.io/component=ui"
WAIT = 90.0  # seconds for the page to render or answer; a bound, not a measurement


@pytest.fixture(scope="module")
def stack(diabetes_stack: DeployedStack) -> DeployedStack:
    """The session's diabetes stack (conftest.DIABETES), which test_examples reads too."""
    assert diabetes_stack.spec.serves_ui, "the diabetes example no longer enables ui"
    return diabetes_stack


@pytest.fixture(scope="module")
def page(stack: DeployedStack) -> Iterator[str]:
    """The page's Service, port-forwarded: its local base URL."""
    with stack.port_forward(f"{stack.name}-ui", 80) as forward:
        yield forward.url


def _ui_pod(stack: DeployedStack) -> str:
    pods = stack.cluster.pods(stack.namespace, UI_SELECTOR)
    assert pods, stack.diagnostics()
    return str(pods[0]["metadata"]["name"])


def test_the_page_is_healthy_and_served_through_its_service(page: str) -> None:
    health = httpx.get(f"{page}/_stcore/health", timeout=30.0)
    assert health.status_code == 200, health.text
    assert health.text == "ok"
    index = httpx.get(f"{page}/", timeout=30.0)
    assert index.status_code == 200
    assert "text/html" in index.headers["content-type"]
    assert '<div id="root">' in index.text


def test_the_page_runs_as_the_server_user_on_a_read_only_root(stack: DeployedStack) -> None:
    pod = _ui_pod(stack)

    def run(*command: str) -> tuple[int, str]:
        result = run_in_pod(stack.cluster, stack.namespace, pod, *command)
        return result.returncode, (result.stdout + result.stderr).strip()

    assert run("id", "-u") == (0, str(SERVER_UID))
    code, output = run("touch", "/written-by-e2e")
    assert code != 0, "writing to / succeeded"
    assert "Read-only file system" in output, output
    # Streamlit's home and temporary files, and the Secret the API reads its keys from
    assert run("touch", "/tmp/written-by-e2e") == (0, "")
    code, output = run("ls", "/etc/k8s-mlserve/secrets")
    assert (code, sorted(output.split())) == (0, ["auth__api_keys", "auth__monitoring_token"])


def test_the_page_reaches_the_api_service_it_is_given(stack: DeployedStack) -> None:
    # On a cluster enforcing NetworkPolicies, through the API's policy, which admits the page.
    url = f"http://{stack.name}:{stack.spec.service.port}/ready"
    answer = fetch_in_pod(stack.cluster, stack.namespace, _ui_pod(stack), url, timeout=10.0)
    assert answer.status == 200, answer


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with headless_chromium(tmp_path / "profile", purpose="open the page in a browser") as driver:
        yield driver


def test_a_prediction_made_in_a_browser(page: str, browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    shot = tmp_path / "ui.png"
    print(f"screenshot of the page: {shot}")
    # The page redraws elements as it loads: one found a moment ago may be gone; look again.
    wait = WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,))
    try:
        browser.get(f"{page}/")
        # The sidebar says the API answered the page's readiness check, with the key it read.
        wait.until(lambda b: "Ready: yes" in b.find_element(By.TAG_NAME, "body").text)
        submit = wait.until(
            ec.element_to_be_clickable(
                (By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button')
            )
        )
        submit.click()
        answer = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".st-key-answer")))
        wait.until(lambda _: "Answered by model version" in answer.text)
        assert "Prediction" in answer.text, answer.text
        assert "Risk level" in answer.text, answer.text
    finally:
        browser.save_screenshot(str(shot))
