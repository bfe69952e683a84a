"""Release analysis: turn numbers measured on the API pods into a verdict.

Pure logic, no cluster: ``live_metrics`` reads the pods and passes what they answered here.

- shadow: each pod's ``GET /shadow`` report is summed (rows, errors) or weighted by its rows
  (agreement, mean |Δ|); the challenger is judged on rows, agreement, mean |Δ| and error share.
- canary: each pod's ``/metrics`` text is parsed and summed per track (requests to users, 5xx,
  the latency histogram); the canary is judged on its requests, its 5xx ratio and its p99
  against the stable track's.

A check is ``pass``, ``fail`` or ``insufficient`` (not enough data to judge). The verdict fails
when any check fails, and is ``insufficient`` when none fails but one lacks data or a pod could
not be read; ``Verdict.exit_code`` is 0, 1 and 2 for the three.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from prometheus_client.parser import text_string_to_metric_families

from ..errors import RolloutError
from ..manifests import contract
from ..manifests.spec_release import Analysis

Status = Literal["pass", "fail", "insufficient"]
Kind = Literal["shadow", "canary"]

REQUESTS: Final = "mlserve_http_requests"
LATENCY: Final = "mlserve_http_request_duration_seconds"
SHADOW_PATH: Final = "/shadow"
# Probes, scrapes and reports are not answers to users (as in the alert rules).
NOT_SERVED: Final = frozenset(
    {
        contract.LIVENESS_PATH,
        contract.READINESS_PATH,
        contract.STARTUP_PATH,
        contract.METRICS_PATH,
        SHADOW_PATH,
        "/drift",
    }
)
EXIT_CODES: Final[Mapping[Status, int]] = {"pass": 0, "fail": 1, "insufficient": 2}


class ModelVersion(NamedTuple):
    """A registered model's name and version, as ``/shadow`` reports them."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} version {self.version}"


@dataclass(frozen=True)
class Check:
    """One line of a verdict: what was measured, against which threshold, and the outcome."""

    name: str
    measured: str
    threshold: str
    status: Status


