"""The MLflow and PostgreSQL images MLflow stacks use in tests: given references, or ``build``
from the Dockerfiles shipped with k8s-mlserve (``k8s-mlserve build-stack``)."""

from __future__ import annotations

from ..delivery.docker import image_exists
from ..delivery.stack_images import LOCAL_POSTGRES_IMAGE, build_stack_image
from ..manifests.contract import DEFAULT_MLFLOW_IMAGE
from .options import BUILD, MlserveOptions

# Where nothing can be pulled, a local Debian base with the postgresql package (made like the
# --base-image one, e.g. with debootstrap) is used when it exists.
LOCAL_POSTGRES_BASE = "local/debian-postgres:bookworm"


def stack_images(options: MlserveOptions) -> tuple[str, str]:
    """(MLflow image, PostgreSQL image), building those set to ``build``."""
    mlflow = options.mlflow_image
    if mlflow == BUILD:
        mlflow = DEFAULT_MLFLOW_IMAGE
        build_stack_image("mlflow", tag=mlflow, base_image=options.base_image)
    postgres = options.postgres_image
    if postgres == BUILD:
        postgres = LOCAL_POSTGRES_IMAGE
        base = LOCAL_POSTGRES_BASE if image_exists(LOCAL_POSTGRES_BASE) else options.base_image
        build_stack_image("postgres", tag=postgres, base_image=base)
    return mlflow, postgres
