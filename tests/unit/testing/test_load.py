from __future__ import annotations

from typing import Any

import pytest

from k8s_mlserve.testing import EndpointStats, LoadStats, run_load

STATS = LoadStats(
    requests=200,
    failures=5,
    rps=66.7,
    p50_ms=12.0,
    p95_ms=40.0,
    p99_ms=90.0,
    avg_ms=15.2,
    max_ms=120.5,
    duration_s=3.0,
    users=4,
    endpoints={
        "/predict [single]": EndpointStats(150, 5, 11.0, 38.0, 80.0, 14.0, 120.5),
        "/predict [batch]": EndpointStats(50, 0, 20.0, 45.0, 95.0, 19.0, 101.0),
    },
    errors=["5x POST /predict [single]: status 503: no model loaded"],
)


def test_stats_survive_the_trip_through_json() -> None:
    assert LoadStats.from_dict(STATS.to_dict()) == STATS


def test_stats_summary_and_failure_ratio() -> None:
    assert STATS.failure_ratio == 0.025
    assert STATS.summary() == (
        "200 requests, 5 failures, 66.7 req/s, p50 12 ms, p95 40 ms, p99 90 ms (4 users, 3.0 s); "
        "errors: 5x POST /predict [single]: status 503: no model loaded"
    )
    empty = LoadStats(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1)
    assert empty.failure_ratio == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": 0}, "users must be at least 1"),
        ({"spawn_rate": 0}, "spawn_rate must be positive"),
        ({"duration": -1}, "duration must be positive"),
    ],
)
def test_impossible_runs_are_refused_before_starting(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_load("http://127.0.0.1:9", **kwargs)
