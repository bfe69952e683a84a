"""Model bundles: the on-disk layout a model lives in, on a laptop or on a PersistentVolume.

A bundle is a directory::

    model.joblib     the fitted estimator or pipeline (pickled: loading it runs code)
    model.onnx       the same model compiled to ONNX, when it converts and passes the parity
                     check (see ``compiled``)
    metadata.json    name, version, schema, classes, sha256 of model.joblib and model.onnx, ...
    metrics.json     evaluation metrics from training
    reference.json   optional drift reference profile

Loading verifies the sha256 before unpickling, so a truncated or swapped file is refused.
Unpickling executes code from the file: only load bundles you or your pipeline wrote.

A pickled scikit-learn model is only safe to load with the scikit-learn major.minor it was written
with. ``metadata.json`` records the library versions; ``check_library_versions`` compares them
with the installed scikit-learn, ``load_bundle(..., strict_versions=True)`` (what the server's
sources do) refuses a mismatch, and ``pinned_requirements`` gives the pins an image needs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from ..errors import BundleError, BundleNotFoundError, IntegrityError, LibraryMismatchError
from .compiled import CompiledModel, compile_model
from .files import fsync_dir, fsync_tree, make_temp_dir, remove_stale
from .schema import InputSchema

if TYPE_CHECKING:  # joblib and pandas are imported where a pickle or a frame is handled
    import pandas as pd

log = logging.getLogger("k8s_mlserve.model")

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
METRICS_FILE = "metrics.json"
REFERENCE_FILE = "reference.json"
# The library whose major.minor must match for a pickled model to load safely.
CHECKED_LIBRARY = "scikit-learn"


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
    compiled: CompiledModel | None = None


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: the model object plus what was recorded about it.

    ``model`` is None when loading deferred the pickle (the compiled model serves the bundle):
    ``unpickled()`` gives the bundle with it.
    """

    path: Path
    model: Any
    metadata: BundleMetadata
    metrics: dict[str, float]

    @property
    def reference_path(self) -> Path:
        return self.path / REFERENCE_FILE

    def unpickled(self) -> Bundle:
        """This bundle with its model unpickled (its file checked against the sha256 again)."""
        if self.model is not None:
            return self
        model_path = _checked_model_path(self.path, self.metadata)
        return dataclasses.replace(self, model=_unpickle(model_path))


def library_versions() -> dict[str, str]:
    """Versions of the libraries a pickled model depends on."""
    import joblib
    import numpy
    import pandas as pd
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def check_library_versions(
    metadata: BundleMetadata | Mapping[str, Any],
    installed: str | None = None,
    *,
    where: str | os.PathLike[str] | None = None,
) -> str | None:
    """Why the model must not be served with scikit-learn ``installed``; None when it may.

    ``metadata`` is a ``BundleMetadata`` or the parsed ``metadata.json``; ``installed`` defaults
    to this environment's scikit-learn; ``where`` names the model in the message: the bundle's
    path (a ``Path``), or any phrase (a ``str``).
    A model is refused when its recorded scikit-learn major.minor differs from the installed one;
    one that records no (readable) scikit-learn version is not refused.
    """
    mismatch = _mismatch(metadata, installed)
    return _refusal(_describe(metadata, where), *mismatch) if mismatch is not None else None


def pinned_requirements(metadata: BundleMetadata | Mapping[str, Any]) -> list[str]:
    """pip requirements pinning the libraries the bundle recorded (not python), sorted by name.

    For example ``["joblib==1.5.1", "numpy==2.3.1", "pandas==2.3.0", "scikit-learn==1.7.0"]``.
    """
    versions = _recorded_versions(metadata)
    return [
        f"{name}=={version}"
        for name, version in sorted(versions.items())
        if name != "python" and version.strip()
    ]


def verify_library_versions(
    metadata: BundleMetadata | Mapping[str, Any],
    *,
    strict: bool,
    where: str | os.PathLike[str] | None = None,
) -> None:
    """Raise ``LibraryMismatchError`` on a scikit-learn mismatch when ``strict``, else warn.

    A model that records no scikit-learn version is loaded with a warning either way.
    """
    described = _describe(metadata, where)
    mismatch = _mismatch(metadata, None)
    if mismatch is not None and strict:
        raise LibraryMismatchError(_refusal(described, *mismatch))
    if mismatch is not None:
        log.warning(
            "%s was written with scikit-learn %s but %s is installed; loading it anyway: its "
            "predictions may differ from the ones measured at training, or fail",
            described,
            *mismatch,
        )
    elif _major_minor(_recorded_versions(metadata).get(CHECKED_LIBRARY, "")) is None:
        log.warning(
            "%s records no scikit-learn version, so it cannot be checked against the installed "
            "%s; loading it unchecked",
            described,
            _installed_sklearn(),
        )


def _refusal(described: str, recorded: str, installed: str) -> str:
    return (
        f"{described} was written with scikit-learn {recorded} but scikit-learn {installed} is "
        "installed (a pickled model needs the major.minor it was written with): rebuild the "
        f"image with scikit-learn=={_series(recorded)}.* (k8s-mlserve build pins it from the "
        "bundle), retrain, or set MLSERVE_MODEL__ALLOW_VERSION_MISMATCH=true to serve anyway"
    )


