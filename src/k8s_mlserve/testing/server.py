"""Run ``k8s-mlserve serve`` as a real process on a free port, the way a pod runs it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from ..kube.waiting import StopWaiting, free_port, wait_for

__all__ = ["SecretsDir", "ServerFactory", "ServerProcess", "StopWaiting", "free_port", "wait_for"]


class ServerProcess:
    """A ``k8s-mlserve serve`` subprocess configured through ``MLSERVE_*`` variables.

    Use as a context manager; ``url`` and ``client`` are ready once ``start()`` returns (by
    default when ``/ready`` answers 200). ``log()`` returns everything the server printed.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        port: int | None = None,
        secrets_dir: Path | None = None,
        api_key: str | None = None,
        wait: str = "/ready",
        timeout: float = 60.0,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        self._env = dict(env)
        self._secrets_dir = secrets_dir
        self._wait = wait
        self._timeout = timeout
        self._log: IO[bytes] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=30.0)

    def start(self) -> ServerProcess:
        env = {**os.environ, **self._env}
        env["MLSERVE_SERVER__HOST"] = "127.0.0.1"
        env["MLSERVE_SERVER__PORT"] = str(self.port)
        if self._secrets_dir is not None:
            env["MLSERVE_SECRETS_DIR"] = str(self._secrets_dir)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "k8s_mlserve", "serve"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if self._wait:
            try:
                self.wait_until(self._wait, timeout=self._timeout)
            except BaseException:
                self.stop()  # the error already holds the log
                raise
        return self

    def wait_until(self, path: str, *, status: int = 200, timeout: float = 60.0) -> None:
        """Poll ``path`` until it answers ``status``; fail early if the process dies."""

        def check() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise StopWaiting(RuntimeError(f"server exited with {self.process.returncode}"))
            return self.client.get(path).status_code == status

        try:
            wait_for(check, timeout=timeout, what=f"{self.url}{path} to answer {status}")
        except (TimeoutError, RuntimeError) as exc:
            raise type(exc)(f"{exc}\n--- server log ---\n{self.log()}") from None

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def terminate(self, timeout: float = 30.0) -> int:
        """Send SIGTERM and wait; returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def stop(self) -> None:
        try:
            self.terminate()
        finally:
            self.client.close()
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class SecretsDir:
    """A directory laid out like the mounted Kubernetes Secret: one API key, one token."""

    path: Path
    api_key: str
    monitoring_token: str

    @classmethod
    def create(cls, path: Path) -> SecretsDir:
        """Write fresh random values into ``path`` (readable by the owner only)."""
        path.mkdir(parents=True, exist_ok=True)
        made = cls(path, secrets.token_urlsafe(24), secrets.token_urlsafe(24))
        for name, value in (
            ("auth__api_keys", made.api_key),
            ("auth__monitoring_token", made.monitoring_token),
        ):
            (path / name).write_text(value + "\n")
            (path / name).chmod(0o600)
        return made


class ServerFactory:
    """Starts ``ServerProcess`` instances sharing a secrets directory; ``stop_all`` ends them."""

    def __init__(self, secrets_dir: SecretsDir | None = None) -> None:
        self.secrets_dir = secrets_dir
        self.servers: list[ServerProcess] = []

    def __call__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        wait: str = "/ready",
        timeout: float = 60.0,
    ) -> ServerProcess:
        """Start a server for ``model`` (a bundle or registry) with extra ``MLSERVE_*`` ``env``."""
        settings = {"MLSERVE_MODEL__PATH": os.fspath(model)} if model is not None else {}
        settings.update(env or {})
        server = ServerProcess(
            settings,
            secrets_dir=self.secrets_dir.path if self.secrets_dir else None,
            api_key=self.secrets_dir.api_key if self.secrets_dir else None,
            wait=wait,
            timeout=timeout,
        )
        server.start()
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        while self.servers:
            self.servers.pop().stop()
