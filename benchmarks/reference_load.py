"""The reference for a server's start and memory: load the pickled model and answer one row.

What a script that serves nothing does at the least: ``joblib.load`` of the bundle's
``model.joblib`` and one ``predict_proba`` on a one-row frame of the first request body. It prints
one JSON line, ``{"rss_mib": ...}``, when done and exits; the benchmark runs it pinned like the
servers and times it from process start to that line.

Usage::

    python benchmarks/reference_load.py MODEL.joblib BODY.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import joblib
import pandas as pd


def main(argv: list[str]) -> int:
    model_path, body_path = Path(argv[0]), Path(argv[1])
    model = joblib.load(model_path)
    row = json.loads(body_path.read_text())
    model.predict_proba(pd.DataFrame([row]))
    print(json.dumps({"rss_mib": _rss_mib()}), flush=True)
    return 0


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
