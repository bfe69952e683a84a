"""Kubernetes manifests generated from one small deployment spec (see ``docs/manifests.md``).

``load_spec`` reads a spec file, ``for_cluster`` targets it at a cluster's version unless it pins
one, ``render`` builds its objects in a stable order, ``to_yaml`` and ``write_directory`` write
them out. Never imports the server. The names below are imported on first use, so that the
constants of ``contract`` and the text of ``dockerfile`` come without the ``kubernetes`` client's
models, which only rendering needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .config import SecretSource, generated_secret_keys
    from .rendering import Manifest, build_objects, render, to_yaml, write_directory
    from .spec import DeploymentSpec, for_cluster
    from .spec_loading import load_environments, load_spec, parse_environments, parse_spec
    from .versions import DEFAULT_TARGET, OLDEST_SUPPORTED, KubeVersion

_MODULES = {
    "SecretSource": "config",
    "generated_secret_keys": "config",
    "Manifest": "rendering",
    "build_objects": "rendering",
    "render": "rendering",
    "to_yaml": "rendering",
    "write_directory": "rendering",
    "DeploymentSpec": "spec",
    "for_cluster": "spec",
    "load_environments": "spec_loading",
    "load_spec": "spec_loading",
    "parse_environments": "spec_loading",
    "parse_spec": "spec_loading",
    "DEFAULT_TARGET": "versions",
    "OLDEST_SUPPORTED": "versions",
    "KubeVersion": "versions",
}

__all__ = [
    "DEFAULT_TARGET",
    "OLDEST_SUPPORTED",
    "DeploymentSpec",
    "KubeVersion",
    "Manifest",
    "SecretSource",
    "build_objects",
    "for_cluster",
    "generated_secret_keys",
    "load_environments",
    "load_spec",
    "parse_environments",
    "parse_spec",
    "render",
    "to_yaml",
    "write_directory",
]

__getattr__ = lazy_names(__name__, _MODULES)
