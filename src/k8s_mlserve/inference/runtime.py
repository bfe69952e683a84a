"""What runs a model for the predictor: onnxruntime on the compiled model, or scikit-learn.

``choose_runtime`` follows ``MLSERVE_MODEL__RUNTIME``: ``auto`` serves the compiled model when
the bundle has one that passed its parity check (``model.compiled``), its file matches the
recorded sha256 and onnxruntime is installed, else scikit-learn, keeping the reason; ``onnx``
refuses a bundle that cannot be served so (``NotCompiledError``); ``sklearn`` always unpickles
and calls the estimator.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from ..errors import NotCompiledError
from ..model.bundle import Bundle
from ..model.compiled import OnnxInputs, open_session, plain
from ..model.schema import InputSchema

log = logging.getLogger("k8s_mlserve.inference")

RuntimeSetting = Literal["auto", "onnx", "sklearn"]
Rows = Sequence[Mapping[str, Any]]


class Runtime(Protocol):
    """Runs one model on validated rows."""

    name: str

    def probabilities(self, rows: Rows) -> np.ndarray:
        """``[N, n_classes]`` float64 class probabilities (classifiers with probabilities)."""
        ...

    def predictions(self, rows: Rows) -> np.ndarray:
        """``[N]`` labels or values."""
        ...


class SklearnRuntime:
    """The unpickled estimator, fed a pandas frame."""

    name = "sklearn"

    def __init__(self, model: Any, schema: InputSchema) -> None:
        self._model = model
        self._schema = schema

    def probabilities(self, rows: Rows) -> np.ndarray:
        frame = self._schema.to_frame(rows)
        return np.asarray(self._model.predict_proba(frame), dtype=np.float64)

    def predictions(self, rows: Rows) -> np.ndarray:
        return np.asarray(self._model.predict(self._schema.to_frame(rows)))


class OnnxRuntime:
    """The compiled model, fed typed arrays built once per batch."""

    name = "onnx"

    def __init__(self, session: Any, inputs: OnnxInputs) -> None:
        self._session = session
        self._inputs = inputs
        outputs = [output.name for output in session.get_outputs()]
        self._first = outputs[:1]
        self._second = outputs[1:2]

    def probabilities(self, rows: Rows) -> np.ndarray:
        (proba,) = self._session.run(self._second, self._inputs.from_rows(rows))
        # Summed in float32, a row may miss 1 by a few 1e-7: normalised again, in float64, as
        # scikit-learn's are.
        proba = np.asarray(proba, dtype=np.float64)
        sums = proba.sum(axis=1, keepdims=True)
        np.divide(proba, sums, out=proba, where=sums > 0)
        return proba

    def predictions(self, rows: Rows) -> np.ndarray:
        (values,) = self._session.run(self._first, self._inputs.from_rows(rows))
        return np.asarray(values).reshape(len(rows))


@dataclass(frozen=True)
class RuntimeChoice:
    """The runtime serving a bundle, what it answers, and why it is not the compiled model when
    it is not."""

    runtime: Runtime
    classes: list[Any] | None
    """A classifier's classes (None for a regressor, or a classifier without probabilities)."""
    probabilities: bool
    reason: str | None = None


def choose_runtime(bundle: Bundle, setting: RuntimeSetting = "auto") -> RuntimeChoice:
    """The runtime for ``bundle`` under ``setting`` (see the module docstring).

    A bundle loaded without its pickle (``load_bundle(defer_pickle=True)``) is unpickled here
    when scikit-learn has to serve it.
    """
    if setting == "sklearn":
        return _sklearn(bundle, "MLSERVE_MODEL__RUNTIME=sklearn")
    try:
        runtime = _compiled(bundle)
    except NotCompiledError as exc:
        if setting == "onnx":
            raise
        return _sklearn(bundle, str(exc))
    compiled = bundle.metadata.compiled
    assert compiled is not None  # _compiled checked it
    if compiled.standalone:
        classes = compiled.classes if compiled.kind == "classifier" else None
        return RuntimeChoice(runtime, classes, classes is not None)
    # Compiled before classes were recorded: the estimator says what it answers.
    model = bundle.unpickled().model
    return RuntimeChoice(runtime, _classes(model), hasattr(model, "predict_proba"))


def _sklearn(bundle: Bundle, reason: str) -> RuntimeChoice:
    model = bundle.unpickled().model
    runtime = SklearnRuntime(model, bundle.metadata.input_schema)
    return RuntimeChoice(runtime, _classes(model), hasattr(model, "predict_proba"), reason)


def _classes(model: Any) -> list[Any] | None:
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None
    return [plain(c) for c in classes]


def _compiled(bundle: Bundle) -> OnnxRuntime:
    compiled = bundle.metadata.compiled
    if compiled is None:
        raise NotCompiledError(
            "the bundle has no compiled model (written before compilation, or with onnx=False)"
        )
    if not compiled.usable or compiled.file is None or compiled.inputs is None:
        raise NotCompiledError(f"the bundle's model was not compiled: {compiled.reason}")
    path = bundle.path / compiled.file
    try:
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise NotCompiledError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if actual != compiled.sha256:
        raise NotCompiledError(
            f"{path} has sha256 {actual} but metadata.json records {compiled.sha256}"
        )
    try:
        session = open_session(path)
    except ImportError as exc:
        raise NotCompiledError(f"onnxruntime is not installed ({exc})") from exc
    except Exception as exc:  # onnxruntime reports a bad model with its own exception types
        raise NotCompiledError(f"onnxruntime cannot load {path}: {exc}") from exc
    return OnnxRuntime(session, OnnxInputs(bundle.metadata.input_schema, compiled.inputs))
