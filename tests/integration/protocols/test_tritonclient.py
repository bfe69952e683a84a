"""An unmodified ``tritonclient.http`` client against a real server, for the three examples.

The client sends inputs as binary tensor data and asks for binary outputs (its defaults); every
answer must equal the one a JSON request for the same rows gets, output by output.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton  # type: ignore[import-untyped]
from tritonclient.utils import InferenceServerException  # type: ignore[import-untyped]

from k8s_mlserve.testing import ServerProcess
from k8s_mlserve.training.examples import churn, diabetes, iris

from .conftest import DIABETES_ROWS, as_object

pytestmark = pytest.mark.integration

ROWS: dict[str, list[dict[str, Any]]] = {
    "iris": [
        iris.EXAMPLE_ROW,
        {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3},
        {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 4.2, "petal_width": 1.5},
    ],
    "diabetes": [diabetes.EXAMPLE_ROW, *(as_object(row) for row in DIABETES_ROWS)],
    "churn": [
        # Binary tensors have no null: the example's missing TotalCharges is filled in.
        {**churn.EXAMPLE_ROW, "TotalCharges": 29.85},
        {
            **churn.EXAMPLE_ROW,
            "gender": "Male",
            "tenure": 60,
            "PhoneService": "Yes",
            "MultipleLines": "Yes",
            "InternetService": "Fiber optic",
            "Contract": "Two year",
            "PaymentMethod": "Credit card (automatic)",
            "MonthlyCharges": 99.5,
            "TotalCharges": 5970.0,
        },
    ],
}
NUMPY = {"FP64": np.float64, "INT64": np.int64}
# A feature of each example to spoil: a float one gets NaN, a categorical one an unseen level.
SPOILED = {"iris": "petal_length", "diabetes": "BMI", "churn": "Contract"}


def model_name(example: str) -> str:
    return f"{example}-model"


@pytest.fixture(scope="module")
def triton_client(
    example_server: tuple[str, ServerProcess],
) -> Iterator[Any]:
    _, server = example_server
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    yield client
    client.close()


def triton_inputs(
    client: Any,
    example: str,
    rows: list[dict[str, Any]],
    *,
    json_names: frozenset[str] = frozenset(),
) -> list[Any]:
    """One tensor per feature, typed as the model metadata says; binary unless in json_names."""
    metadata = client.get_model_metadata(model_name(example))
    inputs = []
    for spec in metadata["inputs"]:
        name, datatype = spec["name"], spec["datatype"]
        values = [row[name] for row in rows]
        if datatype == "BYTES":
            array = np.array([v.encode() for v in values], dtype=np.object_)
        else:
            array = np.array(values, dtype=NUMPY[datatype])
        tensor = triton.InferInput(name, [len(rows)], datatype)
        tensor.set_data_from_numpy(array, binary_data=name not in json_names)
        inputs.append(tensor)
    return inputs


def json_outputs(
    server: ServerProcess, example: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The outputs of a plain JSON V2 request for ``rows``: the reference."""
    tensors = []
    for name, value in rows[0].items():
        datatype = "BYTES" if isinstance(value, str) else "FP64"
        tensors.append(
            {
                "name": name,
                "shape": [len(rows)],
                "datatype": datatype,
                "data": [r[name] for r in rows],
            }
        )
    response = server.client.post(
        f"/v2/models/{model_name(example)}/infer",
        json={"inputs": tensors},
        headers=server.headers(),
    )
    assert response.status_code == 200, response.text
    outputs: list[dict[str, Any]] = response.json()["outputs"]
    return outputs


def assert_same(result: Any, expected: list[dict[str, Any]]) -> None:
    answered = result.get_response()["outputs"]
    assert [o["name"] for o in answered] == [o["name"] for o in expected]
    for output in expected:
        got = result.as_numpy(output["name"])
        assert list(got.shape) == output["shape"], output["name"]
        values = got.reshape(-1).tolist()
        if output["datatype"] == "BYTES":  # bytes when sent in binary, str in JSON
            values = [v.decode() if isinstance(v, bytes) else v for v in values]
        assert values == output["data"], output["name"]
        assert type(values[0]) is type(output["data"][0]), output["name"]


