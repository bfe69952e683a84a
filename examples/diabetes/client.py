"""Score a patient with a running diabetes server, as the workshop's front end does.

usage: python examples/diabetes/client.py [--url URL] [--api-key KEY] [--glucose 148 ...]
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx

DEFAULTS = {
    "Pregnancies": 6,
    "Glucose": 148,
    "BloodPressure": 72,
    "SkinThickness": 35,
    "Insulin": 0,
    "BMI": 33.6,
    "DiabetesPedigreeFunction": 0.627,
    "Age": 50,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    for name, default in DEFAULTS.items():
        parser.add_argument(f"--{name.lower()}", dest=name, type=type(default), default=default)
    parser.add_argument("--url", default=os.environ.get("API_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("API_KEY"))
    args = parser.parse_args()
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    patient = {name: getattr(args, name) for name in DEFAULTS}
    response = httpx.post(f"{args.url}/predict", json=patient, headers=headers, timeout=10)
    if response.status_code != 200:
        print(f"error {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    result = response.json()
    verdict = "diabetic" if result["has_diabetes"] else "not diabetic"
    print(f"{verdict}: probability {result['probability']:.1%}, risk {result['risk_level']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
