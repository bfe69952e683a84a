"""``k8s-mlserve ui``: the web page for a running server (Streamlit, the ``ui`` extra)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..manifests.contract import ENV_SECRETS_DIR as SECRETS_DIR_VARIABLE
from ..manifests.contract import UI_PORT
from ..ui import APP_PATH
from ..ui.environment import (
    API_KEY_VARIABLE,
    DEFAULT_URL,
    INPUTS,
    INPUTS_VARIABLE,
    TOKEN_VARIABLE,
    URL_VARIABLE,
    PageConfig,
    read_secrets,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = UI_PORT


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ui",
        help="open a web page to try a running server's model (form, CSV batch, drift)",
        description="Serve a web page, built from a running server's API, where anyone can fill "
        "in a form or upload a CSV file and read the model's predictions.",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get(URL_VARIABLE) or DEFAULT_URL,
        help=f"the server's base URL (default: ${URL_VARIABLE}, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_VARIABLE),
        help=f"API key sent as X-API-Key (default: ${API_KEY_VARIABLE}, else the first key of "
        "--secrets-dir)",
    )
    parser.add_argument(
        "--secrets-dir",
        type=Path,
        default=os.environ.get(SECRETS_DIR_VARIABLE) or None,
        help="directory laid out like the server's mounted Secret: the first line of "
        "auth__api_keys is the key, auth__monitoring_token enables the Drift tab "
        f"(default: ${SECRETS_DIR_VARIABLE}, else none)",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address the page listens on (default: {DEFAULT_HOST}; 0.0.0.0 in a container)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port of the page (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--inputs",
        choices=INPUTS,
        default="numbers",
        help="how numbers are entered: boxes with +/- buttons, or sliders across the range seen "
        "in training (default: numbers)",
    )
    parser.add_argument(
        "--base-path",
        default="",
        help="path the page is served under, e.g. /ui behind an Ingress path; its health check "
        "is then /ui/_stcore/health (default: none, the page at /)",
    )
    parser.set_defaults(handler=run)


def page_config(args: argparse.Namespace) -> PageConfig:
    """The server and credentials the page uses: an explicit key first, then the secrets."""
    key = token = None
    if args.secrets_dir is not None:
        key, token = read_secrets(args.secrets_dir)
    return PageConfig(
        url=args.url, api_key=args.api_key or key, monitoring_token=token, inputs=args.inputs
    )


def streamlit_command(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The command running the page, and its environment (credentials never on the line)."""
    argv = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.headless",
        "true",
        "--server.address",
        args.host,
        "--server.port",
        str(args.port),
        "--browser.gatherUsageStats",
        "false",
        # The script is installed code: nothing to watch (and no inotify watches to spend).
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
    ]
    if args.base_path.strip("/"):
        argv += ["--server.baseUrlPath", args.base_path.strip("/")]
    env = {
        k: v
        for k, v in environ.items()
        if k not in (URL_VARIABLE, API_KEY_VARIABLE, TOKEN_VARIABLE, INPUTS_VARIABLE)
    }
    env.update(page_config(args).to_environ())
    return argv, env


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("streamlit") is None:
        raise ModuleNotFoundError("No module named 'streamlit'", name="streamlit")
    argv, env = streamlit_command(args, os.environ)
    path = "/" + args.base_path.strip("/") if args.base_path.strip("/") else ""
    print(f"k8s-mlserve ui: http://{args.host}:{args.port}{path} for {args.url}", flush=True)
    # Replace this process, so signals (a pod's SIGTERM) reach Streamlit itself.
    os.execve(argv[0], argv, env)  # noqa: S606 - an argument list, no shell
