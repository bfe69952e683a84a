"""Run an MLflow tracking server as a subprocess on a free port, for tests.

The backend store is a SQLite file in the server's directory unless a database URI (for example
``postgresql://user:password@host/db``) is given; artifacts are stored in that directory and
served by the tracking server itself (``--serve-artifacts``), as the manifests' MLflow stack does.
This module never imports ``mlflow``: it only runs its command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from ..kube.waiting import StopWaiting, free_port, wait_for

# MLflow 3 also starts a pool of background job consumers, which tracking and the model
# registry do not need (they triple the start-up time on a small machine), and reports usage
# over the network, which a test server has no business doing.
QUIET_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}


class MlflowServer:
    """``mlflow server`` in a subprocess; ``tracking_uri`` is ready once ``start()`` returns."""

    def __init__(
        self,
        root: Path,
        *,
        backend_store_uri: str | None = None,
        port: int | None = None,
        timeout: float = 120.0,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.port = port or free_port()
        self.tracking_uri = f"http://127.0.0.1:{self.port}"
        self.backend_store_uri = backend_store_uri or f"sqlite:///{self.root / 'mlflow.db'}"
        self.artifacts_dir = self.root / "artifacts"
        self._timeout = timeout
        self._workers = workers
        self._env = {**QUIET_ENV, **(env or {})}
        self._log: IO[bytes] | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.tracking_uri

    @property
    def uses_sqlite(self) -> bool:
        return self.backend_store_uri.startswith("sqlite:")

    def command(self) -> list[str]:
        """The ``mlflow server`` command line (an argument list)."""
        return [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self._workers),
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            str(self.artifacts_dir),
            "--serve-artifacts",
        ]

    def start(self) -> MlflowServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        # Its own session, so that stop() also reaches the web server's worker processes.
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.root,
            env={**os.environ, **self._env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(
                self._healthy,
                timeout=self._timeout,
                interval=0.5,
                what=f"the MLflow server at {self.tracking_uri}/health",
            )
        except (TimeoutError, RuntimeError) as exc:
            log = self.log()
            self.stop()
            raise type(exc)(f"{exc}\n--- mlflow server log ---\n{log}") from None
        return self

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise StopWaiting(RuntimeError(f"mlflow server exited with {self.process.returncode}"))
        return httpx.get(f"{self.tracking_uri}/health", timeout=5.0).status_code == 200

    def log(self) -> str:
        """Everything the server printed so far."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self, timeout: float = 30.0) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            self._signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGKILL)
                process.wait()
        if process is not None:
            # Workers outlive a parent that exits on SIGTERM without waiting for them.
            self._signal_group(process, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
