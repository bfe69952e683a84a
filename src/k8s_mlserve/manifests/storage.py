"""PersistentVolumeClaims: the model registry (unless the model is baked into the image), the
request logs, MLflow artifacts and PostgreSQL data. A claim declared ``existing_claim`` is mounted
but not rendered."""

from __future__ import annotations

from kubernetes import client

from .naming import labels, names
from .spec import Claim, DeploymentSpec
from .versions import api_version


def claim_name(claim: Claim, default: str) -> str:
    return claim.existing_claim or default


def build_claim(
    spec: DeploymentSpec, claim: Claim, name: str, component: str | None = None
) -> client.V1PersistentVolumeClaim | None:
    """A claim, or ``None`` when the spec points at an existing one."""
    if claim.existing_claim is not None:
        return None
    return client.V1PersistentVolumeClaim(
        api_version=api_version("PersistentVolumeClaim", spec.kubernetes_version),
        kind="PersistentVolumeClaim",
        metadata=client.V1ObjectMeta(
            name=name, namespace=spec.target_namespace, labels=labels(spec, component)
        ),
        spec=claim_spec(spec, claim),
    )


def claim_spec(spec: DeploymentSpec, claim: Claim) -> client.V1PersistentVolumeClaimSpec:
    """Access mode, storage class (the claim's, else ``storage.storage_class``) and size."""
    storage_class = (
        claim.storage_class if claim.storage_class is not None else spec.storage.storage_class
    )
    return client.V1PersistentVolumeClaimSpec(
        access_modes=[claim.access_mode],
        storage_class_name=storage_class,
        resources=client.V1VolumeResourceRequirements(requests={"storage": claim.size}),
    )


def reads_models_claim(spec: DeploymentSpec) -> bool:
    """Whether the API and the drift check read the model from the models claim (not when it is
    baked into the image)."""
    return spec.model_source != "image"


def needs_models_claim(spec: DeploymentSpec) -> bool:
    """Whether any pod mounts the models claim: the API's and the drift check's unless the model
    is in the image, and the training Job's."""
    return reads_models_claim(spec) or spec.training is not None


def build_claims(spec: DeploymentSpec) -> list[client.V1PersistentVolumeClaim]:
    """The claims of the API stack (the MLflow stack builds its own)."""
    n = names(spec)
    built = [
        build_claim(spec, spec.storage.models, n.models_claim)
        if needs_models_claim(spec)
        else None,
        build_claim(spec, spec.storage.logs, n.logs_claim),
    ]
    return [c for c in built if c is not None]