@dataclass(frozen=True)
class Verdict:
    """The checks of one analysis, with what was analysed and any pod that could not be read."""

    kind: Kind
    subject: str
    checks: tuple[Check, ...]
    problems: tuple[str, ...] = ()
    challenger: ModelVersion | None = None  # shadow: the version judged

    @property
    def status(self) -> Status:
        statuses = {c.status for c in self.checks}
        if "fail" in statuses:
            return "fail"
        if self.problems or "insufficient" in statuses or not self.checks:
            return "insufficient"
        return "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def table(self) -> str:
        """The verdict as a plain-text table, then the problems and the overall result."""
        header = ("CHECK", "MEASURED", "THRESHOLD", "RESULT")
        rows = [header, *((c.name, c.measured, c.threshold, c.status) for c in self.checks)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [f"{self.kind} analysis: {self.subject}"]
        lines += [
            "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
        lines += [f"problem: {p}" for p in self.problems]
        lines.append(f"verdict: {self.status}")
        return "\n".join(lines)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _at_least(name: str, value: float | None, floor: float, enough: bool) -> Check:
    if not enough or value is None:
        return Check(name, _fmt(value), f">= {floor:g}", "insufficient")
    return Check(name, _fmt(value), f">= {floor:g}", "pass" if value >= floor else "fail")


def _at_most(name: str, value: float | None, ceiling: float, enough: bool) -> Check:
    if not enough or value is None:
        return Check(name, _fmt(value), f"<= {ceiling:g}", "insufficient")
    return Check(name, _fmt(value), f"<= {ceiling:g}", "pass" if value <= ceiling else "fail")


# -- shadow ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShadowReport:
    """What one pod's ``GET /shadow`` answered (the fields the analysis uses)."""

    pod: str
    enabled: bool
    champion: ModelVersion | None
    challenger: ModelVersion | None
    challenger_error: str | None
    rows_scored: int
    rows_dropped: int
    errors: int
    agreement: float | None
    mean_abs_delta: float | None
    max_abs_delta: float | None

    @classmethod
    def parse(cls, pod: str, data: Any) -> ShadowReport:
        """Read a ``/shadow`` answer; ``RolloutError`` naming the pod for another shape."""
        try:
            challenger = data["challenger"]
            champion = data.get("champion") or {}
            return cls(
                pod=pod,
                enabled=bool(data["enabled"]),
                champion=_version(champion),
                challenger=_version(challenger),
                challenger_error=data.get("challenger_error"),
                rows_scored=int(data["rows_scored"]),
                rows_dropped=int(data.get("rows_dropped") or 0),
                errors=int(data["errors"]),
                agreement=_number(data.get("agreement")),
                mean_abs_delta=_number(data.get("mean_abs_delta")),
                max_abs_delta=_number(data.get("max_abs_delta")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RolloutError(
                f"pod {pod}: /shadow did not answer a shadow report ({exc!r}); does its image "
                "serve shadow scoring?"
            ) from exc


def _version(model: Mapping[str, Any]) -> ModelVersion | None:
    if not model:
        return None
    return ModelVersion(str(model["name"]), str(model["version"]))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


@dataclass(frozen=True)
class ShadowSummary:
    """The shadow reports of every pod, combined."""

    pods: int
    rows: int
    dropped: int
    errors: int
    agreement: float | None
    mean_abs_delta: float | None
    max_abs_delta: float | None
    champion: ModelVersion | None
    challenger: ModelVersion | None
    problems: tuple[str, ...] = ()

    @property
    def error_share(self) -> float | None:
        """Challenger errors among the rows it was asked to score."""
        attempted = self.rows + self.errors
        return self.errors / attempted if attempted else None


def _weighted(pairs: Iterable[tuple[float | None, int]]) -> float | None:
    known = [(value, rows) for value, rows in pairs if value is not None and rows > 0]
    total = sum(rows for _, rows in known)
    return sum(value * rows for value, rows in known) / total if total else None


def summarize_shadow(reports: Sequence[ShadowReport]) -> ShadowSummary:
    """Sum the counts of every pod's report and weight its rates by the rows it scored."""
    problems: list[str] = []
    for r in reports:
        if not r.enabled:
            problems.append(f"pod {r.pod}: shadow scoring is off")
        elif r.challenger is None:
            why = f": {r.challenger_error}" if r.challenger_error else ""
            problems.append(f"pod {r.pod}: no challenger loaded{why}")
    challengers = sorted({r.challenger for r in reports if r.challenger})
    if len(challengers) > 1:
        problems.append(f"the pods score different challengers: {', '.join(map(str, challengers))}")
    champions = sorted({r.champion for r in reports if r.champion})
    if len(champions) > 1:
        problems.append(f"the pods serve different champions: {', '.join(map(str, champions))}")
    deltas = [r.max_abs_delta for r in reports if r.max_abs_delta is not None]
    return ShadowSummary(
        pods=len(reports),
        rows=sum(r.rows_scored for r in reports),
        dropped=sum(r.rows_dropped for r in reports),
        errors=sum(r.errors for r in reports),
        agreement=_weighted((r.agreement, r.rows_scored) for r in reports),
        mean_abs_delta=_weighted((r.mean_abs_delta, r.rows_scored) for r in reports),
        max_abs_delta=max(deltas) if deltas else None,
        champion=champions[0] if len(champions) == 1 else None,
        challenger=challengers[0] if len(challengers) == 1 else None,
        problems=tuple(problems),
    )


def judge_shadow(
    summary: ShadowSummary, analysis: Analysis, problems: Sequence[str] = ()
) -> Verdict:
    """The verdict on a challenger from the combined shadow reports.

    The agreement check is left out when no pod reports one (a regressor has no labels to agree
    on); mean |Δ| is checked only with ``max_mean_abs_delta``.
    """
    enough = summary.rows >= analysis.min_rows
    checks = [
        Check(
            "rows scored",
            str(summary.rows),
            f">= {analysis.min_rows}",
            "pass" if enough else "insufficient",
        )
    ]
    if summary.agreement is not None or summary.rows == 0:
        checks.append(_at_least("agreement", summary.agreement, analysis.min_agreement, enough))
    if analysis.max_mean_abs_delta is not None:
        checks.append(
            _at_most("mean |delta|", summary.mean_abs_delta, analysis.max_mean_abs_delta, enough)
        )
    checks.append(
        _at_most("challenger error share", summary.error_share, analysis.max_error_ratio, enough)
    )
    subject = (
        f"challenger {summary.challenger or '?'} against champion {summary.champion or '?'}, "
        f"{summary.pods} pod{'s' if summary.pods != 1 else ''}, {summary.dropped} rows dropped"
    )
    return Verdict(
        "shadow", subject, tuple(checks), (*problems, *summary.problems), summary.challenger
    )


# -- canary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Traffic:
    """Answers to users by a set of pods, from their ``/metrics``, summed."""

    requests: float = 0.0
    server_errors: float = 0.0
    buckets: Mapping[float, float] = field(default_factory=dict)  # upper bound -> cumulative

    def __add__(self, other: Traffic) -> Traffic:
        bounds = set(self.buckets) | set(other.buckets)
        return Traffic(
            self.requests + other.requests,
            self.server_errors + other.server_errors,
            {b: self.buckets.get(b, 0.0) + other.buckets.get(b, 0.0) for b in sorted(bounds)},
        )

    @property
    def error_ratio(self) -> float | None:
        return self.server_errors / self.requests if self.requests else None

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile of the latency histogram, interpolated within its bucket as
        Prometheus' ``histogram_quantile`` does; ``None`` without observations."""
        bounds = sorted(self.buckets)
        if not bounds or self.buckets[bounds[-1]] <= 0:
            return None
        rank = q * self.buckets[bounds[-1]]
        lower, below = 0.0, 0.0
        for bound in bounds:
            count = self.buckets[bound]
            if count >= rank:
                if math.isinf(bound):
                    return lower  # past the last finite bucket: its upper bound, as Prometheus
                if count == below:
                    return bound
                return lower + (bound - lower) * (rank - below) / (count - below)
            lower, below = bound, count
        return lower


def parse_traffic(text: str) -> Traffic:
    """The answers to users in one pod's ``/metrics`` text (probes and scrapes left out)."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.labels.get("route") in NOT_SERVED:
                    continue
                if sample.name == f"{REQUESTS}_total":
                    requests += sample.value
                    if sample.labels.get("status", "").startswith("5"):
                        errors += sample.value
                elif sample.name == f"{LATENCY}_bucket":
                    bound = float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
    except (ValueError, KeyError) as exc:
        raise RolloutError(f"cannot read the metrics: {exc}") from exc
    return Traffic(requests, errors, dict(sorted(buckets.items())))


def judge_canary(
    canary: Traffic, stable: Traffic, analysis: Analysis, problems: Sequence[str] = ()
) -> Verdict:
    """The verdict on a canary from its track's and the stable track's traffic."""
    enough = canary.requests >= analysis.min_rows
    canary_p99, stable_p99 = canary.quantile(0.99), stable.quantile(0.99)
    ratio = canary_p99 / stable_p99 if canary_p99 is not None and stable_p99 else None
    checks = (
        Check(
            "canary requests",
            f"{canary.requests:g}",
            f">= {analysis.min_rows}",
            "pass" if enough else "insufficient",
        ),
        _at_most("canary 5xx ratio", canary.error_ratio, analysis.max_error_ratio, enough),
        _at_most(
            "p99 canary/stable", ratio, analysis.max_p99_ratio, enough and stable.requests > 0
        ),
    )
    subject = (
        f"canary p99 {_fmt(canary_p99)}s over {canary.requests:g} requests, stable p99 "
        f"{_fmt(stable_p99)}s over {stable.requests:g} requests (5xx ratio "
        f"{_fmt(stable.error_ratio)})"
    )
    return Verdict("canary", subject, checks, tuple(problems))