def _mismatch(
    metadata: BundleMetadata | Mapping[str, Any], installed: str | None
) -> tuple[str, str] | None:
    """(recorded, installed) scikit-learn versions when their major.minor differ."""
    recorded = _recorded_versions(metadata).get(CHECKED_LIBRARY, "")
    current = installed if installed is not None else _installed_sklearn()
    wanted, have = _major_minor(recorded), _major_minor(current)
    if wanted is None or have is None or wanted == have:
        return None
    return recorded, current


def _recorded_versions(metadata: BundleMetadata | Mapping[str, Any]) -> dict[str, str]:
    if isinstance(metadata, BundleMetadata):
        return dict(metadata.library_versions)
    versions = metadata.get("library_versions") or {}
    return {str(k): str(v) for k, v in versions.items()} if isinstance(versions, Mapping) else {}


def _describe(
    metadata: BundleMetadata | Mapping[str, Any], where: str | os.PathLike[str] | None
) -> str:
    identity: tuple[object, object] = (
        (metadata.name, metadata.version)
        if isinstance(metadata, BundleMetadata)
        else (metadata.get("name"), metadata.get("version"))
    )
    name, version = identity
    model = f"model {str(name)!r} version {version}" if name is not None else None
    if where is None:
        return model or "the model"
    place = f"bundle {os.fspath(where)}" if isinstance(where, os.PathLike) else where
    return f"{place} ({model})" if model else place


def _major_minor(version: str) -> tuple[int, int] | None:
    found = re.match(r"\s*(\d+)\.(\d+)", version)
    return (int(found[1]), int(found[2])) if found else None


def _series(version: str) -> str:
    """``1.5.2`` -> ``1.5``."""
    found = _major_minor(version)
    return f"{found[0]}.{found[1]}" if found else version


def _installed_sklearn() -> str:
    # From the installed distribution's metadata: importing scikit-learn costs tens of MiB that a
    # server serving the compiled model does not otherwise need.
    try:
        return importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        return ""


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
    reference: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    onnx: bool = True,
) -> Path:
    """Write the files of a bundle; no drift reference unless ``reference`` is given.

    This is the low-level writer: it records the fitted ``model``, the schema of
    ``training_frame`` (features only) and, only when passed one, a ready ``reference``. The
    public ``k8s_mlserve.write_bundle`` (``k8s_mlserve.training.bundle``) builds the drift
    reference by default. The bundle is assembled in a temporary sibling directory and renamed
    into place, so a reader never sees a half-written bundle; its files are fsynced before the
    rename and the parent directory after it. Files are 0644 and directories 0755, masked by the
    umask (``umask 027`` keeps other users out). Siblings ``.<name>.*`` a killed writer left behind
    are removed once untouched for 10 minutes. With ``onnx`` (the default) the model is also
    compiled to ``model.onnx`` and checked against scikit-learn on the training rows
    (``compiled``); the outcome is recorded either way. Returns the bundle path.
    """
    import joblib

    target = Path(path)
    if target.exists() and not overwrite:
        raise BundleError(f"{target} already exists; choose another path or pass overwrite=True")
    schema = InputSchema.infer(training_frame)
    classes = getattr(model, "classes_", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target.parent.glob(f".{target.name}.*"))
    staging = make_temp_dir(target.parent, f".{target.name}.")
    try:
        joblib.dump(model, staging / MODEL_FILE)
        compiled = compile_model(model, training_frame, schema, staging) if onnx else None
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
            compiled=compiled,
        )
        _write_json(staging / METADATA_FILE, metadata.model_dump(mode="json"))
        _write_json(staging / METRICS_FILE, metrics or {})
        if reference is not None:
            _write_json(staging / REFERENCE_FILE, dict(reference))
        fsync_tree(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(target.parent)
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


def load_bundle(
    path: str | os.PathLike[str], *, strict_versions: bool = False, defer_pickle: bool = False
) -> Bundle:
    """Load a bundle, refusing a model file whose sha256 differs from the recorded one.

    A model written with another scikit-learn major.minor than the installed one is refused
    (``LibraryMismatchError``) with ``strict_versions``, as the server's sources do; otherwise it
    is loaded with a warning. With ``defer_pickle``, a bundle whose compiled model can be served
    on its own (``compiled.standalone``) is returned without unpickling ``model.joblib``
    (``model`` is None; ``Bundle.unpickled()`` loads it when needed).
    """
    bundle_dir = Path(path)
    metadata = read_metadata(bundle_dir)
    model_path = _checked_model_path(bundle_dir, metadata)
    verify_library_versions(metadata, strict=strict_versions, where=bundle_dir)
    metrics_path = bundle_dir / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    compiled = metadata.compiled
    deferred = defer_pickle and compiled is not None and compiled.standalone
    model = None if deferred else _unpickle(model_path)
    return Bundle(path=bundle_dir, model=model, metadata=metadata, metrics=metrics)


def _unpickle(model_path: Path) -> Any:
    import joblib

    return joblib.load(model_path)


def _checked_model_path(bundle_dir: Path, metadata: BundleMetadata) -> Path:
    model_path = bundle_dir / MODEL_FILE
    if not model_path.is_file():
        raise BundleNotFoundError(f"{bundle_dir} has no {MODEL_FILE}")
    actual = sha256_file(model_path)
    if actual != metadata.sha256:
        raise IntegrityError(
            f"{model_path} has sha256 {actual} but metadata.json records {metadata.sha256}; "
            "refusing to unpickle a file that is not the one that was written"
        )
    return model_path


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
