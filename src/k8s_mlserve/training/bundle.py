"""Writing a bundle from training code: the model, its metadata and, by default, its drift
reference.

``write_bundle`` here is the public one (``from k8s_mlserve import write_bundle``): it profiles the
training frame and the model's predictions into ``reference.json``, so a served model has
``/drift`` without more work. ``k8s_mlserve.model.bundle.write_bundle`` is the low-level writer
below it, which writes a reference only when given one (the model room knows nothing of drift).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..model import bundle as files
from ..model.bundle import ResponseSpec
from ..model.schema import InputSchema

if TYPE_CHECKING:  # callers hand in frames; importing this module needs no pandas
    import pandas as pd

log = logging.getLogger("k8s_mlserve.training")


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
    reference: Mapping[str, Any] | bool | None = True,
    prediction_frame: pd.DataFrame | None = None,
    overwrite: bool = False,
    onnx: bool = True,
) -> Path:
    """Write a bundle for a fitted ``model`` trained on ``training_frame`` (features only).

    The bundle records the model, the input schema of ``training_frame``, the library versions
    and, unless ``reference`` is false, a drift reference (``reference.json``):

    - ``True`` (the default): built from ``training_frame`` and the model's predictions on
      ``prediction_frame`` (default: ``training_frame``; held-out rows represent production
      better, since a model is more confident on rows it learned from), see ``model_reference``;
    - a mapping: written as given (e.g. from ``k8s_mlserve.drift.build_reference``);
    - ``False`` or ``None``: no reference (the server then answers ``/drift`` with 404).

    With ``onnx`` (the default) the model is also compiled to ``model.onnx`` and checked against
    scikit-learn on the training rows; ``metadata.json`` records the outcome (``compiled``) and
    the server serves the compiled model only when it passed (docs/performance.md).

    The bundle is assembled in a temporary sibling directory and renamed into place, so a reader
    never sees a half-written bundle. Returns the bundle path.
    """
    ready: Mapping[str, Any] | None
    if reference is True:
        ready = model_reference(
            model,
            training_frame,
            prediction_frame=prediction_frame,
            positive_class=response.positive_class if response is not None else None,
        )
    elif reference is False or reference is None:
        ready = None
    else:
        ready = reference
    return files.write_bundle(
        path,
        model,
        training_frame,
        name=name,
        version=version,
        metrics=metrics,
        algorithm=algorithm,
        response=response,
        params=params,
        mlflow_run_id=mlflow_run_id,
        reference=ready,
        overwrite=overwrite,
        onnx=onnx,
    )


def model_reference(
    model: Any,
    frame: pd.DataFrame,
    *,
    prediction_frame: pd.DataFrame | None = None,
    positive_class: object | None = None,
) -> dict[str, Any]:
    """The drift reference of ``frame`` and of ``model``'s predictions on ``prediction_frame``.

    ``prediction_frame`` defaults to ``frame``. The predictions are profiled the way the server
    reports them: a classifier with ``predict_proba`` gives labels and scores (the probability of
    ``positive_class``, else the highest one); one without gives labels only; a model without
    ``classes_`` (a regressor) gives neither, since its outputs are not labels. A model that
    fails to predict is logged and the reference keeps the feature profile only; a
    ``positive_class`` that is not one of the classes is logged and the scores are left out.
    """
    from ..drift.reference import build_reference

    rows = frame if prediction_frame is None else prediction_frame
    labels, scores = _predictions(model, rows, positive_class)
    return build_reference(frame, InputSchema.infer(frame), labels=labels, scores=scores)


def _predictions(
    model: Any, rows: pd.DataFrame, positive_class: object | None
) -> tuple[list[str] | None, npt.NDArray[np.float64] | None]:
    """The predicted labels and scores of ``rows`` for the reference (None: left out)."""
    from ..drift.reference import prediction_scores

    kind = type(model).__name__
    classes = getattr(model, "classes_", None)
    if classes is None:
        log.info(
            "the drift reference of %s profiles the features only: the model has no classes_, "
            "so its outputs are not labels (a regressor?)",
            kind,
        )
        return None, None
    has_proba = hasattr(model, "predict_proba")
    try:
        outputs = np.asarray(model.predict_proba(rows) if has_proba else model.predict(rows))
    except Exception as exc:  # the reference is worth less than the bundle: never fail the write
        log.warning(
            "the drift reference of %s profiles the features only: predicting %d rows failed: %s",
            kind,
            len(rows),
            exc,
        )
        return None, None
    if not has_proba:
        log.info(
            "the drift reference of %s has predicted labels but no scores: the model has no "
            "predict_proba",
            kind,
        )
        return [str(label) for label in outputs], None
    keys = list(classes)
    labels = [str(keys[i]) for i in outputs.argmax(axis=1)]
    try:
        scores = prediction_scores(outputs, keys, positive_class)
    except ValueError as exc:  # the server will refuse this response contract, and say why
        log.warning("the drift reference of %s has predicted labels but no scores: %s", kind, exc)
        return labels, None
    return labels, scores
