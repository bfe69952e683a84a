"""The deployment spec: one small YAML file per deployment, validated by pydantic.

``DeploymentSpec`` and its sections (``model`` and ``training`` in ``spec_model``, networking in
``spec_network``, ``strategy`` in ``spec_strategy``, ``ui`` in ``spec_ui``, ``shadow`` and
``analysis`` in ``spec_release``);
``spec_loading.load_spec`` reads and
validates a file. Every field is described in ``docs/manifests.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..errors import ConfigurationError
from . import contract
from .spec_alerts import Alerts
from .spec_dashboard import Dashboard
from .spec_model import Model, ModelSource, Training
from .spec_network import Ingress, NetworkPolicy, Peer, Service
from .spec_release import Analysis, Shadow
from .spec_strategy import BlueGreenStrategy, CanaryStrategy, RollingStrategy, Strategy, Variant
from .spec_types import (
    AccessMode,
    DeploymentName,
    DnsLabel,
    DnsSubdomain,
    EnvName,
    EnvValue,
    ImageTag,
    IntOrPercent,
    Labels,
    PullPolicy,
    Quantity,
    Resources,
    SecretValue,
    Section,
    check_tag,
    generated,
    resources,
    split_image,
)
from .spec_ui import Ui
from .versions import DEFAULT_TARGET, OLDEST_SUPPORTED, KubeVersion


class Image(Section):
    """The k8s-mlserve image, used by the API, the training Job and the drift check."""

    repository: str = Field(min_length=1)
    allow_latest: bool = False
    tag: ImageTag
    pull_policy: PullPolicy = "IfNotPresent"
    pull_secrets: list[DnsSubdomain] = Field(default_factory=list)

    @field_validator("repository")
    @classmethod
    def _no_tag_in_repository(cls, value: str) -> str:
        if split_image(value)[1] is not None or "@" in value:
            raise ValueError("give the repository without a tag; the tag goes in image.tag")
        return value

    @field_validator("tag")
    @classmethod
    def _versioned(cls, value: str, info: ValidationInfo) -> str:
        check_tag(value, allow_latest=bool(info.data.get("allow_latest")))
        return value

    def reference(self, tag: str | None = None) -> str:
        return f"{self.repository}:{tag or self.tag}"


class Config(Section):
    """Non-secret settings, written to the ConfigMap."""

    environment: str = "production"
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)


class Secrets(Section):
    """The API's Secret (mounted as files), or a reference to an existing one."""

    existing: DnsSubdomain | None = None
    api_keys: SecretValue | None = Field(default_factory=generated)
    monitoring_token: SecretValue | None = Field(default_factory=generated)

    @model_validator(mode="after")
    def _existing_excludes_values(self) -> Secrets:
        given = {"api_keys", "monitoring_token"} & self.model_fields_set
        if self.existing and given:
            raise ValueError(
                f"existing names a Secret made elsewhere; remove {' and '.join(sorted(given))}"
            )
        return self


class Claim(Section):
    """A PersistentVolumeClaim, or an existing claim to mount instead."""

    size: Quantity = "1Gi"
    access_mode: AccessMode = "ReadWriteOnce"
    storage_class: str | None = None
    existing_claim: DnsSubdomain | None = None


class Storage(Section):
    """The claims for the model registry and the request logs."""

    storage_class: str | None = None
    models: Claim = Claim()
    logs: Claim = Claim()


class Api(Section):
    """The API Deployment(s)."""

    replicas: int = Field(2, ge=1, le=500)
    resources: Resources = resources("250m", "256Mi", "1", "512Mi")
    shutdown_timeout_seconds: int = Field(20, ge=1, le=600)
    pre_stop_seconds: int = Field(5, ge=0, le=120)
    startup_timeout_seconds: int = Field(300, ge=10, le=3600)


class Autoscaling(Section):
    """A HorizontalPodAutoscaler on CPU and memory utilisation of the requests."""

    min_replicas: int = Field(2, ge=1)
    max_replicas: int = Field(5, ge=1)
    cpu_utilization: int | None = Field(70, ge=1, le=1000)
    memory_utilization: int | None = Field(80, ge=1, le=1000)
    scale_down_stabilization_seconds: int = Field(300, ge=0, le=3600)

    @model_validator(mode="after")
    def _coherent(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas})"
            )
        if self.cpu_utilization is None and self.memory_utilization is None:
            raise ValueError("set cpu_utilization, memory_utilization or both")
        return self


class DisruptionBudget(Section):
    """A PodDisruptionBudget over the API pods (default: at most one unavailable)."""

    enabled: bool = True
    max_unavailable: IntOrPercent | None = None
    min_available: IntOrPercent | None = None
    unhealthy_pod_eviction_policy: Literal["IfHealthyBudget", "AlwaysAllow"] | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> DisruptionBudget:
        if self.max_unavailable is not None and self.min_available is not None:
            raise ValueError("set max_unavailable or min_available, not both")
        return self


