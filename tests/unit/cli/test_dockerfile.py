"""``k8s-mlserve dockerfile``: the Dockerfile ``build`` uses, written into a project."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mlserve.__version__ import __version__
from k8s_mlserve.cli import main
from k8s_mlserve.manifests.contract import BAKED_MODEL_DIR
from k8s_mlserve.manifests.dockerfile import DOCKERIGNORE


def test_writes_a_dockerfile_installing_the_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dockerfile", str(tmp_path)]) == 0
    text = (tmp_path / "Dockerfile").read_text()
    assert f"/build/k8s_mlserve-{__version__}-py3-none-any.whl${{EXTRAS}}" in text
    assert "COPY wheels/ " in text
    assert "k8s-mlserve==" not in text, "nothing is asked of the package index for k8s-mlserve"
    assert "COPY model/" not in text
    assert BAKED_MODEL_DIR not in text
    assert (tmp_path / ".dockerignore").read_text() == DOCKERIGNORE
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'Dockerfile'}" in out
    assert f"wrote {tmp_path / '.dockerignore'}" in out


def test_bake_model_copies_model_dir(tmp_path: Path) -> None:
    assert main(["dockerfile", str(tmp_path), "--bake-model"]) == 0
    text = (tmp_path / "Dockerfile").read_text()
    assert f"COPY model/ {BAKED_MODEL_DIR}/" in text
    assert f"ENV MLSERVE_MODEL__PATH={BAKED_MODEL_DIR}" in text
    assert text.index("COPY --from=builder") < text.index("COPY model/")


def test_base_image_is_the_default_build_arg(tmp_path: Path) -> None:
    assert main(["dockerfile", str(tmp_path), "--base-image", "local/py:1"]) == 0
    assert "ARG BASE_IMAGE=local/py:1\n" in (tmp_path / "Dockerfile").read_text()


def test_existing_files_need_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert main(["dockerfile", str(tmp_path)]) == 2
    assert "pass --force to overwrite" in capsys.readouterr().err
    assert (tmp_path / "Dockerfile").read_text() == "FROM scratch\n"
    assert main(["dockerfile", str(tmp_path), "--force"]) == 0
    assert "k8s_mlserve-" in (tmp_path / "Dockerfile").read_text()


def test_missing_directory_and_removed_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dockerfile", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'missing'} is not a directory"
    with pytest.raises(SystemExit) as exited:  # the index/source modes are gone
        main(["dockerfile", str(tmp_path), "--from-source"])
    assert exited.value.code == 2
    assert "--from-source" in capsys.readouterr().err
