"""``k8s-mlserve registry list|promote``: the versions and aliases of a model in MLflow."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..errors import ConfigurationError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "registry",
        help="list the versions of a model in MLflow, or move an alias (champion, ...)",
        description="Inspect and promote model versions in an MLflow model registry.",
    )
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        help="MLflow tracking server (default: $MLFLOW_TRACKING_URI)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="versions, newest first, with aliases and a metric")
    listing.add_argument("name", help="registered model name, e.g. diabetes-model")
    listing.add_argument("--metric", default="f1_score", help="metric column (default: f1_score)")
    listing.set_defaults(handler=run_list)

    promoting = actions.add_parser("promote", help="point an alias at a version")
    promoting.add_argument("name", help="registered model name, e.g. diabetes-model")
    promoting.add_argument(
        "version", help="version number, e.g. 3, or latest for the newest registered version"
    )
    promoting.add_argument("--alias", default="champion", help="alias to move (default: champion)")
    promoting.set_defaults(handler=run_promote)


def run_list(args: argparse.Namespace) -> int:
    from ..training.tracking import list_versions

    versions = list_versions(args.name, tracking_uri=_tracking_uri(args), metric=args.metric)
    rows = [
        (
            v.version,
            ",".join(f"@{a}" for a in v.aliases) or "-",
            f"{v.score:.4f}" if v.score is not None else "-",
            v.created_at.strftime("%Y-%m-%d %H:%M:%S") if v.created_at else "-",
            v.run_id or "-",
        )
        for v in versions
    ]
    header = ("VERSION", "ALIASES", args.metric.upper(), "CREATED (UTC)", "RUN")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    sys.stdout.flush()
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from ..training.tracking import newest_version, promote

    uri = _tracking_uri(args)
    version = args.version
    if version == "latest":
        version = newest_version(args.name, tracking_uri=uri)
    previous = promote(args.name, version, alias=args.alias, tracking_uri=uri)
    number = version.removeprefix("v")
    was = f" (was version {previous})" if previous and previous != number else ""
    print(f"{args.name} version {number} is now @{args.alias}{was}")
    sys.stdout.flush()
    return 0


def _tracking_uri(args: argparse.Namespace) -> str:
    if not args.tracking_uri:
        raise ConfigurationError(
            "no MLflow tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI"
        )
    uri: str = args.tracking_uri
    return uri
