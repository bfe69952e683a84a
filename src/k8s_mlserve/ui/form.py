"""The input form, built from the model's input schema in the server's OpenAPI description.

Each field of ``components.schemas.Row`` becomes a ``Field``: a number bounded by the range seen
in training (``x-training-minimum``/``x-training-maximum``), or a choice of the levels seen in
training; nullable fields can be marked missing. Defaults come from the request example.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["integer", "number", "category"]
_MAX_DECIMALS = 6


class SchemaError(ValueError):
    """The OpenAPI document has no usable input schema (no model loaded, or not this server)."""


@dataclass(frozen=True)
class Field:
    """One input of the form."""

    name: str
    kind: Kind
    nullable: bool = False
    minimum: float | None = None  # seen in training
    maximum: float | None = None
    levels: tuple[str, ...] = ()
    default: Any = None

    @property
    def bounded(self) -> bool:
        """A number with a known training range."""
        return self.minimum is not None and self.maximum is not None

    def number_format(self) -> str:
        """A printf format showing the default and the bounds without rounding them."""
        if self.kind == "integer":
            return "%d"
        values = [v for v in (self.default, self.minimum, self.maximum) if v is not None]
        return f"%.{max([2, *(decimals(float(v)) for v in values)])}f"

    def step(self) -> float | int:
        """The step of the +/- buttons: 1 for integers, a hundredth of the range otherwise."""
        if self.kind == "integer":
            return 1
        if self.minimum is None or self.maximum is None or self.maximum <= self.minimum:
            return 0.01
        return 10.0 ** math.floor(math.log10((self.maximum - self.minimum) / 100))

    def value(self, entered: Any, missing: bool = False) -> Any:
        """The JSON value to send for what the form holds."""
        if missing or entered is None:
            return None
        if self.kind == "integer":
            return int(entered)
        if self.kind == "number":
            return float(entered)
        return str(entered)


def decimals(value: float) -> int:
    """Decimal places ``value`` is written with (at most six)."""
    text = f"{value:.{_MAX_DECIMALS}f}".rstrip("0")
    return len(text.partition(".")[2])


def _operation_example(document: Mapping[str, Any]) -> dict[str, Any]:
    try:
        example = document["paths"]["/predict"]["post"]["requestBody"]["content"][
            "application/json"
        ]["example"]
    except (KeyError, TypeError):
        return {}
    return dict(example) if isinstance(example, Mapping) else {}


def _field(name: str, prop: Mapping[str, Any], example: Mapping[str, Any]) -> Field:
    variants = prop.get("anyOf", [prop])
    nullable = any(v.get("type") == "null" for v in variants)
    inner = next((v for v in variants if v.get("type") != "null"), prop)
    default = example.get(name, prop.get("example", inner.get("example")))
    if "enum" in inner:
        levels = tuple(str(level) for level in inner["enum"])
        if default not in levels:
            default = levels[0] if levels else None
        return Field(name, "category", nullable, levels=levels, default=default)
    kind = inner.get("type")
    if kind not in ("integer", "number"):
        raise SchemaError(f"field {name!r} has type {kind!r}; expected a number or a category")
    minimum = prop.get("x-training-minimum", inner.get("x-training-minimum"))
    maximum = prop.get("x-training-maximum", inner.get("x-training-maximum"))
    if default is None:
        default = minimum if minimum is not None else 0
    if kind == "integer":
        default = int(default)
        minimum = None if minimum is None else math.floor(minimum)
        maximum = None if maximum is None else math.ceil(maximum)
    return Field(name, kind, nullable, minimum=minimum, maximum=maximum, default=default)


def fields_from_openapi(document: Any) -> list[Field]:
    """The form's fields, in the model's feature order."""
    try:
        properties = document["components"]["schemas"]["Row"]["properties"]
    except (KeyError, TypeError):
        raise SchemaError(
            "the server's API description has no input schema; is a model loaded?"
        ) from None
    if not isinstance(properties, Mapping) or not properties:
        raise SchemaError("the server's input schema lists no fields; is a model loaded?")
    example = _operation_example(document)
    return [_field(name, prop, example) for name, prop in properties.items()]


def answer_fields(document: Any) -> dict[str, dict[str, Any]]:
    """The fields a prediction carries beyond label, probabilities and version (the examples'
    flag, probability and risk level), with their schemas."""
    try:
        properties = document["components"]["schemas"]["Result"]["properties"]
    except (KeyError, TypeError):
        return {}
    common = {"label", "probabilities", "model_version"}
    return {name: dict(prop) for name, prop in properties.items() if name not in common}


def example_row(fields: list[Field]) -> dict[str, Any]:
    """The row the form holds before anything is changed."""
    return {f.name: f.default for f in fields}
