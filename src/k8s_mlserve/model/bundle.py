"""Model bundles: the on-disk layout a model lives in, on a laptop or on a PersistentVolume.

A bundle is a directory::

    model.joblib     the fitted estimator or pipeline (pickled: loading it runs code)
    metadata.json    name, version, schema, classes, sha256 of model.joblib, ...
    metrics.json     evaluation metrics from training
    reference.json   optional drift reference profile

Loading verifies the sha256 before unpickling, so a truncated or swapped file is refused.
Unpickling executes code from the file: only load bundles you or your pipeline wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from ..errors import BundleError, BundleNotFoundError, IntegrityError
from .schema import InputSchema

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
METRICS_FILE = "metrics.json"
REFERENCE_FILE = "reference.json"


class ResponseSpec(BaseModel):
    """Extra fields a binary classifier's response carries (e.g. the diabetes contract).

    ``flag_field`` is true when the positive class wins; ``risk_field`` bands the positive-class
    probability at ``thresholds`` into ``labels``.
    """

    model_config = ConfigDict(frozen=True)

    positive_class: str
    flag_field: str | None = None
    probability_field: str | None = "probability"
    risk_field: str | None = None
    thresholds: tuple[float, ...] = (0.3, 0.7)
    labels: tuple[str, ...] = ("low", "moderate", "high")


class BundleMetadata(BaseModel):
    """What ``metadata.json`` records about a model."""

    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str
    created_at: datetime
    model_class: str
    algorithm: str | None = None
    library_versions: dict[str, str] = Field(default_factory=dict)
    input_schema: InputSchema
    classes: list[str] | None = None
    training_rows: int
    sha256: str
    mlflow_run_id: str | None = None
    mlflow_model_uri: str | None = None
    response: ResponseSpec | None = None
    params: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: the model object plus what was recorded about it."""

    path: Path
    model: Any
    metadata: BundleMetadata
    metrics: dict[str, float]

    @property
    def reference_path(self) -> Path:
        return self.path / REFERENCE_FILE


def library_versions() -> dict[str, str]:
    """Versions of the libraries a pickled model depends on."""
    import numpy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_bundle(path: Path) -> bool:
    return (path / METADATA_FILE).is_file() and (path / MODEL_FILE).is_file()


def write_bundle(
    path: str | os.PathLike[str],
    model: Any,
    training_frame: pd.DataFrame,
    *,
    name: str,
    version: str,
    metrics: dict[str, float] | None = None,
    algorithm: str | None = None,
    response: ResponseSpec | None = None,
    params: dict[str, Any] | None = None,
    mlflow_run_id: str | None = None,
    reference: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a bundle for a fitted ``model`` trained on ``training_frame`` (features only).

    The bundle is assembled in a temporary sibling directory and renamed into place, so a reader
    never sees a half-written bundle. Returns the bundle path.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise BundleError(f"{target} already exists; choose another path or pass overwrite=True")
    schema = InputSchema.infer(training_frame)
    classes = getattr(model, "classes_", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        joblib.dump(model, staging / MODEL_FILE)
        metadata = BundleMetadata(
            name=name,
            version=version,
            created_at=datetime.now(UTC),
            model_class=_qualname(model),
            algorithm=algorithm,
            library_versions=library_versions(),
            input_schema=schema,
            classes=[str(c) for c in classes] if classes is not None else None,
            training_rows=len(training_frame),
            sha256=sha256_file(staging / MODEL_FILE),
            mlflow_run_id=mlflow_run_id,
            response=response,
            params=params or {},
        )
        _write_json(staging / METADATA_FILE, metadata.model_dump(mode="json"))
        _write_json(staging / METRICS_FILE, metrics or {})
        if reference is not None:
            _write_json(staging / REFERENCE_FILE, reference)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_metadata(path: str | os.PathLike[str]) -> BundleMetadata:
    """Read and validate ``metadata.json`` without unpickling the model."""
    bundle_dir = Path(path)
    meta_path = bundle_dir / METADATA_FILE
    if not meta_path.is_file():
        raise BundleNotFoundError(f"{bundle_dir} is not a model bundle (no {METADATA_FILE})")
    try:
        return BundleMetadata.model_validate_json(meta_path.read_bytes())
    except PydanticValidationError as exc:
        raise BundleError(f"{meta_path} is invalid: {exc}") from exc


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Load a bundle, refusing a model file whose sha256 differs from the recorded one."""
    bundle_dir = Path(path)
    metadata = read_metadata(bundle_dir)
    model_path = bundle_dir / MODEL_FILE
    if not model_path.is_file():
        raise BundleNotFoundError(f"{bundle_dir} has no {MODEL_FILE}")
    actual = sha256_file(model_path)
    if actual != metadata.sha256:
        raise IntegrityError(
            f"{model_path} has sha256 {actual} but metadata.json records {metadata.sha256}; "
            "refusing to unpickle a file that is not the one that was written"
        )
    metrics_path = bundle_dir / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return Bundle(
        path=bundle_dir, model=joblib.load(model_path), metadata=metadata, metrics=metrics
    )


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
