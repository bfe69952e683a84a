"""Input schemas of MLflow models from their signature columns and input example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from k8s_mlserve import ModelSourceError
from k8s_mlserve.model.schema import CategoricalFeature, NumericFeature
from k8s_mlserve.sources.mlflow.schema import schema_from_columns


def test_schema_from_columns_takes_ranges_and_levels_from_the_example() -> None:
    example = pd.DataFrame(
        {"age": [30, 50, 41], "bmi": [22.5, np.nan, 31.0], "plan": ["gold", "basic", "gold"]}
    )
    schema = schema_from_columns(
        [("age", "long", True), ("bmi", "double", False), ("plan", "string", True)], example
    )
    age, bmi, plan = schema.features
    assert isinstance(age, NumericFeature)
    assert (age.dtype, age.minimum, age.maximum, age.nullable) == ("integer", 30.0, 50.0, False)
    assert isinstance(bmi, NumericFeature)
    assert (bmi.dtype, bmi.minimum, bmi.maximum, bmi.nullable) == ("float", 22.5, 31.0, True)
    assert isinstance(plan, CategoricalFeature)
    assert plan.levels == ["basic", "gold"]
    assert schema.validate_row({"age": 35, "bmi": None, "plan": "gold"}) == []
    assert schema.validate_row({"age": 35, "bmi": 20.0, "plan": "platinum"})


def test_schema_from_columns_without_example_has_no_ranges() -> None:
    schema = schema_from_columns([("x", "float", True), ("flag", "boolean", True)])
    x, flag = schema.features
    assert isinstance(x, NumericFeature)
    assert x.minimum is None
    assert isinstance(flag, NumericFeature)
    assert flag.dtype == "integer"
    assert schema.example_row() == {"x": 0, "flag": 0}


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([("plan", "string", True)], "no input example to learn its values from"),
        ([("when", "datetime", True)], "only numbers, booleans and strings"),
        ([(None, "double", True)], "unnamed columns"),
    ],
)
def test_schema_from_columns_refuses_what_it_cannot_validate(
    columns: list[tuple[str | None, str, bool]], message: str
) -> None:
    with pytest.raises(ModelSourceError, match=message):
        schema_from_columns(columns)
