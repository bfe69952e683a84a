"""A prediction as the page shows it: label, a bar per class, the model's own fields."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.ui.answers import Extra, level_colour, read_answer, title
from k8s_mlserve.ui.form import answer_fields

from ..toy_model import ROWS
from .conftest import ClientFactory


def test_an_answer_shows_label_classes_most_likely_first_and_the_model_s_fields(
    connect: ClientFactory, document: dict[str, Any]
) -> None:
    body = connect().predict(ROWS[0]).body
    answer = read_answer(body, answer_fields(document))
    assert answer.label == body["label"] == "yes"
    assert [label for label, _ in answer.probabilities] == ["yes", "no"]
    assert answer.probabilities[0][1] == body["probabilities"]["yes"]
    assert answer.model_version == "v1"
    shown = {extra.name: extra for extra in answer.extras}
    assert shown["is_yes"] == Extra("is_yes", "yes")
    assert shown["probability"].text == f"{body['probability']:.1%}"
    assert shown["risk"].text == body["risk"]
    assert shown["risk"].colour is not None
    assert shown["risk"].colour == level_colour(body["risk"], ["low", "moderate", "high"])


@pytest.mark.parametrize(
    ("value", "levels", "colour"),
    [
        ("low", ["low", "medium", "high"], "green"),
        ("medium", ["low", "medium", "high"], "orange"),
        ("high", ["low", "medium", "high"], "red"),
        ("no", ["no", "yes"], "green"),
        ("other", ["low", "high"], None),
        ("only", ["only"], None),
    ],
)
def test_ordered_levels_go_from_green_to_red(
    value: str, levels: list[str], colour: str | None
) -> None:
    assert level_colour(value, levels) == colour


def test_a_regressor_answer_has_no_bars() -> None:
    answer = read_answer({"label": 151.2, "model_version": "v3"}, {})
    assert (answer.label, answer.probabilities, answer.extras) == ("151.2", [], [])


def test_field_names_read_as_words() -> None:
    assert title("churn_probability") == "Churn probability"
