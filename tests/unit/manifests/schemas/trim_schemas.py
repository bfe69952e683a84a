"""Copy the strict JSON schemas of the kinds k8s-mlserve renders, trimmed, from a schema tree.

Usage: ``python trim_schemas.py SOURCE_DIR DEST_DIR`` where SOURCE_DIR is a ``vX.Y.Z-local-strict``
directory of a ``kubernetes-validate`` release (for 1.20: the 1.24.x releases ship it). Only the
definitions reachable from the listed kinds are kept, and descriptions are dropped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

KIND_FILES = (
    "configmap-v1.json",
    "cronjob-batch-v1beta1.json",
    "deployment-apps-v1.json",
    "horizontalpodautoscaler-autoscaling-v2beta2.json",
    "ingress-networking-v1.json",
    "job-batch-v1.json",
    "namespace-v1.json",
    "networkpolicy-networking-v1.json",
    "persistentvolumeclaim-v1.json",
    "poddisruptionbudget-policy-v1beta1.json",
    "role-rbac-v1.json",
    "rolebinding-rbac-v1.json",
    "secret-v1.json",
    "service-v1.json",
    "serviceaccount-v1.json",
    "statefulset-apps-v1.json",
)
PREFIX = "#/definitions/"


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.split("#/definitions/", 1)[1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def main(source: Path, dest: Path) -> None:
    definitions = json.loads((source / "_definitions.json").read_text())["definitions"]
    dest.mkdir(parents=True, exist_ok=True)
    pending: set[str] = set()
    for name in KIND_FILES:
        kind_schema = _strip(json.loads((source / name).read_text()))
        (dest / name).write_text(json.dumps(kind_schema, indent=1, sort_keys=True) + "\n")
        pending |= _refs(kind_schema)
    kept: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        kept[name] = _strip(definitions[name])
        pending |= _refs(kept[name]) - kept.keys()
    out = {"definitions": dict(sorted(kept.items()))}
    (dest / "_definitions.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
