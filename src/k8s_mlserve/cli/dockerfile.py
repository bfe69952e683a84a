"""``k8s-mlserve dockerfile``: write a Dockerfile and .dockerignore into a model project."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..manifests.dockerfile import DEFAULT_BASE_IMAGE, DOCKERIGNORE, render_dockerfile


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dockerfile", help="write a Dockerfile (and .dockerignore) for serving your model"
    )
    parser.add_argument("directory", type=Path, nargs="?", default=Path("."))
    parser.add_argument("--base-image", default=DEFAULT_BASE_IMAGE)
    parser.add_argument(
        "--from-source",
        action="store_true",
        help="install the package in the directory instead of k8s-mlserve from the index",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    if not directory.is_dir():
        raise ConfigurationError(f"{directory} is not a directory")
    files = {
        directory / "Dockerfile": render_dockerfile(
            "source" if args.from_source else "pypi", base_image=args.base_image
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
