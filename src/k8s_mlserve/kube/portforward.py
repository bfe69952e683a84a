"""``kubectl port-forward`` as a managed process, ready once the local port accepts connections."""

from __future__ import annotations

import socket
import subprocess
import tempfile
from types import TracebackType
from typing import IO, Protocol

from .errors import KubectlError
from .waiting import StopWaiting, free_port, wait_for


class Kubectl(Protocol):
    """What a port-forward needs of a cluster: kubectl argument lists and diagnostics."""

    def command(self, *args: str, namespace: str | None = None) -> list[str]: ...

    def diagnostics(self, namespace: str, selector: str | None = None) -> str: ...


class PortForward:
    """A ``kubectl port-forward`` process; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(
        self,
        cluster: Kubectl,
        target: str,
        remote_port: int,
        *,
        namespace: str,
        port: int | None = None,
    ) -> None:
        self.cluster = cluster
        self.target = target
        self.remote_port = remote_port
        self.namespace = namespace
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, timeout: float = 30.0) -> PortForward:
        """Start forwarding and wait until the local port accepts connections."""
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        command = self.cluster.command(
            "port-forward",
            "--address",
            "127.0.0.1",
            self.target,
            f"{self.port}:{self.remote_port}",
            namespace=self.namespace,
        )
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)

        def listening() -> bool:
            if self.process is not None and self.process.poll() is not None:
                output = self.log().strip()
                raise StopWaiting(KubectlError(f"kubectl port-forward exited: {output}"))
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        try:
            wait_for(
                listening,
                what=f"kubectl port-forward {self.target} to listen on {self.port}",
                timeout=timeout,
                interval=0.2,
                describe=lambda: self.cluster.diagnostics(self.namespace),
            )
        except (KubectlError, TimeoutError):
            self.stop()
            raise
        return self

    def restart(self, *, timeout: float = 30.0) -> PortForward:
        """Forward again on the same local port (after the pod behind it went away)."""
        self.stop()
        return self.start(timeout=timeout)

    def log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> PortForward:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
