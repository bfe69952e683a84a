from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mlserve.cli import main
from k8s_mlserve.cli.config import settings_reference
from k8s_mlserve.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def test_docs_list_every_setting() -> None:
    """docs/configuration.md is `k8s-mlserve config`'s output; regenerate it when this fails."""
    assert (ROOT / "docs" / "configuration.md").read_text() == settings_reference()


def test_every_field_appears_once() -> None:
    text = settings_reference()
    for section, field in Settings.model_fields.items():
        assert field.annotation is not None
        for name in field.annotation.model_fields:
            assert text.count(f"| `MLSERVE_{section.upper()}__{name.upper()}` |") == 1


def test_check_reports_invalid_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLSERVE_SERVER__PORT", "0")
    assert main(["config", "--check", "--secrets-dir", str(tmp_path)]) == 2
    assert "MLSERVE_SERVER__PORT" in capsys.readouterr().err
    monkeypatch.setenv("MLSERVE_SERVER__PORT", "8080")
    assert main(["config", "--check", "--secrets-dir", str(tmp_path)]) == 0
    assert "settings are valid" in capsys.readouterr().out


def test_check_fails_on_a_misspelled_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLSERVE_SERVER__PROT", "9000")
    assert main(["config", "--check", "--secrets-dir", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "settings are valid" not in out
    assert (
        err == "error: unknown setting MLSERVE_SERVER__PROT (did you mean MLSERVE_SERVER__PORT?)\n"
    )
