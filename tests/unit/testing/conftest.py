"""Fake ``kind``, ``kubectl`` and ``docker`` executables that record how they were called, and a
clean slate of ``K8S_MLSERVE_*`` variables (CI sets them for the real cluster)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from k8s_mlserve.testing.options import ENV

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: fake
  user: {token: fake}
contexts:
- name: fake
  context: {cluster: fake, user: fake}
current-context: fake
"""

# Each fake appends its argv (as JSON) to LOG, then behaves as the body says.
PRELUDE = """\
import json, sys
from pathlib import Path
LOG = Path({log!r})
with LOG.open("a") as handle:
    handle.write(json.dumps([Path(sys.argv[0]).name, *sys.argv[1:]]) + "\\n")
args = sys.argv[1:]
"""

KUBECTL = """\
if "version" in args:
    print(json.dumps({"serverVersion": {"major": "1", "minor": "20", "gitVersion": "v1.20.2"}}))
"""

DOCKER_UP = """\
if args[:1] == ["info"]:
    print("20.10.24")
"""

DOCKER_DOWN = """\
if args[:1] == ["info"]:
    print("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
          "Is the docker daemon running?", file=sys.stderr)
    sys.exit(1)
"""

KIND = """\
state = LOG.with_name("kind-clusters.json")
clusters = json.loads(state.read_text()) if state.exists() else []
options = dict(a.removeprefix("--").split("=", 1) for a in args if a.startswith("--") and "=" in a)
if args[:2] == ["get", "clusters"]:
    print("\\n".join(clusters))
elif args[:2] == ["create", "cluster"]:
    Path(options["kubeconfig"]).write_text({kubeconfig!r})
    state.write_text(json.dumps([*clusters, options["name"]]))
elif args[:2] == ["delete", "cluster"]:
    state.write_text(json.dumps([c for c in clusters if c != options["name"]]))
"""


@dataclass
class FakeTools:
    """A directory of fake executables, to put alone on PATH."""

    bin: Path
    log: Path

    def add(self, name: str, body: str = "") -> Path:
        path = self.bin / name
        path.write_text(f"#!{sys.executable}\n" + PRELUDE.format(log=str(self.log)) + body)
        path.chmod(0o755)
        return path

    def calls(self, name: str) -> list[list[str]]:
        """The argument lists ``name`` was called with, in order."""
        if not self.log.exists():
            return []
        calls = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [call[1:] for call in calls if call[0] == name]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin reads K8S_MLSERVE_* variables; tests set the ones they mean."""
    for variable in ENV.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeTools:
    """An empty PATH directory to fill with fakes (``add``); nothing else is on PATH."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return FakeTools(bin_dir, tmp_path / "calls.jsonl")


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    return path


def fake_kind_body() -> str:
    return KIND.replace("{kubeconfig!r}", repr(KUBECONFIG))
