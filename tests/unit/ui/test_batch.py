"""A CSV scored by the server: good rows get predictions, bad rows the server's message."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from k8s_mlserve.ui.batch import CsvError, read_csv, score, to_csv
from k8s_mlserve.ui.form import Field, fields_from_openapi

from ..toy_model import ROWS
from .conftest import ClientFactory

FIELDS = [
    Field("x", "number", minimum=-3.0, maximum=3.0, default=0.0),
    Field("count", "integer", minimum=0, maximum=9, default=3),
    Field("colour", "category", levels=("red", "green"), default="red"),
]


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_cells_are_typed_by_the_form_s_fields() -> None:
    data = b"\xef\xbb\xbfx,count,colour,extra\n1.5,3,red,z\n,4.0,,\nabc,2.5,7,\n"
    assert read_csv(data, FIELDS) == [
        {"x": 1.5, "count": 3, "colour": "red", "extra": "z"},
        {"x": None, "count": 4, "colour": None, "extra": None},
        # What does not parse is sent as written, for the server to name.
        {"x": "abc", "count": 2.5, "colour": "7", "extra": None},
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "the file is empty"), (b"x,count\n\xff\xfe,1\n", "the file is not UTF-8 text")],
)
def test_an_unreadable_upload_says_why(data: bytes, message: str) -> None:
    with pytest.raises(CsvError, match=message):
        read_csv(data, FIELDS)


@pytest.mark.parametrize("chunk", [100, 4])
def test_one_bad_row_gets_its_message_and_the_others_their_predictions(
    connect: ClientFactory, document: dict[str, Any], chunk: int
) -> None:
    good = (ROWS * 3)[:9]
    bad = {**ROWS[0], "colour": "purple"}
    rows = read_csv(_csv([*good[:6], bad, *good[6:]]), fields_from_openapi(document))
    done: list[int] = []
    result = score(connect(), rows, chunk=chunk, progress=done.append)
    assert result.stopped == ""
    assert [r["row"] for r in result.scored] == [1, 2, 3, 4, 5, 6, 8, 9, 10]
    assert all(r["model_version"] == "v1" and r["label"] in {"yes", "no"} for r in result.scored)
    assert list(result.scored[0])[:2] == ["row", "label"]
    assert {"probability_yes", "probability_no", "risk", "x", "count", "colour"} <= set(
        result.scored[0]
    )
    [error] = result.errors
    assert error.row == 7
    assert error.message.startswith("colour: value 'purple' was never seen in training")
    assert done[-1] == 10


def test_a_refused_key_stops_the_batch_with_the_401_message(connect: ClientFactory) -> None:
    result = score(connect(api_key="wrong"), list(ROWS))
    assert (result.scored, result.errors) == ([], [])
    assert "missing or invalid API key" in result.stopped


def test_the_download_has_every_column_in_order() -> None:
    rows: list[dict[str, Any]] = [
        {"row": 1, "x": 1.5, "label": "yes"},
        {"row": 2, "x": None, "label": "no", "risk": "low"},
    ]
    assert to_csv(rows).decode() == "row,x,label,risk\n1,1.5,yes,\n2,,no,low\n"
