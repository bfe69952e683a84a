"""The k8s-mlserve workloads: the API Deployment(s), the training Job and the drift-check CronJob.

All run with the same hardened security context, the server image unless the training Job names
its own; the API reads its settings from the ConfigMap and its secrets as files.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

from kubernetes import client

from . import contract, naming
from .config import config_hash, model_path, model_uri, registry_dir
from .monitoring import scrape_annotations
from .naming import labels, names
from .pod import (
    Mounts,
    container_security,
    home_env,
    mlserve_mounts,
    pod_spec,
    resource_requirements,
)
from .spec import DeploymentSpec
from .spec_model import Training
from .spec_types import split_image
from .storage import reads_models_claim
from .strategies import ApiVariant, api_variants
from .versions import api_version, require, supports

_PROBE_PERIOD = 5
_PROBE_TIMEOUT = 3
_DRAIN_MARGIN = 5  # seconds past the server's shutdown timeout before the kubelet kills


def grace_period(spec: DeploymentSpec) -> int:
    """The pause before SIGTERM, plus the server's drain, plus a margin."""
    return spec.api.pre_stop_seconds + spec.api.shutdown_timeout_seconds + _DRAIN_MARGIN


def _http_probe(path: str, *, period: int, failures: int) -> client.V1Probe:
    return client.V1Probe(
        http_get=client.V1HTTPGetAction(path=path, port=contract.PORT_NAME),
        period_seconds=period,
        timeout_seconds=_PROBE_TIMEOUT,
        failure_threshold=failures,
        success_threshold=1,
    )


def _lifecycle(spec: DeploymentSpec) -> client.V1Lifecycle | None:
    # The pause lets endpoints and proxies drop the pod before the server stops accepting.
    seconds = spec.api.pre_stop_seconds
    if seconds == 0:
        return None
    if supports("prestop-sleep", spec.kubernetes_version):
        handler = client.V1LifecycleHandler(sleep=client.V1SleepAction(seconds=seconds))
    else:
        # "_exec" is the keyword every client release accepts; type stubs know another name.
        handler = client.V1LifecycleHandler(
            **{"_exec": client.V1ExecAction(command=["sleep", str(seconds)])}
        )
    return client.V1Lifecycle(pre_stop=handler)


def _api_mounts(spec: DeploymentSpec) -> Mounts:
    # The models claim is written only as the cache of a model loaded from MLflow.
    return mlserve_mounts(
        spec,
        models=reads_models_claim(spec),
        models_writable=spec.model_source == "mlflow",
        logs=True,
        logs_writable=True,
        secrets=True,
    )


def _api_container(spec: DeploymentSpec, variant: ApiVariant, mounts: Mounts) -> client.V1Container:
    env = [home_env()]
    if variant.model_version is not None:
        pinned = f"{registry_dir(spec)}/versions/{variant.model_version}"
        env.append(client.V1EnvVar(name=contract.ENV_MODEL_PATH, value=pinned))
    if variant.model_alias is not None:
        env.append(
            client.V1EnvVar(name=contract.ENV_MODEL_URI, value=model_uri(spec, variant.model_alias))
        )
    return client.V1Container(
        name="api",
        image=spec.image.reference(variant.image_tag),
        image_pull_policy=spec.image.pull_policy,
        command=list(contract.COMMAND),
        ports=[
            client.V1ContainerPort(
                name=contract.PORT_NAME, container_port=contract.PORT, protocol="TCP"
            )
        ],
        env=env,
        env_from=[
            client.V1EnvFromSource(
                config_map_ref=client.V1ConfigMapEnvSource(name=names(spec).config)
            )
        ],
        resources=resource_requirements(spec.api.resources),
        startup_probe=_http_probe(
            contract.STARTUP_PATH,
            period=_PROBE_PERIOD,
            failures=math.ceil(spec.api.startup_timeout_seconds / _PROBE_PERIOD),
        ),
        readiness_probe=_http_probe(contract.READINESS_PATH, period=_PROBE_PERIOD, failures=2),
        liveness_probe=_http_probe(contract.LIVENESS_PATH, period=10, failures=3),
        lifecycle=_lifecycle(spec),
        security_context=container_security(),
        volume_mounts=mounts.mounts,
    )


