"""The local stack of the diabetes example (``k8s-mlserve compose``), brought up with Docker's
compose tool on images built here: train into its MLflow from the host, serve ``@champion``,
predict, and bring it down leaving no container, network or volume behind.

The images are the ones the end-to-end fixtures build, under the same tags (the server image
from ``K8S_MLSERVE_BASE_IMAGE`` and ``K8S_MLSERVE_IMAGE_EXTRAS``, unless ``K8S_MLSERVE_IMAGE``
names one; the stack's as ``K8S_MLSERVE_MLFLOW_IMAGE`` and ``K8S_MLSERVE_POSTGRES_IMAGE`` say),
so a later e2e run finds them built.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from k8s_mlserve.cli import main
from k8s_mlserve.manifests.spec_types import split_image
from k8s_mlserve.testing import wait_for
from k8s_mlserve.testing.images import (
    LOCAL_BASE_IMAGE,
    build_server_image,
    docker_problem,
    find_source_root,
    image_exists,
    server_image_tag,
)
from k8s_mlserve.testing.options import MlserveOptions
from k8s_mlserve.testing.specs import deep_merge
from k8s_mlserve.testing.stack_images import stack_images
from k8s_mlserve.training.examples import diabetes

from ..browser import missing_tool

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "diabetes" / "deploy.yaml"
EXTRAS = "[mlflow,ui]"  # the API follows MLflow; the example has the web page
ROW = diabetes.EXAMPLE_ROW


def run(*argv: str, timeout: float = 300) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
def stack_images_built(mlserve_options: MlserveOptions) -> dict[str, str]:
    """The server, MLflow and PostgreSQL images, built unless they exist."""
    problem = docker_problem()
    if problem:
        missing_tool(f"the local stack needs Docker: {problem}")
    if shutil.which("docker-compose") is None:
        missing_tool("docker-compose not found on PATH (apt-get install docker-compose)")
    base = mlserve_options.base_image
    if base is None and image_exists(LOCAL_BASE_IMAGE):
        base = LOCAL_BASE_IMAGE
    server = mlserve_options.image  # --mlserve-image: one with the mlflow and ui extras
    if server is None:
        source = find_source_root()
        assert source is not None, "k8s-mlserve does not run from a source tree"
        extras = mlserve_options.image_extras
        if "mlflow" not in extras or "ui" not in extras:
            extras = EXTRAS
        server = server_image_tag(source, base_image=base, extras=extras)
        if not image_exists(server):
            build_server_image(source, server, base_image=base, extras=extras)
    options = MlserveOptions(
        base_image=base,
        mlflow_image=mlserve_options.mlflow_image,
        postgres_image=mlserve_options.postgres_image,
    )
    mlflow, postgres = stack_images(options)
    for image in (mlflow, postgres):
        if not image_exists(image):
            missing_tool(f"{image} is not here and cannot be pulled: set K8S_MLSERVE_*_IMAGE=build")
    return {"server": server, "mlflow": mlflow, "postgres": postgres}


def example_spec(images: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data.pop("environments", None)
    repository, tag, _ = split_image(images["server"])
    return deep_merge(
        data,
        {
            "image": {"repository": repository, "tag": tag},
            "mlflow": {
                "image": images["mlflow"],
                "workers": 1,
                "postgres": {"image": images["postgres"]},
            },
        },
    )


class Stack:
    """A compose project started from a compose file."""

    def __init__(self, compose_file: Path) -> None:
        self.file = compose_file
        self.project = f"mlserve-compose-{uuid.uuid4().hex[:8]}"

    def compose(self, *args: str, timeout: float = 300) -> str:
        return run(
            "docker-compose", "-p", self.project, "-f", str(self.file), *args, timeout=timeout
        )

    def url(self, service: str, port: int) -> str:
        address = self.compose("port", service, str(port)).splitlines()[-1]
        return f"http://{address}"

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "60")

    def leftovers(self) -> dict[str, str]:
        label = f"label=com.docker.compose.project={self.project}"
        return {
            kind: out
            for kind, command in (
                ("containers", ("ps", "-a")),
                ("networks", ("network", "ls")),
                ("volumes", ("volume", "ls")),
            )
            if (out := run("docker", *command, "--quiet", "--filter", label))
        }


@contextmanager
def started(stack: Stack) -> Iterator[Stack]:
    """The stack up (dependencies healthy first), then down with its volumes whatever happens."""
    try:
        try:
            stack.compose("up", "--detach", "--no-build", timeout=600)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{stack.logs()}") from None
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "30", timeout=300)


def test_the_local_stack_trains_serves_and_goes_away(
    stack_images_built: dict[str, str], tmp_path: Path, data_dir: Path
) -> None:
    spec = tmp_path / "deploy.yaml"
    spec.write_text(yaml.safe_dump(example_spec(stack_images_built)), encoding="utf-8")
    compose_file = tmp_path / "local" / "docker-compose.yml"
    ports = ("--api-port", "0", "--mlflow-port", "0", "--ui-port", "0")
    assert main(["compose", str(spec), "--output", str(compose_file), *ports]) == 0
    secrets = tmp_path / "local" / "secrets"
    api_key = (secrets / "diabetes-secrets" / "auth__api_keys").read_text().strip().split(",")[0]

    stack = Stack(compose_file)
    with started(stack):
        tracking = stack.url("mlflow", 5000)
        run(
            sys.executable,
            "-m",
            "k8s_mlserve",
            "train",
            "diabetes",
            "--output",
            str(tmp_path / "models" / "diabetes"),
            "--data",
            str(data_dir / "diabetes.csv"),
            "--tracking-uri",
            tracking,
            "--quiet",
        )
        api = stack.url("api", 8000)
        key = {"X-API-Key": api_key}
        # Load the new champion now rather than at the next retry of the API's backoff.
        reload = httpx.post(f"{api}/admin/reload", headers=key, timeout=120)
        assert reload.status_code == 200, reload.text
        wait_for(
            lambda: _status(f"{api}/ready") == 200,
            timeout=60,
            interval=1,
            what="the API serving diabetes-model@champion",
            describe=stack.logs,
        )
        answer = httpx.post(f"{api}/predict", json=ROW, headers=key, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == "v1"  # registered version 1, the champion
        assert "has_diabetes" in answer.json()
        assert httpx.post(f"{api}/predict", json=ROW, timeout=10).status_code == 401
        page = stack.url("ui", 8501)
        wait_for(
            lambda: _status(f"{page}/_stcore/health") == 200,
            timeout=120,
            interval=1,
            what="the web page",
            describe=stack.logs,
        )
        running = stack.compose("ps", "--services", "--filter", "status=running").split()
        assert sorted(running) == ["api", "mlflow", "postgres", "ui"]  # init done, train on demand
    assert stack.leftovers() == {}


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=3).status_code
    except httpx.HTTPError:
        return 0
