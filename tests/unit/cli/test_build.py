"""``k8s-mlserve build``: bad input is refused in one line before Docker is asked anything.

A fake ``docker`` first on PATH records every call, so a test sees whether the command got as
far as Docker; the last test shows that it does get there when the input is good.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from k8s_mlserve.cli import main


@pytest.fixture
def docker_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The log of a fake ``docker`` put first on PATH; it answers every call with a failure."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker-calls.log"
    docker = bin_dir / "docker"
    docker.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "no daemon here" >&2\nexit 1\n')
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "k8s_mlserve-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("k8s_mlserve/__init__.py", "")
    return path


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]


def test_missing_project(
    tmp_path: Path, docker_calls: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", str(tmp_path / "missing"), "--tag", "m:1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert _one_error_line(err) == f"error: {tmp_path / 'missing'} is not a directory"
    assert not docker_calls.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--bundle", "{tmp}/no-bundle"], "--bundle: "),
        (["--pins-from", "{tmp}/no-bundle"], "--pins-from: "),
        (["--requirements", "{tmp}/no-requirements.txt"], "no-requirements.txt does not exist"),
    ],
    ids=["bundle", "pins-from", "requirements"],
)
def test_missing_paths(
    options: list[str],
    message: str,
    tmp_path: Path,
    project: Path,
    wheel: Path,
    docker_calls: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["build", str(project), "--tag", "m:1", "--wheel", str(wheel), "--quiet"]
    argv += [option.format(tmp=tmp_path) for option in options]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err  # --quiet: the error is all there is
    assert message in _one_error_line(err)
    assert not docker_calls.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes.txt", "is not a k8s-mlserve wheel (k8s_mlserve-*.whl)"),
        ("other-1.0-py3-none-any.whl", "is not a k8s-mlserve wheel (k8s_mlserve-*.whl)"),
        ("missing.whl", "is neither a wheel file nor a source tree"),
        ("a-directory", "is not a k8s-mlserve source tree"),
    ],
)
def test_not_a_wheel(
    name: str,
    message: str,
    tmp_path: Path,
    project: Path,
    docker_calls: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    given = tmp_path / name
    if name == "a-directory":
        given.mkdir()
    elif name != "missing.whl":
        given.write_text("not a wheel\n")
    assert main(["build", str(project), "--tag", "m:1", "--wheel", str(given)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    line = _one_error_line(err)
    assert str(given) in line
    assert message in line
    assert not docker_calls.exists()


def test_good_input_reaches_docker(
    project: Path, wheel: Path, docker_calls: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", str(project), "--tag", "m:1", "--wheel", str(wheel), "--quiet"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: cannot build m:1: the Docker daemon is not running")
    assert docker_calls.read_text().splitlines()[0].startswith("info")
