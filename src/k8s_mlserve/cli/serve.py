"""``k8s-mlserve serve``: run the HTTP server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP",
        description="Serve a model. Every option can also be set through MLSERVE_* environment "
        "variables (see docs/configuration.md); options given here win.",
    )
    parser.add_argument(
        "--bundle", type=Path, help="a bundle or registry directory (MLSERVE_MODEL__PATH)"
    )
    parser.add_argument("--model-uri", help="an MLflow model URI (MLSERVE_MODEL__URI)")
    parser.add_argument("--host", help="address to listen on (MLSERVE_SERVER__HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (MLSERVE_SERVER__PORT)")
    parser.add_argument(
        "--secrets-dir", type=Path, help="directory of secret files (MLSERVE_SECRETS_DIR)"
    )
    parser.add_argument("--log-level", help="critical, error, warning, info or debug")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..server import serve
    from ..settings import load_settings

    overrides: dict[str, dict[str, Any]] = {}
    _put(overrides, "model", "path", args.bundle)
    _put(overrides, "model", "uri", args.model_uri)
    _put(overrides, "server", "host", args.host)
    _put(overrides, "server", "port", args.port)
    _put(overrides, "server", "log_level", args.log_level)
    settings = load_settings(args.secrets_dir, overrides)
    serve(settings)
    return 0


def _put(target: dict[str, dict[str, Any]], section: str, key: str, value: Any) -> None:
    if value is not None:
        target.setdefault(section, {})[key] = value
