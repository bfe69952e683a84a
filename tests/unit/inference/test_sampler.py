"""The sampler: which requests the challenger also scores."""

from __future__ import annotations

import random

import pytest

from k8s_mlserve.inference.sampler import Sampler


def test_rate_one_takes_every_request_and_zero_none() -> None:
    assert all(Sampler(1.0)() for _ in range(1000))
    assert not any(Sampler(0.0)() for _ in range(1000))


def test_a_rate_takes_about_that_share() -> None:
    sampler = Sampler(0.1, random.Random(7))
    taken = sum(sampler() for _ in range(20_000))
    assert 1800 < taken < 2200  # 0.1 of 20,000 is 2,000 with a standard deviation of 42


def test_a_seeded_sampler_repeats_its_choices() -> None:
    one, two = Sampler(0.3, random.Random(5)), Sampler(0.3, random.Random(5))
    choices = [one() for _ in range(200)]
    assert choices == [two() for _ in range(200)]
    assert set(choices) == {True, False}


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_rate_outside_zero_to_one_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        Sampler(rate)
