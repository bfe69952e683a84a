"""The form built from the server's OpenAPI document: bounds and levels seen in training,
defaults from the example row, missing values where a feature is nullable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve.model.schema import InputSchema
from k8s_mlserve.ui.form import (
    Field,
    SchemaError,
    answer_fields,
    example_row,
    fields_from_openapi,
)

from ..toy_model import toy_frame
from .conftest import ClientFactory


def test_fields_follow_the_model_in_order_with_training_ranges_and_levels(
    document: dict[str, Any],
) -> None:
    frame, _ = toy_frame()
    x, count, colour = fields_from_openapi(document)
    assert (x.name, x.kind, x.nullable) == ("x", "number", False)
    assert (x.minimum, x.maximum) == (frame["x"].min(), frame["x"].max())
    assert (count.kind, count.minimum, count.maximum) == ("integer", 0, 9)
    assert colour.kind == "category"
    assert set(colour.levels) == {"red", "green", "blue"}


def test_the_defaults_are_the_documented_example_and_the_server_accepts_them(
    connect: ClientFactory, document: dict[str, Any]
) -> None:
    fields = fields_from_openapi(document)
    example = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    row = example_row(fields)
    assert row == example["example"]
    for field in fields:
        if field.minimum is not None and field.maximum is not None:
            assert field.minimum <= row[field.name] <= field.maximum
    assert connect().predict(row).ok


def _document(frame: pd.DataFrame) -> dict[str, Any]:
    schema = InputSchema.infer(frame)
    return {
        "components": {"schemas": {"Row": schema.json_schema()}},
        "paths": {
            "/predict": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"example": schema.example_row()}}
                    }
                }
            }
        },
    }


def test_a_nullable_feature_can_be_missing_and_keeps_its_range() -> None:
    frame = pd.DataFrame({"charges": [18.85, np.nan, 8684.8], "plan": ["a", None, "b"]})
    charges, plan = fields_from_openapi(_document(frame))
    assert charges.nullable
    assert plan.nullable
    assert (charges.minimum, charges.maximum) == (18.85, 8684.8)
    assert charges.value(100.0, missing=True) is None
    assert charges.value(100.0) == 100.0
    assert plan.value("a", missing=True) is None


def test_values_are_sent_as_the_schema_types() -> None:
    count = Field("count", "integer", minimum=0, maximum=9, default=3)
    assert count.value(4.0) == 4
    assert isinstance(count.value(4.0), int)
    assert Field("plan", "category", levels=("a",), default="a").value("a") == "a"


@pytest.mark.parametrize(
    ("field", "shown"),
    [
        (Field("n", "integer", default=3), "%d"),
        (Field("charges", "number", minimum=18.4, maximum=118.75, default=68.575), "%.3f"),
        (Field("x", "number", minimum=0.0, maximum=1.0, default=0.5), "%.2f"),
    ],
)
def test_numbers_are_shown_without_rounding_their_values(field: Field, shown: str) -> None:
    assert field.number_format() == shown


def test_a_step_is_about_a_hundredth_of_the_range() -> None:
    assert Field("c", "number", minimum=18.4, maximum=118.75).step() == 1.0
    assert Field("g", "number", minimum=0.0, maximum=2.5).step() == 0.01
    assert Field("n", "integer", minimum=0, maximum=1000).step() == 1


@pytest.mark.parametrize(
    "document",
    [{}, {"components": {"schemas": {"Row": {"type": "object"}}}}, "not a document"],
)
def test_a_document_without_an_input_schema_asks_whether_a_model_is_loaded(document: Any) -> None:
    with pytest.raises(SchemaError, match="is a model loaded"):
        fields_from_openapi(document)


def test_a_field_of_an_unknown_type_is_named() -> None:
    document = {"components": {"schemas": {"Row": {"properties": {"when": {"type": "string"}}}}}}
    with pytest.raises(SchemaError, match="field 'when' has type 'string'"):
        fields_from_openapi(document)


def test_the_answer_fields_are_the_model_s_own(document: dict[str, Any]) -> None:
    extras = answer_fields(document)
    assert set(extras) == {"is_yes", "probability", "risk"}
    assert extras["risk"]["enum"] == ["low", "moderate", "high"]