def _pod_annotations(spec: DeploymentSpec) -> dict[str, str]:
    return {naming.CONFIG_HASH: config_hash(spec), **scrape_annotations(spec)}


def build_api_deployment(spec: DeploymentSpec, variant: ApiVariant) -> client.V1Deployment:
    """One API Deployment of the strategy."""
    selector = naming.selector(spec, naming.API, **variant.selector_labels)
    pod_labels = labels(spec, naming.API, version=variant.image_tag, **variant.selector_labels)
    mounts = _api_mounts(spec)
    container = _api_container(spec, variant, mounts)
    return client.V1Deployment(
        api_version=api_version("Deployment", spec.kubernetes_version),
        kind="Deployment",
        metadata=client.V1ObjectMeta(
            name=variant.deployment_name(spec), namespace=spec.target_namespace, labels=pod_labels
        ),
        spec=client.V1DeploymentSpec(
            replicas=variant.replicas,
            selector=client.V1LabelSelector(match_labels=selector),
            strategy=client.V1DeploymentStrategy(
                type="RollingUpdate",
                rolling_update=client.V1RollingUpdateDeployment(
                    max_surge=spec.strategy.max_surge,
                    max_unavailable=spec.strategy.max_unavailable,
                ),
            ),
            revision_history_limit=5,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=pod_labels, annotations=_pod_annotations(spec)),
                spec=pod_spec(spec, [container], mounts, grace_seconds=grace_period(spec)),
            ),
        ),
    )


def build_api_deployments(spec: DeploymentSpec) -> list[client.V1Deployment]:
    return [build_api_deployment(spec, v) for v in api_variants(spec)]


def _tracking_env(spec: DeploymentSpec) -> list[client.V1EnvVar]:
    if spec.mlflow is None:
        return []
    return [
        client.V1EnvVar(
            name=contract.ENV_TRACKING_URI,
            value_from=client.V1EnvVarSource(
                config_map_key_ref=client.V1ConfigMapKeySelector(
                    name=names(spec).config, key=contract.ENV_TRACKING_URI
                )
            ),
        )
    ]


def _training_program(spec: DeploymentSpec, training: Training) -> tuple[list[str], list[str]]:
    """The command and arguments of the training container: the user's own, or
    ``k8s-mlserve train EXAMPLE --output DIR ...`` followed by ``training.args``."""
    if training.command is not None:
        return list(training.command), list(training.args)
    assert training.example is not None  # the spec has exactly one of the two
    args = [training.example, "--output", registry_dir(spec)]
    if training.data is not None:
        args += ["--data", training.data]
    if training.version is not None:
        args += ["--version", training.version]
    if training.algorithm is not None:
        args += ["--algorithm", training.algorithm]
    return list(contract.TRAIN_COMMAND), [*args, *training.args]


def _training_env(spec: DeploymentSpec, training: Training) -> list[client.V1EnvVar]:
    """What every training container is told (see docs/manifests.md), then ``training.env``."""
    told = {contract.ENV_TRAINING_OUTPUT: registry_dir(spec)}
    if training.version is not None:
        told[contract.ENV_TRAINING_VERSION] = training.version
    if spec.model_source == "mlflow":
        assert spec.model.registered_name is not None
        told[contract.ENV_TRAINING_REGISTERED_MODEL] = spec.model.registered_name
        told[contract.ENV_TRAINING_MODEL_ALIAS] = spec.model.alias
    return [
        home_env(),
        *(client.V1EnvVar(name=k, value=v) for k, v in told.items()),
        *_tracking_env(spec),
        *(client.V1EnvVar(name=k, value=v) for k, v in sorted(training.env.items())),
    ]


def _digest(obj: object) -> str:
    """Eight hex digits of the SHA-256 of an object's serialised form."""
    data = client.ApiClient().sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]


