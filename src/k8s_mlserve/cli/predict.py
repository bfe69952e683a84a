"""``k8s-mlserve predict``: a small client for a running server."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "predict",
        help="send rows to a running server and print the answer",
        description="Send one JSON row (or a file of rows) to POST /predict.",
    )
    parser.add_argument("row", nargs="?", help="a JSON object, e.g. '{\"sepal_length\": 5.1, ...}'")
    parser.add_argument(
        "--file", "-f", type=Path, help="a JSON file (object or list) or a CSV file of rows"
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000", help="server base URL (default: %(default)s)"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("MLSERVE_API_KEY"),
        help="API key (default: $MLSERVE_API_KEY)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the answer (default: 10)"
    )
    parser.set_defaults(handler=run)


def load_payload(row: str | None, file: Path | None) -> Any:
    """The request body: one object, or ``{"instances": [...]}`` for several rows."""
    if (row is None) == (file is None):
        raise ConfigurationError("give either a JSON row or --file")
    if row is not None:
        try:
            return json.loads(row)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"the row is not valid JSON: {exc}") from exc
    assert file is not None
    if not file.is_file():
        raise ConfigurationError(f"{file} does not exist")
    if file.suffix.lower() == ".csv":
        import pandas as pd

        frame = pd.read_csv(file)
        rows = json.loads(frame.to_json(orient="records"))
        return {"instances": rows}
    data = json.loads(file.read_text())
    return {"instances": data} if isinstance(data, list) else data


def run(args: argparse.Namespace) -> int:
    import httpx

    payload = load_payload(args.row, args.file)
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    try:
        response = httpx.post(
            args.url.rstrip("/") + "/predict", json=payload, headers=headers, timeout=args.timeout
        )
    except httpx.HTTPError as exc:
        print(f"error: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2
    try:
        body = response.json()
    except ValueError:
        body = response.text
    print(json.dumps(body, indent=2, ensure_ascii=False))
    return 0 if response.is_success else 1
