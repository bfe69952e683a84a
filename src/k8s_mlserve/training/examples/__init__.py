"""Example models: iris, diabetes and churn, each trained on real data into a bundle."""

from __future__ import annotations

EXAMPLES = ("iris", "diabetes", "churn")
