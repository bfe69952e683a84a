"""Input schemas of MLflow models: from what training recorded, else the signature and example.

A signature gives column names and types but not the levels of string columns nor the ranges of
numbers; the input example supplies those. Works on objects MLflow already loaded: this module
never imports ``mlflow``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ...errors import ModelSourceError
from ...model.schema import CategoricalFeature, InputSchema, NumericFeature

log = logging.getLogger("k8s_mlserve.mlflow")

_NUMERIC_TYPES = {"double": "float", "float": "float", "long": "integer", "integer": "integer"}


def schema_from_mlmodel(mlmodel: Any, path: Path, recorded: Mapping[str, Any]) -> InputSchema:
    """The input schema of a loaded MLmodel (``mlflow.models.Model``) stored at ``path``.

    ``recorded`` is what ``k8s-mlserve train`` put in the MLmodel metadata, used as is when it
    holds a schema; otherwise the schema comes from the signature and the input example.
    """
    if recorded.get("input_schema"):
        return InputSchema.model_validate(recorded["input_schema"])
    example = _example_frame(mlmodel, path)
    signature = mlmodel.signature
    if signature is not None and not signature.inputs.is_tensor_spec():
        columns = [
            (spec.name, getattr(spec.type, "name", str(spec.type)), spec.required)
            for spec in signature.inputs.inputs
        ]
        return schema_from_columns(columns, example)
    if example is not None:
        return InputSchema.infer(example)
    raise ModelSourceError(
        "the model has no column signature and no input example: log it with "
        "signature=infer_signature(X, y) or input_example=X[:5] so its inputs are known"
    )


def schema_from_columns(
    columns: Sequence[tuple[str | None, str, bool]], example: pd.DataFrame | None = None
) -> InputSchema:
    """An input schema from an MLflow column signature: (name, type, required) per column.

    Numbers become numeric features (ranges from the input example when there is one); strings
    become categorical features whose levels are the example's values, since a signature does not
    list them. Optional columns are nullable.
    """
    features: list[NumericFeature | CategoricalFeature] = []
    for name, type_name, required in columns:
        if not name:
            raise ModelSourceError("the model signature has unnamed columns; name every column")
        values = example[name] if example is not None and name in example.columns else None
        nullable = not required or (values is not None and bool(values.isna().any()))
        if type_name in _NUMERIC_TYPES or type_name == "boolean":
            dtype = "float" if _NUMERIC_TYPES.get(type_name) == "float" else "integer"
            finite = pd.to_numeric(values, errors="coerce").dropna() if values is not None else None
            has_range = finite is not None and len(finite) > 0
            features.append(
                NumericFeature(
                    name=name,
                    dtype=dtype,
                    minimum=float(finite.min()) if has_range and finite is not None else None,
                    maximum=float(finite.max()) if has_range and finite is not None else None,
                    nullable=nullable,
                )
            )
        elif type_name == "string":
            if values is None:
                raise ModelSourceError(
                    f"column {name!r} is a string but the model has no input example to learn its "
                    "values from; log an input example (or train with k8s-mlserve)"
                )
            levels = sorted({str(v) for v in values.dropna()})
            features.append(CategoricalFeature(name=name, levels=levels, nullable=nullable))
        else:
            raise ModelSourceError(
                f"column {name!r} has MLflow type {type_name!r}; only numbers, booleans and "
                "strings are supported"
            )
    return InputSchema(features=features)


def _example_frame(mlmodel: Any, path: Path) -> pd.DataFrame | None:
    try:
        example = mlmodel.load_input_example(str(path))
    except Exception as exc:  # an unreadable example only costs the ranges and levels
        log.warning("cannot read the input example of %s: %s", path, exc)
        return None
    if isinstance(example, pd.DataFrame):
        return example
    if isinstance(example, Mapping) or (
        isinstance(example, list) and example and isinstance(example[0], Mapping)
    ):
        return pd.DataFrame(example if isinstance(example, list) else [example])
    return None
