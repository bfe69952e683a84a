"""The write-through cache of models loaded from MLflow: a bundle registry per model.

Layout (``<cache dir>/<model name>``, readable by ``DirectorySource`` like any registry)::

    current                  the version loaded last
    versions/vN/             a bundle, plus ``mlflow.json``: where it came from

Versions without ``mlflow.json`` were not written by the cache (the cache may share a volume
with training): they are never replaced nor pruned. A cached bundle records the library versions
MLflow recorded for the model, and one the installed scikit-learn must not load is ignored (the
model is then asked of MLflow, where it is checked again).
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...errors import BundleError
from ...model.bundle import (
    METADATA_FILE,
    Bundle,
    BundleMetadata,
    is_bundle,
    load_bundle,
    read_metadata,
)
from ...model.bundle import write_bundle as _write_bundle
from ...model.registry import BundleRegistry

log = logging.getLogger("k8s_mlserve.mlflow")

PROVENANCE_FILE = "mlflow.json"
KEEP = 3  # the current version and the two most recent others


class ModelCache:
    """Versions of one MLflow model kept as bundles, keyed by their MLflow artifact URI."""

    def __init__(self, root: Path, *, allow_version_mismatch: bool = False) -> None:
        self.root = root
        self.registry = BundleRegistry(root)
        self.allow_version_mismatch = allow_version_mismatch

    def get(self, version: str, artifact_uri: str) -> Bundle | None:
        """The cached copy of ``artifact_uri`` as ``version``, made current; None if absent."""
        path = self.root / "versions" / version
        if not is_bundle(path) or provenance(path).get("artifact_uri") != artifact_uri:
            return None
        try:
            # Verifies the sha256 of model.joblib and the scikit-learn version.
            bundle = load_bundle(path, strict_versions=not self.allow_version_mismatch)
            self.registry.set_current(version)
        except (OSError, BundleError) as exc:
            log.warning("ignoring cached %s: %s", path, exc)
            return None
        return bundle

    def put(
        self,
        model: Any,
        metadata: BundleMetadata,
        metrics: dict[str, float],
        source: dict[str, Any],
    ) -> Bundle:
        """Write ``model`` as version ``metadata.version``, make it current and prune.

        ``metadata.mlflow_model_uri`` identifies the cached copy; ``source`` is recorded in
        ``mlflow.json`` beside it.
        """
        version = metadata.version
        target = self.root / "versions" / version
        if target.exists():
            recorded = provenance(target)
            if not recorded:
                raise BundleError(f"{target} was not written by this cache; not replacing it")
            if recorded.get("artifact_uri") != metadata.mlflow_model_uri or not is_bundle(target):
                shutil.rmtree(target)  # a stale copy, e.g. from another tracking server
        staging = self.registry.staging_dir()
        try:
            bundle_dir = _write_bundle(
                staging / "bundle",
                model,
                # Rows for the compiled model's parity check; the schema is MLflow's (below).
                metadata.input_schema.sample_frame(),
                name=metadata.name,
                version=version,
                metrics=metrics,
            )
            # write_bundle infers the schema from a frame and records this environment's library
            # versions; keep the schema and the versions MLflow recorded instead.
            written = read_metadata(bundle_dir)
            final = metadata.model_copy(
                update={"sha256": written.sha256, "compiled": written.compiled}
            )
            _write_json(bundle_dir / METADATA_FILE, final.model_dump(mode="json"))
            _write_json(
                bundle_dir / PROVENANCE_FILE,
                {
                    **source,
                    "artifact_uri": metadata.mlflow_model_uri,
                    "cached_at": datetime.now(UTC).isoformat(),
                },
            )
            try:
                path = self.registry.publish(bundle_dir, version)
            except BundleError:
                if not is_bundle(target):
                    raise
                # Another server sharing the cache published the same version first.
                self.registry.set_current(version)
                path = target
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.prune()
        log.info("cached %s %s in %s", metadata.name, version, path)
        return Bundle(path=path, model=model, metadata=final, metrics=metrics)

    def prune(self) -> None:
        """Keep the current version and the most recent others, among those the cache wrote."""
        try:
            current = self.registry.current_version()
            paths = [self.registry.version_path(v) for v in self.registry.versions()]
            cached = [p for p in paths if provenance(p) and p.name != current]
            cached.sort(key=lambda p: p.stat().st_mtime, reverse=True)
            for path in cached[KEEP - 1 :]:
                shutil.rmtree(path, ignore_errors=True)
        except (OSError, BundleError) as exc:
            log.warning("could not prune the cache %s: %s", self.root, exc)


def provenance(bundle_dir: Path) -> dict[str, Any]:
    """What ``mlflow.json`` says about a cached bundle ({} when it is not a cached bundle)."""
    try:
        data = json.loads((bundle_dir / PROVENANCE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
