"""Kubernetes manifests generated from one small deployment spec (see ``docs/manifests.md``).

``load_spec`` reads a spec file, ``for_cluster`` targets it at a cluster's version unless it pins
one, ``render`` builds its objects in a stable order, ``to_yaml`` and ``write_directory`` write
them out. Never imports the server.
"""

from __future__ import annotations

from .config import SecretSource, generated_secret_keys
from .render import Manifest, build_objects, render, to_yaml, write_directory
from .spec import DeploymentSpec, for_cluster
from .spec_loading import load_spec, parse_spec
from .versions import DEFAULT_TARGET, OLDEST_SUPPORTED, KubeVersion

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
    "load_spec",
    "parse_spec",
    "render",
    "to_yaml",
    "write_directory",
]
