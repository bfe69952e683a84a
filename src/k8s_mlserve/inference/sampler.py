"""Which requests the challenger also scores: each one independently, with ``sample_rate``."""

from __future__ import annotations

import random


class Sampler:
    """Picks each request with probability ``rate`` (0: none, 1: every one).

    ``rng`` is a ``random.Random`` to draw from; give a seeded one for a repeatable choice.
    """

    def __init__(self, rate: float, rng: random.Random | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"a sample rate is between 0 and 1, got {rate}")
        self.rate = rate
        self._rng = rng or random.Random()

    def __call__(self) -> bool:
        """Whether to score this request."""
        if self.rate >= 1.0:
            return True
        if self.rate <= 0.0:
            return False
        return self._rng.random() < self.rate
