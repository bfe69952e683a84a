"""The challenger of the shadow-scoring servers: published once, waited for, its counts read.

The ``k8s-mlserve-shadow-*`` servers (``servers.py``) load the registry's ``challenger`` version
beside the current one. It is the diabetes forest trained again (same data, same seed: it costs
what the champion costs and agrees with it), published without becoming current, and reused by
later runs like the first version. A server loads its challenger once it is ready, on a thread of
its own, so the benchmark waits for it before sending load; after the last level it reads
``GET /shadow`` (and the rows answered, from ``/metrics``) once the challenger's queue has
drained, so that the report says how many rows the challenger scored, dropped or failed on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from servers import CHALLENGER_VERSION

from k8s_mlserve.model.registry import BundleRegistry
from k8s_mlserve.training.runner import train_example

READY_TIMEOUT_S = 120.0
SETTLE_TIMEOUT_S = 30.0
SETTLE_INTERVAL_S = 0.5


def ensure_challenger(registry: Path, data: str | None) -> None:
    """Publish the challenger version into ``registry``, unless an earlier run did."""
    if BundleRegistry(registry).version_path(CHALLENGER_VERSION).exists():
        return
    print(f"training the challenger, version {CHALLENGER_VERSION!r} of {registry}", flush=True)
    train_example(
        "diabetes",
        output=registry,
        data=data,
        version=CHALLENGER_VERSION,
        make_current=False,
        quiet=True,
    )


def monitoring_headers(env: Mapping[str, str]) -> dict[str, str]:
    """The header for ``/shadow``, ``/drift`` and ``/metrics`` when the server has a token.

    The benchmark sets none, so these routes are open; a token inherited from the environment
    is sent back.
    """
    token = env.get("MLSERVE_AUTH__MONITORING_TOKEN", "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def wait_for_challenger(url: str, headers: dict[str, str]) -> None:
    """Return once the server at ``url`` has loaded its challenger; exit if it cannot."""
    deadline = time.perf_counter() + READY_TIMEOUT_S
    report: dict[str, Any] = {}
    with httpx.Client(base_url=url, headers=headers, timeout=5.0) as client:
        while time.perf_counter() < deadline:
            report = _get(client, "/shadow").json()
            if report.get("challenger") is not None:
                print(f"challenger loaded: version {report['challenger']['version']}", flush=True)
                return
            time.sleep(0.05)
    raise SystemExit(
        f"challenger not loaded after {READY_TIMEOUT_S:g}s: {report.get('challenger_error')}"
    )


def shadow_counts(url: str, headers: dict[str, str]) -> dict[str, Any]:
    """What the challenger did over the server's whole run, once its queue has drained.

    ``rows_answered`` is every row the champion answered (warm-ups included, as for the counts).
    """
    with httpx.Client(base_url=url, headers=headers, timeout=10.0) as client:
        deadline = time.perf_counter() + SETTLE_TIMEOUT_S
        report = _get(client, "/shadow").json()
        while time.perf_counter() < deadline:
            time.sleep(SETTLE_INTERVAL_S)
            previous, report = report, _get(client, "/shadow").json()
            if _handled(report) == _handled(previous):
                break
        answered = _rows_answered(_get(client, "/metrics").text)
    latency = report.get("latency_seconds") or {}
    counts = {
        "sample_rate": report["sample_rate"],
        "rows_answered": answered,
        "rows_scored": report["rows_scored"],
        "rows_dropped": report["rows_dropped"],
        "errors": report["errors"],
        "agreement": report["agreement"],
        "challenger_p50_ms": _ms(latency.get("p50")),
        "challenger_p99_ms": _ms(latency.get("p99")),
    }
    print(
        f"shadow: {counts['rows_scored']} of {answered} rows scored, "
        f"{counts['rows_dropped']} dropped, {counts['errors']} errors",
        flush=True,
    )
    return counts


def _get(client: httpx.Client, path: str) -> httpx.Response:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:200]}")
    return response


def _handled(report: dict[str, Any]) -> int:
    return int(report["rows_scored"]) + int(report["rows_dropped"]) + int(report["errors"])


def _rows_answered(metrics: str) -> int:
    """The sum of ``mlserve_predictions_total`` over its labels: the rows the server answered."""
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("mlserve_predictions_total{")
        )
    )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
