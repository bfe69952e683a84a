"""Offline validation of rendered objects against the strict Kubernetes JSON schemas.

Kubernetes 1.20 uses the schemas kept in ``schemas/`` (see its README); newer versions use the
ones the installed ``kubernetes-validate`` ships. Both trees have the same layout, and objects are
validated the way ``kubernetes_validate.validate`` does, with the loaded schemas cached.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

OLDEST_DIR = Path(__file__).parent / "schemas" / "v1.20.0-local-strict"
_SHIPPED_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


def shipped_versions() -> list[str]:
    """Minor versions (``1.25``...) whose strict schemas ``kubernetes-validate`` ships."""
    found = []
    for path in _SHIPPED_ROOT.iterdir():
        match = re.match(r"^v(\d+)\.(\d+)\.0-local-strict$", path.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def schema_dir(version: str) -> Path:
    if version == "1.20":
        return OLDEST_DIR
    path = _SHIPPED_ROOT / f"v{version}.0-local-strict"
    if not path.is_dir():
        raise LookupError(f"no schemas for Kubernetes {version}")
    return path


@cache
def _registry(directory: Path) -> Registry:
    definitions = json.loads((directory / "_definitions.json").read_text())
    resource = DRAFT202012.create_resource(definitions)
    registry: Registry = Registry().with_resource("_definitions.json", resource).crawl()
    return registry


@cache
def _validator(directory: Path, file_name: str) -> jsonschema.protocols.Validator | None:
    path = directory / file_name
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=_registry(directory))


def schema_file(manifest: dict[str, Any]) -> str:
    # rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", manifest["apiVersion"])
    return f"{manifest['kind'].lower()}-{api}.json"


def validate(manifest: dict[str, Any], version: str) -> list[str]:
    """Schema errors of one object for Kubernetes ``version`` (empty when valid)."""
    what = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
    validator = _validator(schema_dir(version), schema_file(manifest))
    if validator is None:
        return [f"{what}: Kubernetes {version} has no {manifest['apiVersion']} {manifest['kind']}"]
    return [
        f"{what} at {'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
