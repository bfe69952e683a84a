"""The ``k8s-mlserve`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``; the module sets a
``handler`` default that takes the parsed arguments and returns the exit code. Only the module of
the command being run is imported (``COMMANDS``): ``serve`` never loads pandas or the Kubernetes
client for the sake of other commands. Without a known command (``--help``, a typo) all are.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import MLServeError
from ..extras import missing_extra

# Each command, in the order of --help, and the module under k8s_mlserve.cli that adds it.
COMMANDS = {
    "train": "train",
    "serve": "serve",
    "predict": "predict",
    "load": "load",
    "info": "info",
    "demo": "demo",
    "config": "config",
    "dockerfile": "dockerfile",
    "build": "build",
    "build-stack": "build",
    "drift": "drift",
    "registry": "registry",
    "manifests": "manifests",
    "compose": "compose",
    "rollout": "rollout",
    "apply": "cluster",
    "push": "cluster",
    "ui": "ui",
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the arguments, only with the sub-command they name when it is known."""
    parser = argparse.ArgumentParser(
        prog="k8s-mlserve",
        description="Serve scikit-learn and MLflow models on Kubernetes.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    command = next((a for a in argv or () if not a.startswith("-")), None)
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(subparsers)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """Give every sub-command without a description its one-line help as one (``CMD --help``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                sub = action.choices[choice.dest]
                if not sub.description and choice.help:
                    sub.description = choice.help[:1].upper() + choice.help[1:] + "."
                _describe(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    try:
        code: int = args.handler(args)
    except MLServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional dependency the command needs: name its extra
        missing = missing_extra(exc)
        if missing is None:
            raise
        print(f"error: k8s-mlserve {args.command}: {missing}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing left to flush at exit either
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
