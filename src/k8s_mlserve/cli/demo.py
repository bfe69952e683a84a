"""``k8s-mlserve demo``: train iris, generate an API key, serve it and show how to call it."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo", help="train the iris example and serve it with a fresh API key"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(".demo"),
        help="where models and the key go (default: .demo)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..model.registry import BundleRegistry
    from ..server import serve
    from ..settings import load_settings
    from ..training.runner import train_example

    models = args.workdir / "models" / "iris"
    if BundleRegistry.is_registry(models) and BundleRegistry(models).versions():
        print(f"using the iris model already trained in {models}")
    else:
        run_info = train_example("iris", output=models)
        print(
            f"trained {run_info.name} {run_info.version}: "
            f"accuracy {run_info.metrics['accuracy']:.3f}"
        )
    secrets_dir = args.workdir / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    key_file = secrets_dir / "auth__api_keys"
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    base = f"http://{args.host}:{args.port}"
    print(
        "\nServing iris. In another terminal:\n\n"
        f"  curl -s -X POST {base}/predict -H 'Content-Type: application/json' "
        f"-H 'X-API-Key: {key}' \\\n"
        '    -d \'{"sepal_length": 5.1, "sepal_width": 3.5, '
        '"petal_length": 1.4, "petal_width": 0.2}\'\n\n'
        f"  API docs: {base}/docs    stop: Ctrl-C\n",
        flush=True,
    )
    settings = load_settings(
        secrets_dir,
        {"model": {"path": models}, "server": {"host": args.host, "port": args.port}},
    )
    serve(settings)
    return 0
