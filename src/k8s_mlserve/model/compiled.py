"""Compiling a fitted model to ONNX when its bundle is written, with a parity check.

``compile_model`` converts the estimator or Pipeline with skl2onnx, runs the result with
onnxruntime on the training rows (at most ``MAX_PARITY_ROWS``, evenly spaced) and compares it
with scikit-learn: a classifier's labels must be identical and its probabilities within
``TOLERANCE``; a regressor's values within ``TOLERANCE`` relative to ``max(1, |value|)``. The
outcome, with the check's figures, is recorded in ``metadata.json`` as ``compiled``; only a
model that passed is served by onnxruntime (``MLSERVE_MODEL__RUNTIME``). A model that cannot be
converted, or fails the check, is served by scikit-learn, and the reason is kept.

The compiled model takes float32 inputs: one ``[N, n_features]`` tensor named ``input`` when
every feature is numeric (``matrix``), else one ``[N, 1]`` tensor per feature, named like it
(``columns``: float32 for numbers, strings for categories). ``OnnxInputs`` builds them, from a
training frame for the check and from validated rows when serving, the same way: missing numbers
are NaN and missing categories the empty string.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .schema import CategoricalFeature, InputSchema

if TYPE_CHECKING:  # serving builds arrays from rows; frames belong to compiling
    import pandas as pd

ONNX_FILE = "model.onnx"
TOLERANCE = 1e-4
"""Largest accepted difference between onnxruntime's and scikit-learn's probabilities."""
MAX_PARITY_ROWS = 20_000
MATRIX_INPUT = "input"
_CONVERTER_PACKAGES = ("skl2onnx", "onnx", "onnxruntime")


class ParityCheck(BaseModel):
    """How the compiled model compared with scikit-learn on the training rows."""

    model_config = ConfigDict(frozen=True)

    rows: int
    label_mismatches: int
    max_abs_diff: float
    tolerance: float = TOLERANCE

    @property
    def passed(self) -> bool:
        return self.label_mismatches == 0 and self.max_abs_diff <= self.tolerance


class CompiledModel(BaseModel):
    """The ``compiled`` entry of ``metadata.json``: the ONNX file, or why there is none."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ok", "failed", "unavailable"]
    reason: str | None = None
    file: str | None = None
    sha256: str | None = None
    inputs: Literal["matrix", "columns"] | None = None
    parity: ParityCheck | None = None
    versions: dict[str, str] = {}
    kind: Literal["classifier", "regressor"] | None = None
    classes: list[Any] | None = None
    """A classifier's classes as the model holds them (numbers stay numbers), so that the
    compiled model can be served without unpickling the estimator."""

    @property
    def usable(self) -> bool:
        return self.status == "ok" and self.file is not None

    @property
    def standalone(self) -> bool:
        """Whether it can be served without the unpickled estimator (it records its kind and,
        for a classifier, its classes)."""
        return self.usable and (
            self.kind == "regressor" or (self.kind == "classifier" and self.classes is not None)
        )


