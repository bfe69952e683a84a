"""Valid request rows for a model, sampled from its input schema.

Numeric features are drawn uniformly from the range seen in training (integers stay integers),
categorical ones from the levels seen in training, so every row passes the server's validation.
The schema comes from a bundle (``schema_from_bundle``) or, when only a URL is known, from the
server's own OpenAPI description (``schema_from_openapi``).
"""

from __future__ import annotations

import os
import random
import re
from typing import Any

from ..model.bundle import read_metadata
from ..model.registry import resolve_bundle_path
from ..model.schema import CategoricalFeature, InputSchema, NumericFeature

# The OpenAPI row schema gives a numeric range as ``x-training-minimum``/``x-training-maximum``
# (the server accepts values outside); older servers gave it only in the field's description.
_RANGE = re.compile(r"seen in training: (\S+) to (\S+)$")


def schema_from_bundle(path: str | os.PathLike[str]) -> InputSchema:
    """The input schema of a bundle, or of a registry's current version (nothing is unpickled)."""
    return read_metadata(resolve_bundle_path(path)).input_schema


def schema_from_openapi(document: dict[str, Any]) -> InputSchema:
    """Rebuild the input schema from a k8s-mlserve ``/openapi.json`` document."""
    try:
        row = document["components"]["schemas"]["Row"]
        properties: dict[str, Any] = row["properties"]
    except (KeyError, TypeError):
        raise ValueError(
            "the OpenAPI document has no components.schemas.Row with properties; is a model "
            "loaded on that server?"
        ) from None
    features: list[NumericFeature | CategoricalFeature] = []
    for name, prop in properties.items():
        nullable = "anyOf" in prop
        inner = next((p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"), prop)
        if "enum" in inner:
            levels = [str(v) for v in inner["enum"]]
            features.append(CategoricalFeature(name=name, levels=levels, nullable=nullable))
            continue
        kind = inner.get("type")
        if kind not in ("integer", "number"):
            raise ValueError(f"feature {name!r} has type {kind!r}; expected a number or an enum")
        minimum = prop.get("x-training-minimum", inner.get("x-training-minimum"))
        maximum = prop.get("x-training-maximum", inner.get("x-training-maximum"))
        match = _RANGE.search(str(prop.get("description", "")))
        if (minimum is None or maximum is None) and match:
            minimum, maximum = float(match.group(1)), float(match.group(2))
        features.append(
            NumericFeature(
                name=name,
                dtype="integer" if kind == "integer" else "float",
                minimum=minimum,
                maximum=maximum,
                nullable=nullable,
            )
        )
    return InputSchema(features=features)


class PayloadFactory:
    """Makes rows and request bodies that a server with ``schema`` accepts."""

    def __init__(self, schema: InputSchema, *, seed: int | None = None) -> None:
        if not schema.features:
            raise ValueError("the input schema has no features")
        self.schema = schema
        self._random = random.Random(seed)

    def row(self) -> dict[str, Any]:
        """One row with every feature, each value inside what training saw."""
        return {f.name: self._value(f) for f in self.schema.features}

    def rows(self, count: int) -> list[dict[str, Any]]:
        return [self.row() for _ in range(count)]

    def single(self) -> dict[str, Any]:
        """The body of a one-row ``POST /predict``."""
        return self.row()

    def batch(self, size: int) -> dict[str, Any]:
        """The body of a batch ``POST /predict``: ``{"instances": [...]}``."""
        if size < 1:
            raise ValueError(f"a batch needs at least one row, got {size}")
        return {"instances": self.rows(size)}

    def _value(self, feature: NumericFeature | CategoricalFeature) -> Any:
        if isinstance(feature, CategoricalFeature):
            return self._random.choice(feature.levels) if feature.levels else ""
        low, high = feature.minimum, feature.maximum
        if low is None or high is None:
            low, high = 0.0, 1.0
        if feature.dtype == "integer":
            return self._random.randint(int(low), int(high))
        return round(self._random.uniform(low, high), 4)
