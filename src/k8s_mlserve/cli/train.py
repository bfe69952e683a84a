"""``k8s-mlserve train EXAMPLE``: train an example model and publish it as a new version."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..training.examples import EXAMPLES


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train an example model (iris, diabetes, churn) into a registry directory",
        description="Train an example on real data and publish it as a new version of a registry "
        "directory (the layout the server reads from a PersistentVolume).",
    )
    parser.add_argument("example", choices=EXAMPLES, help="the example to train")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        default=None,
        help="registry directory (default: ./models/<example>)",
    )
    parser.add_argument(
        "--data", help="CSV file, directory holding it, or URL (default: the canonical URL)"
    )
    parser.add_argument("--version", help="version name (default: the next vN)")
    parser.add_argument(
        "--algorithm", default="rf", help="iris only: rf, svm or logreg (default: rf)"
    )
    parser.add_argument(
        "--no-current", action="store_true", help="publish without making it current"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    mlflow = parser.add_argument_group(
        "MLflow", "log the run, register a version and set its alias (see docs/mlflow.md)"
    )
    mlflow.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        help="MLflow tracking server (default: $MLFLOW_TRACKING_URI; '' to skip MLflow)",
    )
    mlflow.add_argument(
        "--metric",
        default="f1_score",
        help="metric a new version must beat the champion on (default: f1_score)",
    )
    mlflow.add_argument(
        "--force-champion",
        action="store_true",
        help="make the new version champion whatever its metrics",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..training.runner import train_example

    output = args.output or Path("models") / args.example
    result = train_example(
        args.example,
        output=output,
        data=args.data,
        version=args.version,
        algorithm=args.algorithm,
        make_current=not args.no_current,
        quiet=args.quiet,
        tracking_uri=args.tracking_uri or None,
        metric=args.metric,
        force_champion=args.force_champion,
    )
    print(f"published {result.name} {result.version} to {result.path}")
    if result.tracked is not None:
        tracked = result.tracked
        print(
            f"registered {tracked.model_name} version {tracked.version} in MLflow "
            f"(run {tracked.run_id}) as @{tracked.alias}: {tracked.reason}"
        )
    for key, value in result.metrics.items():
        print(f"  {key:<10} {value:.4f}")
    sys.stdout.flush()
    return 0
