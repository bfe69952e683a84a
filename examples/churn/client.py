"""Score customers from a CSV export with a running churn server.

usage: python examples/churn/client.py customers.csv [--url URL] [--api-key KEY]

The CSV has the Telco columns; `customerID` and `Churn`, when present, are set aside.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import httpx
import pandas as pd


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--url", default=os.environ.get("API_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("API_KEY"))
    args = parser.parse_args()
    frame = pd.read_csv(args.csv, nrows=args.limit)
    ids = frame.pop("customerID") if "customerID" in frame else pd.Series(range(len(frame)))
    frame = frame.drop(columns=["Churn"], errors="ignore")
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"], errors="coerce")
    rows = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    response = httpx.post(
        f"{args.url}/predict", json={"instances": rows}, headers=headers, timeout=30
    )
    if response.status_code != 200:
        print(f"error {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    for customer, result in zip(ids, response.json()["predictions"], strict=True):
        print(f"{customer}: churn {result['churn_probability']:.1%} ({result['risk_level']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
