"""docs/own-model.md, run: a model project that is not k8s-mlserve installs it from this source
tree, trains, builds its image, deploys, pushes two versions, re-applies, and runs its own suite
(the three ways a model reaches the cluster) with the plugin, on the test cluster.

The page's ``sh`` blocks are joined into one script and run in a copy of examples/own-model.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from k8s_mlserve.testing.cluster import Cluster
from k8s_mlserve.testing.options import MlserveOptions

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "own-model.md"
PROJECT = ROOT / "examples" / "own-model"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def page_script() -> str:
    """The ``sh`` blocks of the page, in order, as one script."""
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6, "docs/own-model.md lost its command blocks"
    return "\n".join(blocks)


def load_command(options: MlserveOptions, cluster: Cluster) -> str:
    """The page's $LOAD_IMAGE for this cluster: the plugin's image loader, image last."""
    loader = (options.image_loader or ("kind" if cluster.kind_name else "none")).strip()
    if loader == "none":
        return "true"
    if loader == "kind" or loader.startswith("kind:"):
        name = loader.partition(":")[2] or cluster.kind_name or options.kind_cluster_name
        return f"kind load docker-image --name {name}"
    return loader.replace("{image}", "").strip()


def test_the_own_model_page_runs_as_written(
    mlserve_cluster: Cluster, mlserve_options: MlserveOptions, tmp_path: Path
) -> None:
    project = tmp_path / "own-model"
    shutil.copytree(
        PROJECT, project, ignore=shutil.ignore_patterns(".venv", "models", "*.egg-info", "build")
    )
    kubectl = shutil.which(mlserve_cluster.kubectl_binary) or mlserve_cluster.kubectl_binary
    env = {
        **os.environ,
        "K8S_MLSERVE_SRC": str(ROOT),
        "LOAD_IMAGE": load_command(mlserve_options, mlserve_cluster),
        "PATH": f"{Path(kubectl).parent}{os.pathsep}{os.environ['PATH']}",
    }
    if mlserve_cluster.kubeconfig is not None:
        env["KUBECONFIG"] = str(mlserve_cluster.kubeconfig)
    if mlserve_options.base_image:
        env["BASE_IMAGE"] = mlserve_options.base_image
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "K8S_MLSERVE_IMAGE", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", page_script()],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=3600,
        check=False,
    )
    output = result.stdout
    # pip's notes about this machine's package sources say nothing about the page
    shown = "\n".join(line for line in output.splitlines() if "WARNING: Location" not in line)
    assert result.returncode == 0, shown[-15000:]
    assert "k8s-mlserve installed" in output
    assert '"label"' in output, "the page's prediction answered"
    assert "without the key: 401" in output
    assert "the same key after two applies: 200" in output
    assert re.search(r"\b5 passed\b", output), "the project's own suite ran in full"
