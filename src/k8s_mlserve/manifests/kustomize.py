"""A kustomize tree from a spec with environments: ``base/`` and one ``overlays/<env>/`` each.

``base/`` holds the base spec's objects (one file each, as ``write_directory`` writes them).
Each overlay holds what its environment changes, computed from the two renders: a JSON patch
(RFC 6902) per changed object, listing only the values that differ (the ``config-hash``
annotation included, so a changed ConfigMap still rolls the pods), a delete patch per object the
environment drops, and a file per object it adds. ``kubectl kustomize overlays/<env>`` therefore
prints exactly what ``k8s-mlserve manifests SPEC --env <env>`` renders.

Generated secret values are drawn once for the base and reused by every environment, so an
overlay carries a Secret only when the environment changes where a value comes from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from .config import SecretSource
from .rendering import Manifest, kustomization, render, to_yaml, write_directory, write_text
from .spec import DeploymentSpec

BASE: Final = "base"
OVERLAYS: Final = "overlays"
Key = tuple[str, str]  # kind, name


def _key(manifest: Manifest) -> Key:
    return manifest["kind"], manifest["metadata"]["name"]


def _pointer(parts: list[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def json_patch(old: Any, new: Any, path: list[str] | None = None) -> list[dict[str, Any]]:
    """The RFC 6902 operations that turn ``old`` into ``new``: mappings and lists of equal
    length are compared member by member, anything else is replaced whole."""
    path = path or []
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = []
        for key in old:
            if key not in new:
                ops.append({"op": "remove", "path": _pointer([*path, key])})
        for key, value in new.items():
            if key not in old:
                ops.append({"op": "add", "path": _pointer([*path, key]), "value": value})
            else:
                ops.extend(json_patch(old[key], value, [*path, key]))
        return ops
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            op
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for op in json_patch(a, b, [*path, str(i)])
        ]
    return [{"op": "replace", "path": _pointer(path), "value": new}]


def _target(manifest: Manifest) -> dict[str, str]:
    group, _, version = manifest["apiVersion"].rpartition("/")
    target = {"version": version, "kind": manifest["kind"], "name": manifest["metadata"]["name"]}
    if group:
        target = {"group": group, **target}
    return target


def _delete_patch(manifest: Manifest) -> str:
    document = {
        "$patch": "delete",
        "apiVersion": manifest["apiVersion"],
        "kind": manifest["kind"],
        "metadata": {"name": manifest["metadata"]["name"]},
    }
    return yaml.safe_dump(document, sort_keys=False)


def _secret_values(manifests: list[Manifest]) -> dict[str, dict[str, str]]:
    return {
        m["metadata"]["name"]: dict(m.get("stringData") or {})
        for m in manifests
        if m["kind"] == "Secret"
    }


def _namespaces(manifests: list[Manifest]) -> set[str]:
    return {m["metadata"]["namespace"] for m in manifests if "namespace" in m["metadata"]}


def _moved_namespace(base: list[Manifest], environment: list[Manifest]) -> str | None:
    """The environment's namespace when it moves every object from one namespace to another."""
    before, after = _namespaces(base), _namespaces(environment)
    if len(before) == 1 and len(after) == 1 and before != after:
        return after.pop()
    return None


def _in_namespace(manifest: Manifest, namespace: str) -> Manifest:
    if "namespace" not in manifest["metadata"]:
        return manifest
    return {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}


def write_overlay(base: list[Manifest], environment: list[Manifest], directory: Path) -> list[Path]:
    """The overlay that turns the ``base`` objects into the ``environment`` ones."""
    directory.mkdir(parents=True, exist_ok=True)
    namespace = _moved_namespace(base, environment)
    if namespace is not None:  # the overlay's namespace field moves every namespaced object
        base = [_in_namespace(m, namespace) for m in base]
    before = {_key(m): m for m in base}
    after = {_key(m): m for m in environment}
    resources: list[str] = [f"../../{BASE}"]
    patches: list[dict[str, Any]] = []
    written: list[Path] = []
    for index, manifest in enumerate(environment):
        key = _key(manifest)
        kind, name = key
        secret = kind == "Secret"
        old = before.get(key)
        if old is not None and old["apiVersion"] == manifest["apiVersion"]:
            ops = json_patch(old, manifest)
            if not ops:
                continue
            path = directory / f"patch-{kind.lower()}-{name}.yaml"
            write_text(path, yaml.safe_dump(ops, sort_keys=False, width=100), secret=secret)
            patches.append({"path": path.name, "target": _target(old)})
        else:
            if old is not None:  # the same object at another API version: replace it
                patches.append({"patch": _delete_patch(old), "target": _target(old)})
            path = directory / f"{index:02d}-{kind.lower()}-{name}.yaml"
            write_text(path, to_yaml([manifest]), secret=secret)
            resources.append(path.name)
        written.append(path)
    for key, manifest in before.items():
        if key not in after:
            patches.append({"patch": _delete_patch(manifest), "target": _target(manifest)})
    fields: dict[str, Any] = {"resources": resources}
    if namespace is not None:
        fields = {"namespace": namespace, **fields}
    if patches:
        fields["patches"] = patches
    path = directory / "kustomization.yaml"
    write_text(path, kustomization(**fields))
    return [*written, path]


def write_tree(
    base: DeploymentSpec,
    environments: Mapping[str, DeploymentSpec],
    directory: str | Path,
    source: SecretSource | None = None,
) -> list[Path]:
    """Write ``base/`` and ``overlays/<name>/`` for every environment into ``directory``."""
    directory = Path(directory)
    source = source or SecretSource()
    base_manifests = render(base, source)
    keep = {**_secret_values(base_manifests), **{k: dict(v) for k, v in source.keep.items()}}
    shared = dataclasses.replace(source, keep=keep)
    written = write_directory(base_manifests, directory / BASE)
    for name, spec in environments.items():
        written += write_overlay(base_manifests, render(spec, shared), directory / OVERLAYS / name)
    return written
