"""Benchmark k8s-mlserve against the servers a user would pick instead, on the same cores.

Seven servers serve the same diabetes random forest, one after the other, each pinned to the same
core(s) (see ``servers.py``): the usual FastAPI server (``baseline``), MLServer with adaptive
batching (``mlserver``, installed on first use into a virtualenv of its own), ``k8s-mlserve serve``
on scikit-learn (``k8s-mlserve-sklearn``), with its defaults (``k8s-mlserve``) and with shadow
scoring of 10 % and 100 % of the requests by a challenger (``k8s-mlserve-shadow-10`` and
``-100``; see ``challenger.py``), and a bare Starlette app that answers a constant (``ceiling``).
The same closed-loop generator (``loadgen.py``, pinned to other cores) drives each at every
concurrency level with the same rows. For each server it measures the time from process start to
ready, the resident memory after start, and per level the requests per second, p50 and p99
latency, errors and the server's CPU time per request; for the shadow-scoring servers also what
their challenger scored, dropped and failed on (``GET /shadow``). A script that only loads the
pickle and answers one row (``reference_load.py``) is the reference for start time and memory.
Before each round ``steadiness.py`` measures how steadily the servers' core runs (slow spells of
a virtual machine's core lengthen every request answered during them). ``goals.py`` says which
goals the run met (on ``k8s-mlserve``, shadow scoring off).

Results go to ``benchmarks/results/``: ``bench-<time>.json``, ``.md`` and ``.png`` (also copied
to ``latest.*``). The numbers depend on the machine and on whatever else runs on it: the
machine's load average is recorded before each run.

Usage::

    python benchmarks/run.py [--duration 10] [--concurrency 1 8 64] [--rounds 3] \\
        [--servers baseline mlserver k8s-mlserve-sklearn k8s-mlserve k8s-mlserve-shadow-10 \\
         k8s-mlserve-shadow-100 ceiling]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import mlserver_env
from challenger import ensure_challenger, monitoring_headers, shadow_counts, wait_for_challenger
from goals import check_goals
from machine import cpu_seconds, describe_machine, status_kb
from report import render_chart, render_markdown, render_shadow, render_table
from servers import (
    MLSERVE_SERVERS,
    MLSERVER,
    SERVERS,
    SHADOW_RATES,
    BenchFiles,
    ServerSpec,
    build_spec,
    v2_body,
)
from steadiness import SLOW as SLOW_WINDOW

from k8s_mlserve.model.bundle import METADATA_FILE, MODEL_FILE
from k8s_mlserve.model.registry import resolve_bundle_path
from k8s_mlserve.testing import free_port
from k8s_mlserve.training.datasets import read_csv, resolve_dataset
from k8s_mlserve.training.examples import diabetes
from k8s_mlserve.training.runner import train_example

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
INTEGER_FEATURES = {"Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "Age"}


@dataclass(frozen=True)
class Pinning:
    """Which cores the servers and the load generator run on (empty: not pinned)."""

    server: str
    client: str

    def prefix(self, cpus: str) -> list[str]:
        return ["taskset", "-c", cpus] if cpus else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per level")
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=SERVERS)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the whole sequence this many times; each level reports its best round",
    )
    parser.add_argument("--server-cpus", help="cores for the servers (default: the second core)")
    parser.add_argument("--client-cpus", help="cores for the generator (default: the first core)")
    parser.add_argument("--data", help="diabetes.csv or its directory (default: see docs)")
    parser.add_argument("--output", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)

    output: Path = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    data = _data_location(args.data)
    names: list[str] = list(dict.fromkeys(args.servers))
    registry = _model(output, data)
    if any(name in SHADOW_RATES for name in names):
        ensure_challenger(registry, data)
    files = _files(output, registry, data)
    mlserver: Path | None = None
    mlserver_requirements: list[str] = []
    if MLSERVER in names:
        mlserver_requirements = _mlserver_requirements(files.model_file.parent)
        mlserver = mlserver_env.ensure_venv(
            output / ".venv-mlserver", mlserver_requirements, output / "mlserver-install.log"
        )
        if mlserver is None:
            names.remove(MLSERVER)
    pinning = _pinning(args.server_cpus, args.client_cpus)
    print(
        f"servers on cores {pinning.server or 'any'}, load generator on cores "
        f"{pinning.client or 'any'}; {args.duration:g}s per level after {args.warmup:g}s warm-up",
        flush=True,
    )

    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    references: list[dict[str, float]] = []
    steadiness: list[dict[str, float]] = []
    for number in range(args.rounds):
        if args.rounds > 1:
            print(f"\n-- round {number + 1} of {args.rounds}", flush=True)
        steadiness.append(_steadiness(pinning))
        references.append(_reference(files, pinning, output))
        for name in names:
            spec = build_spec(name, files, [free_port(), free_port()], mlserver)
            rounds[name].append(_bench_server(spec, pinning, args, output))
    results = {name: _best(measured) for name, measured in rounds.items()}
    reference = {
        "startup_s": min(r["startup_s"] for r in references),
        "rss_mib": min(r["rss_mib"] for r in references),
    }

    report: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "pinning": {"server": pinning.server, "client": pinning.client},
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rounds": args.rounds,
        "mlserver_requirements": mlserver_requirements if mlserver else None,
        "reference": {**reference, "rounds": references},
        "steadiness": steadiness,
        "servers": results,
        "goals": [asdict(goal) for goal in check_goals(results, reference)],
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = output / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    markdown_path = output / f"bench-{stamp}.md"
    markdown_path.write_text(render_markdown(report))
    chart_path = output / f"bench-{stamp}.png"
    render_chart(report, chart_path)
    for path in (json_path, markdown_path, chart_path):
        shutil.copyfile(path, output / f"latest{path.suffix}")
    print()
    print(render_table(report))
    shadow = render_shadow(report)
    if shadow:
        print(f"\n{shadow}")
    print(f"\nwrote {json_path}, {markdown_path.name} and {chart_path.name}")
    return 0


# -- preparation -----------------------------------------------------------------------------


def _data_location(given: str | None) -> str | None:
    """The dataset directory: --data, $K8S_MLSERVE_DATA_DIR, ../shared/data, else download."""
    if given:
        return given
    env = os.environ.get("K8S_MLSERVE_DATA_DIR")
    if env:
        return env
    shared = ROOT.parent / "shared" / "data"
    return str(shared) if (shared / diabetes.FILENAME).is_file() else None


def _model(output: Path, data: str | None) -> Path:
    """The diabetes registry, trained once and reused by later runs."""
    registry = output / "model" / "diabetes"
    if not (registry / "current").is_file():
        print(f"training the diabetes model into {registry}", flush=True)
        train_example("diabetes", output=registry, data=data, quiet=True)
    return registry


def _bodies(data: str | None) -> list[dict[str, int | float]]:
    """Every patient of the dataset as a request body, integers kept as integers."""
    location = resolve_dataset(data, filename=diabetes.FILENAME, url=diabetes.URL)
    frame = read_csv(location, required=diabetes.FEATURES)
    return [
        {
            name: int(record[name]) if name in INTEGER_FEATURES else float(record[name])
            for name in diabetes.FEATURES
        }
        for record in frame[diabetes.FEATURES].to_dict("records")
    ]


def _files(output: Path, registry: Path, data: str | None) -> BenchFiles:
    """The request bodies of both protocols, written once per run, and the model's paths."""
    rows = _bodies(data)
    bodies = output / "bodies.json"
    bodies.write_text(json.dumps(rows))
    v2_bodies = output / "v2-bodies.json"
    v2_bodies.write_text(json.dumps([v2_body(row, diabetes.FEATURES) for row in rows]))
    model_file = resolve_bundle_path(registry) / MODEL_FILE
    return BenchFiles(registry, model_file, bodies, v2_bodies, output)


