"""Reading the API pods' ``/shadow`` and ``/metrics`` through the API server's pod proxy, and
judging the release with ``analysis``.

``GET /api/v1/namespaces/NS/pods/POD:8000/proxy/PATH`` needs only ``get`` on ``pods/proxy``: no
port-forward, no Service change, and it works from a laptop and from the analysis CronJob alike.
The API server drops the ``Authorization`` header once it has authenticated the caller, so the
monitoring token travels as ``X-API-Key``, which the server accepts for it too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import RolloutError
from ..manifests import contract, naming
from ..manifests.config import monitoring_token_key
from ..manifests.spec import DeploymentSpec
from ..manifests.spec_release import Analysis
from ..manifests.spec_strategy import CanaryStrategy
from .analysis import (
    SHADOW_PATH,
    Kind,
    ShadowReport,
    Traffic,
    Verdict,
    judge_canary,
    judge_shadow,
    parse_traffic,
    summarize_shadow,
)
from .checks import pod_is_ready
from .rollout import Cluster, PodApi, as_dict

__all__ = ["PodAnswer", "analyze", "default_kind", "monitoring_token", "read_pods"]

_TIMEOUT = 10.0


@dataclass(frozen=True)
class PodAnswer:
    """What one pod answered on a path, or why it could not be read."""

    pod: str
    text: str | None
    problem: str | None = None


def _pods(cluster: Cluster) -> PodApi:
    if cluster.pods is None:
        raise RolloutError("this cluster connection cannot read pods (Cluster.pods is not set)")
    return cluster.pods


def _selector(spec: DeploymentSpec, **extra: str) -> str:
    labels = naming.selector(spec, naming.API, **extra)
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _text(answer: Any) -> str:
    # With _preload_content=False the client returns the raw HTTP response.
    data = getattr(answer, "data", answer)
    return data.decode() if isinstance(data, bytes) else str(data)


def monitoring_token(cluster: Cluster, spec: DeploymentSpec) -> str | None:
    """The monitoring token from the API Secret (as ``apply`` keeps it), or ``None`` when
    ``/metrics`` and ``/shadow`` need none."""
    where = monitoring_token_key(spec)
    if where is None:
        return None
    secret_name, key = where
    try:
        secret = as_dict(
            _pods(cluster).read_namespaced_secret(name=secret_name, namespace=spec.target_namespace)
        )
    except Exception as exc:
        status = getattr(exc, "status", None)
        if status is None:
            raise
        raise RolloutError(
            f"cannot read the monitoring token from Secret {secret_name} in "
            f"{spec.target_namespace} (the API server answered {status}); pass --token-file"
        ) from exc
    value = (secret.get("data") or {}).get(key)
    if not value:
        raise RolloutError(f"Secret {secret_name} has no key {key}; pass --token-file")
    return base64.b64decode(value).decode().strip()


def read_pods(
    cluster: Cluster, spec: DeploymentSpec, path: str, token: str | None, **selector: str
) -> list[PodAnswer]:
    """``GET path`` on every ready API pod matching ``selector`` (e.g. ``track="canary"``)."""
    namespace = spec.target_namespace
    try:
        listed = as_dict(
            _pods(cluster).list_namespaced_pod(
                namespace=namespace, label_selector=_selector(spec, **selector)
            )
        )
    except Exception as exc:
        status = getattr(exc, "status", None)
        if status is None:
            raise
        raise RolloutError(
            f"cannot list the pods of {namespace}: the API server answered {status}"
        ) from exc
    headers = {"X-API-Key": token} if token else {}
    answers: list[PodAnswer] = []
    for pod in listed.get("items") or []:
        name = str(pod["metadata"]["name"])
        if not pod_is_ready(pod, serving=True):
            continue
        try:
            answer = _pods(cluster).connect_get_namespaced_pod_proxy_with_path(
                name=f"{name}:{contract.PORT}",
                namespace=namespace,
                path=path.lstrip("/"),
                _headers=headers,
                _preload_content=False,
                _request_timeout=_TIMEOUT,
            )
            answers.append(PodAnswer(name, _text(answer)))
        except Exception as exc:
            status = getattr(exc, "status", None)
            if status is None:
                raise
            hint = " (wrong or missing monitoring token?)" if status in (401, 403) else ""
            answers.append(PodAnswer(name, None, f"pod {name}: {path} answered {status}{hint}"))
    return answers


def _problems(answers: list[PodAnswer], what: str) -> list[str]:
    problems = [a.problem for a in answers if a.problem]
    if not answers:
        problems.append(f"no ready {what} pod")
    return problems


def _shadow(cluster: Cluster, spec: DeploymentSpec, token: str | None, rules: Analysis) -> Verdict:
    answers = read_pods(cluster, spec, SHADOW_PATH, token)
    reports = []
    for answer in answers:
        if answer.text is not None:
            try:
                data = json.loads(answer.text)
            except ValueError as exc:
                raise RolloutError(f"pod {answer.pod}: {SHADOW_PATH} is not JSON") from exc
            reports.append(ShadowReport.parse(answer.pod, data))
    return judge_shadow(summarize_shadow(reports), rules, _problems(answers, "API"))


def _track(
    cluster: Cluster, spec: DeploymentSpec, token: str | None, track: str
) -> tuple[Traffic, list[str]]:
    answers = read_pods(cluster, spec, contract.METRICS_PATH, token, **{naming.TRACK: track})
    traffic = Traffic()
    for answer in answers:
        if answer.text is not None:
            try:
                traffic = traffic + parse_traffic(answer.text)
            except RolloutError as exc:
                raise RolloutError(f"pod {answer.pod}: {exc}") from exc
    return traffic, _problems(answers, track)


def analyze(
    cluster: Cluster,
    spec: DeploymentSpec,
    *,
    kind: Kind | None = None,
    token: str | None = None,
    read_token: Callable[[Cluster, DeploymentSpec], str | None] = monitoring_token,
) -> Verdict:
    """The verdict of the spec's analysis of ``kind`` (default: shadow when the spec has a
    ``shadow`` section, else canary).

    ``token`` is the monitoring token; without one it is read from the API Secret.
    """
    kind = kind or default_kind(spec)
    rules = spec.analysis or Analysis()
    if kind == "shadow" and spec.shadow is None:
        raise RolloutError(f"no shadow analysis: {spec.name} has no shadow section")
    if kind == "canary" and not isinstance(spec.strategy, CanaryStrategy):
        raise RolloutError(
            f"no canary analysis: {spec.name} uses strategy {spec.strategy.type}, not canary"
        )
    if token is None:
        token = read_token(cluster, spec)
    if kind == "shadow":
        return _shadow(cluster, spec, token, rules)
    canary, canary_problems = _track(cluster, spec, token, "canary")
    stable, stable_problems = _track(cluster, spec, token, "stable")
    return judge_canary(canary, stable, rules, canary_problems + stable_problems)


def default_kind(spec: DeploymentSpec) -> Kind:
    """Shadow when the spec has a ``shadow`` section, else canary."""
    return "shadow" if spec.shadow is not None else "canary"
