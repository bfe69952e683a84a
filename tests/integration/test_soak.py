"""A soak: a real server under mixed good, bad and hostile traffic for two minutes keeps its
memory and its file descriptors flat.

``K8S_MLSERVE_SOAK_SECONDS`` changes the length (default 120).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from k8s_mlserve.testing import ServerProcess

from .conftest import API_KEYS, MONITORING_TOKEN
from .test_keepalive import poisons
from .test_server import EXAMPLE_ROWS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECONDS = float(os.environ.get("K8S_MLSERVE_SOAK_SECONDS", "120"))
SAMPLE_EVERY = 2.0
MIB = 1024  # RSS is read in KiB


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Traffic:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, status: int, what: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 500 and len(self.errors) < 10:
                self.errors.append(f"{what}: {status}")


@pytest.fixture(scope="module")
def soaked_server(
    registries: dict[str, Path], secrets_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The diabetes forest with the request log on, rotated small so rotation runs often."""
    logs = tmp_path_factory.mktemp("request-log")
    env = {
        "MLSERVE_MODEL__PATH": str(registries["diabetes"]),
        "MLSERVE_REQUEST_LOG__DIR": str(logs),
        "MLSERVE_REQUEST_LOG__MAX_BYTES": "200000",
        "MLSERVE_REQUEST_LOG__BACKUPS": "2",
    }
    with ServerProcess(env, secrets_dir=secrets_dir, api_key=API_KEYS[0]) as server:
        yield server


def test_memory_and_file_descriptors_stay_flat_under_two_minutes_of_mixed_traffic(
    soaked_server: ServerProcess,
) -> None:
    server = soaked_server
    assert server.process is not None
    pid = server.process.pid
    row = EXAMPLE_ROWS["diabetes"]
    bad = poisons("diabetes")
    headers = {**server.headers(), "Content-Type": "application/json"}
    watch = {"Authorization": f"Bearer {MONITORING_TOKEN}"}
    traffic = Traffic()
    stop = threading.Event()
    host, port = "127.0.0.1", server.port

    def kept_alive() -> None:
        """Batches of growing size and poisoned bodies on one connection."""
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            i = 0
            while not stop.is_set():
                i += 1
                batch = {"instances": [row] * (1 + i % 20)}
                traffic.saw(client.post("/predict", json=batch, headers=headers).status_code, "")
                raw = bad[i % len(bad)]
                answer = client.post("/predict", content=raw, headers=headers)
                traffic.saw(answer.status_code, repr(raw[:40]))
                invalid = client.post("/predict", json={**row, "Glucose": "x"}, headers=headers)
                traffic.saw(invalid.status_code, "invalid row")

    def fresh_connections() -> None:
        """A new connection for every request, over the read-only and protocol routes."""
        v2 = {
            "inputs": [
                {"name": name, "shape": [1], "datatype": "FP64", "data": [float(value)]}
                for name, value in row.items()
            ]
        }
        calls: list[Callable[[httpx.Client], httpx.Response]] = [
            lambda c: c.get("/ready"),
            lambda c: c.get("/version"),
            lambda c: c.get("/metrics", headers=watch),
            lambda c: c.get("/drift", headers=watch),
            lambda c: c.post("/v2/models/diabetes-model/infer", json=v2, headers=headers),
            lambda c: c.post("/predict", json=row),  # no key: 401
        ]
        i = 0
        while not stop.is_set():
            with httpx.Client(base_url=server.url, timeout=30.0) as client:
                traffic.saw(calls[i % len(calls)](client).status_code, f"call {i % len(calls)}")
            i += 1

    def hostile_sockets() -> None:
        """Half a request line, half the headers, half a body: then the client walks away."""
        fragments = [
            b"",
            b"POST /predict HTTP/1.1\r\nHost: x\r\n",
            b'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"Age": ',
        ]
        i = 0
        while not stop.is_set():
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(fragments[i % len(fragments)])
                time.sleep(0.2)
            i += 1

    workers = [kept_alive, kept_alive, fresh_connections, hostile_sockets]
    baseline_fds = open_fds(pid)
    threads = [threading.Thread(target=work, daemon=True) for work in workers]
    samples: list[tuple[float, int, int]] = []
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while (elapsed := time.monotonic() - started) < SECONDS:
        samples.append((elapsed, rss_kib(pid), open_fds(pid)))
        time.sleep(SAMPLE_EVERY)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck"

    assert traffic.statuses[200] > 100, traffic.statuses
    assert not traffic.errors, (traffic.errors, traffic.statuses)
    assert set(traffic.statuses) <= {200, 400, 401, 422}, traffic.statuses

    # Memory: after a warm-up (caches, the drift window, metric series), the last third of the
    # run holds no more than the first third plus a small allowance.
    warm = [rss for elapsed, rss, _ in samples if elapsed >= SECONDS / 4]
    third = max(1, len(warm) // 3)
    first, last = max(warm[:third]), max(warm[-third:])
    series = [f"{elapsed:.0f}s {rss // MIB} MiB {fds} fds" for elapsed, rss, fds in samples]
    assert last <= first * 1.02 + 4 * MIB, f"RSS grew from {first} to {last} KiB:\n{series}"

    # File descriptors: bounded while the clients run, back to the baseline once they leave.
    assert max(fds for _, _, fds in samples) <= baseline_fds + len(workers) + 16, series
    settled = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        settled = open_fds(pid)
        if settled <= baseline_fds + 1:
            break
        time.sleep(0.5)
    assert settled <= baseline_fds + 1, (baseline_fds, settled, series)
    assert server.client.get("/ready").status_code == 200
