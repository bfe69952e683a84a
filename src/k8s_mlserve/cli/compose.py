"""``k8s-mlserve compose SPEC``: a compose file for a local stack from a deployment spec."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .spec_options import add_environment_option, load

_DEFAULT_OUTPUT = "docker-compose.yml"
_SECRETS = "secrets"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "compose",
        help="write a compose file running a deployment spec locally (PostgreSQL, MLflow, the "
        "API, the page) with Docker's compose tool",
        description="Write a compose file for local development from a deployment spec: the "
        "containers the Kubernetes objects would run, with the same settings, volumes for the "
        "claims, health checks from the probes, and the Secrets as files in a directory next to "
        "it (generated once, kept on later runs). See docs/local.md.",
    )
    parser.add_argument("spec", help="the deployment spec, e.g. examples/diabetes/deploy.yaml")
    add_environment_option(parser)
    parser.add_argument(
        "--output",
        "-o",
        default=_DEFAULT_OUTPUT,
        metavar="PATH",
        help=f"the compose file to write, or - for standard output (default: {_DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--secrets-dir",
        type=Path,
        metavar="DIR",
        help=f"where the Secrets' files go (default: {_SECRETS}/ next to the compose file, or "
        "in the current directory with --output -)",
    )
    parser.add_argument(
        "--address",
        default="127.0.0.1",
        help="host address the published ports listen on (default: 127.0.0.1)",
    )
    for name, port, what in (
        ("api", 8000, "the API"),
        ("mlflow", 5000, "MLflow, where a client on the host trains into"),
        ("ui", 8501, "the web page"),
    ):
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=port,
            metavar="PORT",
            help=f"host port of {what}; 0 picks a free one, -1 publishes none (default: {port})",
        )
    parser.add_argument(
        "--postgres-port",
        type=int,
        metavar="PORT",
        help="host port of PostgreSQL (default: not published)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..manifests.compose import Ports, compose_stack, to_compose_yaml

    spec = load(args)
    to_stdout = args.output == "-"
    compose_dir = Path.cwd() if to_stdout else Path(args.output).resolve().parent
    secrets_dir = args.secrets_dir or compose_dir / _SECRETS
    ports = Ports(
        address=args.address,
        api=_port(args.api_port),
        mlflow=_port(args.mlflow_port),
        ui=_port(args.ui_port),
        postgres=args.postgres_port,
    )
    document = compose_stack(spec, secrets_dir=secrets_dir, compose_dir=compose_dir, ports=ports)
    text = to_compose_yaml(document, source=args.spec)
    if to_stdout:
        sys.stdout.write(text)
    else:
        compose_dir.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}; secrets in {secrets_dir}", file=sys.stderr)
    return 0


def _port(value: int) -> int | None:
    return None if value < 0 else value
