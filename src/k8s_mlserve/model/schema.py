"""The input schema of a model: which features it takes, in which order, of which kind.

A schema is inferred from the training frame and stored in the bundle metadata. The server uses it
to validate request rows, to describe the API in OpenAPI, and to check that a new model version can
replace the served one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import FieldError

if TYPE_CHECKING:  # pandas is imported where a frame is built: a compiled model needs none
    import pandas as pd

_NUMERIC_TYPES = (int, float)
# What the model's arrays can hold: many estimators (trees, forests, boosting) compute in float32,
# and integer columns are int64. Values outside are refused by name rather than met as a numpy
# error deep inside the model.
FLOAT_MAX = float(np.finfo(np.float32).max)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
EXACT_FLOAT_INT = 2**53
"""Largest magnitude up to which a float holds every integer exactly."""
MAX_FIELD_NAME = 64
"""Characters of a client's unknown field name repeated in an error."""


class NumericFeature(BaseModel):
    """A number; ``minimum``/``maximum``: the range seen in training (informative only)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["numeric"] = "numeric"
    dtype: Literal["integer", "float"] = "float"
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False


class CategoricalFeature(BaseModel):
    """A string taking one of the levels seen in training."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["categorical"] = "categorical"
    levels: list[str]
    nullable: bool = False


Feature = Annotated[NumericFeature | CategoricalFeature, Field(discriminator="kind")]


