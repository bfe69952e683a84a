from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mlserve.model.schema import CategoricalFeature, InputSchema, NumericFeature
from k8s_mlserve.testing import PayloadFactory, schema_from_bundle, schema_from_openapi
from k8s_mlserve.training.runner import train_example

SCHEMA = InputSchema(
    features=[
        NumericFeature(name="age", dtype="integer", minimum=18, maximum=90),
        NumericFeature(name="income", dtype="float", minimum=0.5, maximum=1250.25),
        NumericFeature(name="charges", dtype="float", minimum=18.25, maximum=8684.8, nullable=True),
        CategoricalFeature(name="contract", levels=["Month-to-month", "One year", "Two year"]),
        CategoricalFeature(name="partner", levels=["No", "Yes"], nullable=True),
        NumericFeature(name="unbounded", dtype="float"),
    ]
)


def openapi(schema: InputSchema) -> dict[str, object]:
    # The shape build_openapi gives /openapi.json: the row schema under components.schemas.Row.
    return {"openapi": "3.1.0", "components": {"schemas": {"Row": schema.json_schema()}}}


def test_the_schema_is_rebuilt_from_an_openapi_document() -> None:
    assert schema_from_openapi(openapi(SCHEMA)) == SCHEMA


def test_ranges_are_read_exactly_and_from_the_words_of_older_servers() -> None:
    precise = InputSchema(
        features=[NumericFeature(name="amount", dtype="float", minimum=0.0, maximum=1234567.891)]
    )
    # The description rounds (1.23457e+06): the x-training-* numbers do not.
    assert schema_from_openapi(openapi(precise)) == precise
    older = openapi(precise)
    row = older["components"]["schemas"]["Row"]  # type: ignore[index]
    for prop in row["properties"].values():
        del prop["x-training-minimum"], prop["x-training-maximum"]
    [feature] = schema_from_openapi(older).features
    assert isinstance(feature, NumericFeature)
    assert (feature.minimum, feature.maximum) == (0.0, 1234570.0)


def test_an_openapi_document_without_a_row_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="is a model loaded on that server"):
        schema_from_openapi({"openapi": "3.1.0", "components": {"schemas": {}}})


def test_rows_are_valid_and_inside_the_training_ranges() -> None:
    factory = PayloadFactory(SCHEMA, seed=7)
    rows = factory.rows(300)
    for row in rows:
        assert SCHEMA.validate_row(row) == []
        assert isinstance(row["age"], int)
        assert 18 <= row["age"] <= 90
        assert isinstance(row["income"], float)
        assert 0.5 <= row["income"] <= 1250.25
        assert row["partner"] in ("No", "Yes")
    # every level and both ends of the ranges get drawn
    assert {r["contract"] for r in rows} == {"Month-to-month", "One year", "Two year"}
    assert min(r["age"] for r in rows) < 25
    assert max(r["age"] for r in rows) > 83


def test_the_same_seed_gives_the_same_rows() -> None:
    assert PayloadFactory(SCHEMA, seed=3).rows(5) == PayloadFactory(SCHEMA, seed=3).rows(5)
    assert PayloadFactory(SCHEMA, seed=3).rows(5) != PayloadFactory(SCHEMA, seed=4).rows(5)


def test_request_bodies() -> None:
    factory = PayloadFactory(SCHEMA, seed=1)
    assert set(factory.single()) == set(SCHEMA.names)
    batch = factory.batch(4)
    assert list(batch) == ["instances"]
    assert len(batch["instances"]) == 4
    with pytest.raises(ValueError, match="at least one row"):
        factory.batch(0)
    with pytest.raises(ValueError, match="no features"):
        PayloadFactory(InputSchema(features=[]))


def test_the_schema_is_read_from_a_registry_without_unpickling(tmp_path: Path) -> None:
    run = train_example("iris", output=tmp_path / "iris", quiet=True)
    (run.path / "model.joblib").write_bytes(b"not a pickle")  # never loaded
    schema = schema_from_bundle(tmp_path / "iris")
    assert schema.names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
