"""What the page is started with, and the credentials read from a mounted Secret."""

from __future__ import annotations

from pathlib import Path

from k8s_mlserve.ui.environment import DEFAULT_URL, PageConfig, read_secrets


def test_the_configuration_survives_the_trip_through_the_environment() -> None:
    config = PageConfig("http://api:8000", api_key="k", monitoring_token="t")
    assert PageConfig.from_environ(config.to_environ()) == config


def test_without_variables_the_page_talks_to_a_local_server_without_credentials() -> None:
    assert PageConfig.from_environ({}) == PageConfig(DEFAULT_URL, None, None)
    assert PageConfig().to_environ() == {
        "MLSERVE_UI_URL": DEFAULT_URL,
        "MLSERVE_UI_INPUTS": "numbers",
    }


def test_the_first_key_and_the_token_of_a_secrets_directory(tmp_path: Path) -> None:
    (tmp_path / "auth__api_keys").write_text("\n  key-current \nkey-previous\n")
    (tmp_path / "auth__monitoring_token").write_text("token\n")
    assert read_secrets(tmp_path) == ("key-current", "token")


def test_comma_separated_keys_as_the_server_reads_them(tmp_path: Path) -> None:
    (tmp_path / "auth__api_keys").write_text(" ,key-a,key-b")
    assert read_secrets(tmp_path) == ("key-a", None)


def test_a_secrets_directory_without_the_files_gives_nothing(tmp_path: Path) -> None:
    assert read_secrets(tmp_path) == (None, None)


def test_sliders_travel_to_the_page_and_anything_else_means_number_boxes() -> None:
    assert PageConfig.from_environ(PageConfig(inputs="sliders").to_environ()).inputs == "sliders"
    assert PageConfig.from_environ({"MLSERVE_UI_INPUTS": "knobs"}).inputs == "numbers"
