"""The servers the benchmark compares, and how to start each one and what to send it.

- ``baseline``: the usual FastAPI server (``baseline_app.py``);
- ``mlserver``: MLServer with adaptive batching, the SKLearn runtime on the bundle's pickle, in a
  virtualenv of its own (``mlserver_env.py``), sent Open Inference Protocol (V2) requests;
- ``k8s-mlserve-sklearn``: ``k8s-mlserve serve`` with ``MLSERVE_MODEL__RUNTIME=sklearn``;
- ``k8s-mlserve``: ``k8s-mlserve serve`` with its defaults (the compiled model);
- ``k8s-mlserve-shadow-10`` and ``k8s-mlserve-shadow-100``: the same, with shadow scoring on:
  the registry's ``challenger`` version (``MLSERVE_SHADOW__MODEL``) also scores 10 % or 100 % of
  the requests (``MLSERVE_SHADOW__SAMPLE_RATE``), so that the champion's latency can be compared
  with ``k8s-mlserve``'s, the 0 % case;
- ``ceiling``: a bare Starlette app that parses the body and answers a constant
  (``ceiling_app.py``).

All of them are one process each, started one after the other with the same core pinning.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import mlserver_env

BASELINE = "baseline"
MLSERVER = "mlserver"
MLSERVE_SKLEARN = "k8s-mlserve-sklearn"
MLSERVE = "k8s-mlserve"
MLSERVE_SHADOW_10 = "k8s-mlserve-shadow-10"
MLSERVE_SHADOW_100 = "k8s-mlserve-shadow-100"
CEILING = "ceiling"
SERVERS = (
    BASELINE,
    MLSERVER,
    MLSERVE_SKLEARN,
    MLSERVE,
    MLSERVE_SHADOW_10,
    MLSERVE_SHADOW_100,
    CEILING,
)
SHADOW_RATES = {MLSERVE_SHADOW_10: 0.1, MLSERVE_SHADOW_100: 1.0}
"""The shadow-scoring servers and the share of requests their challenger scores."""
MLSERVE_SERVERS = (MLSERVE_SKLEARN, MLSERVE, *SHADOW_RATES)
"""The servers that run ``k8s-mlserve serve``."""
CHALLENGER_VERSION = "challenger"
"""The registry version the shadow-scoring servers load as their challenger (never current)."""

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ServerSpec:
    """How to start one of the servers, where to reach it and which bodies to send it."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    ready_path: str
    predict_path: str
    bodies: Path


@dataclass(frozen=True)
class BenchFiles:
    """What the servers are built from: the model and the request bodies of each protocol."""

    registry: Path
    """The diabetes registry directory (``current``, ``versions/``; the challenger among them)."""
    model_file: Path
    """The current bundle's ``model.joblib``."""
    bodies: Path
    """JSON list of the rows as k8s-mlserve's (and the baseline's) ``/predict`` bodies."""
    v2_bodies: Path
    """The same rows as Open Inference Protocol (V2) inference requests."""
    output: Path
    """The results directory (logs, MLServer's virtualenv and model repository)."""


def v2_body(row: dict[str, int | float], features: list[str]) -> dict[str, object]:
    """One row as a V2 inference request asking for the class probabilities.

    One ``[1]`` tensor per feature, named after it, with the request's content type ``pd``: the
    model receives a one-row DataFrame with the column names it was fitted with, as in the other
    servers (a bare ``[1, 8]`` array would make scikit-learn warn, into the log, on every call).
    """
    return {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {
                "name": name,
                "shape": [1],
                "datatype": "INT64" if isinstance(row[name], int) else "FP64",
                "data": [row[name]],
            }
            for name in features
        ],
        "outputs": [{"name": "predict_proba"}],
    }


def build_spec(
    name: str, files: BenchFiles, ports: list[int], mlserver: Path | None = None
) -> ServerSpec:
    """How to start server ``name`` on ``ports[0]`` (MLServer also takes ``ports[1]`` for gRPC).

    ``mlserver`` is the ``mlserver`` executable of its virtualenv (needed for ``mlserver`` only).
    """
    port = ports[0]
    env = {**os.environ}
    if name in (BASELINE, CEILING):
        module = "baseline_app:app" if name == BASELINE else "ceiling_app:app"
        if name == BASELINE:
            env["BASELINE_MODEL"] = str(files.model_file)
        return ServerSpec(
            name, _uvicorn(module, port), env, port, "/health", "/predict", files.bodies
        )
    if name in MLSERVE_SERVERS:
        env.update(
            {
                "MLSERVE_MODEL__PATH": str(files.registry),
                "MLSERVE_SERVER__HOST": "127.0.0.1",
                "MLSERVE_SERVER__PORT": str(port),
                "MLSERVE_SERVER__LOG_LEVEL": "warning",
            }
        )
        if name == MLSERVE_SKLEARN:
            env["MLSERVE_MODEL__RUNTIME"] = "sklearn"
        # The others must not inherit a challenger from the environment: k8s-mlserve is 0 %.
        env.pop("MLSERVE_SHADOW__MODEL", None)
        if name in SHADOW_RATES:
            # A bare version name: that version of the registry MLSERVE_MODEL__PATH names.
            env["MLSERVE_SHADOW__MODEL"] = CHALLENGER_VERSION
            env["MLSERVE_SHADOW__SAMPLE_RATE"] = str(SHADOW_RATES[name])
        command = [sys.executable, "-m", "k8s_mlserve", "serve"]
        return ServerSpec(name, command, env, port, "/ready", "/predict", files.bodies)
    if name == MLSERVER:
        if mlserver is None:
            raise ValueError("the mlserver server needs its executable")
        repository = mlserver_env.write_settings(
            files.output / "mlserver-repository", files.model_file, port, ports[1]
        )
        model = mlserver_env.MODEL_NAME
        return ServerSpec(
            name,
            [str(mlserver), "start", str(repository)],
            env,
            port,
            # 200 once the model is loaded (404 before it is registered, 400 while it loads);
            # /v2/health/ready answers 200 as soon as the HTTP server is up, with no model yet.
            f"/v2/models/{model}/ready",
            f"/v2/models/{model}/infer",
            files.v2_bodies,
        )
    raise SystemExit(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")


def _uvicorn(app: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        # Access logs cost time that k8s-mlserve does not spend.
        "--no-access-log",
    ]
