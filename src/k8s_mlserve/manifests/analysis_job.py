"""The analysis CronJob (``analysis.schedule``): ``k8s-mlserve rollout analyze`` in the cluster.

It reads the API pods through the API server's pod proxy, so it runs under a ServiceAccount of
its own whose Role may only get and list pods and get ``pods/proxy`` in the namespace. The
deployment spec it judges by (names, strategy, shadow, thresholds) is mounted from a ConfigMap;
the monitoring token from the API Secret.
"""

from __future__ import annotations

from typing import Any, Final

import yaml
from kubernetes import client

from . import contract, naming
from .config import monitoring_token_key
from .naming import labels, names
from .pod import container_security, home_env, mlserve_mounts, pod_spec, resource_requirements
from .spec import DeploymentSpec
from .versions import api_version
from .workload import cron_job

SPEC_MOUNT: Final = "/etc/k8s-mlserve/analysis"
SPEC_FILE: Final = "deploy.yaml"
# What rollout analyze needs to reach: the pods, and their HTTP answers through the API server.
RULES: Final = (
    (("pods",), ("get", "list")),
    (("pods/proxy",), ("get",)),
)


def analysis_spec(spec: DeploymentSpec) -> dict[str, Any]:
    """The part of ``spec`` that ``rollout analyze`` reads, as a deployment spec of its own."""
    document: dict[str, Any] = spec.model_dump(
        mode="json",
        include={"name", "image", "model", "api", "strategy", "shadow", "analysis"},
        exclude_none=True,
    )
    document["namespace"] = spec.target_namespace
    document["api"] = {"replicas": spec.api.replicas}
    if spec.mlflow is not None:
        document["mlflow"] = {}
    if monitoring_token_key(spec) is None:
        # Open /metrics: the job is given no token and must not look for one.
        document["secrets"] = {"monitoring_token": None}
    return document


def _meta(spec: DeploymentSpec, name: str) -> client.V1ObjectMeta:
    return client.V1ObjectMeta(
        name=name, namespace=spec.target_namespace, labels=labels(spec, naming.ANALYSIS)
    )


def _rbac(spec: DeploymentSpec) -> list[Any]:
    name, target = names(spec).analysis, spec.kubernetes_version
    return [
        client.V1ServiceAccount(
            api_version=api_version("ServiceAccount", target),
            kind="ServiceAccount",
            metadata=_meta(spec, name),
            automount_service_account_token=False,
        ),
        client.V1Role(
            api_version=api_version("Role", target),
            kind="Role",
            metadata=_meta(spec, name),
            rules=[
                client.V1PolicyRule(api_groups=[""], resources=list(res), verbs=list(verbs))
                for res, verbs in RULES
            ],
        ),
        client.V1RoleBinding(
            api_version=api_version("RoleBinding", target),
            kind="RoleBinding",
            metadata=_meta(spec, name),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name=name
            ),
            subjects=[
                client.RbacV1Subject(
                    kind="ServiceAccount", name=name, namespace=spec.target_namespace
                )
            ],
        ),
    ]


def _cron_job(spec: DeploymentSpec) -> client.V1CronJob:
    assert spec.analysis is not None
    assert spec.analysis.schedule is not None
    name = names(spec).analysis
    mounts = mlserve_mounts(spec, models=False, logs=False, secrets=True)
    mounts.volumes.append(
        client.V1Volume(name="spec", config_map=client.V1ConfigMapVolumeSource(name=name))
    )
    mounts.mounts.append(client.V1VolumeMount(name="spec", mount_path=SPEC_MOUNT, read_only=True))
    args = [f"{SPEC_MOUNT}/{SPEC_FILE}"]
    if monitoring_token_key(spec) is not None:
        args += ["--token-file", f"{contract.SECRETS_MOUNT}/{contract.MONITORING_TOKEN_FILE}"]
    container = client.V1Container(
        name="analysis",
        image=spec.image.reference(),
        image_pull_policy=spec.image.pull_policy,
        command=list(contract.ANALYZE_COMMAND),
        args=args,
        env=[home_env()],
        resources=resource_requirements(spec.analysis.resources),
        security_context=container_security(),
        volume_mounts=mounts.mounts,
    )
    pod = pod_spec(spec, [container], mounts, restart_policy="Never")
    # The one pod that talks to the API server: it gets the token of its own ServiceAccount.
    pod.service_account_name = name
    pod.automount_service_account_token = True
    pod_labels = labels(spec, naming.ANALYSIS, version=spec.image.tag)
    return cron_job(
        spec, name, pod_labels, pod, schedule=spec.analysis.schedule, backoff_limit=0
    )


def build_analysis(spec: DeploymentSpec) -> list[Any]:
    """The analysis CronJob with its ConfigMap and RBAC objects; none without a schedule."""
    if spec.analysis is None or spec.analysis.schedule is None:
        return []
    config_map = client.V1ConfigMap(
        api_version=api_version("ConfigMap", spec.kubernetes_version),
        kind="ConfigMap",
        metadata=_meta(spec, names(spec).analysis),
        data={SPEC_FILE: yaml.safe_dump(analysis_spec(spec), sort_keys=False)},
    )
    return [config_map, *_rbac(spec), _cron_job(spec)]
