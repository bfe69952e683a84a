"""``k8s-mlserve manifests`` and ``k8s-mlserve rollout``."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest
import yaml

from k8s_mlserve.cli import build_parser, main
from k8s_mlserve.cli import rollout as rollout_cli
from k8s_mlserve.manifests import load_spec, render
from k8s_mlserve.release.rollout import Cluster

from .conftest import counting_source, example_path
from .fake_cluster import FakeCluster


def test_manifests_prints_multi_document_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifests", str(example_path("diabetes"))]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert documents[0]["kind"] == "Namespace"
    hpa = next(d for d in documents if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"  # the example targets current Kubernetes


def test_manifests_target_override(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifests", str(example_path("diabetes")), "--kubernetes-version", "1.20"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert {d["apiVersion"] for d in documents if d["kind"] == "HorizontalPodAutoscaler"} == {
        "autoscaling/v2beta2"
    }


def test_manifests_live_colour(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifests", str(example_path("iris")), "--live", "green"]) == 0
    service = next(d for d in yaml.safe_load_all(capsys.readouterr().out) if d["kind"] == "Service")
    assert service["spec"]["selector"]["k8s-mlserve/colour"] == "green"
    assert main(["manifests", str(example_path("churn")), "--live", "green"]) == 2
    assert "--live needs strategy blue-green" in capsys.readouterr().err


def test_manifests_output_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "k8s"
    assert main(["manifests", str(example_path("churn")), "--output-dir", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    resources = yaml.safe_load((out / "kustomization.yaml").read_text())["resources"]
    assert len(resources) == len(list(out.glob("*.yaml"))) - 1


def test_manifests_leave_secrets_out_of_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifests", str(example_path("diabetes"))]) == 0
    out, err = capsys.readouterr()
    kinds = {d["kind"] for d in yaml.safe_load_all(out)}
    assert "Secret" not in kinds
    assert {"Namespace", "Deployment", "Service"} <= kinds
    assert "left out 2 Secret(s)" in err
    assert "diabetes-postgres, diabetes-secrets" in err
    assert "--include-secrets" in err


def test_manifests_include_secrets_prints_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifests", str(example_path("diabetes")), "--include-secrets"]) == 0
    out, err = capsys.readouterr()
    secrets = [d for d in yaml.safe_load_all(out) if d["kind"] == "Secret"]
    assert sorted(s["metadata"]["name"] for s in secrets) == [
        "diabetes-postgres",
        "diabetes-secrets",
    ]
    assert all(s.get("stringData") or s.get("data") for s in secrets)
    assert "left out" not in err


def test_manifests_output_dir_writes_secrets_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "k8s"
    assert main(["manifests", str(example_path("diabetes")), "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    secrets = sorted(out.glob("*-secret-*.yaml"))
    assert [yaml.safe_load(p.read_text())["metadata"]["name"] for p in secrets] == [
        "diabetes-postgres",
        "diabetes-secrets",
    ]
    assert {stat.S_IMODE(p.stat().st_mode) for p in secrets} == {0o600}


def test_manifests_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "deploy.yaml"
    spec.write_text("name: demo\nimage: {repository: r, tag: latest}\n")
    assert main(["manifests", str(spec)]) == 2
    assert "image.tag: the tag 'latest'" in capsys.readouterr().err
    spec.write_text("name: demo\nimage: {repository: r, tag: '1'}\n")
    assert main(["manifests", str(spec), "--kubernetes-version", "1.19"]) == 2
    assert "the oldest supported version is 1.20" in capsys.readouterr().err
    assert main(["manifests", str(spec), "--kubernetes-version", "one"]) == 2
    assert "--kubernetes-version: 'one' is not a Kubernetes version" in capsys.readouterr().err


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["rollout", *argv])


def test_rollout_switch_through_an_injected_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(example_path("iris"))
    fake = FakeCluster(render(load_spec(path), counting_source()))
    fake.settle("iris-green", "iris")
    seen: list[argparse.Namespace] = []

    def connect(args: argparse.Namespace) -> Cluster:
        seen.append(args)
        return Cluster(apps=fake, core=fake)

    args = _args("switch", path, "--to", "green", "--context", "lab")
    assert rollout_cli.run(args, connect=connect) == 0
    assert capsys.readouterr().out.strip() == "Service iris now sends traffic to green (was blue)"
    assert seen[0].context == "lab"
    assert rollout_cli.run(_args("status", path), connect=connect) == 0
    assert capsys.readouterr().out.startswith("live: green\n")


def test_rollout_promote_and_abort(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(example_path("churn"))
    fake = FakeCluster(render(load_spec(path), counting_source()))
    for name in ("churn-stable", "churn-canary"):
        fake.settle(name, "churn")

    def connect(args: argparse.Namespace) -> Cluster:
        return Cluster(apps=fake, core=fake)

    assert rollout_cli.run(_args("abort", path), connect=connect) == 0
    assert "churn-canary scaled to 0" in capsys.readouterr().out
    assert fake.deployment("churn-stable", "churn")["spec"]["replicas"] == 4
    assert rollout_cli.run(_args("promote", path, "--force"), connect=connect) == 0
    assert "churn-stable now runs the canary's pods" in capsys.readouterr().out


def test_rollout_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["rollout", "switch", str(example_path("iris")), "--kubeconfig", str(tmp_path / "missing")]
    )
    assert code == 2
    assert "cannot use the kubeconfig" in capsys.readouterr().err
