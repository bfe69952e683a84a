"""``k8s-mlserve info DIR``: what a bundle or registry contains."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model.compiled import CompiledModel


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "info", help="describe a bundle or registry directory (without unpickling the model)"
    )
    parser.add_argument(
        "path", type=Path, help="a bundle, or a registry directory (its current version)"
    )
    parser.set_defaults(handler=run)


def _compiled(compiled: CompiledModel | None) -> str:
    if compiled is None:
        return "no (written before compilation, or with onnx=False)"
    if not compiled.usable:
        return f"no: {compiled.reason}"
    parity = compiled.parity
    checked = (
        f"; parity on {parity.rows} rows: {parity.label_mismatches} labels differ, max |Δ| "
        f"{parity.max_abs_diff:.2g} (tolerance {parity.tolerance:g})"
        if parity is not None
        else ""
    )
    return f"{compiled.file} ({compiled.inputs} inputs{checked})"


def describe(path: Path) -> str:
    """A human-readable description of the bundle (or the registry's current bundle)."""
    from ..model.bundle import METRICS_FILE, REFERENCE_FILE, read_metadata
    from ..model.registry import BundleRegistry, resolve_bundle_path
    from ..model.schema import CategoricalFeature

    lines: list[str] = []
    if BundleRegistry.is_registry(path):
        registry = BundleRegistry(path)
        current = registry.current_version()
        listed = ", ".join(v + (" (current)" if v == current else "") for v in registry.versions())
        lines.append(f"registry {path}: versions {listed}")
    bundle_path = resolve_bundle_path(path)
    meta = read_metadata(bundle_path)
    lines += [
        f"bundle      {bundle_path}",
        f"model       {meta.name} version {meta.version}",
        f"class       {meta.model_class}" + (f" ({meta.algorithm})" if meta.algorithm else ""),
        f"created     {meta.created_at.isoformat()}",
        f"rows        {meta.training_rows} training rows",
        f"sha256      {meta.sha256}",
        f"classes     {meta.classes}",
        "libraries   " + ", ".join(f"{k} {v}" for k, v in meta.library_versions.items()),
    ]
    if meta.mlflow_run_id:
        lines.append(f"mlflow run  {meta.mlflow_run_id}")
    lines.append(f"drift ref   {'yes' if (bundle_path / REFERENCE_FILE).is_file() else 'no'}")
    lines.append(f"compiled    {_compiled(meta.compiled)}")
    lines.append("features:")
    for feature in meta.input_schema.features:
        if isinstance(feature, CategoricalFeature):
            detail = (
                "categorical: "
                + ", ".join(feature.levels[:8])
                + (" ..." if len(feature.levels) > 8 else "")
            )
        else:
            detail = (
                f"{feature.dtype} {feature.minimum:g}..{feature.maximum:g}"
                if feature.minimum is not None and feature.maximum is not None
                else feature.dtype
            )
        lines.append(f"  {feature.name:<26} {detail}" + (" (nullable)" if feature.nullable else ""))
    metrics_path = bundle_path / METRICS_FILE
    if metrics_path.is_file():
        import json

        lines.append("metrics:")
        for key, value in json.loads(metrics_path.read_text()).items():
            lines.append(f"  {key:<26} {value}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    print(describe(args.path))
    return 0
