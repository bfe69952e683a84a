"""Models from an MLflow registry or run, for the server. It imports ``mlflow`` lazily: a server
started from a bundle directory never loads it. (``tracking`` is the training-side counterpart.)

Accepted model URIs::

    models:/NAME@ALIAS      followed: polling notices when the alias moves to another version
    models:/NAME/VERSION    one registered version
    runs:/RUN_ID/PATH       the model a run logged under PATH

A registered version N is served as version ``vN``; a run's model as ``run-<first 12 characters
of the run id>``. Loading downloads the model directory once and loads it through the sklearn
flavour (so probabilities stay available) or, for any other flavour, through pyfunc (labels only):
see ``loading``.

With a cache directory, every sklearn model loaded is written through as a version of a bundle
registry in ``<cache dir>/<model name>`` (``mlflow_cache``), so a restart while MLflow is down
still has something to serve (see docs/mlflow.md).

A model whose sklearn flavour records another scikit-learn major.minor than the installed one is
refused before it is unpickled (``LibraryMismatchError``), unless ``allow_version_mismatch``.
A version that failed to load is remembered (its artifact URI and creation time: a registered
version's files do not change) and refused again with the same error, without downloading or
unpickling it, until the URI designates another version; MLflow being unreachable is not
remembered.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ...errors import BundleError, ConfigurationError, ModelSourceError
from ...model.bundle import Bundle, BundleMetadata, ResponseSpec
from .cache import ModelCache
from .loading import LoadedMLflowModel, load_model_dir

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger("k8s_mlserve.mlflow")

# The server retries on its own schedule; MLflow's client defaults (7 retries with backoff, 120 s
# timeout) would hold a poll or a start-up attempt for minutes while the tracking server is down.
SERVER_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}

_NETWORK_FAILURES = (
    ("Connection refused", "is unreachable (connection refused)"),
    ("Name or service not known", "is unreachable (unknown host)"),
    ("Temporary failure in name resolution", "is unreachable (unknown host)"),
    ("timed out", "did not answer in time"),
    ("Max retries exceeded", "is unreachable"),
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def use_server_http_defaults() -> None:
    """Give MLflow's HTTP client short timeouts in this process, unless already configured."""
    for name, value in SERVER_HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)


@dataclass(frozen=True)
class ModelURI:
    """A parsed model URI."""

    uri: str
    kind: Literal["alias", "version", "run"]
    name: str  # the registered model, or the run id for runs:/ URIs
    reference: str  # the alias, the version number, or the artifact path in the run

    @classmethod
    def parse(cls, uri: str) -> ModelURI:
        """Parse ``uri``; raise ``ConfigurationError`` naming the accepted forms."""
        accepted = "models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/PATH"
        if uri.startswith("models:/"):
            rest = uri.removeprefix("models:/")
            if "@" in rest:
                name, alias = rest.rsplit("@", 1)
                if name and re.fullmatch(r"[A-Za-z0-9_-]+", alias):
                    return cls(uri, "alias", name, alias)
            elif "/" in rest:
                name, version = rest.rsplit("/", 1)
                if name and version.isdigit():
                    return cls(uri, "version", name, version)
        elif uri.startswith("runs:/"):
            run_id, _, path = uri.removeprefix("runs:/").partition("/")
            if run_id and path.strip("/"):
                return cls(uri, "run", run_id, path.strip("/"))
        raise ConfigurationError(f"unsupported model URI {uri!r}; expected {accepted}")

    @property
    def registered(self) -> bool:
        return self.kind != "run"


@dataclass(frozen=True)
class ResolvedModel:
    """The concrete model a URI designates right now."""

    version: str  # the served version: vN, or run-<id>
    artifact_uri: str  # models:/NAME/N or runs:/RUN_ID/PATH
    run_id: str | None
    created_at: datetime | None = None
    registered_version: str | None = None  # N, for a registered version


