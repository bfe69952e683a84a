"""Real MLflow tracking servers for the integration tests, on free ports.

``mlflow server`` (``k8s_mlserve.testing.MlflowServer``) runs the way the workshop deploys it: a
backend store (SQLite, or PostgreSQL started here with initdb/pg_ctl) and artifacts served by the
tracking server itself.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from k8s_mlserve.testing import MlflowServer, ServerProcess, free_port, wait_for

API_KEY = "mlflow-tests-key-0123456789"
PG_USER = "mlflow"
PG_PASSWORD = "mlflow_password"
IRIS_ROW = {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 4.2, "petal_width": 1.5}


# MLflow reports usage to its developers; a test run has nothing to report and would wait for it.
QUIET_MLFLOW = {"MLFLOW_DISABLE_TELEMETRY": "true"}


@pytest.fixture(scope="session", autouse=True)
def _quiet_mlflow() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in QUIET_MLFLOW.items():
            patch.setenv(name, value)
        yield


def is_running(server: MlflowServer) -> bool:
    return server.process is not None and server.process.poll() is None


# -- PostgreSQL --------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<major>/bin."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


class PostgresServer:
    """A throw-away PostgreSQL cluster on a free port, owned by a non-root user."""

    def __init__(self, bindir: Path, user: pwd.struct_passwd | None) -> None:
        self.bindir = bindir
        self.user = user
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="mlserve-pg-"))
        self.data = self.root / "data"
        # The driver is named: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3.
        self.uri = f"postgresql+psycopg2://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/mlflow"

    def _run(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        result = subprocess.run(
            list(args),
            cwd=self.root,
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C", **(env or {})},
            user=self.user.pw_uid if self.user else None,
            group=self.user.pw_gid if self.user else None,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> PostgresServer:
        password_file = self.root / "password"
        password_file.write_text(PG_PASSWORD + "\n")
        if self.user is not None:
            for path in (self.root, password_file):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        bindir = self.bindir
        self._run(
            str(bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            PG_USER,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "postgres.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self._run(
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            PG_USER,
            "mlflow",
            env={"PGPASSWORD": PG_PASSWORD},
        )
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """PostgreSQL 'the way the workshop deploys MLflow' (user mlflow, database mlflow)."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to run PostgreSQL as")
    server = PostgresServer(bindir, user)
    try:
        yield server.start()
    finally:
        server.stop()


# -- MLflow servers ----------------------------------------------------------------------------


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def tracking(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """A tracking server per backend store, shared by the tests of a session."""
    root = tmp_path_factory.mktemp(f"mlflow-{request.param}")
    if request.param == "sqlite":
        backend = f"sqlite:///{root / 'mlflow.db'}"
    else:
        backend = request.getfixturevalue("postgres").uri
    server = MlflowServer(root, backend_store_uri=backend, env=QUIET_MLFLOW)
    try:
        yield server.start()
    finally:
        server.stop()


# -- k8s-mlserve servers -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def api_secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets")
    (path / "auth__api_keys").write_text(API_KEY + "\n")
    return path


@pytest.fixture
def serve(api_secrets: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``k8s-mlserve serve`` processes; each is stopped after the test."""
    started: list[ServerProcess] = []

    def start(
        tracking_uri: str, *, wait: str = "/ready", poll: float = 1.0, **model: str | Path
    ) -> ServerProcess:
        env = {
            **QUIET_MLFLOW,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "MLSERVE_MODEL__POLL_INTERVAL": str(poll),
        }
        env.update({f"MLSERVE_MODEL__{key.upper()}": str(value) for key, value in model.items()})
        server = ServerProcess(env, secrets_dir=api_secrets, api_key=API_KEY, wait=wait)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


class RequestStream:
    """Sends /predict continuously from a thread and records every answer."""

    def __init__(self, server: ServerProcess, row: Mapping[str, Any] = IRIS_ROW) -> None:
        self.url = server.url
        self.headers = server.headers()
        self.row = dict(row)
        self.answers: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="request-stream", daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.post("/predict", json=self.row, headers=self.headers)
                    version = str(response.json().get("model_version", response.text[:200]))
                    self.answers.append((response.status_code, version))
                except (httpx.HTTPError, ValueError) as exc:
                    self.answers.append((0, repr(exc)))
                time.sleep(0.02)  # steady, yet leaving the servers some CPU

    def start(self) -> RequestStream:
        self._thread.start()
        return self

    def wait_for_answers(self, count: int, timeout: float = 30.0) -> None:
        target = len(self.answers) + count
        wait_for(lambda: len(self.answers) >= target, timeout=timeout, what=f"{count} answers")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    @property
    def failures(self) -> list[tuple[int, str]]:
        return [answer for answer in self.answers if answer[0] != 200]

    @property
    def versions(self) -> list[str]:
        """Served versions in the order they were seen, without repeats."""
        seen: list[str] = []
        for status, version in self.answers:
            if status == 200 and (not seen or seen[-1] != version):
                seen.append(version)
        return seen
