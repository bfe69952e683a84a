from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mlserve import ConfigurationError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = load_settings(tmp_path)
    assert settings.server.port == 8000
    assert settings.server.host == "127.0.0.1"
    assert settings.auth.api_keys == []
    assert not settings.auth.enabled
    assert settings.model.resolution == ["bundle", "mlflow"]
    assert settings.model.allow_version_mismatch is False
    assert settings.mlflow.tracking_uri is None


def test_environment_and_secret_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "auth__api_keys").write_text("first-key\nsecond-key\n")
    (tmp_path / "auth__monitoring_token").write_text("scrape-me\n")
    monkeypatch.setenv("MLSERVE_SERVER__PORT", "9100")
    monkeypatch.setenv("MLSERVE_MODEL__PATH", "/models/iris")
    monkeypatch.setenv("MLSERVE_MODEL__ALLOW_VERSION_MISMATCH", "true")
    monkeypatch.setenv("MLSERVE_RESPONSE__RISK_LABELS", "Faible,Modéré,Élevé")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    settings = load_settings(tmp_path)
    assert settings.server.port == 9100
    assert settings.model.path == Path("/models/iris")
    assert settings.model.allow_version_mismatch is True
    assert [k.get_secret_value() for k in settings.auth.api_keys] == ["first-key", "second-key"]
    assert settings.auth.monitoring_token is not None
    assert settings.auth.monitoring_token.get_secret_value() == "scrape-me"
    assert settings.response.risk_labels == ["Faible", "Modéré", "Élevé"]
    assert settings.mlflow.tracking_uri == "http://mlflow:5000"
    assert "first-key" not in repr(settings)


def test_secrets_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "auth__api_keys").write_text("k1,k2")
    monkeypatch.setenv("MLSERVE_SECRETS_DIR", str(tmp_path))
    assert len(load_settings().auth.api_keys) == 2


def test_overrides_merge_with_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLSERVE_SERVER__LOG_LEVEL", "debug")
    settings = load_settings(tmp_path, {"server": {"port": 9200}})
    assert (settings.server.port, settings.server.log_level) == (9200, "debug")


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("MLSERVE_SERVER__PORT", "eighty", "MLSERVE_SERVER__PORT"),
        ("MLSERVE_SERVER__PORT", "70000", "MLSERVE_SERVER__PORT"),
        ("MLSERVE_SERVER__LOG_LEVEL", "loud", "MLSERVE_SERVER__LOG_LEVEL"),
        ("MLSERVE_MODEL__RESOLUTION", "bundle,s3", "MLSERVE_MODEL__RESOLUTION"),
        ("MLSERVE_BATCHING__MAX_BATCH_SIZE", "0", "MLSERVE_BATCHING__MAX_BATCH_SIZE"),
    ],
)
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=named):
        load_settings(tmp_path)


def test_missing_secrets_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "nope")


def test_production_requires_a_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLSERVE_SERVER__ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError, match="authentication is required") as refused:
        load_settings(tmp_path)
    assert "MLSERVE_AUTH__REQUIRED=false" in str(refused.value)
    monkeypatch.setenv("MLSERVE_AUTH__REQUIRED", "false")
    assert not load_settings(tmp_path).auth.enabled, "an operator may still choose no keys"
    monkeypatch.delenv("MLSERVE_AUTH__REQUIRED")
    (tmp_path / "auth__api_keys").write_text("k1\n")
    settings = load_settings(tmp_path)
    assert settings.auth.required is True
    assert settings.auth.enabled


def test_required_outside_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_settings(tmp_path).auth.required is False, "development serves without keys"
    monkeypatch.setenv("MLSERVE_AUTH__REQUIRED", "true")
    with pytest.raises(ConfigurationError, match="no API key is configured"):
        load_settings(tmp_path)


@pytest.mark.parametrize("content", [" \n", ",,", " , \n ,", ""])
def test_a_keys_file_without_a_key_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "auth__api_keys").write_text(content)
    with pytest.raises(ConfigurationError, match="holds no key"):
        load_settings(tmp_path)


def test_blank_entries_between_keys_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "auth__api_keys").write_text("k1,, ,k2\n")
    keys = [k.get_secret_value() for k in load_settings(tmp_path).auth.api_keys]
    assert keys == ["k1", "k2"]


def test_unknown_names_are_kept_with_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLSERVE_SERVER__PROT", "9000")
    (tmp_path / "auth__api_key").write_text("k1\n")
    settings = load_settings(tmp_path)
    assert settings.server.port == 8000, "the misspelled variable sets nothing"
    assert [str(unknown) for unknown in settings.unknown_names] == [
        "unknown setting MLSERVE_SERVER__PROT (did you mean MLSERVE_SERVER__PORT?)",
        f"unknown secret file auth__api_key in {tmp_path} (did you mean auth__api_keys?)",
    ]
    monkeypatch.delenv("MLSERVE_SERVER__PROT")
    (tmp_path / "auth__api_key").rename(tmp_path / "auth__api_keys")
    assert load_settings(tmp_path).unknown_names == ()


def test_an_invalid_environment_names_the_unknown_names_that_may_explain_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLSERVE_SERVER__ENVIRONMENT", "production")
    monkeypatch.setenv("MLSERVE_AUTH__API_KEY", "k1")
    with pytest.raises(ConfigurationError, match="no API key is configured") as refused:
        load_settings(tmp_path)
    assert "unknown setting MLSERVE_AUTH__API_KEY (did you mean MLSERVE_AUTH__API_KEYS?)" in str(
        refused.value
    )


@pytest.mark.parametrize(
    ("kubernetes", "setting", "waits"),
    [
        (None, None, False),  # run by hand: a missing path is a mistake
        ("10.96.0.1", None, True),  # in a pod: the volume may be mounted late
        (None, "true", True),
        ("10.96.0.1", "false", False),
    ],
)
def test_waiting_for_the_model_path_defaults_to_being_in_kubernetes(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    kubernetes: str | None,
    setting: str | None,
    waits: bool,
) -> None:
    for name, value in (
        ("KUBERNETES_SERVICE_HOST", kubernetes),
        ("MLSERVE_MODEL__WAIT_FOR_PATH", setting),
    ):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert load_settings(tmp_path).model.wait_for_path is waits
    overridden = load_settings(tmp_path, {"model": {"path": tmp_path / "m"}})
    assert overridden.model.wait_for_path is waits


def test_shadow_scoring_is_off_unless_a_challenger_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = load_settings(tmp_path)
    assert (settings.shadow.model, settings.shadow.sample_rate) == (None, 0.1)
    assert settings.shadow.queue_size == 1000
    monkeypatch.setenv("MLSERVE_SHADOW__MODEL", " models:/iris-model@challenger ")
    monkeypatch.setenv("MLSERVE_SHADOW__SAMPLE_RATE", "0.25")
    monkeypatch.setenv("MLSERVE_SHADOW__QUEUE_SIZE", "10")
    settings = load_settings(tmp_path)
    assert settings.shadow.model == "models:/iris-model@challenger"
    assert (settings.shadow.sample_rate, settings.shadow.queue_size) == (0.25, 10)
    assert settings.unknown_names == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [("MLSERVE_SHADOW__SAMPLE_RATE", "1.5"), ("MLSERVE_SHADOW__QUEUE_SIZE", "0")],
)
def test_shadow_settings_out_of_range_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        load_settings(tmp_path)
