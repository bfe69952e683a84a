"""A CSV of rows scored by the server: every row that passes gets its prediction, every row that
does not gets the server's message, so one bad row never costs the others their answer.

Rows are sent in chunks of ``{"instances": [...]}``; a chunk the server refuses (422) is sent
again row by row, which gives each bad row its own message.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .client import ApiClient, Reply
from .form import Field

CHUNK = 100
ROW_COLUMN = "row"  # 1-based line of the row in the file, after the header


class CsvError(ValueError):
    """The upload is not a CSV file with a header line."""


@dataclass(frozen=True)
class RowError:
    """A row the server did not score."""

    row: int
    message: str


@dataclass(frozen=True)
class BatchResult:
    """The scored rows (line number, the answer's fields, the input columns) and the rows
    refused."""

    scored: list[dict[str, Any]]
    errors: list[RowError]
    stopped: str = ""  # why scoring stopped early (no connection, a wrong key), if it did


def _cell(text: str, field: Field | None) -> Any:
    """A CSV cell as the JSON value the schema wants: an empty cell is null, a number is parsed;
    what does not parse is sent as written, so the server says what is wrong with it."""
    if text == "":
        return None
    if field is None or field.kind == "category":
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    if field.kind == "integer" and number.is_integer():
        return int(number)
    return number


def read_csv(data: bytes, fields: Iterable[Field]) -> list[dict[str, Any]]:
    """The rows of a CSV upload (UTF-8, header line), typed by the form's fields."""
    by_name = {f.name: f for f in fields}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise CsvError("the file is empty; expected a header line naming the columns")
    rows = []
    for record in reader:
        rows.append(
            {
                name: _cell(value or "", by_name.get(name))
                for name, value in record.items()
                if name is not None
            }
        )
    return rows


def _flatten(answer: Mapping[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in answer.items() if k != "probabilities"}
    for label, probability in (answer.get("probabilities") or {}).items():
        flat[f"probability_{label}"] = probability
    return flat


def _refusal(reply: Reply) -> str:
    if reply.details:
        return "; ".join(
            f"{d.get('field', 'input')}: {d.get('message', '')}" for d in reply.details
        )
    return reply.message


def score(
    client: ApiClient,
    rows: list[dict[str, Any]],
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Score ``rows``; ``progress`` is told how many rows are done."""
    scored: list[dict[str, Any]] = []
    errors: list[RowError] = []

    def keep(number: int, row: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
        # The answer first, where a reader looks; then the row as it was sent.
        flat = _flatten(answer)
        scored.append(
            {ROW_COLUMN: number, **flat, **{k: v for k, v in row.items() if k not in flat}}
        )

    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        reply = client.predict_many(part)
        if reply.ok:
            for offset, (row, answer) in enumerate(
                zip(part, reply.body["predictions"], strict=True)
            ):
                keep(start + offset + 1, row, answer)
        elif reply.status == 422:
            for offset, row in enumerate(part):
                one = client.predict(row)
                if one.ok:
                    keep(start + offset + 1, row, one.body)
                elif one.status == 422:
                    errors.append(RowError(start + offset + 1, _refusal(one)))
                else:
                    return BatchResult(scored, errors, one.message)
        else:
            return BatchResult(scored, errors, reply.message)
        if progress is not None:
            progress(min(start + chunk, len(rows)))
    return BatchResult(scored, errors)


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """The scored rows as CSV, columns in the order they first appear."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()
