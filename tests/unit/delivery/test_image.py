"""The build context of a model image: the wheel, the project, its pins and a baked bundle."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from k8s_mlserve.delivery.image import ImageRecipe, assemble_context
from k8s_mlserve.delivery.wheel import resolve_wheel, wheel_version
from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests.contract import BAKED_MODEL_DIR, UID
from k8s_mlserve.manifests.dockerfile import render_dockerfile, wheel_name
from k8s_mlserve.model.bundle import read_metadata

from ..toy_model import write_toy_bundle


def fake_wheel(folder: Path, version: str = "0.1.0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / wheel_name(version)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("k8s_mlserve/__init__.py", "")
    return path


def test_the_dockerfile_installs_the_wheel_not_the_index() -> None:
    text = render_dockerfile(version="9.9.9")
    assert "/build/k8s_mlserve-9.9.9-py3-none-any.whl${EXTRAS}" in text
    assert "--constraint constraints.txt" in text
    assert "k8s-mlserve==" not in text, "nothing is asked of the package index for k8s-mlserve"
    assert f"USER {UID}:{UID}" in text
    assert BAKED_MODEL_DIR not in text
    baked = render_dockerfile(bake_model=True)
    assert f"COPY model/ {BAKED_MODEL_DIR}/" in baked
    assert f"ENV MLSERVE_MODEL__PATH={BAKED_MODEL_DIR}" in baked
    # the model is copied after the virtualenv: a new model does not reinstall the libraries
    assert baked.index("COPY --from=builder") < baked.index("COPY model/")


def test_context_pins_the_bundle_libraries_and_bakes_it_readable(tmp_path: Path) -> None:
    bundle = write_toy_bundle(tmp_path / "registry" / "versions" / "v1")
    bundle.chmod(0o700)  # as mkdtemp leaves a staging directory
    wheel = fake_wheel(tmp_path / "dist")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "requirements.txt").write_text("lightgbm==4.5.0\n")
    context = tmp_path / "context"
    context.mkdir()
    said: list[str] = []
    recipe = ImageRecipe(tag="t:1", project=tmp_path / "project", wheel=wheel, bundle=bundle)
    assemble_context(recipe, context, say=said.append)

    versions = read_metadata(bundle).library_versions
    pins = (context / "constraints.txt").read_text().splitlines()
    assert f"scikit-learn=={versions['scikit-learn']}" in pins
    assert f"numpy=={versions['numpy']}" in pins
    assert not any(p.startswith("python") for p in pins)
    assert (context / "requirements.txt").read_text() == "lightgbm==4.5.0\n"
    assert (context / "wheels" / wheel.name).is_file()
    model = context / "model"
    assert (model / "model.joblib").is_file()
    assert stat.S_IMODE(model.stat().st_mode) == 0o755
    assert stat.S_IMODE((model / "metadata.json").stat().st_mode) == 0o644
    assert "COPY model/" in (context / "Dockerfile").read_text()
    assert any(line.startswith("pinned:") and "scikit-learn==" in line for line in said)


def test_a_bad_bundle_or_wheel_is_a_clear_error(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "dist")
    (tmp_path / "empty").mkdir()
    context = tmp_path / "context"
    context.mkdir()
    recipe = ImageRecipe(tag="t:1", wheel=wheel, bundle=tmp_path / "empty")
    with pytest.raises(Exception, match="neither a bundle"):
        assemble_context(recipe, context, say=lambda _line: None)
    with pytest.raises(ConfigurationError, match="not a k8s-mlserve wheel"):
        wheel_version(tmp_path / "other-1.0-py3-none-any.whl")
    with pytest.raises(ConfigurationError, match="neither a wheel file nor a source tree"):
        resolve_wheel(tmp_path / "missing.whl", None, tmp_path / "work")


def test_a_project_wheel_folder_is_found(tmp_path: Path) -> None:
    project = tmp_path / "project"
    wheel = fake_wheel(project / "wheels")
    from k8s_mlserve.__version__ import __version__

    if wheel.name != wheel_name(__version__):
        wheel = fake_wheel(project / "wheels", __version__)
    found, how = resolve_wheel(None, project, tmp_path / "work")
    assert found == wheel
    assert str(wheel) in how
