"""Object names and labels, in one place, so selectors and pod labels always agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .spec import DeploymentSpec

NAME: Final = "app.kubernetes.io/name"
INSTANCE: Final = "app.kubernetes.io/instance"
COMPONENT: Final = "app.kubernetes.io/component"
PART_OF: Final = "app.kubernetes.io/part-of"
MANAGED_BY: Final = "app.kubernetes.io/managed-by"
VERSION: Final = "app.kubernetes.io/version"
COLOUR: Final = "k8s-mlserve/colour"
TRACK: Final = "k8s-mlserve/track"
CONFIG_HASH: Final = "k8s-mlserve/config-sha256"

API: Final = "api"
TRAINING: Final = "training"
DRIFT_CHECK: Final = "drift-check"
ANALYSIS: Final = "analysis"
MLFLOW: Final = "tracking-server"
POSTGRES: Final = "database"
UI: Final = "ui"


@dataclass(frozen=True)
class Names:
    """The name of every object rendered for one spec."""

    base: str

    @property
    def config(self) -> str:
        return f"{self.base}-config"

    @property
    def secret(self) -> str:
        return f"{self.base}-secrets"

    @property
    def models_claim(self) -> str:
        return f"{self.base}-models"

    @property
    def logs_claim(self) -> str:
        return f"{self.base}-logs"

    @property
    def api(self) -> str:
        return self.base

    def api_variant(self, variant: str | None) -> str:
        return f"{self.base}-{variant}" if variant else self.base

    @property
    def network_policy(self) -> str:
        return f"{self.base}-api"

    @property
    def ui(self) -> str:
        """The web page's Deployment, Service and NetworkPolicy."""
        return f"{self.base}-ui"

    @property
    def service_monitor(self) -> str:
        return self.base

    @property
    def prometheus_rule(self) -> str:
        return self.base

    @property
    def dashboard(self) -> str:
        """The ConfigMap holding the Grafana dashboard."""
        return f"{self.base}-dashboard"

    def training_job(self, version: str | None, digest: str | None = None) -> str:
        """``NAME-train[-VERSION][-DIGEST]``, at most 63 characters (a label value, for the
        ``job-name`` label of its pods); the digest is always whole."""
        name = f"{self.base}-train"
        if version is not None:
            slug = "".join(c if c.isalnum() else "-" for c in version.lower()).strip("-")
            name = f"{name}-{slug}" if slug else name
        if digest is None:
            return name[:63].rstrip("-")
        return f"{name[: 62 - len(digest)].rstrip('-')}-{digest}"

    @property
    def drift_check(self) -> str:
        return f"{self.base}-drift-check"

    @property
    def analysis(self) -> str:
        """The analysis CronJob, its ConfigMap, ServiceAccount, Role and RoleBinding."""
        return f"{self.base}-analysis"

    @property
    def mlflow(self) -> str:
        return f"{self.base}-mlflow"

    @property
    def mlflow_artifacts_claim(self) -> str:
        return f"{self.base}-mlflow-artifacts"

    @property
    def postgres(self) -> str:
        return f"{self.base}-postgres"

    @property
    def postgres_secret(self) -> str:
        return f"{self.base}-postgres"

    @property
    def postgres_headless(self) -> str:
        """The headless Service of the PostgreSQL StatefulSet (its ``serviceName``)."""
        return f"{self.base}-postgres-headless"

    @property
    def postgres_claim_template(self) -> str:
        """The volumeClaimTemplate of the StatefulSet: its claim is ``data-NAME-postgres-0``."""
        return "data"


def names(spec: DeploymentSpec) -> Names:
    return Names(spec.name)


def instance(spec: DeploymentSpec, component: str) -> str:
    """The ``app.kubernetes.io/instance`` of a component: the stack's own pods use the spec
    name, the MLflow stack's pods their own names."""
    if component == MLFLOW:
        return names(spec).mlflow
    if component == POSTGRES:
        return names(spec).postgres
    return spec.name


def _app(component: str) -> str:
    return {MLFLOW: "mlflow", POSTGRES: "postgresql"}.get(component, "k8s-mlserve")


def selector(spec: DeploymentSpec, component: str, **extra: str) -> dict[str, str]:
    """The labels that select a component's pods (a subset of ``labels``)."""
    return {INSTANCE: instance(spec, component), COMPONENT: component, **extra}


def labels(
    spec: DeploymentSpec,
    component: str | None = None,
    *,
    version: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The labels of an object: the spec's own, the recommended ``app.kubernetes.io`` ones, and
    for a component its selector labels."""
    out = dict(spec.labels)
    out[PART_OF] = spec.name
    out[MANAGED_BY] = "k8s-mlserve"
    if component is not None:
        out[NAME] = _app(component)
        out.update(selector(spec, component, **extra))
    if version is not None:
        out[VERSION] = _label_value(version)
    return out


def _label_value(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:63]
    return cleaned.strip("-_.")
