"""``k8s-mlserve dockerfile``: write a Dockerfile and .dockerignore into a model project."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..manifests.dockerfile import DEFAULT_BASE_IMAGE, DOCKERIGNORE, render_dockerfile


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dockerfile",
        help="write a Dockerfile (and .dockerignore) for serving your model",
        description="Write the multi-stage Dockerfile `k8s-mlserve build` uses, to build by hand "
        "or in CI: k8s-mlserve from wheels/, your requirements.txt, library pins from "
        "constraints.txt, and with --bake-model the bundle in model/.",
    )
    parser.add_argument(
        "directory", type=Path, nargs="?", default=Path("."), help="the model project (default: .)"
    )
    parser.add_argument(
        "--base-image",
        default=DEFAULT_BASE_IMAGE,
        help=f"default base image (default: {DEFAULT_BASE_IMAGE})",
    )
    parser.add_argument(
        "--bake-model",
        action="store_true",
        help="copy the bundle in model/ into the image and serve it from there",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    if not directory.is_dir():
        raise ConfigurationError(f"{directory} is not a directory")
    files = {
        directory / "Dockerfile": render_dockerfile(
            base_image=args.base_image, bake_model=args.bake_model
        ),
        directory / ".dockerignore": DOCKERIGNORE,
    }
    existing = [str(p) for p in files if p.exists()]
    if existing and not args.force:
        raise ConfigurationError(f"{', '.join(existing)} already exist; pass --force to overwrite")
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0
