"""Ask a running iris server for a species, as the iris front end does.

usage: python examples/iris/client.py [--url URL] [--api-key KEY] 5.1 3.5 1.4 0.2
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx

FIELDS = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("measurements", nargs=4, type=float, metavar="CM")
    parser.add_argument("--url", default=os.environ.get("API_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("API_KEY"))
    args = parser.parse_args()
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    row = dict(zip(FIELDS, args.measurements, strict=True))
    response = httpx.post(f"{args.url}/predict", json=row, headers=headers, timeout=10)
    if response.status_code != 200:
        print(f"error {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    body = response.json()
    confidence = body["probabilities"][body["label"]]
    version = httpx.get(f"{args.url}/version", timeout=10).json()
    model = f"{version['version']} ({version['algorithm']})"
    print(f"species: {body['label']} ({confidence:.0%}), model {model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
