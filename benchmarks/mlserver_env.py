"""MLServer for the benchmark: its own virtualenv, and the settings that serve the bundle's pickle.

MLServer's dependencies do not fit in the project's environment, so the benchmark installs it
once into ``<results>/.venv-mlserver`` (``mlserver``, ``mlserver-sklearn`` and the
scikit-learn, numpy and joblib versions the bundle records, so that its ``model.joblib``
unpickles as it was written). A stamp file holds the requirements the virtualenv was built with;
when the bundle records other versions, the virtualenv is built again.

``write_settings`` lays out a model repository the way ``mlserver start`` reads it: a server-wide
``settings.json`` (ports, one process) and the model's ``model-settings.json`` (the SKLearn
runtime, adaptive batching).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

PACKAGES = ("mlserver", "mlserver-sklearn")
PINNED = ("scikit-learn", "numpy", "joblib")
MODEL_NAME = "diabetes"
# Adaptive batching: MLServer waits up to MAX_BATCH_TIME_S for up to MAX_BATCH_SIZE requests.
MAX_BATCH_SIZE = 64
MAX_BATCH_TIME_S = 0.002
# The pip lines worth showing while it works; the rest goes to the log only.
PROGRESS_PREFIXES = ("Collecting", "Installing", "Successfully")


def requirements(library_versions: dict[str, str]) -> list[str]:
    """What to install: MLServer, its SKLearn runtime, and the libraries the bundle pins."""
    pins = [f"{name}=={library_versions[name]}" for name in PINNED if library_versions.get(name)]
    return [*PACKAGES, *pins]


def ensure_venv(venv: Path, wanted: list[str], log_path: Path) -> Path | None:
    """The virtualenv's ``mlserver`` executable, installing it first if needed; None if that fails.

    Progress goes to stdout, pip's whole output to ``log_path``.
    """
    executable = venv / "bin" / "mlserver"
    stamp = venv / "requirements.txt"
    if executable.is_file() and stamp.is_file() and stamp.read_text().split() == wanted:
        return executable
    print(f"installing MLServer into {venv} ({' '.join(wanted)}); this takes a few minutes")
    if venv.exists():
        shutil.rmtree(venv)
    python = venv / "bin" / "python"
    steps = {
        "python -m venv": [sys.executable, "-m", "venv", str(venv)],
        "pip install": [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            *wanted,
        ],
    }
    with log_path.open("w") as log:
        for step, command in steps.items():
            status = _run_logged(command, log)
            if status != 0:
                print(
                    f"mlserver: not installed ({step} exited with {status}; "
                    f"no network? see {log_path}); going on without it",
                    flush=True,
                )
                return None
    if not executable.is_file():
        print(f"mlserver: no {executable} after the install; going on without it", flush=True)
        return None
    stamp.write_text("\n".join(wanted) + "\n")
    print("MLServer installed", flush=True)
    return executable


def _run_logged(command: list[str], log: TextIO) -> int:
    """Run ``command``, writing its output to ``log`` and its progress lines to stdout."""
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    except OSError as error:
        log.write(f"{error}\n")
        return 127
    assert process.stdout is not None
    for line in process.stdout:
        log.write(line)
        if line.lstrip().startswith(PROGRESS_PREFIXES):
            print(f"  pip: {line.strip()[:110]}", flush=True)
    return process.wait()


def write_settings(repository: Path, model_file: Path, http_port: int, grpc_port: int) -> Path:
    """A model repository for ``mlserver start`` serving ``model_file``; returns its directory."""
    if repository.exists():
        shutil.rmtree(repository)
    model_dir = repository / MODEL_NAME
    model_dir.mkdir(parents=True)
    server: dict[str, Any] = {
        "host": "127.0.0.1",
        "http_port": http_port,
        "grpc_port": grpc_port,
        # 0: inference runs in the server process itself, not in a pool of worker processes, so
        # MLServer uses one process like the other servers.
        "parallel_workers": 0,
        # No separate metrics server and no per-request metrics or access log: the other servers
        # of the benchmark do not spend time on those either.
        "metrics_endpoint": None,
        "debug": False,
    }
    (repository / "settings.json").write_text(json.dumps(server, indent=2) + "\n")
    model: dict[str, Any] = {
        "name": MODEL_NAME,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "max_batch_size": MAX_BATCH_SIZE,
        "max_batch_time": MAX_BATCH_TIME_S,
        "parameters": {"uri": str(model_file)},
    }
    (model_dir / "model-settings.json").write_text(json.dumps(model, indent=2) + "\n")
    return repository
