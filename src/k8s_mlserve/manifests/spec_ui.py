"""The ``ui`` section of the deployment spec: a web page next to the API (``k8s-mlserve ui``, a
Streamlit app) with its Deployment, Service and NetworkPolicy, and a path on the Ingress."""

from __future__ import annotations

from pydantic import Field

from .spec_types import Resources, Section, resources


class Ui(Section):
    """The web page: its pods, their image and resources, and its path on the Ingress."""

    enabled: bool = True
    replicas: int = Field(1, ge=1, le=20)
    image: str | None = Field(
        None,
        min_length=1,
        description="default: the spec's image, which must then include the ui extra",
    )
    resources: Resources = resources("100m", "256Mi", "1", "512Mi")
    ingress_path: str | None = Field(
        None,
        pattern=r"^(/[A-Za-z0-9._~-]+)+$",
        description="a path of the Ingress host for the page, e.g. /ui; the page is then served "
        "under it",
    )
