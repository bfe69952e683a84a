"""``k8s-mlserve ui`` in a real browser, over a real server of each example.

The page runs as the command runs it (``k8s-mlserve ui --url ... --secrets-dir ...``), with a
home directory of its own. Headless Chromium is driven by Selenium through Debian's chromedriver
(``apt-get install chromium chromium-driver``); without them, or without Streamlit (the ``ui``
extra), the tests skip naming what is missing, and fail instead under ``CI=true``. Each test saves
a screenshot in its temporary directory and prints its path.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from k8s_mlserve.model.schema import NumericFeature
from k8s_mlserve.testing import ServerProcess, StopWaiting, free_port, wait_for
from k8s_mlserve.testing.payloads import schema_from_openapi

from ..browser import headless_chromium, missing_tool
from .conftest import API_KEYS, MONITORING_TOKEN

pytestmark = pytest.mark.integration

WAIT = 60.0  # seconds for the page to render or answer; a bound, not a measurement
EXAMPLES = ("iris", "diabetes", "churn")


def _require_streamlit() -> None:
    if importlib.util.find_spec("streamlit") is None:
        missing_tool("Streamlit not installed (pip install 'k8s-mlserve[ui]')")


class Page:
    """``k8s-mlserve ui`` in a subprocess on a free port, ready once Streamlit's health answers."""

    def __init__(self, *args: str, home: Path, base_path: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{base_path}"
        if base_path:
            args = (*args, "--base-path", base_path)
        self._args = args
        self._home = home
        self._log = home.with_name(home.name + ".log")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Page:
        self._home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLSERVE_")}
        env["HOME"] = str(self._home)
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "k8s_mlserve", "ui", *self._args, "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._healthy, timeout=WAIT, what=f"the page on port {self.port}")
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise StopWaiting(AssertionError(f"the page exited: {self._log.read_text()}"))
        try:
            return httpx.get(f"{self.url}/_stcore/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module", params=EXAMPLES)
def served(
    request: pytest.FixtureRequest,
    registries: dict[str, Path],
    secrets_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, ServerProcess, Page]]:
    """Each example served with the API keys and monitoring token of ``secrets_dir``, and its
    page started with that directory, the way the manifests run it."""
    _require_streamlit()
    name: str = request.param
    env = {"MLSERVE_MODEL__PATH": str(registries[name])}
    with ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as server:
        home = tmp_path_factory.mktemp(f"ui-{name}")
        with Page("--url", server.url, "--secrets-dir", str(secrets_dir), home=home) as page:
            yield name, server, page


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium; downloads land in ``tmp_path / "downloads"``."""
    with headless_chromium(
        tmp_path / "profile", purpose="test the web page", downloads=tmp_path / "downloads"
    ) as driver:
        yield driver


class Driver:
    """The page as a reader uses it: by field name, button text and the page's sections."""

    def __init__(self, browser: Any, url: str) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.browser = browser
        # Streamlit redraws elements while the page runs: one found a moment ago may be gone.
        self.wait = WebDriverWait(
            browser, WAIT, ignored_exceptions=(StaleElementReferenceException,)
        )
        browser.get(url)

    def find(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.wait.until(
            lambda _: next(iter(self.browser.find_elements(By.CSS_SELECTOR, selector)), None)
        )

    def text_of(self, selector: str, contains: str) -> str:
        """The text of ``selector`` once it holds ``contains``."""
        from selenium.webdriver.common.by import By

        def holding(_: Any) -> Any:
            found = self.browser.find_elements(By.CSS_SELECTOR, selector)
            return next((e.text for e in found if contains in e.text), None)

        return str(self.wait.until(holding))

    def fill(self, name: str, value: Any) -> None:
        """Type a number, or pick a level, into the form field ``name``."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        box = self.find(f".st-key-field-{name} input")
        if self.browser.find_elements(By.CSS_SELECTOR, f".st-key-field-{name} [role='combobox']"):
            box.click()
            option = self.wait.until(
                lambda _: next(
                    (
                        o
                        for o in self.browser.find_elements(By.CSS_SELECTOR, "[role='option']")
                        if o.text == str(value)
                    ),
                    None,
                )
            )
            option.click()
            self.wait.until(lambda _: box.get_attribute("value") == str(value))
            return
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(str(value), Keys.TAB)
        # The box shows the number in the field's format (6.1 as 6.10).
        self.wait.until(lambda _: float(box.get_attribute("value") or "nan") == float(value))

    def press(self, text: str) -> None:
        from selenium.webdriver.common.by import By

        button = self.wait.until(
            lambda _: next(
                (b for b in self.browser.find_elements(By.TAG_NAME, "button") if b.text == text),
                None,
            )
        )
        button.click()

    def tab(self, name: str) -> None:
        from selenium.webdriver.common.by import By

        tab = self.wait.until(
            lambda _: next(
                (
                    t
                    for t in self.browser.find_elements(By.CSS_SELECTOR, "[role='tab']")
                    if t.text == name
                ),
                None,
            )
        )
        tab.click()
        self.wait.until(lambda _: tab.get_attribute("aria-selected") == "true")


def _example(server: ServerProcess) -> dict[str, Any]:
    document = server.client.get("/openapi.json").json()
    row: dict[str, Any] = document["paths"]["/predict"]["post"]["requestBody"]["content"][
        "application/json"
    ]["example"]
    return row


def _predict(server: ServerProcess, body: Any) -> Any:
    response = server.client.post("/predict", json=body, headers={"X-API-Key": API_KEYS[0]})
    assert response.status_code == 200, response.text
    return response.json()


def _expected_lines(answer: dict[str, Any]) -> list[str]:
    """What the page shows for an answer of ``/predict``."""
    lines = ["Prediction", str(answer["label"])]
    lines += [f"{label}: {p:.1%}" for label, p in answer["probabilities"].items()]
    if "risk_level" in answer:
        lines.append(f"Risk level: {answer['risk_level']}")
    return lines


def _predict_on_the_page(page_driver: Driver, server: ServerProcess, row: dict[str, Any]) -> None:
    """Fill the form with ``row``, press Predict, and wait for the answer ``/predict`` gives."""
    for field, value in row.items():
        page_driver.fill(field, value)
    expected = _predict(server, row)
    page_driver.press("Predict")
    wanted = _expected_lines(expected)
    version = f"Answered by model version {expected['model_version']} in "

    def shown(_: Any) -> str | None:
        text = page_driver.text_of(".st-key-answer", version)
        lines = text.splitlines()
        label_shown = lines[lines.index("Prediction") + 1] if "Prediction" in lines else None
        whole = label_shown == wanted[1] and all(line in lines for line in wanted)
        return text if whole else None

    try:
        page_driver.wait.until(shown)
    except Exception as exc:
        text = page_driver.find(".st-key-answer").text
        raise AssertionError(f"the page shows {text!r}; /predict answers {expected}") from exc


def _other_row(server: ServerProcess, example: dict[str, Any]) -> dict[str, Any]:
    """A valid row unlike the example: sampled in the training ranges, numbers with at most two
    decimals (what the form shows), missing values replaced by the example's."""
    schema = schema_from_openapi(server.client.get("/openapi.json").json())
    [sampled] = json.loads(schema.sample_frame(1, seed=7).to_json(orient="records"))
    row = {}
    for feature in schema.features:
        value = sampled[feature.name]
        if value is None:
            value = example[feature.name]
        elif isinstance(value, float) and isinstance(feature, NumericFeature):
            low, high = feature.minimum, feature.maximum
            value = round(value, 2)
            if low is not None and high is not None:
                value = min(max(value, low), high)
        row[feature.name] = value
    return row


def test_the_form_answers_what_the_api_answers(
    served: tuple[str, ServerProcess, Page], browser: Any, tmp_path: Path
) -> None:
    name, server, page = served
    shot = tmp_path / f"ui-{name}.png"
    print(f"screenshot of the page: {shot}")
    page_driver = Driver(browser, page.url)
    try:
        model = page_driver.text_of("[data-testid='stSidebar']", "version v1")
        assert "API keys: enabled" in model
        assert "Ready: yes" in model
        example = _example(server)
        _predict_on_the_page(page_driver, server, example)
        other = _other_row(server, example)
        assert other != example
        _predict_on_the_page(page_driver, server, other)
        _predict_on_the_page(page_driver, server, example)  # the screenshot shows the example
    finally:
        browser.save_screenshot(str(shot))


def _rows(server: ServerProcess, count: int) -> list[dict[str, Any]]:
    frame = schema_from_openapi(server.client.get("/openapi.json").json()).sample_frame(count)
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


def test_a_csv_with_one_bad_row_is_scored_except_that_row(
    served: tuple[str, ServerProcess, Page], browser: Any, tmp_path: Path
) -> None:
    name, server, page = served
    shot = tmp_path / f"ui-{name}-batch.png"
    print(f"screenshot of the page: {shot}")
    rows = _rows(server, 10)
    first = next(iter(rows[3]))
    rows[3][first] = "not-a-value"  # a number or a level the model never saw
    upload = tmp_path / "rows.csv"
    with upload.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    page_driver = Driver(browser, page.url)
    try:
        page_driver.tab("Batch")
        page_driver.find(".st-key-batch-file input[type='file']").send_keys(str(upload))
        result = page_driver.text_of(".st-key-batch-result", "rows scored")
        assert "9 of 10 rows scored." in result
        errors = page_driver.text_of(".st-key-batch-errors", "Row 4")
        assert errors.startswith(f"Row 4: {first}: "), errors
        assert "not-a-value" in errors

        page_driver.press("Download predictions (CSV)")
        downloaded = tmp_path / "downloads" / "predictions.csv"
        wait_for(downloaded.is_file, timeout=WAIT, what="the download")
        with downloaded.open() as file:
            scored = list(csv.DictReader(file))
        assert [int(r["row"]) for r in scored] == [1, 2, 3, 5, 6, 7, 8, 9, 10]
        good = [r for i, r in enumerate(rows) if i != 3]
        answers = _predict(server, {"instances": good})["predictions"]
        assert [r["label"] for r in scored] == [str(a["label"]) for a in answers]
    finally:
        browser.save_screenshot(str(shot))


def test_the_drift_tab_shows_the_verdict(
    served: tuple[str, ServerProcess, Page], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    name, server, page = served
    shot = tmp_path / f"ui-{name}-drift.png"
    print(f"screenshot of the page: {shot}")
    _predict(server, {"instances": _rows(server, 20)})
    page_driver = Driver(browser, page.url)
    try:
        page_driver.tab("Drift")
        headers = {"Authorization": f"Bearer {MONITORING_TOKEN}"}
        verdict = server.client.get("/drift", headers=headers).json()["verdict"]
        shown = page_driver.text_of("[data-testid='stMetric']", "Verdict")
        assert verdict in shown
        # One chart per feature of the model's input, reference against current.
        features = schema_from_openapi(server.client.get("/openapi.json").json()).names
        charts = ".st-key-drift-charts [data-testid='stVegaLiteChart']"
        page_driver.wait.until(
            lambda _: len(browser.find_elements(By.CSS_SELECTOR, charts)) == len(features)
        )
        # Each chart has been drawn (Vega renders into a canvas or an SVG).
        page_driver.wait.until(
            lambda _: all(
                chart.find_elements(By.CSS_SELECTOR, "canvas, svg")
                for chart in browser.find_elements(By.CSS_SELECTOR, charts)
            )
        )
        first = browser.find_elements(By.CSS_SELECTOR, charts)[0]
        browser.execute_script("arguments[0].scrollIntoView()", first)  # for the screenshot
    finally:
        browser.save_screenshot(str(shot))


def test_a_wrong_key_shows_the_401_message(
    registries: dict[str, Path], secrets_dir: Path, browser: Any, tmp_path: Path
) -> None:
    _require_streamlit()
    shot = tmp_path / "ui-wrong-key.png"
    print(f"screenshot of the page: {shot}")
    env = {"MLSERVE_MODEL__PATH": str(registries["iris"])}
    with (
        ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as server,
        Page("--url", server.url, "--api-key", "not-a-key", home=tmp_path / "home") as page,
    ):
        page_driver = Driver(browser, page.url)
        try:
            page_driver.press("Predict")
            shown = page_driver.text_of(".st-key-answer", "refused")
            assert "missing or invalid API key" in shown
            assert "Check the API key" in shown
            # Nothing written to HOME: the page runs on a read-only root filesystem.
            assert list((tmp_path / "home").iterdir()) == []
        finally:
            browser.save_screenshot(str(shot))


def test_under_a_base_path_the_page_and_its_health_move_there(
    registries: dict[str, Path], secrets_dir: Path, tmp_path: Path
) -> None:
    """As behind an Ingress path: the manifests probe ``<path>/_stcore/health``."""
    _require_streamlit()
    env = {"MLSERVE_MODEL__PATH": str(registries["iris"])}
    with (
        ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as server,
        Page("--url", server.url, home=tmp_path / "home", base_path="/ui") as page,
    ):
        assert page.url.endswith("/ui")
        assert httpx.get(f"{page.url}/", timeout=30).status_code == 200


def test_with_sliders_the_workshop_page_answers_for_the_example_row(
    registries: dict[str, Path], secrets_dir: Path, browser: Any, tmp_path: Path
) -> None:
    """The diabetes workshop's page: a slider per input across its training range, Predict, and
    the answer with its probability and risk level, the example row as the starting point."""
    _require_streamlit()
    env = {"MLSERVE_MODEL__PATH": str(registries["diabetes"])}
    shot = tmp_path / "ui-sliders.png"
    print(f"screenshot of the page: {shot}")
    with (
        ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as server,
        Page(
            "--url",
            server.url,
            "--secrets-dir",
            str(secrets_dir),
            "--inputs",
            "sliders",
            home=tmp_path / "home",
        ) as page,
    ):
        from selenium.webdriver.common.by import By

        page_driver = Driver(browser, page.url)
        try:
            example = _example(server)
            sliders = page_driver.wait.until(
                lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid='stSlider']") or None
            )
            assert len(sliders) == len(example) == 8
            assert browser.find_elements(By.CSS_SELECTOR, "[data-testid='stNumberInput']") == []
            expected = _predict(server, example)
            page_driver.press("Predict")
            version = f"Answered by model version {expected['model_version']} in "
            text = page_driver.text_of(".st-key-answer", version)
            lines = text.splitlines()
            assert all(line in lines for line in _expected_lines(expected)), (text, expected)
            assert f"Probability: {expected['probability']:.1%}" in text
        finally:
            browser.save_screenshot(str(shot))