class Monitoring(Section):
    """How Prometheus scrapes the API (a ServiceMonitor, or pod annotations), its alert rules,
    the Grafana dashboard, and the request log."""

    service_monitor: bool = Field(
        False,
        description="a Prometheus Operator ServiceMonitor scraping /metrics with the monitoring "
        "token",
    )
    interval: str = Field("30s", pattern=r"^[1-9][0-9]*(ms|s|m|h)$", description="scrape interval")
    labels: Labels = Field(
        default_factory=dict,
        description="extra labels on the monitoring objects, for the Prometheus' selectors",
    )
    prometheus_scrape: bool | None = Field(
        None,
        description="the prometheus.io pod annotations; by default only when /metrics needs no "
        "token and no ServiceMonitor scrapes it",
    )
    request_log: bool = Field(
        True,
        description="log each predicted row's features to the logs claim (the drift check reads "
        "them); false keeps no record of requests",
    )
    alerts: Alerts = Alerts()
    dashboard: Dashboard = Dashboard()


class Postgres(Section):
    """PostgreSQL, the MLflow backend store."""

    image: str = "postgres:16"
    run_as_user: int = Field(999, ge=1, description="uid of 'postgres' in the official image")
    database: str = Field("mlflow", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    user: str = Field("mlflow", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    password: SecretValue = Field(default_factory=generated)
    existing_secret: DnsSubdomain | None = None
    storage: Claim = Claim(size="5Gi")
    resources: Resources = resources("100m", "256Mi", "1", "1Gi")


class MLflow(Section):
    """The MLflow tracking server (artifacts served from a claim) and its PostgreSQL."""

    image: str = Field(
        contract.DEFAULT_MLFLOW_IMAGE, description="built by k8s-mlserve build-stack by default"
    )
    run_as_user: int = Field(10001, ge=1)
    workers: int = Field(2, ge=1, le=16, description="server worker processes")
    resources: Resources = resources("200m", "512Mi", "1", "1Gi")
    artifacts: Claim = Claim(size="5Gi")
    allow_from: list[Peer] = Field(default_factory=list)
    postgres: Postgres = Postgres()


class DriftCheck(Section):
    """A CronJob comparing the request logs with the model's reference profile."""

    schedule: str = Field(pattern=r"^(@(hourly|daily|weekly|monthly|yearly)|(\S+\s+){4}\S+)$")
    time_zone: str | None = None
    resources: Resources = resources("250m", "256Mi", "1", "1Gi")


class DeploymentSpec(Section):
    """Everything needed to render the Kubernetes objects of one model deployment."""

    name: DeploymentName
    namespace: DnsLabel | None = None
    create_namespace: bool = True
    kubernetes_version: KubeVersion = DEFAULT_TARGET
    labels: Labels = Field(default_factory=dict)
    image: Image
    model: Model = Model()
    config: Config = Config()
    secrets: Secrets = Secrets()
    storage: Storage = Storage()
    training: Training | None = None
    api: Api = Api()
    service: Service = Service()
    autoscaling: Autoscaling | None = None
    disruption_budget: DisruptionBudget = DisruptionBudget()
    network_policy: NetworkPolicy = NetworkPolicy()
    ingress: Ingress | None = None
    monitoring: Monitoring = Monitoring()
    strategy: Strategy = RollingStrategy()
    mlflow: MLflow | None = None
    drift_check: DriftCheck | None = None
    ui: Ui | None = None
    shadow: Shadow | None = None
    analysis: Analysis | None = None

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _parse_version(cls, value: Any) -> Any:
        if isinstance(value, (int, float)):
            raise ValueError(f"write the version in quotes, e.g. '{value}'")
        version = KubeVersion.parse(value) if isinstance(value, str) else value
        if isinstance(version, KubeVersion) and version < OLDEST_SUPPORTED:
            raise ValueError(
                f"{version} is not supported; the oldest supported version is {OLDEST_SUPPORTED}"
            )
        return version

    @model_validator(mode="after")
    def _coherent(self) -> DeploymentSpec:
        self._check_images()
        self._check_model_source()
        self._check_ui()
        self._check_release()
        if self.drift_check is not None and not self.monitoring.request_log:
            raise ValueError(
                "drift_check reads the request log: remove it, or set monitoring.request_log: true"
            )
        if isinstance(self.strategy, CanaryStrategy):
            if self.autoscaling is not None:
                raise ValueError(
                    "autoscaling cannot be combined with strategy canary: the canary share is set "
                    "by replica counts; remove autoscaling or use rolling or blue-green"
                )
            if 0 < self.strategy.percent < 100 and self.api.replicas < 2:
                raise ValueError(
                    "strategy canary needs api.replicas of at least 2 to split traffic"
                )
        budget = self.disruption_budget
        if budget.enabled and isinstance(budget.min_available, int):
            fewest = self.autoscaling.min_replicas if self.autoscaling else self.api.replicas
            if budget.min_available >= fewest:
                raise ValueError(
                    f"disruption_budget.min_available ({budget.min_available}) must be below the "
                    f"replica count ({fewest}), or no pod could ever be evicted"
                )
        return self

    def _check_images(self) -> None:
        images = [(path, variant.image_tag) for path, variant in self.variants()]
        references = [
            ("training.image", self.training.image if self.training else None),
            ("mlflow.image", self.mlflow.image if self.mlflow else None),
            ("mlflow.postgres.image", self.mlflow.postgres.image if self.mlflow else None),
            ("ui.image", self.page.image if self.page else None),
        ]
        for path, ref in references:
            if ref is not None:
                _, tag, digest = split_image(ref)
                images.append((path, tag or digest))
        for path, tag in images:
            if tag is not None or not path.endswith("image_tag"):
                try:
                    check_tag(tag, allow_latest=self.image.allow_latest)
                except ValueError as exc:
                    raise ValueError(f"{path}: {exc}") from None

    def _check_model_source(self) -> None:
        source = self.model_source
        for path, variant in self.variants():
            where = path.removesuffix("image_tag")
            if variant.model_alias is not None and source != "mlflow":
                raise ValueError(f"{where}model_alias needs model.registered_name")
            if variant.model_version is not None and source == "image":
                raise ValueError(
                    f"{where}model_version pins a version of the registry directory on the models "
                    f"claim; with model.source image, set {path} to the image that has it"
                )
        if source == "mlflow" and self.mlflow is None:
            raise ValueError("model.registered_name needs the mlflow section")
        if source == "image" and self.training is not None:
            raise ValueError(
                "training publishes into the models claim, but model.source image serves the "
                "model baked into the image; remove training, or set model.source to claim or "
                "mlflow"
            )

    def _check_ui(self) -> None:
        ui = self.page
        if ui is None or ui.ingress_path is None:
            return
        if self.ingress is None:
            raise ValueError(
                "ui.ingress_path is a path of the Ingress: add the ingress section, or remove "
                "ui.ingress_path"
            )
        if ui.ingress_path == self.ingress.path.rstrip("/"):
            raise ValueError(
                f"ui.ingress_path ({ui.ingress_path}) is the API's ingress.path; give the page a "
                "path of its own, e.g. /ui"
            )

    def _check_release(self) -> None:
        if self.shadow is not None:
            self.shadow.check(self.model_source)
        if (
            self.analysis is not None
            and self.shadow is None
            and not isinstance(self.strategy, CanaryStrategy)
        ):
            raise ValueError(
                "analysis judges a shadow challenger or a canary: add the shadow section, or use "
                "strategy canary"
            )

    @property
    def page(self) -> Ui | None:
        """The ``ui`` section when it deploys the web page (present and enabled)."""
        return self.ui if self.ui is not None and self.ui.enabled else None

    @property
    def serves_ui(self) -> bool:
        """Whether the spec deploys the web page (a ``ui`` section, enabled)."""
        return self.page is not None

    def variants(self) -> list[tuple[str, Variant]]:
        """The colour or track variants of the strategy, with their spec paths."""
        if isinstance(self.strategy, BlueGreenStrategy):
            return [
                ("strategy.blue.image_tag", self.strategy.blue),
                ("strategy.green.image_tag", self.strategy.green),
            ]
        if isinstance(self.strategy, CanaryStrategy):
            return [("strategy.canary.image_tag", self.strategy.canary)]
        return []

    @property
    def pins_kubernetes_version(self) -> bool:
        """Whether the spec names its target version (else it follows the cluster's)."""
        return "kubernetes_version" in self.model_fields_set

    @property
    def target_namespace(self) -> str:
        return self.namespace or self.name

    @property
    def model_name(self) -> str:
        return self.model.name or self.name

    @property
    def model_source(self) -> ModelSource:
        """Where the API's model comes from: ``claim``, ``image`` or ``mlflow``."""
        return self.model.resolved_source


def for_cluster(spec: DeploymentSpec, version: KubeVersion) -> DeploymentSpec:
    """The spec targeted at a cluster of ``version``, unless the spec pins its own version.

    A pinned version is the user's choice and is kept, even when it differs from the cluster's.
    The result still counts as not pinned, so it can be targeted again.
    """
    if spec.pins_kubernetes_version:
        return spec
    if version < OLDEST_SUPPORTED:
        raise ConfigurationError(
            f"the cluster runs Kubernetes {version}; the oldest supported version is "
            f"{OLDEST_SUPPORTED}"
        )
    values = {**dict(spec), "kubernetes_version": version}
    return DeploymentSpec.model_construct(_fields_set=set(spec.model_fields_set), **values)
