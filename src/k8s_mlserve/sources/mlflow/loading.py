"""Loading a downloaded MLflow model directory: the sklearn flavour, else pyfunc (labels only).

The input schema comes from what ``k8s-mlserve train`` recorded in the MLmodel metadata, else from
the signature and the input example. The library versions the model records are checked before an
sklearn-flavour model is unpickled. ``mlflow`` is imported inside ``load_model_dir`` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ...errors import ModelSourceError
from ...model.bundle import sha256_file, verify_library_versions
from ...model.schema import InputSchema, NumericFeature
from .schema import schema_from_mlmodel
from .versions import recorded_library_versions

# Key of the MLmodel ``metadata`` section where ``k8s-mlserve train`` records the input schema,
# response contract and algorithm, so a model served from MLflow answers like its bundle.
MLMODEL_METADATA_KEY = "k8s_mlserve"


@dataclass(frozen=True)
class LoadedMLflowModel:
    """A model loaded from a local MLflow model directory, with what it says about itself."""

    model: Any
    flavour: Literal["sklearn", "pyfunc"]
    schema: InputSchema
    classes: list[str] | None
    recorded: Mapping[str, Any]
    sha256: str
    library_versions: dict[str, str]

    @property
    def model_class(self) -> str:
        cls = type(self.model)
        return f"{cls.__module__}.{cls.__qualname__}"


class PyfuncLabels:
    """A pyfunc model behind the predictor's interface: ``predict`` only, one label per row."""

    def __init__(self, model: Any, integer_columns: Sequence[str] = ()) -> None:
        self._model = model
        self._integer_columns = list(integer_columns)

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        # pyfunc enforces the signature: integer columns must arrive as integers, not floats.
        casts = {c: "int64" for c in self._integer_columns if not frame[c].isna().any()}
        output = self._model.predict(frame.astype(casts) if casts else frame)
        if isinstance(output, pd.DataFrame):
            output = output.iloc[:, 0]
        return np.asarray(output).reshape(len(frame), -1)[:, 0]


def load_model_dir(
    path: Path, *, strict_versions: bool = False, where: str | None = None
) -> LoadedMLflowModel:
    """Load a local MLflow model directory: sklearn flavour when present, else pyfunc.

    Before an sklearn-flavour model is unpickled, the scikit-learn version it records is checked
    against the installed one (refused with ``strict_versions``, else a warning); ``where`` names
    the model in that message.
    """
    from mlflow.models import Model

    try:
        mlmodel = Model.load(str(path))
    except Exception as exc:
        raise ModelSourceError(f"{path} is not an MLflow model directory: {exc}") from exc
    recorded: Mapping[str, Any] = (mlmodel.metadata or {}).get(MLMODEL_METADATA_KEY) or {}
    schema = schema_from_mlmodel(mlmodel, path, recorded)
    versions = recorded_library_versions(mlmodel, path)
    if "sklearn" in mlmodel.flavors:
        import mlflow.sklearn

        verify_library_versions(
            {"library_versions": versions},
            strict=strict_versions,
            where=where or f"MLflow model {path}",
        )
        model = mlflow.sklearn.load_model(str(path))
        flavour: Literal["sklearn", "pyfunc"] = "sklearn"
        data_file = path / str(mlmodel.flavors["sklearn"].get("pickled_model", ""))
    else:
        import mlflow.pyfunc

        integer = [
            f.name
            for f in schema.features
            if isinstance(f, NumericFeature) and f.dtype == "integer"
        ]
        model = PyfuncLabels(mlflow.pyfunc.load_model(str(path)), integer)
        flavour = "pyfunc"
        data_file = path / "MLmodel"
    classes = getattr(model, "classes_", None)
    return LoadedMLflowModel(
        model=model,
        flavour=flavour,
        schema=schema,
        classes=[str(c) for c in classes] if classes is not None else None,
        recorded=recorded,
        sha256=sha256_file(data_file) if data_file.is_file() else "",
        library_versions=versions,
    )
