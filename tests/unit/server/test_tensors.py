"""V2 tensors: request tensors to rows, predictions to output tensors, or a message why not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from k8s_mlserve.errors import MalformedRequestError
from k8s_mlserve.inference.predictor import Predictions
from k8s_mlserve.model.schema import CategoricalFeature, InputSchema, NumericFeature
from k8s_mlserve.server.tensors import (
    column_tensor,
    feature_datatype,
    select_outputs,
    v2_outputs,
    v2_rows,
)

MIXED = InputSchema(
    features=[
        NumericFeature(name="x"),
        NumericFeature(name="count", dtype="integer"),
        CategoricalFeature(name="colour", levels=["blue", "red"]),
    ]
)
NUMERIC = InputSchema(features=[NumericFeature(name="a"), NumericFeature(name="b")])


def tensor(
    name: str, datatype: str, data: list[Any], shape: list[int] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "shape": shape if shape is not None else [len(data)],
        "datatype": datatype,
        "data": data,
    }


def mixed_inputs(
    x: list[Any], count: list[Any], colour: list[Any], shape: list[int] | None = None
) -> dict[str, Any]:
    return {
        "inputs": [
            tensor("x", "FP64", x, shape),
            tensor("count", "INT64", count, shape),
            tensor("colour", "BYTES", colour, shape),
        ]
    }


def refused(payload: Any, schema: InputSchema = MIXED) -> str:
    with pytest.raises(MalformedRequestError) as raised:
        v2_rows(payload, schema)
    return raised.value.message


# -- feature tensors -------------------------------------------------------------------------


def test_one_tensor_per_feature_gives_one_row_per_element() -> None:
    rows = v2_rows(mixed_inputs([0.5, -1.0], [3, 0], ["red", "blue"]), MIXED)
    assert rows == [
        {"x": 0.5, "count": 3, "colour": "red"},
        {"x": -1.0, "count": 0, "colour": "blue"},
    ]


def test_feature_tensors_of_shape_n_by_1_with_nested_data() -> None:
    payload = mixed_inputs([[0.5], [-1.0]], [[3], [0]], [["red"], ["blue"]], shape=[2, 1])
    assert v2_rows(payload, MIXED) == [
        {"x": 0.5, "count": 3, "colour": "red"},
        {"x": -1.0, "count": 0, "colour": "blue"},
    ]


def test_feature_tensors_may_come_in_any_order_and_rows_follow_the_schema() -> None:
    payload = {
        "inputs": [
            tensor("colour", "BYTES", ["red"]),
            tensor("count", "UINT8", [3]),
            tensor("x", "FP32", [2]),
        ]
    }
    rows = v2_rows(payload, MIXED)
    assert rows == [{"x": 2, "count": 3, "colour": "red"}]
    assert list(rows[0]) == ["x", "count", "colour"]


def test_nulls_are_left_for_schema_validation() -> None:
    assert v2_rows(mixed_inputs([None], [3], [None]), MIXED) == [
        {"x": None, "count": 3, "colour": None}
    ]


def test_empty_feature_tensors_are_no_rows() -> None:
    assert v2_rows(mixed_inputs([], [], []), MIXED) == []


def test_a_feature_tensor_of_another_shape_is_refused() -> None:
    payload = mixed_inputs([0.5, 1.0], [3, 4], ["red", "blue"])
    payload["inputs"][0] = tensor("x", "FP64", [[0.5, 1.0]], shape=[1, 2])
    assert refused(payload) == "tensor 'x' has shape [1, 2]; expected [N] or [N, 1]"


def test_a_categorical_feature_must_be_bytes() -> None:
    payload = mixed_inputs([0.5], [3], [1])
    payload["inputs"][2]["datatype"] = "INT64"
    assert refused(payload) == (
        "tensor 'colour' is a categorical feature: datatype must be BYTES, got INT64"
    )


def test_a_numeric_feature_must_be_a_number_type() -> None:
    payload = mixed_inputs(["0.5"], [3], ["red"])
    payload["inputs"][0]["datatype"] = "BYTES"
    assert refused(payload) == (
        "tensor 'x' is a numeric feature: datatype must be INT*, UINT* or FP*, got BYTES"
    )


def test_missing_and_repeated_feature_tensors_are_refused() -> None:
    payload = mixed_inputs([0.5], [3], ["red"])
    del payload["inputs"][2]
    assert refused(payload) == ("missing input tensors ['colour']; send one tensor per feature")
    payload = mixed_inputs([0.5], [3], ["red"])
    payload["inputs"].append(tensor("x", "FP64", [1.0]))
    assert refused(payload) == "tensor 'x' is given twice"


def test_feature_tensors_must_agree_on_the_number_of_rows() -> None:
    payload = mixed_inputs([0.5, 1.0], [3], ["red"])
    assert refused(payload) == "input tensors disagree on the number of rows: [1, 2]"


def test_unknown_tensors_are_named_with_what_to_send_instead() -> None:
    payload = mixed_inputs([0.5], [3], ["red"])
    payload["inputs"].append(tensor("size", "FP64", [1.0]))
    assert refused(payload) == (
        "unknown input tensors ['size']; send one tensor per feature (x, count, colour) "
        "or a single [N, 3] tensor"
    )


# -- the row-of-features tensor ----------------------------------------------------------------


def test_a_row_tensor_gives_rows_in_schema_order_for_an_all_numeric_schema() -> None:
    flat = {"inputs": [tensor("input-0", "FP32", [1, 2.5, 3, 4.5], shape=[2, 2])]}
    nested = {"inputs": [tensor("input-0", "FP32", [[1, 2.5], [3, 4.5]], shape=[2, 2])]}
    expected = [{"a": 1, "b": 2.5}, {"a": 3, "b": 4.5}]
    assert v2_rows(flat, NUMERIC) == expected
    assert v2_rows(nested, NUMERIC) == expected


def test_a_row_tensor_must_be_n_by_the_number_of_features() -> None:
    payload = {"inputs": [tensor("input-0", "FP64", [1, 2, 3], shape=[1, 3])]}
    assert refused(payload, NUMERIC) == (
        "tensor 'input-0' has shape [1, 3]; a row-of-features tensor has shape [N, 2] "
        "(features a, b)"
    )


def test_a_row_tensor_must_be_numeric() -> None:
    payload = {"inputs": [tensor("input-0", "BYTES", ["1", "2"], shape=[1, 2])]}
    assert refused(payload, NUMERIC) == (
        "tensor 'input-0': a row-of-features tensor must be numeric (INT*, UINT* or FP*), got BYTES"
    )


def test_a_row_tensor_is_refused_when_the_schema_has_categorical_features() -> None:
    payload = {"inputs": [tensor("input-0", "FP64", [0.5, 3, 1], shape=[1, 3])]}
    assert refused(payload) == (
        "this model has categorical features: send one tensor per feature "
        "(BYTES for the categorical ones) instead of a row-of-features tensor"
    )


# -- the shape of the request and of each tensor -----------------------------------------------


@pytest.mark.parametrize("payload", [[], {"inputs": 3}, {"instances": []}, "inputs"])
def test_the_request_must_have_a_list_of_inputs(payload: Any) -> None:
    assert refused(payload).startswith(
        'expected {"inputs": [{"name", "shape", "datatype", "data"}, ...]}, got '
    )


def test_no_inputs_is_refused_with_what_to_send() -> None:
    assert refused({"inputs": []}) == (
        "'inputs' is empty; send one tensor per feature or one row tensor"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["x"], "input 0 must be an object with name, shape, datatype, data"),
        ({"shape": [1], "datatype": "FP64", "data": [1]}, "input 0 needs a string 'name'"),
        (
            {"name": "x", "shape": [-1], "datatype": "FP64", "data": [1]},
            "tensor 'x': 'shape' must be a list of non-negative integers",
        ),
        (
            {"name": "x", "shape": [True], "datatype": "FP64", "data": [1]},
            "tensor 'x': 'shape' must be a list of non-negative integers",
        ),
        (
            {"name": "x", "shape": 1, "datatype": "FP64", "data": [1]},
            "tensor 'x': 'shape' must be a list of non-negative integers",
        ),
        (
            {"name": "x", "shape": [1], "datatype": "FP64", "data": 1},
            "tensor 'x': 'data' must be a list",
        ),
        (
            {"name": "x", "shape": [2], "datatype": "FP64", "data": [1, 2, 3]},
            "tensor 'x' has shape [2] (2 elements) but 3 data elements",
        ),
        (
            {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [[1, 2], [3]]},
            "tensor 'x' has shape [2, 2] (4 elements) but 3 data elements",
        ),
    ],
)
def test_a_badly_formed_tensor_is_refused(raw: Any, message: str) -> None:
    assert refused({"inputs": [raw]}) == message


def test_an_unknown_datatype_is_refused_with_the_known_ones() -> None:
    message = refused({"inputs": [tensor("x", "FLOAT", [1.0])]})
    assert message.startswith("tensor 'x': unknown datatype 'FLOAT'; expected one of BOOL, ")
    assert message.endswith(", FP16, FP32, FP64, BYTES")


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        ("FP64", "0.5"),
        ("FP64", True),
        ("INT64", 1.5),
        ("INT32", False),
        ("UINT8", -1),
        ("BOOL", 1),
        ("BYTES", 3),
    ],
)
def test_each_element_must_be_of_the_declared_datatype(datatype: str, value: Any) -> None:
    payload = {"inputs": [tensor("x", datatype, [value])]}
    assert refused(payload) == f"tensor 'x' is {datatype} but holds {value!r}"


# -- outputs ---------------------------------------------------------------------------------


def classifier_predictions() -> Predictions:
    results = [
        {
            "label": "yes",
            "probabilities": {"no": 0.25, "yes": 0.75},
            "is_yes": True,
            "probability": 0.75,
            "risk": "high",
            "model_version": "v1",
        },
        {
            "label": "no",
            "probabilities": {"no": 0.9, "yes": 0.1},
            "is_yes": False,
            "probability": 0.1,
            "risk": "low",
            "model_version": "v1",
        },
    ]
    return Predictions(results=results, labels=["yes", "no"], scores=[0.75, 0.1])


def test_a_classifier_answers_label_probabilities_and_its_response_fields() -> None:
    tensors = v2_outputs(classifier_predictions(), ["no", "yes"])
    assert tensors == [
        {"name": "label", "shape": [2], "datatype": "BYTES", "data": ["yes", "no"]},
        {
            "name": "probabilities",
            "shape": [2, 2],
            "datatype": "FP64",
            "parameters": {"classes": '["no","yes"]'},
            "data": [0.25, 0.75, 0.9, 0.1],
        },
        {"name": "is_yes", "shape": [2], "datatype": "BOOL", "data": [True, False]},
        {"name": "probability", "shape": [2], "datatype": "FP64", "data": [0.75, 0.1]},
        {"name": "risk", "shape": [2], "datatype": "BYTES", "data": ["high", "low"]},
    ]
    assert json.loads(tensors[1]["parameters"]["classes"]) == ["no", "yes"]


def test_probabilities_follow_the_order_of_the_class_keys() -> None:
    tensors = v2_outputs(classifier_predictions(), ["yes", "no"])
    assert tensors[1]["data"] == [0.75, 0.25, 0.1, 0.9]
    assert tensors[1]["parameters"] == {"classes": '["yes","no"]'}


def test_a_regressor_answers_its_label_only() -> None:
    results: list[dict[str, Any]] = [
        {"label": 1.5, "model_version": "v1"},
        {"label": 2, "model_version": "v1"},
    ]
    predictions = Predictions(results=results, labels=[1.5, 2], scores=[None, None])
    assert v2_outputs(predictions, None) == [
        {"name": "label", "shape": [2], "datatype": "FP64", "data": [1.5, 2]}
    ]


@pytest.mark.parametrize(
    ("values", "datatype", "data"),
    [
        ([True, False], "BOOL", [True, False]),
        ([1, 2], "INT64", [1, 2]),
        ([1, 2.5], "FP64", [1, 2.5]),
        (["a", "b"], "BYTES", ["a", "b"]),
        ([1, "b"], "BYTES", ["1", "b"]),
        ([True, 1], "BYTES", ["True", "1"]),
    ],
)
def test_a_column_tensor_takes_the_narrowest_datatype_of_its_values(
    values: list[Any], datatype: str, data: list[Any]
) -> None:
    assert column_tensor("c", values) == {
        "name": "c",
        "shape": [len(values)],
        "datatype": datatype,
        "data": data,
    }


def test_outputs_are_all_kept_when_the_request_names_none() -> None:
    tensors = v2_outputs(classifier_predictions(), ["no", "yes"])
    assert select_outputs(tensors, {"inputs": []}) == tensors
    assert select_outputs(tensors, {"inputs": [], "outputs": []}) == tensors


def test_the_outputs_a_request_names_are_kept_in_its_order() -> None:
    tensors = v2_outputs(classifier_predictions(), ["no", "yes"])
    chosen = select_outputs(tensors, {"outputs": [{"name": "risk"}, {"name": "label"}]})
    assert [t["name"] for t in chosen] == ["risk", "label"]
    assert chosen[0]["data"] == ["high", "low"]


def test_an_unknown_output_is_refused_with_the_available_ones() -> None:
    tensors = v2_outputs(classifier_predictions(), ["no", "yes"])
    with pytest.raises(MalformedRequestError) as raised:
        select_outputs(tensors, {"outputs": [{"name": "label"}, {"name": "score"}]})
    assert raised.value.message == (
        "unknown outputs ['score']; available: label, probabilities, is_yes, probability, risk"
    )


@pytest.mark.parametrize("outputs", ["label", [{"nom": "label"}], ["label"], [{"name": 3}]])
def test_outputs_must_be_objects_with_a_name(outputs: Any) -> None:
    tensors = v2_outputs(classifier_predictions(), ["no", "yes"])
    with pytest.raises(MalformedRequestError, match="'outputs' must be a list of objects"):
        select_outputs(tensors, {"outputs": outputs})


def test_feature_datatypes_in_the_model_metadata() -> None:
    x, count, colour = MIXED.features
    assert [feature_datatype(f) for f in (x, count, colour)] == ["FP64", "INT64", "BYTES"]
