"""The server's runtime contract, as the manifests rely on it (see ``docs/architecture.md``).

Kept apart from the server on purpose: ``manifests`` never imports ``server``, and a test checks
these values against the documented contract.
"""

from __future__ import annotations

from typing import Final

COMMAND: Final = ("k8s-mlserve", "serve")
TRAIN_COMMAND: Final = ("k8s-mlserve", "train")
DRIFT_COMMAND: Final = ("k8s-mlserve", "drift")
ANALYZE_COMMAND: Final = ("k8s-mlserve", "rollout", "analyze")
UI_COMMAND: Final = ("k8s-mlserve", "ui")

PORT: Final = 8000
PORT_NAME: Final = "http"
HOST: Final = "0.0.0.0"
LIVENESS_PATH: Final = "/health"
READINESS_PATH: Final = "/ready"
STARTUP_PATH: Final = "/startup"
METRICS_PATH: Final = "/metrics"

# The web page (`k8s-mlserve ui`, a Streamlit app): its port, Streamlit's health route under the
# page's base path, and the port of its Service.
UI_PORT: Final = 8501
UI_HEALTH_PATH: Final = "/_stcore/health"
UI_SERVICE_PORT: Final = 80

UID: Final = 10001
GID: Final = 10001

MODELS_MOUNT: Final = "/models"
# Where an image holds a baked-in model (model.source: image): a bundle or a registry directory.
BAKED_MODEL_DIR: Final = "/opt/k8s-mlserve/model"
LOGS_MOUNT: Final = "/logs"
TMP_MOUNT: Final = "/tmp"  # noqa: S108 - an emptyDir, the only writable place besides volumes
SECRETS_MOUNT: Final = "/etc/k8s-mlserve/secrets"

# Files in the secrets directory, named like the settings they fill.
API_KEYS_FILE: Final = "auth__api_keys"
MONITORING_TOKEN_FILE: Final = "auth__monitoring_token"  # noqa: S105 - a file name

ENV_SECRETS_DIR: Final = "MLSERVE_SECRETS_DIR"
ENV_AUTH_REQUIRED: Final = "MLSERVE_AUTH__REQUIRED"
ENV_HOST: Final = "MLSERVE_SERVER__HOST"
ENV_PORT: Final = "MLSERVE_SERVER__PORT"
ENV_LOG_LEVEL: Final = "MLSERVE_SERVER__LOG_LEVEL"
ENV_ENVIRONMENT: Final = "MLSERVE_SERVER__ENVIRONMENT"
ENV_SHUTDOWN_TIMEOUT: Final = "MLSERVE_SERVER__SHUTDOWN_TIMEOUT"
ENV_MODEL_PATH: Final = "MLSERVE_MODEL__PATH"
ENV_MODEL_URI: Final = "MLSERVE_MODEL__URI"
ENV_MODEL_CACHE_DIR: Final = "MLSERVE_MODEL__CACHE_DIR"
ENV_REQUEST_LOG_DIR: Final = "MLSERVE_REQUEST_LOG__DIR"
ENV_SHADOW_MODEL: Final = "MLSERVE_SHADOW__MODEL"
ENV_SHADOW_SAMPLE_RATE: Final = "MLSERVE_SHADOW__SAMPLE_RATE"
ENV_SHADOW_QUEUE_SIZE: Final = "MLSERVE_SHADOW__QUEUE_SIZE"
ENV_TRACKING_URI: Final = "MLFLOW_TRACKING_URI"
# What a training container is told: the registry directory to publish into, and the rest of
# what the spec knows about the model it trains.
ENV_TRAINING_OUTPUT: Final = "MLSERVE_TRAINING_OUTPUT"
ENV_TRAINING_VERSION: Final = "MLSERVE_TRAINING_VERSION"
ENV_TRAINING_REGISTERED_MODEL: Final = "MLSERVE_TRAINING_REGISTERED_MODEL"
ENV_TRAINING_MODEL_ALIAS: Final = "MLSERVE_TRAINING_MODEL_ALIAS"
ENV_MLFLOW_TELEMETRY: Final = "MLFLOW_DISABLE_TELEMETRY"  # read by mlflow itself

# The tracking server image k8s-mlserve builds (`k8s-mlserve build-stack`): MLflow's server at
# the version of the client the package uses, with the PostgreSQL driver.
MLFLOW_SERVER_VERSION: Final = "3.17.2"
DEFAULT_MLFLOW_IMAGE: Final = f"k8s-mlserve-mlflow:{MLFLOW_SERVER_VERSION}"
MLFLOW_PORT: Final = 5000
MLFLOW_ARTIFACTS_MOUNT: Final = "/mlflow/artifacts"
POSTGRES_PORT: Final = 5432
POSTGRES_DATA_MOUNT: Final = "/var/lib/postgresql/data"
# The keys of the PostgreSQL credentials Secret, named as the official image's variables.
POSTGRES_USER_KEY: Final = "POSTGRES_USER"
POSTGRES_PASSWORD_KEY: Final = "POSTGRES_PASSWORD"  # noqa: S105 - a key name, not a password
POSTGRES_DB_KEY: Final = "POSTGRES_DB"