class InputSchema(BaseModel):
    """Ordered features a model expects."""

    model_config = ConfigDict(frozen=True)

    features: list[Feature]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def all_numeric(self) -> bool:
        return all(isinstance(f, NumericFeature) for f in self.features)

    @classmethod
    def infer(cls, frame: pd.DataFrame, max_levels: int = 200) -> InputSchema:
        """Infer the schema from a training frame: numeric columns numeric, others categorical."""
        import pandas as pd

        features: list[NumericFeature | CategoricalFeature] = []
        for name in frame.columns:
            column = frame[name]
            nullable = bool(column.isna().any())
            if pd.api.types.is_bool_dtype(column):
                column = column.astype(int)
            if pd.api.types.is_numeric_dtype(column):
                finite = column.dropna()
                features.append(
                    NumericFeature(
                        name=str(name),
                        dtype="integer" if pd.api.types.is_integer_dtype(column) else "float",
                        minimum=float(finite.min()) if len(finite) else None,
                        maximum=float(finite.max()) if len(finite) else None,
                        nullable=nullable,
                    )
                )
            else:
                levels = sorted({str(v) for v in column.dropna().unique()})
                if len(levels) > max_levels:
                    raise ValueError(
                        f"column {name!r} has {len(levels)} distinct values; a categorical feature "
                        f"may have at most {max_levels} (drop identifiers such as customer ids)"
                    )
                features.append(
                    CategoricalFeature(name=str(name), levels=levels, nullable=nullable)
                )
        return cls(features=features)

    def incompatibilities(self, other: InputSchema) -> list[str]:
        """Reasons why a model with schema ``other`` cannot replace one with this schema.

        Clients keep sending the fields this schema accepts, so ``other`` must take the same
        feature names in the same kinds; new categorical levels are fine, lost ones are not.
        """
        reasons: list[str] = []
        if other.names != self.names:
            missing = [n for n in self.names if n not in other.names]
            extra = [n for n in other.names if n not in self.names]
            if missing or extra:
                reasons.append(f"features differ: missing {missing}, unexpected {extra}")
            else:
                reasons.append("features are in a different order")
            return reasons
        for mine, theirs in zip(self.features, other.features, strict=True):
            if mine.kind != theirs.kind:
                reasons.append(f"feature {mine.name!r} changed from {mine.kind} to {theirs.kind}")
            elif isinstance(mine, CategoricalFeature) and isinstance(theirs, CategoricalFeature):
                lost = sorted(set(mine.levels) - set(theirs.levels))
                if lost:
                    reasons.append(f"feature {mine.name!r} no longer accepts levels {lost}")
        return reasons

    def validate_rows(self, rows: Sequence[object]) -> tuple[list[int], list[list[FieldError]]]:
        """Check each row; return the indices of valid rows and, per row, its errors."""
        valid: list[int] = []
        errors: list[list[FieldError]] = []
        for index, row in enumerate(rows):
            row_errors = self.validate_row(row)
            errors.append(row_errors)
            if not row_errors:
                valid.append(index)
        return valid, errors

    def validate_row(self, row: object) -> list[FieldError]:
        """Errors of one row (an empty list when the row is valid)."""
        if not isinstance(row, Mapping):
            return [FieldError("$", f"expected a JSON object of features, got {json_type(row)}")]
        problems: list[FieldError] = []
        present = 0
        for feature in self.features:
            if feature.name not in row:
                problems.append(FieldError(feature.name, f"field required ({_expected(feature)})"))
                continue
            present += 1
            message = _check_value(feature, row[feature.name])
            if message:
                problems.append(FieldError(feature.name, message))
        if len(row) == present:  # every key is a feature: nothing unknown to look for
            return problems
        known = set(self.names)
        for key in row:
            if key not in known:
                name = str(key)
                if len(name) > MAX_FIELD_NAME:
                    name = name[: MAX_FIELD_NAME - 3] + "..."
                problems.append(
                    FieldError(name, f"unknown field; expected only {', '.join(self.names)}")
                )
        return problems

    def to_frame(self, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Build the model input frame for already validated rows, in schema order."""
        import pandas as pd

        names = [f.name for f in self.features]
        if all(isinstance(f, NumericFeature) for f in self.features):
            # One float block: cheaper to build than one column per feature, and the model turns
            # it into its input array without copying the columns together. None becomes NaN.
            matrix = np.array([[row[n] for n in names] for row in rows], dtype=np.float64)
            return pd.DataFrame(matrix.reshape(len(rows), len(names)), columns=names, copy=False)
        columns: dict[str, Any] = {}
        for feature in self.features:
            values = [row[feature.name] for row in rows]
            if isinstance(feature, NumericFeature):
                columns[feature.name] = np.array(
                    [np.nan if v is None else v for v in values], dtype=np.float64
                )
            else:
                columns[feature.name] = np.array(values, dtype=object)
        return pd.DataFrame(columns, columns=names)

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of one input row, for OpenAPI."""
        properties: dict[str, Any] = {}
        for feature in self.features:
            prop: dict[str, Any]
            if isinstance(feature, NumericFeature):
                if feature.dtype == "integer":
                    prop = {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}
                else:
                    prop = {"type": "number", "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX}
                if feature.minimum is not None and feature.maximum is not None:
                    prop["description"] = (
                        f"seen in training: {feature.minimum:g} to {feature.maximum:g}"
                    )
                    prop["example"] = _example_number(feature)
                    # The same range as numbers, for clients that build forms from the schema.
                    prop["x-training-minimum"] = feature.minimum
                    prop["x-training-maximum"] = feature.maximum
            else:
                prop = {"type": "string", "enum": list(feature.levels)}
                if feature.levels:
                    prop["example"] = feature.levels[0]
            if feature.nullable:
                prop = {"anyOf": [prop, {"type": "null"}], **_hoist(prop)}
            properties[feature.name] = prop
        return {
            "type": "object",
            "properties": properties,
            "required": self.names,
            "additionalProperties": False,
        }

    def sample_frame(self, rows: int = 256, seed: int = 0) -> pd.DataFrame:
        """Random rows of this schema: numbers uniform in the training range (standard normal
        when none is known), the training levels, a tenth missing where nullable."""
        import pandas as pd

        generator = np.random.default_rng(seed)
        columns: dict[str, Any] = {}
        for feature in self.features:
            values: Any
            if isinstance(feature, NumericFeature):
                if feature.minimum is not None and feature.maximum is not None:
                    values = generator.uniform(feature.minimum, feature.maximum, rows)
                else:
                    values = generator.standard_normal(rows)
                if feature.dtype == "integer":
                    values = np.round(values)
                if feature.nullable:
                    values[generator.random(rows) < 0.1] = np.nan
            else:
                levels = feature.levels or [""]
                values = generator.choice(np.array(levels, dtype=object), rows)
                if feature.nullable:
                    values[generator.random(rows) < 0.1] = None
            columns[feature.name] = values
        return pd.DataFrame(columns, columns=self.names)

    def example_row(self) -> dict[str, Any]:
        """A plausible row (midpoints of numeric ranges, first levels)."""
        row: dict[str, Any] = {}
        for feature in self.features:
            if isinstance(feature, NumericFeature):
                row[feature.name] = _example_number(feature)
            else:
                row[feature.name] = feature.levels[0] if feature.levels else ""
        return row


def _hoist(prop: dict[str, Any]) -> dict[str, Any]:
    keys = ("description", "example", "x-training-minimum", "x-training-maximum")
    return {k: prop[k] for k in keys if k in prop}


def _example_number(feature: NumericFeature) -> float | int:
    if feature.minimum is None or feature.maximum is None:
        return 0
    mid = (feature.minimum + feature.maximum) / 2
    return round(mid) if feature.dtype == "integer" else round(mid, 3)


def _expected(feature: NumericFeature | CategoricalFeature) -> str:
    if isinstance(feature, NumericFeature):
        kind = "an integer" if feature.dtype == "integer" else "a number"
    else:
        shown = ", ".join(repr(v) for v in feature.levels[:12])
        more = ", ..." if len(feature.levels) > 12 else ""
        kind = f"one of {shown}{more}"
    return kind + (" or null" if feature.nullable else "")


def _check_value(feature: NumericFeature | CategoricalFeature, value: object) -> str | None:
    if value is None:
        return None if feature.nullable else f"must be {_expected(feature)}, got null"
    if isinstance(feature, NumericFeature):
        if isinstance(value, bool) or not isinstance(value, _NUMERIC_TYPES):
            return f"must be {_expected(feature)}, got {json_type(value)} {short_repr(value)}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, got {value}"
        return _check_range(feature, value)
    if not isinstance(value, str):
        return f"must be {_expected(feature)}, got {json_type(value)} {short_repr(value)}"
    if value not in feature.levels:
        return (
            f"value {short_repr(value)} was never seen in training; expected {_expected(feature)}"
        )
    return None


def _check_range(feature: NumericFeature, value: float) -> str | None:
    """Within what the model's dtype holds; integers also integral (3.0 passes, 2.5 not)."""
    if feature.dtype == "integer":
        if isinstance(value, float) and not value.is_integer():
            return f"must be an integer, got {short_repr(value)}"
        if isinstance(value, float) and abs(value) > EXACT_FLOAT_INT:
            # Past 2**53 a float is not the integer that was written: JSON's -9223372036854775809
            # arrives as -2**63. An integer literal is read exactly.
            return (
                f"must be an integer from {INT_MIN} to {INT_MAX} (64-bit), written without a "
                f"fraction or exponent past {EXACT_FLOAT_INT}; got {short_repr(value)}"
            )
        if not INT_MIN <= value <= INT_MAX:
            return (
                f"must be an integer from {INT_MIN} to {INT_MAX} (64-bit), got {short_repr(value)}"
            )
        return None
    if not -FLOAT_MAX <= value <= FLOAT_MAX:
        return (
            f"must be a number from {-FLOAT_MAX:.7g} to {FLOAT_MAX:.7g} (32-bit float), "
            f"got {short_repr(value)}"
        )
    return None


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type (``null``, ``boolean``, ``number``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def short_repr(value: object) -> str:
    """``repr`` cut to 40 characters, for echoing a client's value in an error."""
    if isinstance(value, str) and len(value) > 40:
        value = value[:40]  # repr of a short prefix, not of a megabyte string
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"{float(value):.3g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
