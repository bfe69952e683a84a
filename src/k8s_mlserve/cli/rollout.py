"""``k8s-mlserve rollout``: switch, promote, abort and inspect a release on a live cluster."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .spec_options import add_environment_option, load

if TYPE_CHECKING:
    from ..release.rollout import Cluster

Connect = Callable[[argparse.Namespace], "Cluster"]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rollout",
        help="switch (blue-green), promote or abort (canary) a release on a live cluster",
        description="Change which version receives traffic, through the Kubernetes API. The "
        "deployment spec gives the object names and the namespace.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text in (
        ("switch", "blue-green: send traffic to the other colour (or --to COLOUR)"),
        ("promote", "canary: the stable Deployment takes the canary's version and replicas"),
        ("abort", "canary: scale the canary to 0 and give its replicas back to stable"),
        ("status", "show the live colour or the stable/canary split"),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument("spec", help="the deployment spec, e.g. examples/iris/deploy.yaml")
        add_environment_option(action)
        action.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG)")
        action.add_argument("--context", help="kubeconfig context (default: the current one)")
        if name == "switch":
            action.add_argument("--to", choices=("blue", "green"), help="colour to make live")
        if name in ("switch", "promote"):
            action.add_argument(
                "--force", action="store_true", help="do it even if the new pods are not ready"
            )
    parser.set_defaults(handler=run)


def _connect(args: argparse.Namespace) -> Cluster:
    from ..release.rollout import connect

    return connect(args.kubeconfig, args.context)


def run(args: argparse.Namespace, connect: Connect = _connect) -> int:
    """Carry out ``args.action``; ``connect`` gives the cluster (tests pass a fake one)."""
    from ..release import rollout

    spec = load(args)
    cluster = connect(args)
    if args.action == "status":
        print(rollout.status(cluster, spec))
        return 0
    if args.action == "switch":
        outcome = rollout.switch(cluster, spec, args.to, force=args.force)
    elif args.action == "promote":
        outcome = rollout.promote(cluster, spec, force=args.force)
    else:
        outcome = rollout.abort(cluster, spec)
    print(outcome.message)
    return 0
