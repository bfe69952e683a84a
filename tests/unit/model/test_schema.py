from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve.model.schema import CategoricalFeature, InputSchema, NumericFeature


@pytest.fixture
def schema() -> InputSchema:
    frame = pd.DataFrame(
        {
            "age": [21, 35, 60],
            "bmi": [20.5, np.nan, 31.0],
            "contract": ["Month-to-month", "One year", "Two year"],
        }
    )
    return InputSchema.infer(frame)


def test_infer_kinds_ranges_levels_and_nullability(schema: InputSchema) -> None:
    age, bmi, contract = schema.features
    assert isinstance(age, NumericFeature)
    assert (age.dtype, age.minimum, age.maximum, age.nullable) == ("integer", 21, 60, False)
    assert isinstance(bmi, NumericFeature)
    assert bmi.dtype == "float"
    assert bmi.nullable
    assert isinstance(contract, CategoricalFeature)
    assert contract.levels == ["Month-to-month", "One year", "Two year"]
    assert schema.names == ["age", "bmi", "contract"]


def test_infer_refuses_identifier_columns() -> None:
    frame = pd.DataFrame({"id": [f"c{i}" for i in range(300)]})
    with pytest.raises(ValueError, match="at most 200"):
        InputSchema.infer(frame)


def test_valid_row_has_no_errors(schema: InputSchema) -> None:
    assert schema.validate_row({"age": 40, "bmi": None, "contract": "One year"}) == []
    # V2 clients send FP64 tensors: an integer field takes a float; a float field takes ints.
    assert schema.validate_row({"age": 40.0, "bmi": 22, "contract": "One year"}) == []


@pytest.mark.parametrize(
    ("row", "field", "fragment"),
    [
        ({"bmi": 1.0, "contract": "One year"}, "age", "field required"),
        ({"age": "abc", "bmi": 1.0, "contract": "One year"}, "age", "got string 'abc'"),
        ({"age": True, "bmi": 1.0, "contract": "One year"}, "age", "got boolean"),
        ({"age": math.nan, "bmi": 1.0, "contract": "One year"}, "age", "finite"),
        ({"age": math.inf, "bmi": 1.0, "contract": "One year"}, "age", "finite"),
        ({"age": None, "bmi": 1.0, "contract": "One year"}, "age", "got null"),
        ({"age": 1, "bmi": 1.0, "contract": "Weekly"}, "contract", "never seen in training"),
        ({"age": 1, "bmi": 1.0, "contract": 3}, "contract", "one of 'Month-to-month'"),
        ({"age": 1, "bmi": 1.0, "contract": "One year", "x": 1}, "x", "unknown field"),
    ],
)
def test_invalid_values_name_the_field(
    schema: InputSchema, row: dict[str, object], field: str, fragment: str
) -> None:
    errors = schema.validate_row(row)
    assert [e.field for e in errors] == [field]
    assert fragment in errors[0].message


def test_non_object_row(schema: InputSchema) -> None:
    errors = schema.validate_row([1, 2, 3])
    assert errors[0].field == "$"
    assert "array" in errors[0].message


def test_to_frame_keeps_order_and_types(schema: InputSchema) -> None:
    frame = schema.to_frame([{"contract": "Two year", "bmi": None, "age": 30}])
    assert list(frame.columns) == ["age", "bmi", "contract"]
    assert frame["age"].dtype == np.float64
    assert math.isnan(frame["bmi"].iloc[0])
    assert frame["contract"].iloc[0] == "Two year"


def test_incompatibilities(schema: InputSchema) -> None:
    assert schema.incompatibilities(schema) == []
    fewer = InputSchema(features=schema.features[:2])
    assert "missing ['contract']" in schema.incompatibilities(fewer)[0]
    contract = schema.features[2]
    assert isinstance(contract, CategoricalFeature)
    narrowed = InputSchema(
        features=[*schema.features[:2], CategoricalFeature(name="contract", levels=["One year"])]
    )
    assert "no longer accepts" in schema.incompatibilities(narrowed)[0]
    retyped = InputSchema(features=[*schema.features[:2], NumericFeature(name="contract")])
    assert "changed from categorical to numeric" in schema.incompatibilities(retyped)[0]


def test_json_schema_describes_fields(schema: InputSchema) -> None:
    doc = schema.json_schema()
    assert doc["required"] == ["age", "bmi", "contract"]
    assert doc["properties"]["age"]["type"] == "integer"
    assert doc["properties"]["contract"]["enum"] == ["Month-to-month", "One year", "Two year"]
    assert doc["properties"]["bmi"]["anyOf"][1] == {"type": "null"}
    assert schema.validate_row(schema.example_row()) == []


def test_sample_frame_draws_valid_rows_inside_the_training_ranges() -> None:
    frame = pd.DataFrame(
        {
            "age": [20, 30, 40, 35],
            "score": [0.5, 1.5, None, 3.5],
            "plan": ["basic", "gold", None, "basic"],
        }
    )
    schema = InputSchema.infer(frame)
    sample = schema.sample_frame(rows=200, seed=3)
    assert list(sample.columns) == ["age", "score", "plan"]
    assert len(sample) == 200
    ages = sample["age"]
    assert ages.between(20, 40).all()
    assert (ages == ages.round()).all()
    assert sample["score"].dropna().between(0.5, 3.5).all()
    assert sample["score"].isna().any()  # nullable: some missing
    assert not ages.isna().any()
    assert set(sample["plan"].dropna()) == {"basic", "gold"}
    rows = sample.astype(object).where(sample.notna(), None).to_dict(orient="records")
    schema.validate_rows(rows)
    assert schema.sample_frame(rows=200, seed=3).equals(sample)  # repeatable


def test_json_schema_gives_the_training_range_as_numbers() -> None:
    frame = pd.DataFrame({"age": [20, 41], "bmi": [18.85, None], "plan": ["a", "b"]})
    properties = InputSchema.infer(frame).json_schema()["properties"]
    assert (properties["age"]["x-training-minimum"], properties["age"]["x-training-maximum"]) == (
        20,
        41,
    )
    # Nullable: the range is on the field as well as on its number alternative.
    assert properties["bmi"]["x-training-minimum"] == 18.85
    assert properties["bmi"]["anyOf"][0]["x-training-maximum"] == 18.85
    assert "x-training-minimum" not in properties["plan"]
