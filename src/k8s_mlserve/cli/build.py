"""``k8s-mlserve build`` and ``build-stack``: container images for a model project and for the
generated MLflow stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..manifests.dockerfile import DEFAULT_BASE_IMAGE


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "build",
        help="build a model project's image (k8s-mlserve from a wheel, your requirements, the "
        "bundle's library pins, optionally the model itself)",
        description="Build the serving image of a model project with Docker. k8s-mlserve is "
        "installed from a wheel (--wheel, the project's wheels/ or dist/, or built from the "
        "source tree k8s-mlserve runs from): no package index is needed for it. The libraries "
        "the bundle was trained with (scikit-learn, numpy, pandas, joblib) are pinned to the "
        "versions recorded in its metadata.",
    )
    parser.add_argument(
        "project", type=Path, nargs="?", default=Path("."), help="the model project (default: .)"
    )
    parser.add_argument("--tag", "-t", required=True, help="image tag, e.g. my-model-api:1.0.0")
    parser.add_argument(
        "--bundle",
        type=Path,
        help="bake this bundle (or registry) into the image at /opt/k8s-mlserve/model and pin "
        "its libraries (model.source: image in the spec)",
    )
    parser.add_argument(
        "--pins-from",
        type=Path,
        metavar="BUNDLE",
        help="pin the libraries recorded in this bundle without baking it in",
    )
    parser.add_argument(
        "--wheel",
        type=Path,
        help="a k8s-mlserve wheel, or a k8s-mlserve source tree to build one from",
    )
    parser.add_argument(
        "--requirements",
        type=Path,
        help="your model's requirements file (default: PROJECT/requirements.txt if present)",
    )
    parser.add_argument(
        "--extras",
        default="",
        help="k8s-mlserve extras to install, e.g. '[mlflow]' (default: none)",
    )
    parser.add_argument(
        "--base-image",
        help=f"base image with python3 and venv (default: {DEFAULT_BASE_IMAGE})",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print only the tag, not Docker's output"
    )
    parser.set_defaults(handler=run)

    stack: argparse.ArgumentParser = subparsers.add_parser(
        "build-stack",
        help="build the MLflow (with the PostgreSQL driver) and, optionally, PostgreSQL images "
        "the MLflow stack's manifests reference",
        description="Build the images of the generated MLflow stack from the Dockerfiles shipped "
        "with k8s-mlserve: the MLflow tracking server the manifests reference by default, and "
        "with --postgres a PostgreSQL image for clusters that cannot pull postgres:16.",
    )
    stack.add_argument("--postgres", action="store_true", help="build the PostgreSQL image too")
    stack.add_argument("--mlflow-tag", help="tag of the MLflow image (default: the manifests')")
    stack.add_argument("--postgres-tag", help="tag of the PostgreSQL image")
    stack.add_argument("--base-image", help="base of the MLflow image (python3 and venv)")
    stack.add_argument(
        "--postgres-base-image", help="base of the PostgreSQL image (Debian; default bookworm)"
    )
    stack.add_argument("--quiet", "-q", action="store_true", help="print only the tags")
    stack.set_defaults(handler=run_stack)


def _progress(quiet: bool) -> Any:
    if quiet:
        return None
    return lambda line: print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..delivery.image import ImageRecipe, build_image
    from ..errors import ConfigurationError

    if not args.project.is_dir():
        raise ConfigurationError(f"{args.project} is not a directory")
    recipe = ImageRecipe(
        tag=args.tag,
        project=args.project,
        wheel=args.wheel,
        requirements=args.requirements,
        bundle=args.bundle,
        pins_from=args.pins_from,
        base_image=args.base_image,
        extras=args.extras,
    )
    tag = build_image(recipe, progress=_progress(args.quiet))
    print(tag)
    return 0


def run_stack(args: argparse.Namespace) -> int:
    from ..delivery.stack_images import build_stack_image

    progress = _progress(args.quiet)
    print(
        build_stack_image(
            "mlflow", tag=args.mlflow_tag, base_image=args.base_image, progress=progress
        )
    )
    if args.postgres:
        print(
            build_stack_image(
                "postgres",
                tag=args.postgres_tag,
                base_image=args.postgres_base_image,
                progress=progress,
            )
        )
    return 0
