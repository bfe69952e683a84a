"""What a prediction says, in the terms the page shows it: the label, a bar per class, and the
model's own extra fields (a flag, a probability, a risk level with a colour)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Colours for an ordered level (low → high), as Streamlit's coloured text names them.
_SCALE = ("green", "orange", "red")


@dataclass(frozen=True)
class Extra:
    """One extra field of an answer, ready to show."""

    name: str
    text: str
    colour: str | None = None  # for an ordered level such as a risk level


@dataclass(frozen=True)
class Answer:
    """One prediction as the page shows it."""

    label: str
    probabilities: list[tuple[str, float]]  # most likely first
    extras: list[Extra]
    model_version: str


def title(name: str) -> str:
    """``risk_level`` → ``Risk level``."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def level_colour(value: str, levels: list[str]) -> str | None:
    """Green for the first of ordered levels, red for the last, orange between."""
    if value not in levels or len(levels) < 2:
        return None
    position = levels.index(value) / (len(levels) - 1)
    return _SCALE[round(position * (len(_SCALE) - 1))]


def _extra(name: str, value: Any, schema: Mapping[str, Any]) -> Extra:
    if isinstance(value, bool):
        return Extra(name, "yes" if value else "no")
    if isinstance(value, int | float) and schema.get("maximum") == 1 and schema.get("minimum") == 0:
        return Extra(name, f"{value:.1%}")
    if isinstance(value, str) and "enum" in schema:
        return Extra(name, value, level_colour(value, [str(v) for v in schema["enum"]]))
    return Extra(name, str(value))


def read_answer(body: Mapping[str, Any], extra_fields: Mapping[str, Mapping[str, Any]]) -> Answer:
    """An answer of ``POST /predict`` with one row; ``extra_fields`` from ``answer_fields``."""
    raw = body.get("probabilities") or {}
    probabilities = sorted(
        ((str(k), float(v)) for k, v in raw.items()), key=lambda item: item[1], reverse=True
    )
    common = {"label", "probabilities", "model_version"}
    extras = [
        _extra(name, value, extra_fields.get(name, {}))
        for name, value in body.items()
        if name not in common
    ]
    return Answer(
        label=str(body.get("label")),
        probabilities=probabilities,
        extras=extras,
        model_version=str(body.get("model_version", "")),
    )