class OnnxInputs:
    """Builds the compiled model's input tensors from rows or from a frame."""

    def __init__(self, schema: InputSchema, layout: Literal["matrix", "columns"]) -> None:
        self.layout = layout
        self.names = schema.names
        self._categorical = {f.name for f in schema.features if isinstance(f, CategoricalFeature)}

    def from_rows(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Tensors for validated rows (missing values as None)."""
        if self.layout == "matrix":
            # float32 turns None into NaN.
            matrix = np.array([[row[n] for n in self.names] for row in rows], dtype=np.float32)
            return {MATRIX_INPUT: matrix.reshape(len(rows), len(self.names))}
        feeds: dict[str, np.ndarray] = {}
        for name in self.names:
            if name in self._categorical:
                texts = ["" if row[name] is None else str(row[name]) for row in rows]
                feeds[name] = np.array(texts, dtype=object).reshape(-1, 1)
            else:
                values = [row[name] for row in rows]
                feeds[name] = np.array(values, dtype=np.float32).reshape(-1, 1)
        return feeds

    def from_frame(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Tensors for a training frame's rows."""
        import pandas as pd

        if self.layout == "matrix":
            return {MATRIX_INPUT: frame[self.names].to_numpy(dtype=np.float32, na_value=np.nan)}
        feeds: dict[str, np.ndarray] = {}
        for name in self.names:
            column = frame[name]
            if name in self._categorical:
                texts = ["" if pd.isna(v) else str(v) for v in column]
                feeds[name] = np.array(texts, dtype=object).reshape(-1, 1)
            else:
                numbers = column.astype("float64").to_numpy(dtype=np.float32, na_value=np.nan)
                feeds[name] = numbers.reshape(-1, 1)
        return feeds


def open_session(path: Path) -> Any:
    """An onnxruntime session on one thread: the server scales by processes and batches."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def compile_model(
    model: Any, frame: pd.DataFrame, schema: InputSchema, directory: Path
) -> CompiledModel:
    """Write ``directory/model.onnx`` when ``model`` converts and passes the parity check."""
    versions = _versions()
    missing = [name for name in _CONVERTER_PACKAGES if name not in versions]
    if missing:
        return CompiledModel(
            status="unavailable",
            reason=f"{', '.join(missing)} not installed (pip install k8s-mlserve installs them)",
        )
    kind = _kind(model)
    if kind is None:
        return CompiledModel(
            status="unavailable",
            reason="only classifiers with predict_proba and regressors are compiled",
            versions=versions,
        )
    numeric = not any(isinstance(f, CategoricalFeature) for f in schema.features)
    layouts: list[Literal["matrix", "columns"]] = ["matrix", "columns"] if numeric else ["columns"]
    errors: list[str] = []
    for layout in layouts:
        try:
            serialized = _convert(model, schema, layout, kind == "classifier")
        except Exception as exc:  # skl2onnx raises many kinds for what it cannot convert
            errors.append(f"{layout} inputs: {type(exc).__name__}: {_first_line(exc)}")
            continue
        path = directory / ONNX_FILE
        path.write_bytes(serialized)
        sample = _sample(frame)
        try:
            parity = _check(model, kind, open_session(path), OnnxInputs(schema, layout), sample)
        except Exception as exc:  # a model that converts but does not run is a failure too
            path.unlink()
            return CompiledModel(
                status="failed",
                reason=f"the parity check could not run: {type(exc).__name__}: {_first_line(exc)}",
                versions=versions,
            )
        if not parity.passed:
            path.unlink()
            return CompiledModel(
                status="failed",
                reason=_parity_failure(parity),
                inputs=layout,
                parity=parity,
                versions=versions,
            )
        classes = getattr(model, "classes_", None) if kind == "classifier" else None
        return CompiledModel(
            status="ok",
            file=ONNX_FILE,
            sha256=hashlib.sha256(serialized).hexdigest(),
            inputs=layout,
            parity=parity,
            versions=versions,
            kind=kind,
            classes=[plain(c) for c in classes] if classes is not None else None,
        )
    return CompiledModel(
        status="failed",
        reason="skl2onnx cannot convert this model: " + "; ".join(errors),
        versions=versions,
    )


def _kind(model: Any) -> Literal["classifier", "regressor"] | None:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model) and hasattr(model, "predict_proba"):
        return "classifier"
    if is_regressor(model):
        return "regressor"
    return None


def _convert(
    model: Any, schema: InputSchema, layout: Literal["matrix", "columns"], classifier: bool
) -> bytes:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    initial: list[tuple[str, Any]]
    if layout == "matrix":
        initial = [(MATRIX_INPUT, FloatTensorType([None, len(schema.features)]))]
    else:
        initial = [
            (
                f.name,
                StringTensorType([None, 1])
                if isinstance(f, CategoricalFeature)
                else FloatTensorType([None, 1]),
            )
            for f in schema.features
        ]
    # Probabilities as one [N, n_classes] tensor, not a list of per-row maps.
    options = {id(model): {"zipmap": False}} if classifier else None
    with warnings.catch_warnings():
        # The converters read attributes scikit-learn has deprecated (SVC's probA_, ...), and
        # protobuf warns about the booleans they write into integer attributes.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        onnx_model = to_onnx(model, initial_types=initial, options=options)
    return bytes(onnx_model.SerializeToString())


def _sample(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_PARITY_ROWS:
        return frame
    picked = np.linspace(0, len(frame) - 1, MAX_PARITY_ROWS).astype(int)
    return frame.iloc[picked]


def _check(
    model: Any,
    kind: Literal["classifier", "regressor"],
    session: Any,
    inputs: OnnxInputs,
    frame: pd.DataFrame,
) -> ParityCheck:
    outputs = session.run(None, inputs.from_frame(frame))
    if kind == "classifier":
        expected = np.asarray(model.predict_proba(frame), dtype=np.float64)
        got = np.asarray(outputs[1], dtype=np.float64)
        if got.shape != expected.shape:
            raise ValueError(f"probabilities of shape {got.shape}, expected {expected.shape}")
        diff = float(np.abs(got - expected).max()) if got.size else 0.0
        mismatches = int((got.argmax(axis=1) != expected.argmax(axis=1)).sum())
        return ParityCheck(rows=len(frame), label_mismatches=mismatches, max_abs_diff=diff)
    expected = np.asarray(model.predict(frame), dtype=np.float64).reshape(len(frame), -1)
    got = np.asarray(outputs[0], dtype=np.float64).reshape(len(frame), -1)
    if got.shape != expected.shape:
        raise ValueError(f"predictions of shape {got.shape}, expected {expected.shape}")
    scale = np.maximum(1.0, np.abs(expected))
    diff = float((np.abs(got - expected) / scale).max()) if got.size else 0.0
    return ParityCheck(rows=len(frame), label_mismatches=0, max_abs_diff=diff)


def _parity_failure(parity: ParityCheck) -> str:
    problems = []
    if parity.label_mismatches:
        problems.append(f"{parity.label_mismatches} of {parity.rows} labels differ")
    if parity.max_abs_diff > parity.tolerance:
        problems.append(
            f"outputs differ by up to {parity.max_abs_diff:.3g} (tolerance {parity.tolerance:g})"
        )
    return "the converted model does not match scikit-learn: " + "; ".join(problems)


def _versions() -> dict[str, str]:
    found = {}
    for name in _CONVERTER_PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def plain(value: Any) -> Any:
    """A numpy scalar as the matching Python value, for JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
