"""The Python in the docs that writes bundles runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from k8s_mlserve.drift import load_reference

ROOT = Path(__file__).resolve().parents[2]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(document: str, *mentioning: str) -> list[str]:
    """The ```python blocks of ``document`` that mention any of ``mentioning``."""
    text = (ROOT / document).read_text()
    return [block for block in PYTHON_BLOCK.findall(text) if any(m in block for m in mentioning)]


def run(blocks: list[str], document: str, namespace: dict[str, object]) -> dict[str, object]:
    """Run the blocks one after the other in one namespace, like a reader pasting them."""
    for block in blocks:
        # The code is ours, from the repository's docs: running it is the point of the test.
        exec(compile(block, document, "exec"), namespace)  # noqa: S102
    return namespace


def test_the_drift_docs_write_bundles_with_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = python_blocks("docs/drift.md", "write_bundle", "build_reference")
    assert len(blocks) == 2  # the default reference, then an out-of-fold one
    monkeypatch.chdir(tmp_path)
    run(blocks, "docs/drift.md", {})
    for version in ("v1", "v2"):
        reference = load_reference(tmp_path / "models" / "cancer" / version)
        assert len(reference.names) == 30
        assert reference.predictions.labels is not None
        assert set(reference.predictions.labels.counts) == {"0", "1"}
        assert reference.predictions.scores is not None
        # The highest probability, as the server reports it without a positive class.
        assert reference.predictions.scores.edges[0] >= 0.5


def test_the_readme_writes_a_bundle_with_a_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (block,) = python_blocks("README.md", "write_bundle")
    x_train, y_train = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    monkeypatch.chdir(tmp_path)
    run([block], "README.md", {"model": model, "X_train": x_train, "y_train": y_train})
    reference = load_reference(tmp_path / "models" / "credit" / "v1")
    assert reference.rows == len(x_train)
    assert reference.predictions.labels is not None
    assert np.isclose(sum(reference.predictions.labels.shares.values()), 1.0)
