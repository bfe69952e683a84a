"""The compose file of a local stack: the containers, settings and Secret names of the
Kubernetes objects, with volumes, health checks and dependencies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_mlserve.cli import main
from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import DeploymentSpec, load_spec
from k8s_mlserve.manifests.compose import Ports, compose_stack, to_compose_yaml
from k8s_mlserve.manifests.config import config_data

from ...browser import missing_tool
from .conftest import example_path, make_spec, rendered


def stack(
    spec: DeploymentSpec, tmp_path: Path, ports: Ports | None = None, **environ: str
) -> dict[str, Any]:
    return compose_stack(
        spec, secrets_dir=tmp_path / "secrets", compose_dir=tmp_path, ports=ports, environ=environ
    )


@pytest.fixture
def diabetes() -> DeploymentSpec:
    return load_spec(example_path("diabetes"))


def test_the_services_of_the_diabetes_example(diabetes: DeploymentSpec, tmp_path: Path) -> None:
    services = stack(diabetes, tmp_path)["services"]
    assert list(services) == ["postgres", "mlflow", "api", "ui", "train", "init"]
    assert services["api"]["image"] == "k8s-mlserve:0.1.0"
    assert services["mlflow"]["image"] == diabetes.mlflow.image  # type: ignore[union-attr]
    assert services["train"]["profiles"] == ["train"]
    assert all("profiles" not in s for name, s in services.items() if name != "train")
    assert services["train"]["restart"] == "no"
    assert services["api"]["restart"] == "unless-stopped"


def test_dependencies_wait_for_health(diabetes: DeploymentSpec, tmp_path: Path) -> None:
    services = stack(diabetes, tmp_path)["services"]
    done = {"condition": "service_completed_successfully"}
    healthy = {"condition": "service_healthy"}
    assert services["postgres"]["depends_on"] == {"init": done}
    assert services["mlflow"]["depends_on"] == {"init": done, "postgres": healthy}
    assert services["api"]["depends_on"] == {"init": done, "mlflow": healthy}
    assert services["train"]["depends_on"] == {"init": done, "mlflow": healthy}
    assert services["ui"]["depends_on"]["api"] == {"condition": "service_started"}
    assert "depends_on" not in services["init"]


def test_health_checks_come_from_the_probes(diabetes: DeploymentSpec, tmp_path: Path) -> None:
    services = stack(diabetes, tmp_path)["services"]
    api = services["api"]["healthcheck"]
    assert api["test"][:3] == ["CMD", "python3", "-c"]
    assert "'http://127.0.0.1:8000/ready'" in api["test"][3]
    assert (api["interval"], api["timeout"], api["retries"]) == ("5s", "3s", 2)
    assert api["start_period"] == f"{diabetes.api.startup_timeout_seconds}s"
    assert "'http://127.0.0.1:5000/health'" in services["mlflow"]["healthcheck"]["test"][3]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][3]
    assert "/_stcore/health" in services["ui"]["healthcheck"]["test"][3]
    assert "healthcheck" not in services["train"]


def test_the_api_gets_the_config_maps_settings(diabetes: DeploymentSpec, tmp_path: Path) -> None:
    api = stack(diabetes, tmp_path)["services"]["api"]
    settings = config_data(diabetes)
    assert {k: api["environment"][k] for k in settings} == settings
    assert api["environment"]["HOME"] == "/tmp"
    assert api["entrypoint"] == ["k8s-mlserve", "serve"]
    # the tracking URI names the Kubernetes Service, an alias of the mlflow service
    assert settings["MLFLOW_TRACKING_URI"] == "http://diabetes-mlflow:5000"
    assert (
        "diabetes-mlflow"
        in stack(diabetes, tmp_path)["services"]["mlflow"]["networks"]["default"]["aliases"]
    )


def test_training_runs_the_jobs_program(diabetes: DeploymentSpec, tmp_path: Path) -> None:
    train = stack(diabetes, tmp_path)["services"]["train"]
    job = next(v for k, v in rendered(diabetes).items() if k.startswith("Job/"))
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert train["entrypoint"] == container["command"]
    assert train["command"] == container["args"]
    assert train["environment"]["MLFLOW_TRACKING_URI"] == "http://diabetes-mlflow:5000"
    assert "diabetes-models:/models" in train["volumes"]


def test_secret_files_are_named_like_the_kubernetes_secrets_keys(
    diabetes: DeploymentSpec, tmp_path: Path
) -> None:
    document = stack(diabetes, tmp_path)
    objects = rendered(diabetes)
    secrets = tmp_path / "secrets"
    api_keys = set(objects["Secret/diabetes-secrets"]["stringData"])
    assert {p.name for p in (secrets / "diabetes-secrets").iterdir()} == api_keys
    env = (secrets / "diabetes-postgres.env").read_text()
    assert {line.split("=")[0] for line in env.splitlines()} == set(
        objects["Secret/diabetes-postgres"]["stringData"]
    )
    for path in [secrets, *secrets.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path
    api = document["services"]["api"]
    assert "diabetes-secrets:/etc/k8s-mlserve/secrets:ro" in api["volumes"]
    assert api["environment"]["MLSERVE_SECRETS_DIR"] == "/etc/k8s-mlserve/secrets"
    assert document["services"]["postgres"]["env_file"] == ["./secrets/diabetes-postgres.env"]
    assert document["services"]["mlflow"]["env_file"] == ["./secrets/diabetes-postgres.env"]
    init = document["services"]["init"]
    assert (
        "./secrets/diabetes-secrets:/run/k8s-mlserve/secrets/diabetes-secrets:ro"
        in (init["volumes"])
    )


def test_no_secret_value_is_in_the_compose_file(diabetes: DeploymentSpec, tmp_path: Path) -> None:
    text = to_compose_yaml(stack(diabetes, tmp_path), source="deploy.yaml")
    values = [p.read_text().strip() for p in (tmp_path / "secrets").rglob("auth__*")]
    env = (tmp_path / "secrets" / "diabetes-postgres.env").read_text()
    values.append(dict(line.split("=", 1) for line in env.splitlines())["POSTGRES_PASSWORD"])
    assert values
    assert not any(v in text for v in values)
    # Kubernetes' $(VAR) in MLflow's arguments: expanded by a shell, escaped for compose
    assert '"postgresql+psycopg2://$${POSTGRES_USER}:$${POSTGRES_PASSWORD}@' in text


def test_generated_values_are_kept_and_given_values_win(tmp_path: Path) -> None:
    spec = make_spec(
        secrets={"api_keys": {"from_env": "DEMO_KEYS"}, "monitoring_token": {"generate": True}}
    )
    stack(spec, tmp_path, DEMO_KEYS="key-one")
    files = tmp_path / "secrets" / "demo-secrets"
    token = (files / "auth__monitoring_token").read_text()
    stack(spec, tmp_path, DEMO_KEYS="key-two")
    assert (files / "auth__monitoring_token").read_text() == token
    assert (files / "auth__api_keys").read_text() == "key-two\n"


def test_a_value_the_spec_drops_is_removed(tmp_path: Path) -> None:
    stack(make_spec(), tmp_path)
    stack(make_spec(secrets={"monitoring_token": None}), tmp_path)
    files = tmp_path / "secrets" / "demo-secrets"
    assert [p.name for p in files.iterdir()] == ["auth__api_keys"]


def test_an_existing_secret_needs_its_files(tmp_path: Path) -> None:
    spec = make_spec(secrets={"existing": "team-keys"})
    with pytest.raises(
        ConfigurationError, match=r"secrets.existing .* put its keys in .*team-keys"
    ):
        stack(spec, tmp_path)
    (tmp_path / "secrets" / "team-keys").mkdir(parents=True)
    (tmp_path / "secrets" / "team-keys" / "auth__api_keys").write_text("k\n")
    init = stack(spec, tmp_path)["services"]["init"]
    assert "./secrets/team-keys:/run/k8s-mlserve/secrets/team-keys:ro" in init["volumes"]


def test_volumes_are_the_claims_and_init_gives_them_to_their_writers(
    diabetes: DeploymentSpec, tmp_path: Path
) -> None:
    document = stack(diabetes, tmp_path)
    assert set(document["volumes"]) == {
        "data-diabetes-postgres-0",
        "diabetes-logs",
        "diabetes-mlflow-artifacts",
        "diabetes-models",
        "diabetes-secrets",
    }
    init = document["services"]["init"]
    script = init["entrypoint"][2]
    assert "chown -R 999:999 /volumes/data-diabetes-postgres-0" in script
    assert "chown -R 10001:10001 /volumes/diabetes-models" in script
    assert "chmod 0440 /volumes/diabetes-secrets/*" in script
    assert (init["user"], init["network_mode"], init["cap_drop"]) == ("0:0", "none", ["ALL"])
    api = document["services"]["api"]
    assert (api["user"], api["read_only"], api["tmpfs"]) == (
        "10001:10001",
        True,
        ["/tmp:mode=1777,uid=10001,gid=10001"],
    )
    assert api["security_opt"] == ["no-new-privileges:true"]


def test_ports_are_published_on_loopback(diabetes: DeploymentSpec, tmp_path: Path) -> None:
    services = stack(diabetes, tmp_path)["services"]
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["mlflow"]["ports"] == ["127.0.0.1:5000:5000"]
    assert services["ui"]["ports"] == ["127.0.0.1:8501:8501"]
    assert "ports" not in services["postgres"]
    chosen = Ports(address="0.0.0.0", api=0, mlflow=None, ui=9000, postgres=15432)
    services = stack(diabetes, tmp_path, chosen)["services"]
    assert services["api"]["ports"] == ["0.0.0.0::8000"]
    assert "ports" not in services["mlflow"]
    assert services["ui"]["ports"] == ["0.0.0.0:9000:8501"]
    assert services["postgres"]["ports"] == ["0.0.0.0:15432:5432"]


def test_the_page_calls_the_api_on_its_container_port(
    diabetes: DeploymentSpec, tmp_path: Path
) -> None:
    ui = stack(diabetes, tmp_path)["services"]["ui"]
    assert ui["command"][:2] == ["--url", "http://diabetes:8000"]
    assert stack(make_spec(ui={"enabled": False}), tmp_path)["services"].keys() == {"api", "init"}


def test_a_spec_without_mlflow(tmp_path: Path) -> None:
    services = stack(make_spec(), tmp_path)["services"]
    assert set(services) == {"api", "init"}
    assert services["api"]["depends_on"] == {
        "init": {"condition": "service_completed_successfully"}
    }
    assert "MLFLOW_TRACKING_URI" not in services["api"]["environment"]


def test_blue_green_runs_the_live_colour(tmp_path: Path) -> None:
    spec = make_spec(
        strategy={"type": "blue-green", "live": "green", "green": {"image_tag": "2.0.0"}}
    )
    assert stack(spec, tmp_path)["services"]["api"]["image"] == "k8s-mlserve:2.0.0"


def test_the_command_writes_the_file_and_the_secrets(tmp_path: Path) -> None:
    output = tmp_path / "local" / "docker-compose.yml"
    assert main(["compose", str(example_path("diabetes")), "--output", str(output)]) == 0
    document = yaml.safe_load(output.read_text())
    assert set(document["services"]) == {"postgres", "mlflow", "api", "ui", "train", "init"}
    assert (tmp_path / "local" / "secrets" / "diabetes-secrets" / "auth__api_keys").is_file()


def test_docker_compose_accepts_the_file(diabetes: DeploymentSpec, tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        missing_tool("docker-compose not found on PATH (apt-get install docker-compose)")
    path = tmp_path / "docker-compose.yml"
    path.write_text(to_compose_yaml(stack(diabetes, tmp_path), source="deploy.yaml"))
    for profile in ([], ["--profile", "train"]):
        result = subprocess.run(
            [tool, "-f", str(path), *profile, "config", "-q"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def test_the_command_prints_to_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = tmp_path / "elsewhere"
    argv = ["compose", str(example_path("diabetes")), "-o", "-", "--secrets-dir", str(secrets)]
    assert main([*argv, "--api-port", "-1", "--postgres-port", "5433"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert "ports" not in document["services"]["api"]
    assert document["services"]["postgres"]["ports"] == ["127.0.0.1:5433:5432"]
    assert document["services"]["postgres"]["env_file"] == [f"{secrets}/diabetes-postgres.env"]
    assert (secrets / "diabetes-secrets" / "auth__api_keys").is_file()
