"""What the page is started with: the server's address and the credentials, passed from
``k8s-mlserve ui`` to the Streamlit script through environment variables (never in the URL)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from ..manifests.contract import API_KEYS_FILE, MONITORING_TOKEN_FILE

URL_VARIABLE = "MLSERVE_UI_URL"
API_KEY_VARIABLE = "MLSERVE_API_KEY"
TOKEN_VARIABLE = "MLSERVE_UI_MONITORING_TOKEN"  # noqa: S105 - a variable name
INPUTS_VARIABLE = "MLSERVE_UI_INPUTS"
DEFAULT_URL = "http://127.0.0.1:8000"
# How numbers are entered: boxes with +/- buttons, or sliders across the training range.
Inputs = Literal["numbers", "sliders"]
INPUTS: tuple[Inputs, ...] = get_args(Inputs)


@dataclass(frozen=True)
class PageConfig:
    """The server the page talks to, and how it authenticates."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    monitoring_token: str | None = None
    inputs: Inputs = "numbers"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> PageConfig:
        """Read the variables ``to_environ`` sets."""
        env = os.environ if environ is None else environ
        inputs = env.get(INPUTS_VARIABLE) or "numbers"
        return cls(
            url=env.get(URL_VARIABLE) or DEFAULT_URL,
            api_key=env.get(API_KEY_VARIABLE) or None,
            monitoring_token=env.get(TOKEN_VARIABLE) or None,
            inputs="sliders" if inputs == "sliders" else "numbers",
        )

    def to_environ(self) -> dict[str, str]:
        """The variables that carry this configuration to the page's process."""
        env = {URL_VARIABLE: self.url, INPUTS_VARIABLE: self.inputs}
        if self.api_key:
            env[API_KEY_VARIABLE] = self.api_key
        if self.monitoring_token:
            env[TOKEN_VARIABLE] = self.monitoring_token
        return env


def _first(path: Path, separators: str = "") -> str | None:
    if not path.is_file():
        return None
    text = path.read_text()
    for separator in separators:
        text = text.replace(separator, "\n")
    values = [value.strip() for value in text.splitlines() if value.strip()]
    return values[0] if values else None


def read_secrets(directory: Path) -> tuple[str | None, str | None]:
    """The first API key (keys are one a line or comma-separated, as the server reads them) and
    the monitoring token of a secrets directory, where present."""
    return _first(directory / API_KEYS_FILE, ","), _first(directory / MONITORING_TOKEN_FILE)
