"""``k8s-mlserve rollout``: switch, promote, abort, analyze and inspect a release on a live
cluster."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .spec_options import add_environment_option, load

if TYPE_CHECKING:
    from ..manifests.spec import DeploymentSpec
    from ..release.analysis import Kind
    from ..release.gates import MoveAlias
    from ..release.rollout import Cluster

Connect = Callable[[argparse.Namespace], "Cluster"]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rollout",
        help="switch (blue-green), promote or abort (canary), analyze a release on a live cluster",
        description="Change which version receives traffic, through the Kubernetes API. The "
        "deployment spec gives the object names and the namespace.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text in (
        ("switch", "blue-green: send traffic to the other colour (or --to COLOUR)"),
        ("promote", "canary: the stable Deployment takes the canary's version and replicas"),
        ("abort", "canary: scale the canary to 0 and give its replicas back to stable"),
        ("status", "show the live colour or the stable/canary split"),
        (
            "analyze",
            "judge a shadow challenger or a canary by the pods' numbers (exit 0 pass, "
            "1 fail, 2 not enough data)",
        ),
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
        if name in ("promote", "abort", "analyze"):
            _add_analysis_options(action, name)
    parser.set_defaults(handler=run)


def _add_analysis_options(action: argparse.ArgumentParser, name: str) -> None:
    if name == "promote":
        action.add_argument(
            "--if-healthy",
            action="store_true",
            help="run the analysis first and promote only on a passing verdict: a shadow "
            "challenger by moving model.alias to its version in MLflow, else the canary",
        )
        action.add_argument(
            "--tracking-uri",
            default=os.environ.get("MLFLOW_TRACKING_URI"),
            help="MLflow tracking server, to move the alias of a shadow challenger (default: "
            "$MLFLOW_TRACKING_URI, else a port-forward to the spec's tracking server)",
        )
    if name == "abort":
        action.add_argument(
            "--if-unhealthy",
            action="store_true",
            help="run the canary analysis first and abort only on a failing verdict",
        )
    if name == "analyze":
        action.add_argument(
            "--kind",
            choices=("shadow", "canary"),
            help="what to judge (default: shadow when the spec has a shadow section, else canary)",
        )
    action.add_argument(
        "--token-file",
        type=Path,
        help="file holding the monitoring token (default: read from the API Secret)",
    )


def _connect(args: argparse.Namespace) -> Cluster:
    from ..release.rollout import connect

    return connect(args.kubeconfig, args.context)


def _mlflow_alias_mover(args: argparse.Namespace, spec: DeploymentSpec) -> MoveAlias:
    """Moves an alias through the MLflow client, at ``--tracking-uri`` or through a
    port-forward to the spec's tracking server."""

    def move(name: str, version: str, alias: str) -> str | None:
        from ..errors import ConfigurationError
        from ..training.tracking import promote

        if args.tracking_uri:
            return promote(name, version, alias=alias, tracking_uri=args.tracking_uri)
        if spec.mlflow is None:
            raise ConfigurationError(
                "no MLflow tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI"
            )
        from ..kube.cluster import Cluster as Kubectl
        from ..manifests import contract, naming

        kubectl = Kubectl(
            kubeconfig=Path(args.kubeconfig) if args.kubeconfig else None, context=args.context
        )
        target = f"svc/{naming.names(spec).mlflow}"
        with kubectl.port_forward(
            target, contract.MLFLOW_PORT, namespace=spec.target_namespace
        ) as forward:
            return promote(name, version, alias=alias, tracking_uri=forward.url)

    return move


def _kind(args: argparse.Namespace) -> Kind | None:
    chosen = getattr(args, "kind", None)
    if chosen == "shadow":
        return "shadow"
    return "canary" if chosen == "canary" else None


def _token(args: argparse.Namespace) -> str | None:
    path: Path | None = getattr(args, "token_file", None)
    if path is None:
        return None
    from ..errors import ConfigurationError

    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"--token-file: cannot read {path}: {exc.strerror}") from exc
    if not token:
        raise ConfigurationError(f"--token-file: {path} is empty")
    return token


def run(
    args: argparse.Namespace, connect: Connect = _connect, move_alias: MoveAlias | None = None
) -> int:
    """Carry out ``args.action``; ``connect`` gives the cluster and ``move_alias`` moves an
    MLflow alias (tests pass fakes of both)."""
    from ..release import gates, rollout
    from ..release.live_metrics import analyze, default_kind

    spec = load(args)
    cluster = connect(args)
    if args.action == "status":
        print(rollout.status(cluster, spec))
        return 0
    gated = getattr(args, "if_healthy", False) or getattr(args, "if_unhealthy", False)
    if args.action == "analyze" or gated:
        kind: Kind = "canary" if args.action == "abort" else _kind(args) or default_kind(spec)
        verdict = analyze(cluster, spec, kind=kind, token=_token(args))
        print(verdict.table())
        if args.action == "analyze":
            return verdict.exit_code
        if args.action == "promote":
            mover = move_alias or _mlflow_alias_mover(args, spec)
            outcome = gates.promote_on(verdict, cluster, spec, move_alias=mover, force=args.force)
        else:
            outcome = gates.abort_on(verdict, cluster, spec)
        print(outcome.message)
        return verdict.exit_code
    if args.action == "switch":
        outcome = rollout.switch(cluster, spec, args.to, force=args.force)
    elif args.action == "promote":
        outcome = rollout.promote(cluster, spec, force=args.force)
    else:
        outcome = rollout.abort(cluster, spec)
    print(outcome.message)
    return 0
