"""Which ``MLSERVE_*`` variables and secret files match no setting, and what was meant."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from k8s_mlserve.cli.config import settings_reference
from k8s_mlserve.setting_names import OTHER_VARIABLES, UnknownName, setting_paths, unknown_names
from k8s_mlserve.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"(?<![A-Za-z0-9_])MLSERVE_[A-Z0-9_]*[A-Z0-9]")


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("MLSERVE_SERVER__PROT", "MLSERVE_SERVER__PORT"),
        ("MLSERVE_MODEL__PAHT", "MLSERVE_MODEL__PATH"),
        ("mlserve_auth__api_key", "MLSERVE_AUTH__API_KEYS"),
        ("MLSERVE_SERVER_PORT", "MLSERVE_SERVER__PORT"),
        ("MLSERVE_PORT", "MLSERVE_SERVER__PORT"),
        ("MLSERVE_SECRET_DIR", "MLSERVE_SECRETS_DIR"),
    ],
)
def test_a_misspelled_variable_is_named_with_the_closest_setting(name: str, meant: str) -> None:
    (unknown,) = unknown_names(Settings, {name: "1"})
    assert unknown == UnknownName(name, meant)
    assert str(unknown) == f"unknown setting {name} (did you mean {meant}?)"


def test_a_name_like_no_setting_points_to_the_list() -> None:
    (unknown,) = unknown_names(Settings, {"MLSERVE_ZZZ": "1"})
    assert unknown.suggestion is None
    assert (
        str(unknown) == "unknown setting MLSERVE_ZZZ (see `k8s-mlserve config` for every setting)"
    )


def test_settings_sections_and_other_variables_are_known() -> None:
    environ = {f"MLSERVE_{path.upper()}": "1" for path in setting_paths(Settings)}
    environ.update({name: "1" for name in OTHER_VARIABLES})
    environ.update(
        {
            "MLSERVE_SERVER": '{"port": 9000}',  # a whole section, as JSON
            "mlserve_model__path": "/models/iris",  # read without regard to case
            "MLFLOW_TRACKING_URI": "http://mlflow:5000",
            "K8S_MLSERVE_KIND": "1",  # the pytest plugin's, another prefix
        }
    )
    assert unknown_names(Settings, environ) == []


def test_setting_paths_are_the_settings_the_reference_lists() -> None:
    listed = re.findall(r"^\| `MLSERVE_(\w+)` \|", settings_reference(), flags=re.MULTILINE)
    assert setting_paths(Settings) == [name.lower() for name in listed]
    assert "model__wait_for_path" in setting_paths(Settings)


def test_secret_files_that_match_no_setting(tmp_path: Path) -> None:
    (tmp_path / "auth__api_keys").write_text("k1\n")
    (tmp_path / "AUTH__MONITORING_TOKEN").write_text("t\n")
    (tmp_path / "..data").mkdir()  # how Kubernetes mounts a Secret: hidden, not a setting
    (tmp_path / "auth__monitoring_tokne").write_text("t\n")
    (tmp_path / "notes.txt").write_text("x\n")
    assert unknown_names(Settings, {}, tmp_path) == [
        UnknownName("auth__monitoring_tokne", "auth__monitoring_token", tmp_path),
        UnknownName("notes.txt", None, tmp_path),
    ]
    assert str(unknown_names(Settings, {}, tmp_path)[0]) == (
        f"unknown secret file auth__monitoring_tokne in {tmp_path} "
        "(did you mean auth__monitoring_token?)"
    )


def test_every_mlserve_variable_the_project_reads_is_known() -> None:
    """A new ``MLSERVE_*`` variable that is not a setting must be added to OTHER_VARIABLES."""
    files = [*(ROOT / "src").rglob("*.py"), ROOT / "Dockerfile", *(ROOT / "examples").rglob("*")]
    names = {
        name
        for path in files
        if path.is_file()
        and path.suffix in {"", ".py", ".yaml", ".md", ".toml"}
        and path.name != "setting_names.py"  # its docstring shows a misspelled name
        for name in NAME.findall(path.read_text(errors="replace"))
    }
    assert "MLSERVE_SECRETS_DIR" in names, "the scan finds the project's names"
    assert "MLSERVE_TRAINING_OUTPUT" in names
    # Names in prose that end a prefix ("MLSERVE_DRIFT__*") are sections, known as such.
    assert [u.name for u in unknown_names(Settings, dict.fromkeys(names, "1"))] == []
