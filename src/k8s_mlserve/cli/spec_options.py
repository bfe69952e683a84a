"""The ``--env`` option of every command that reads a deployment spec, and reading the spec."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..manifests.spec import DeploymentSpec


def add_environment_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        metavar="NAME",
        help="one of the spec's environments (its overrides laid over the base); default: the "
        "base spec",
    )


def load(args: argparse.Namespace, path_attribute: str = "spec") -> DeploymentSpec:
    """The spec named by ``args.<path_attribute>``, for ``args.env`` when given."""
    from ..manifests import load_spec

    return load_spec(getattr(args, path_attribute), getattr(args, "env", None))
