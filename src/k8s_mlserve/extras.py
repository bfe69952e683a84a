"""Optional dependencies and the extras that install them.

A plain ``pip install k8s-mlserve`` is what a serving image needs. Generating manifests, talking to
a cluster, MLflow, HTML reports and load tests each come with an extra (``docs/install.md``).
"""

from __future__ import annotations

from .errors import MissingExtraError

# Top-level module → (the extra that installs it, what it is for).
EXTRAS: dict[str, tuple[str, str]] = {
    "kubernetes": ("k8s", "the Kubernetes client (manifests, rollouts)"),
    "mlflow": ("mlflow", "MLflow (the model registry)"),
    "psycopg2": ("mlflow", "PostgreSQL's driver (an MLflow backend store)"),
    "matplotlib": ("report", "matplotlib (HTML drift reports)"),
    "locust": ("load", "locust (load tests)"),
    "pytest_kind": ("testing", "pytest-kind (clusters for tests)"),
    "streamlit": ("ui", "Streamlit (the web page of `k8s-mlserve ui`)"),
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install 'k8s-mlserve[{extra}]'"


def missing_extra(exc: ImportError) -> MissingExtraError | None:
    """The error naming the extra that provides the module ``exc`` could not import, if known."""
    top = (exc.name or "").partition(".")[0]
    if top not in EXTRAS:
        return None
    extra, purpose = EXTRAS[top]
    error = MissingExtraError(
        f"this needs {purpose}, which a plain install leaves out: {install_hint(extra)}",
        name=exc.name,
    )
    error.__cause__ = exc
    return error
