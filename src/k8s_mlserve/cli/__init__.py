"""The ``k8s-mlserve`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``; the module sets a
``handler`` default that takes the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import MLServeError

# Modules under k8s_mlserve.cli, each adding one or more sub-commands.
COMMAND_MODULES = (
    "train",
    "serve",
    "predict",
    "info",
    "demo",
    "config",
    "dockerfile",
    "build",
    "drift",
    "registry",
    "manifests",
    "rollout",
    "cluster",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k8s-mlserve",
        description="Serve scikit-learn and MLflow models on Kubernetes.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except MLServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