def build_training_job(spec: DeploymentSpec) -> client.V1Job | None:
    """The training Job, or ``None``. Its name carries a digest of its pod template, which a Job
    cannot change: an unchanged spec applies as a no-op, a changed one as a new Job."""
    training = spec.training
    if training is None:
        return None
    if training.ttl_seconds_after_finished is not None:
        require("job-ttl", spec.kubernetes_version)
    image = training.image or spec.image.reference()
    command, args = _training_program(spec, training)
    mounts = mlserve_mounts(spec, models_writable=True, logs=False)
    pod_labels = labels(spec, naming.TRAINING, version=split_image(image)[1])
    container = _batch_container(
        spec,
        "train",
        command,
        args,
        _training_env(spec, training),
        resource_requirements(training.resources),
        mounts,
        image=image,
    )
    template = client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=pod_labels),
        spec=pod_spec(spec, [container], mounts, restart_policy="Never"),
    )
    return client.V1Job(
        api_version=api_version("Job", spec.kubernetes_version),
        kind="Job",
        metadata=client.V1ObjectMeta(
            name=names(spec).training_job(training.version, _digest(template)),
            namespace=spec.target_namespace,
            labels=pod_labels,
        ),
        # the limits and the clean-up are not part of the digest: they may change in place
        spec=client.V1JobSpec(
            backoff_limit=training.backoff_limit,
            active_deadline_seconds=training.active_deadline_seconds,
            ttl_seconds_after_finished=training.ttl_seconds_after_finished,
            template=template,
        ),
    )


def _batch_container(
    spec: DeploymentSpec,
    name: str,
    command: Sequence[str],
    args: list[str],
    env: list[client.V1EnvVar],
    resources: client.V1ResourceRequirements,
    mounts: Mounts,
    *,
    image: str | None = None,
) -> client.V1Container:
    """A run-to-completion container, of the server image unless told otherwise (training Job,
    drift check)."""
    return client.V1Container(
        name=name,
        image=image or spec.image.reference(),
        image_pull_policy=spec.image.pull_policy,
        command=list(command),
        args=args,
        env=env,
        resources=resources,
        security_context=container_security(),
        volume_mounts=mounts.mounts,
    )


def build_drift_check(spec: DeploymentSpec) -> client.V1CronJob | None:
    """The CronJob running ``k8s-mlserve drift`` over the request logs, or ``None``."""
    check = spec.drift_check
    if check is None:
        return None
    if check.time_zone is not None:
        require("cronjob-time-zone", spec.kubernetes_version)
    # With a model baked into the image, the drift check reads the one of image.tag.
    mounts = mlserve_mounts(spec, models=reads_models_claim(spec), logs=True)
    pod_labels = labels(spec, naming.DRIFT_CHECK, version=spec.image.tag)
    container = _batch_container(
        spec,
        "drift-check",
        contract.DRIFT_COMMAND,
        ["--bundle", model_path(spec), "--current", contract.LOGS_MOUNT],
        [home_env()],
        resource_requirements(check.resources),
        mounts,
    )
    return cron_job(
        spec,
        names(spec).drift_check,
        pod_labels,
        pod_spec(spec, [container], mounts, restart_policy="Never"),
        schedule=check.schedule,
        time_zone=check.time_zone,
        backoff_limit=1,
    )


def cron_job(
    spec: DeploymentSpec,
    name: str,
    pod_labels: dict[str, str],
    pod: client.V1PodSpec,
    *,
    schedule: str,
    backoff_limit: int,
    time_zone: str | None = None,
) -> client.V1CronJob:
    """A CronJob of ``pod`` that never runs twice at once and keeps three Jobs of each outcome."""
    return client.V1CronJob(
        api_version=api_version("CronJob", spec.kubernetes_version),
        kind="CronJob",
        metadata=client.V1ObjectMeta(name=name, namespace=spec.target_namespace, labels=pod_labels),
        spec=client.V1CronJobSpec(
            schedule=schedule,
            time_zone=time_zone,
            concurrency_policy="Forbid",
            successful_jobs_history_limit=3,
            failed_jobs_history_limit=3,
            job_template=client.V1JobTemplateSpec(
                metadata=client.V1ObjectMeta(labels=pod_labels),
                spec=client.V1JobSpec(
                    backoff_limit=backoff_limit,
                    template=client.V1PodTemplateSpec(
                        metadata=client.V1ObjectMeta(labels=pod_labels), spec=pod
                    ),
                ),
            ),
        ),
    )