def test_binary_inputs_and_outputs_answer_as_json_does(
    example_server: tuple[str, ServerProcess], triton_client: Any
) -> None:
    example, server = example_server
    rows = ROWS[example]
    expected = json_outputs(server, example, rows)
    requested = [triton.InferRequestedOutput(o["name"], binary_data=True) for o in expected]
    result = triton_client.infer(
        model_name(example),
        triton_inputs(triton_client, example, rows),
        outputs=requested,
        headers=server.headers(),
    )
    response = result.get_response()
    assert response["model_name"] == model_name(example)
    assert response["model_version"] == "v1"
    for output in response["outputs"]:
        assert "data" not in output
        assert output["parameters"]["binary_data_size"] > 0
    assert_same(result, expected)
    labels = result.as_numpy("label").tolist()
    if example == "churn":
        assert {label.decode() for label in labels} <= {"Yes", "No"}
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape[0] == len(rows)
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_the_client_defaults_ask_for_every_output_in_binary(
    example_server: tuple[str, ServerProcess], triton_client: Any
) -> None:
    example, server = example_server
    rows = ROWS[example]
    result = triton_client.infer(
        model_name(example),
        triton_inputs(triton_client, example, rows),
        model_version="v1",
        request_id="triton-1",
        headers=server.headers(),
    )
    assert result.get_response()["id"] == "triton-1"
    assert all("binary_data_size" in o["parameters"] for o in result.get_response()["outputs"])
    assert_same(result, json_outputs(server, example, rows))


def test_json_and_binary_tensors_mix_both_ways(
    example_server: tuple[str, ServerProcess], triton_client: Any
) -> None:
    example, server = example_server
    rows = ROWS[example]
    first = next(iter(rows[0]))
    inputs = triton_inputs(triton_client, example, rows, json_names=frozenset({first}))
    requested = [
        triton.InferRequestedOutput("label", binary_data=False),
        triton.InferRequestedOutput("probabilities", binary_data=True),
    ]
    result = triton_client.infer(
        model_name(example), inputs, outputs=requested, headers=server.headers()
    )
    outputs = {o["name"]: o for o in result.get_response()["outputs"]}
    assert "data" in outputs["label"]
    assert "binary_data_size" in outputs["probabilities"]["parameters"]
    expected = [o for o in json_outputs(server, example, rows) if o["name"] in outputs]
    assert_same(result, expected)


def test_errors_reach_the_client_with_their_message(
    example_server: tuple[str, ServerProcess], triton_client: Any
) -> None:
    example, server = example_server
    rows = [dict(ROWS[example][0])]
    feature = SPOILED[example]
    with pytest.raises(InferenceServerException) as unauthorized:
        triton_client.infer(model_name(example), triton_inputs(triton_client, example, rows))
    assert unauthorized.value.status() == "401"
    rows[0][feature] = "Weekly" if isinstance(rows[0][feature], str) else float("nan")
    with pytest.raises(InferenceServerException) as invalid:
        triton_client.infer(
            model_name(example),
            triton_inputs(triton_client, example, rows),
            headers=server.headers(),
        )
    assert invalid.value.status() == "422"
    assert feature in invalid.value.message()


def test_a_body_cut_short_is_400_not_5xx(example_server: tuple[str, ServerProcess]) -> None:
    example, server = example_server
    header = b'{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", '
    header += b'"parameters": {"binary_data_size": 16}}]}'
    for body, length in ((header + b"\x00" * 8, len(header)), (header, len(header) + 5)):
        response = server.client.post(
            f"/v2/models/{model_name(example)}/infer",
            content=body,
            headers={**server.headers(), "Inference-Header-Content-Length": str(length)},
        )
        assert response.status_code == 400, response.text
        assert isinstance(response.json()["error"], str)