def _mlserver_requirements(bundle: Path) -> list[str]:
    """MLServer's packages and the library versions the bundle's pickle was written with."""
    metadata = json.loads((bundle / METADATA_FILE).read_text())
    versions = metadata.get("library_versions") or {}
    return mlserver_env.requirements({str(k): str(v) for k, v in versions.items()})


def _pinning(server: str | None, client: str | None) -> Pinning:
    cores = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None or len(cores) < 2:
        if server or client:
            raise SystemExit("pinning needs taskset and at least two cores")
        print("warning: taskset or a second core is missing; nothing is pinned", flush=True)
        return Pinning("", "")
    return Pinning(server or str(cores[1]), client or str(cores[0]))


# -- measuring -------------------------------------------------------------------------------


def _bench_server(
    spec: ServerSpec, pinning: Pinning, args: argparse.Namespace, output: Path
) -> dict[str, Any]:
    print(f"\n== {spec.name}", flush=True)
    log_path = output / f"{spec.name}.log"
    url = f"http://127.0.0.1:{spec.port}"
    monitoring = monitoring_headers(spec.env)
    shadow: dict[str, Any] = {}
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*pinning.prefix(pinning.server), *spec.command],
            env=spec.env,
            cwd=output,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            startup = _wait_ready(process, url + spec.ready_path, started, log_path)
            if spec.name in SHADOW_RATES:
                # /ready answers before the challenger is loaded: every level must meet it.
                wait_for_challenger(url, monitoring)
            rss = status_kb(process.pid, "VmRSS") / 1024
            print(f"ready after {startup:.2f}s, {rss:.0f} MiB resident", flush=True)
            _first_answer(spec, url)
            runs = []
            for concurrency in args.concurrency:
                run = _load(spec, pinning, url, concurrency, args, process.pid)
                runs.append(run)
                print(
                    f"  c={concurrency:<3} {run['rps']:8.1f} req/s  p50 {run['p50_ms']:7.2f} ms  "
                    f"p99 {run['p99_ms']:7.2f} ms  errors {run['errors']}",
                    flush=True,
                )
            if spec.name in SHADOW_RATES:
                shadow = {"shadow": shadow_counts(url, monitoring)}
            if spec.name in MLSERVE_SERVERS:
                # Its libraries (SciPy) belong to a running server's memory.
                _compute_drift(url, monitoring)
            peak = status_kb(process.pid, "VmHWM") / 1024
        finally:
            _stop(process)
    return {"startup_s": startup, "rss_mib": rss, "peak_rss_mib": peak, "runs": runs, **shadow}


