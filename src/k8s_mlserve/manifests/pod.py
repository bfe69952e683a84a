"""Pieces shared by every pod: the hardened security contexts, the writable /tmp, the volumes of
the models and logs claims and the secrets directory, and resource requirements."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubernetes import client

from . import contract
from .config import api_secret_name, has_api_secret
from .naming import names
from .spec import DeploymentSpec
from .spec_types import Resources
from .storage import claim_name

_SECRET_FILE_MODE = 0o440  # read-only for the owner and the pod's group (fsGroup)


def pod_security(uid: int = contract.UID, gid: int = contract.GID) -> client.V1PodSecurityContext:
    """Non-root with a fixed uid/gid/fsGroup and the runtime's default seccomp profile."""
    return client.V1PodSecurityContext(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=gid,
        fs_group=gid,
        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )


def container_security() -> client.V1SecurityContext:
    """Read-only root filesystem, no privilege escalation, every capability dropped."""
    return client.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=client.V1Capabilities(drop=["ALL"]),
        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )


def resource_requirements(resources: Resources) -> client.V1ResourceRequirements:
    amounts = resources.as_dict()
    return client.V1ResourceRequirements(
        requests=amounts.get("requests"), limits=amounts.get("limits")
    )


@dataclass
class Mounts:
    """Volumes of a pod and the matching mounts of its container."""

    volumes: list[client.V1Volume] = field(default_factory=list)
    mounts: list[client.V1VolumeMount] = field(default_factory=list)

    def empty_dir(self, name: str, path: str) -> Mounts:
        self.volumes.append(client.V1Volume(name=name, empty_dir=client.V1EmptyDirVolumeSource()))
        self.mounts.append(client.V1VolumeMount(name=name, mount_path=path))
        return self

    def claim(self, name: str, claim: str, path: str, *, read_only: bool) -> Mounts:
        self.volumes.append(
            client.V1Volume(
                name=name,
                persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                    claim_name=claim, read_only=read_only or None
                ),
            )
        )
        self.mounts.append(
            client.V1VolumeMount(name=name, mount_path=path, read_only=read_only or None)
        )
        return self

    def claim_template(self, name: str, path: str) -> Mounts:
        """A writable mount of a StatefulSet's volumeClaimTemplate ``name`` (no pod volume)."""
        self.mounts.append(client.V1VolumeMount(name=name, mount_path=path))
        return self

    def secret(self, name: str, secret: str, path: str) -> Mounts:
        self.volumes.append(
            client.V1Volume(
                name=name,
                secret=client.V1SecretVolumeSource(
                    secret_name=secret, default_mode=_SECRET_FILE_MODE
                ),
            )
        )
        self.mounts.append(client.V1VolumeMount(name=name, mount_path=path, read_only=True))
        return self


def mlserve_mounts(
    spec: DeploymentSpec,
    *,
    models: bool = True,
    models_writable: bool = False,
    logs: bool,
    logs_writable: bool = False,
    secrets: bool = False,
) -> Mounts:
    """The volumes a k8s-mlserve container needs, at the paths the settings point to."""
    n = names(spec)
    m = Mounts().empty_dir("tmp", contract.TMP_MOUNT)
    if models:
        m.claim(
            "models",
            claim_name(spec.storage.models, n.models_claim),
            contract.MODELS_MOUNT,
            read_only=not models_writable,
        )
    if logs:
        m.claim(
            "logs",
            claim_name(spec.storage.logs, n.logs_claim),
            contract.LOGS_MOUNT,
            read_only=not logs_writable,
        )
    if secrets and has_api_secret(spec):
        m.secret("secrets", api_secret_name(spec), contract.SECRETS_MOUNT)
    return m


def pull_secrets(spec: DeploymentSpec) -> list[client.V1LocalObjectReference] | None:
    refs = [client.V1LocalObjectReference(name=s) for s in spec.image.pull_secrets]
    return refs or None


def home_env() -> client.V1EnvVar:
    # The uid has no home directory and the root filesystem is read-only.
    return client.V1EnvVar(name="HOME", value=contract.TMP_MOUNT)


def pod_spec(
    spec: DeploymentSpec,
    containers: list[client.V1Container],
    mounts: Mounts,
    *,
    restart_policy: str | None = None,
    security: client.V1PodSecurityContext | None = None,
    grace_seconds: int | None = None,
) -> client.V1PodSpec:
    """A pod spec without a service account token or service links, hardened by default."""
    return client.V1PodSpec(
        containers=containers,
        volumes=mounts.volumes or None,
        security_context=security or pod_security(),
        automount_service_account_token=False,
        enable_service_links=False,
        image_pull_secrets=pull_secrets(spec),
        restart_policy=restart_policy,
        termination_grace_period_seconds=grace_seconds,
    )
