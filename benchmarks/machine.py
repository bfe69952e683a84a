"""What the benchmark reads about the machine and its processes (Linux ``/proc``)."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any


def status_kb(pid: int, field: str) -> float:
    """A ``/proc/<pid>/status`` field in kB (``VmRSS``, ``VmHWM``); NaN when it is missing."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def describe_machine() -> dict[str, Any]:
    """CPU, cores, Python, platform, load average and the versions of the serving libraries."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    packages = (
        "scikit-learn",
        "numpy",
        "pandas",
        "onnxruntime",
        "uvicorn",
        "starlette",
        "fastapi",
        "orjson",
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg()[0],
        "packages": {name: version(name) for name in packages},
    }


def version(name: str) -> str:
    """An installed package's version, or ``not installed``."""
    try:
        return package_version(name)
    except Exception:  # a missing package is reported, not fatal
        return "not installed"