def _compute_drift(url: str, headers: dict[str, str]) -> None:
    """Have the server compare its window (full after the load) with the reference once."""
    response = httpx.get(url + "/drift", headers=headers, timeout=60.0)
    verdict = response.json().get("verdict") if response.status_code == 200 else response.text
    print(f"drift computed: {response.status_code} {verdict}", flush=True)


def _first_answer(spec: ServerSpec, url: str) -> None:
    """Send the first body once and show the answer, so a wrong request shows before the load."""
    body = json.loads(spec.bodies.read_text())[0]
    response = httpx.post(url + spec.predict_path, json=body, timeout=10.0)
    answer = response.text if len(response.text) <= 200 else response.text[:200] + "..."
    print(f"answer to the first body: {response.status_code} {answer}", flush=True)


def _steadiness(pinning: Pinning) -> dict[str, float]:
    """How steadily the servers' core runs now (``steadiness.py``, pinned like the servers)."""
    command = [*pinning.prefix(pinning.server), sys.executable, str(BENCH / "steadiness.py")]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    measured: dict[str, float] = json.loads(result.stdout)
    print(
        f"\nsteadiness of the servers' core: {measured['slow_window_share']:.0%} of 100 ms "
        f"windows slow (>= {SLOW_WINDOW:g}x the median), the worst "
        f"{measured['worst_window_ratio']:.1f}x",
        flush=True,
    )
    return measured


def _reference(files: BenchFiles, pinning: Pinning, output: Path) -> dict[str, float]:
    """Start to done and resident memory of a script that loads the pickle and answers one row."""
    body = output / "reference-body.json"
    body.write_text(json.dumps(json.loads(files.bodies.read_text())[0]))
    command = [
        *pinning.prefix(pinning.server),
        sys.executable,
        str(BENCH / "reference_load.py"),
        str(files.model_file),
        str(body),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    done = time.perf_counter() - started
    if process.wait() != 0 or not line:
        raise SystemExit(f"the reference script failed with {process.returncode}")
    rss = float(json.loads(line)["rss_mib"])
    print(f"\nreference (joblib.load + one predict_proba): {done:.2f}s, {rss:.0f} MiB", flush=True)
    return {"startup_s": done, "rss_mib": rss}


def _best(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per level the round with the most requests per second; the fastest start, least memory.

    On a machine shared with other work, the best of several rounds is the one least disturbed;
    every round is kept in the results, and so is each round's shadow report.
    """
    levels = [r["concurrency"] for r in rounds[0]["runs"]]
    best_runs = [
        max((rnd["runs"][i] for rnd in rounds), key=lambda run: float(run["rps"]))
        for i in range(len(levels))
    ]
    return {
        "startup_s": min(r["startup_s"] for r in rounds),
        "rss_mib": min(r["rss_mib"] for r in rounds),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in rounds),
        "runs": best_runs,
        "rounds": rounds,
        **({"shadow": [r["shadow"] for r in rounds]} if "shadow" in rounds[0] else {}),
    }


def _wait_ready(process: subprocess.Popen[bytes], url: str, started: float, log: Path) -> float:
    deadline = started + 120
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode}; see {log}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    raise SystemExit(f"server not ready after 120s; see {log}")


def _load(
    spec: ServerSpec,
    pinning: Pinning,
    url: str,
    concurrency: int,
    args: argparse.Namespace,
    pid: int,
) -> dict[str, Any]:
    command = [
        *pinning.prefix(pinning.client),
        sys.executable,
        str(BENCH / "loadgen.py"),
        "--url",
        url + spec.predict_path,
        "--bodies",
        str(spec.bodies),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(args.duration),
        "--warmup",
        str(args.warmup),
    ]
    load_before = os.getloadavg()[0]
    generator = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    # The generator warms up for args.warmup seconds, then measures for args.duration seconds:
    # the server's CPU time is counted over (about) the measured window.
    time.sleep(args.warmup)
    cpu_start = cpu_seconds(pid)
    stdout, _ = generator.communicate()
    cpu_end = cpu_seconds(pid)
    if generator.returncode != 0:
        raise SystemExit(f"load generator failed with {generator.returncode}")
    run: dict[str, Any] = json.loads(stdout)
    run["load_average_before"] = load_before
    run["server_cpu_ms_per_request"] = (cpu_end - cpu_start) * 1000 / max(run["requests"], 1)
    return run


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    raise SystemExit(main())
