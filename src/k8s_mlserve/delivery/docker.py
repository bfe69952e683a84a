"""The Docker engine, through the ``docker`` CLI found on PATH (never downloaded)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import MLServeError

Progress = Callable[[str], None]


class DockerUnavailable(MLServeError, RuntimeError):
    """Docker cannot be used here, or a build failed; the message says what happened."""


def docker_problem() -> str | None:
    """Why Docker cannot be used, or None when the CLI and the daemon both answer."""
    if shutil.which("docker") is None:
        return "the docker CLI is not on PATH"
    result = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"the Docker daemon is not running ({reason})"
    return None


def image_exists(tag: str) -> bool:
    return (
        subprocess.run(
            ["docker", "image", "inspect", tag], capture_output=True, check=False, timeout=60
        ).returncode
        == 0
    )


def image_size(tag: str) -> int:
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(out.stdout.strip())


def docker_build(
    context: Path,
    tag: str,
    *,
    build_args: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    timeout: float = 1800,
) -> str:
    """``docker build`` the context; each output line goes to ``progress`` as it comes.

    Raises ``DockerUnavailable`` with the last lines of the output when the build fails.
    """
    problem = docker_problem()
    if problem is not None:
        raise DockerUnavailable(f"cannot build {tag}: {problem}")
    command = ["docker", "build", "--tag", tag]
    for key, value in (build_args or {}).items():
        command += ["--build-arg", f"{key}={value}"]
    command.append(str(context))
    lines: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if progress is not None:
                progress(line.rstrip())
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise DockerUnavailable(
                f"docker build of {tag} took more than {timeout:.0f}s"
            ) from None
    if code != 0:
        tail = "\n".join(lines[-40:])
        raise DockerUnavailable(f"docker build of {tag} failed (exit {code}):\n{tail}")
    return tag


def pip_ca_bundle() -> Path | None:
    """The CA bundle pip uses on this machine, if one is configured (for builds behind a proxy)."""
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return Path(value)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.cert"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    configured = result.stdout.strip()
    if result.returncode == 0 and configured and Path(configured).is_file():
        return Path(configured)
    return None
