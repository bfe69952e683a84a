"""``rollout analyze``, ``promote --if-healthy`` and ``abort --if-unhealthy`` against a fake
cluster, with the MLflow alias move injected."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_mlserve.cli import build_parser
from k8s_mlserve.cli import rollout as rollout_cli
from k8s_mlserve.manifests import load_spec, render
from k8s_mlserve.release.rollout import Cluster

from ..manifests.conftest import counting_source, minimal
from ..release.fake_pods import FakePodCluster
from ..release.test_analysis import metrics_text, shadow_json

SHADOW = minimal(
    mlflow={},
    model={"registered_name": "churn-model"},
    shadow={"challenger": "@challenger"},
    analysis={"min_rows": 100},
)
CANARY = minimal(
    api={"replicas": 4},
    strategy={"type": "canary", "percent": 25, "canary": {"image_tag": "1.1.0"}},
    analysis={"min_rows": 100},
)


class Moves:
    """An injected MLflow alias move that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, name: str, version: str, alias: str) -> str | None:
        self.calls.append((name, version, alias))
        return "3"


def setup(tmp_path: Path, data: dict[str, Any]) -> tuple[str, FakePodCluster]:
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(data))
    fake = FakePodCluster(render(load_spec(path), counting_source()))
    for deployment in ("demo-stable", "demo-canary"):
        if ("Deployment", "demo", deployment) in fake.objects:
            fake.settle(deployment, "demo")
    return str(path), fake


def run(fake: FakePodCluster, *argv: str, moves: Moves | None = None) -> int:
    args = build_parser().parse_args(["rollout", *argv])

    def connect(_: argparse.Namespace) -> Cluster:
        return Cluster(apps=fake, core=fake, pods=fake)

    return rollout_cli.run(args, connect=connect, move_alias=moves or Moves())


def test_analyze_prints_the_verdict_and_exits_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, fake = setup(tmp_path, SHADOW)
    fake.answer("demo", "/shadow", json.dumps(shadow_json(40, 0.99)))  # 2 pods x 40 rows
    assert run(fake, "analyze", path) == 2
    out = capsys.readouterr().out
    assert out.startswith("shadow analysis: challenger churn-model version v4 against champion")
    assert out.rstrip().endswith("verdict: insufficient")
    fake.answer("demo", "/shadow", json.dumps(shadow_json(60, 0.5)))
    assert run(fake, "analyze", path) == 1
    fake.answer("demo", "/shadow", json.dumps(shadow_json(60, 0.99)))
    assert run(fake, "analyze", path, "--kind", "shadow") == 0


def test_the_token_file_is_sent_to_the_pods(tmp_path: Path) -> None:
    path, fake = setup(tmp_path, SHADOW)
    token = tmp_path / "token"
    token.write_text("from-a-file\n")
    fake.answer("demo", "/shadow", json.dumps(shadow_json(80, 0.99)))
    run(fake, "analyze", path, "--token-file", str(token))
    assert {p["headers"]["X-API-Key"] for p in fake.proxied} == {"from-a-file"}


def test_promote_if_healthy_keeps_the_alias_on_a_failing_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, fake = setup(tmp_path, SHADOW)
    fake.answer("demo", "/shadow", json.dumps(shadow_json(300, 0.80)))
    moves = Moves()
    assert run(fake, "promote", path, "--if-healthy", moves=moves) == 1
    assert moves.calls == []
    assert "not promoting: the shadow verdict is fail" in capsys.readouterr().out
    fake.answer("demo", "/shadow", json.dumps(shadow_json(10, 0.99)))
    assert run(fake, "promote", path, "--if-healthy", moves=moves) == 2
    assert moves.calls == []


def test_promote_if_healthy_moves_the_alias_on_a_passing_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, fake = setup(tmp_path, SHADOW)
    fake.answer("demo", "/shadow", json.dumps(shadow_json(300, 0.99)))
    moves = Moves()
    assert run(fake, "promote", path, "--if-healthy", moves=moves) == 0
    assert moves.calls == [("churn-model", "v4", "champion")]
    out = capsys.readouterr().out
    assert "verdict: pass" in out
    assert (
        "the shadow verdict passed: churn-model version v4 is now @champion (was version 3)" in out
    )
    assert fake.patches == []  # no Deployment touched


def test_promote_if_healthy_promotes_a_canary_only_on_a_pass(tmp_path: Path) -> None:
    path, fake = setup(tmp_path, CANARY)
    fake.answer("demo-stable", "/metrics", metrics_text(300, 0, (0.004,) * 300))
    fake.answer("demo-canary", "/metrics", metrics_text(120, 30, (0.004,) * 150))
    assert run(fake, "promote", path, "--if-healthy") == 1
    assert fake.patches == []
    fake.answer("demo-canary", "/metrics", metrics_text(150, 0, (0.004,) * 150))
    assert run(fake, "promote", path, "--if-healthy") == 0
    stable = fake.deployment("demo-stable", "demo")
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == "k8s-mlserve:1.1.0"
    assert fake.deployment("demo-canary", "demo")["spec"]["replicas"] == 0


def test_abort_if_unhealthy_aborts_only_a_failing_canary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, fake = setup(tmp_path, CANARY)
    fake.answer("demo-stable", "/metrics", metrics_text(300, 0, (0.004,) * 300))
    fake.answer("demo-canary", "/metrics", metrics_text(150, 0, (0.004,) * 150))
    assert run(fake, "abort", path, "--if-unhealthy") == 0
    assert fake.patches == []
    assert "not aborting: the canary verdict is pass" in capsys.readouterr().out
    fake.answer("demo-canary", "/metrics", metrics_text(150, 0, (0.3,) * 150))
    assert run(fake, "abort", path, "--if-unhealthy") == 1
    assert fake.deployment("demo-canary", "demo")["spec"]["replicas"] == 0
    assert "the canary verdict failed: demo-canary scaled to 0" in capsys.readouterr().out


def test_the_new_options_have_help() -> None:
    parser = build_parser()
    for argv, option in (
        (["rollout", "promote", "x"], "if_healthy"),
        (["rollout", "abort", "x"], "if_unhealthy"),
        (["rollout", "analyze", "x"], "kind"),
    ):
        assert hasattr(parser.parse_args(argv), option)
    rollout = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[
        "rollout"
    ]
    text = " ".join(rollout.format_help().split())
    assert "analyze" in text
    assert "exit 0 pass, 1 fail, 2 not enough data" in text


def test_every_command_of_the_releases_page_parses() -> None:
    page = (Path(__file__).resolve().parents[3] / "docs" / "releases.md").read_text()
    blocks = re.findall(r"^```sh\n(.*?)^```$", page, re.DOTALL | re.MULTILINE)
    commands = [
        shlex.split(line)[1:]
        for block in blocks
        for line in block.splitlines()
        if line.startswith("k8s-mlserve ")
    ]
    assert len(commands) >= 10
    assert ["rollout", "promote", "diabetes-shadow.yaml", "--if-healthy"] in commands
    parser = build_parser()
    for argv in commands:
        parser.parse_args(argv)  # exits (SystemExit) on an unknown command or option
    # e2e runs these sections command by command (test_mlflow.py, test_releases.py): commands
    # elsewhere on the page would run in no test
    with_commands = [
        section.partition("\n")[0] for section in page.split("\n## ") if "```sh\n" in section
    ]
    assert with_commands == [
        "Shadow: train, register as challenger, score live traffic, promote",
        "Canary: the new version takes a share of the traffic",
    ]
