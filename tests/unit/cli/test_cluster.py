"""``k8s-mlserve apply`` and ``push`` with a kubectl that cannot be used: one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mlserve.cli import main
from k8s_mlserve.cli.cluster import _wait
from k8s_mlserve.manifests import parse_spec, render

from ..toy_model import write_toy_bundle


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text("name: demo\nimage: {repository: demo, tag: '1.0.0'}\n")
    return path


@pytest.fixture(params=["missing", "refused"])
def kubectl(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A kubectl that does not exist, or one that cannot reach its cluster; and the message."""
    path = tmp_path / "bin" / "kubectl"
    if request.param == "missing":
        return path, f"cannot run {path}: not found"
    path.parent.mkdir()
    refused = "The connection to the server localhost:8080 was refused"
    path.write_text(f"#!/bin/sh\necho '{refused}' >&2\nexit 1\n")
    path.chmod(0o755)
    return path, f"exited with 1: {refused}"


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]


def test_apply(spec: Path, kubectl: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    binary, message = kubectl
    assert main(["apply", str(spec), "--kubectl", str(binary)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert message in _one_error_line(err)


def test_push(
    spec: Path, kubectl: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary, message = kubectl
    bundle = write_toy_bundle(tmp_path / "bundle")
    assert main(["push", str(bundle), "--spec", str(spec), "--kubectl", str(binary)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert message in _one_error_line(err)


def test_push_refuses_a_non_bundle_before_kubectl(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "bin" / "kubectl"
    assert main(["push", str(tmp_path), "--spec", str(spec), "--kubectl", str(missing)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "is not a model bundle" in line
    assert "cannot run" not in line


class Waits:
    """Records the waits of ``apply --wait``."""

    def __init__(self) -> None:
        self.waited: list[str] = []

    def wait_for_job(self, name: str, namespace: str, *, timeout: float) -> None:
        self.waited.append(f"Job/{name}")

    def wait_for_rollout(self, name: str, namespace: str, *, kind: str, timeout: float) -> None:
        self.waited.append(f"{kind}/{name}")


def test_apply_wait_waits_for_the_postgres_statefulset_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = parse_spec(
        {
            "name": "demo",
            "image": {"repository": "demo", "tag": "1.0.0"},
            "mlflow": {},
            "training": {"example": "iris"},
        }
    )
    waits = Waits()
    _wait(waits, "ns", render(spec), 5)
    assert waits.waited[0].startswith("Job/demo-train-")
    assert waits.waited[1:] == [
        "StatefulSet/demo-postgres",
        "Deployment/demo",
        "Deployment/demo-mlflow",
    ]
    assert "waiting for StatefulSet demo-postgres" in capsys.readouterr().err