class MLflowSource:
    """A model source backed by an MLflow tracking server (see the module docstring)."""

    def __init__(
        self,
        uri: str,
        *,
        tracking_uri: str,
        cache_dir: str | os.PathLike[str] | None = None,
        registry_uri: str | None = None,
        allow_version_mismatch: bool = False,
    ) -> None:
        self.model_uri = ModelURI.parse(uri)
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self.allow_version_mismatch = allow_version_mismatch
        self.description = f"mlflow {uri}"
        self.cache: ModelCache | None = None
        if cache_dir is not None:
            key = self.model_uri.name if self.model_uri.registered else f"run-{self.model_uri.name}"
            self.cache = ModelCache(
                Path(cache_dir) / _SAFE_NAME.sub("_", key),
                allow_version_mismatch=allow_version_mismatch,
            )
        self._client: MlflowClient | None = None
        self._failed: tuple[tuple[str, datetime | None], Exception] | None = None

    @property
    def cache_path(self) -> Path | None:
        """The cache's registry directory, ``<cache dir>/<model name>``."""
        return self.cache.root if self.cache is not None else None

    # -- the ModelSource protocol --------------------------------------------------------------

    def current_version(self) -> str:
        return self.resolve().version

    def load(self) -> Bundle:
        resolved = self.resolve()
        cached = self.cache.get(resolved.version, resolved.artifact_uri) if self.cache else None
        if cached is not None:
            log.info("version %s of %s found in the cache", resolved.version, self.model_uri.uri)
            return cached
        identity = (resolved.artifact_uri, resolved.created_at)
        if self._failed is not None and self._failed[0] == identity:
            raise self._failed[1].with_traceback(None)
        location = self._call(f"locate {resolved.artifact_uri}", lambda: self._location(resolved))
        with tempfile.TemporaryDirectory(prefix="mlserve-mlflow-") as tmp:
            local = self._call(
                f"download {resolved.artifact_uri}",
                lambda: _download(location, tmp, self.tracking_uri, self.registry_uri),
            )
            try:
                loaded = load_model_dir(
                    Path(local),
                    strict_versions=not self.allow_version_mismatch,
                    where=f"MLflow model {resolved.artifact_uri}",
                )
            except OSError:
                raise  # a full or unreadable disk may recover without a new version
            except Exception as exc:
                self._failed = (identity, exc)
                raise
            self._failed = None
            metadata, metrics = self._metadata(resolved, loaded)
            if self.cache is not None and loaded.flavour == "sklearn":
                # A full or read-only cache costs the fallback, never the load.
                source = {"model_uri": self.model_uri.uri, "tracking_uri": self.tracking_uri}
                try:
                    return self.cache.put(loaded.model, metadata, metrics, source)
                except (OSError, BundleError) as exc:
                    log.warning("could not cache %s: %s", resolved.version, exc)
            # Not cached: the bundle's path is the download directory, removed on return.
            return Bundle(path=Path(local), model=loaded.model, metadata=metadata, metrics=metrics)

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self) -> ResolvedModel:
        """Ask MLflow which concrete model the URI designates now."""
        uri = self.model_uri
        if uri.kind == "run":
            # A run's artifacts never change: no need to ask the tracking server.
            return ResolvedModel(f"run-{uri.name[:12]}", uri.uri, uri.name)
        client = self.client()
        if uri.kind == "alias":
            version = self._call(
                f"resolve the alias @{uri.reference}",
                lambda: client.get_model_version_by_alias(uri.name, uri.reference),
            )
        else:
            version = self._call(
                f"find version {uri.reference}",
                lambda: client.get_model_version(uri.name, uri.reference),
            )
        created = (
            datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)
            if version.creation_timestamp
            else None
        )
        return ResolvedModel(
            version=f"v{version.version}",
            artifact_uri=f"models:/{uri.name}/{version.version}",
            run_id=version.run_id or None,
            created_at=created,
            registered_version=str(version.version),
        )

    def _location(self, resolved: ResolvedModel) -> str:
        """Where the model's files are, asked of our own client: MLflow's resolution of models:/
        and runs:/ URIs would use the process-wide tracking and registry URIs instead."""
        client = self.client()
        if resolved.registered_version is not None:
            location: str = client.get_model_version_download_uri(
                self.model_uri.name, resolved.registered_version
            )
            return location
        run = client.get_run(self.model_uri.name)
        name = self.model_uri.reference
        quoted = name.replace("'", "\\'")
        token: str | None = None
        while True:
            page = client.search_logged_models(
                experiment_ids=[run.info.experiment_id],
                filter_string=f"name = '{quoted}'",
                page_token=token,
            )
            for logged in page:
                if logged.source_run_id == run.info.run_id:
                    return str(logged.artifact_location)
            token = page.token
            if not token:
                break
        # A model logged as plain run artifacts (MLflow 2 style).
        return f"{run.info.artifact_uri.rstrip('/')}/{name}"

    def client(self) -> MlflowClient:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.registry_uri
            )
        return self._client

    def _call(self, what: str, fn: Any) -> Any:
        """Run an MLflow call, turning its failures into ``ModelSourceError``."""
        from mlflow.exceptions import MlflowException

        try:
            return fn()
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise ModelSourceError(f"cannot {what}: {_short(exc.message)}") from exc
            raise ModelSourceError(
                f"cannot {what}: MLflow at {self.tracking_uri} {_failure(exc.message)}"
            ) from exc
        except OSError as exc:
            raise ModelSourceError(
                f"cannot {what}: MLflow at {self.tracking_uri} {_failure(str(exc))}"
            ) from exc

    # -- metadata ------------------------------------------------------------------------------

    def _metadata(
        self, resolved: ResolvedModel, loaded: LoadedMLflowModel
    ) -> tuple[BundleMetadata, dict[str, float]]:
        recorded = loaded.recorded
        params: dict[str, Any] = {}
        metrics: dict[str, float] = {}
        if resolved.run_id is not None:
            try:
                run = self.client().get_run(resolved.run_id)
            except Exception as exc:  # provenance is nice to have, never a reason to fail
                log.warning("cannot read run %s: %s", resolved.run_id, exc)
            else:
                params = dict(run.data.params)
                metrics = {k: float(v) for k, v in run.data.metrics.items()}
        params = recorded.get("params") or params
        name = self.model_uri.name if self.model_uri.registered else recorded.get("name", "model")
        response = recorded.get("response")
        metadata = BundleMetadata(
            name=name,
            version=resolved.version,
            created_at=resolved.created_at or datetime.now(UTC),
            model_class=loaded.model_class,
            algorithm=recorded.get("algorithm"),
            library_versions=loaded.library_versions,
            input_schema=loaded.schema,
            classes=loaded.classes,
            training_rows=int(recorded.get("training_rows", 0)),
            sha256=loaded.sha256,
            mlflow_run_id=resolved.run_id,
            mlflow_model_uri=resolved.artifact_uri,
            response=ResponseSpec.model_validate(response) if response else None,
            params=params,
        )
        return metadata, metrics


def _download(artifact_uri: str, dst: str, tracking_uri: str, registry_uri: str) -> str:
    import mlflow.artifacts

    local: str = mlflow.artifacts.download_artifacts(
        artifact_uri=artifact_uri,
        dst_path=dst,
        tracking_uri=tracking_uri,
        registry_uri=registry_uri,
    )
    return local


def _failure(message: str) -> str:
    """What went wrong talking to MLflow, in a few words when it is a network failure."""
    for needle, words in _NETWORK_FAILURES:
        if needle in message:
            return words
    return f"failed: {_short(message)}"


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."
