"""``k8s-mlserve apply`` and ``push``: deliver a deployment spec and models to a cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .spec_options import add_environment_option, load


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig (default: kubectl's own)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument(
        "--kubectl", default="kubectl", help="the kubectl to run (default: on PATH)"
    )


def register(subparsers: Any) -> None:
    apply: argparse.ArgumentParser = subparsers.add_parser(
        "apply",
        help="render a spec for the cluster's Kubernetes version and apply it, keeping "
        "generated secrets",
        description="Render the deployment spec for the cluster kubectl reaches (its own "
        "Kubernetes version chooses the API versions) and apply it. Secret values the spec "
        "generates are read back from the live Secrets and reused, so applying again keeps the "
        "API keys and the PostgreSQL password. No secret value is printed.",
    )
    apply.add_argument("spec", type=Path, help="the deployment spec, e.g. deploy.yaml")
    apply.add_argument(
        "--dry-run", action="store_true", help="let the API server check everything, change nothing"
    )
    apply.add_argument(
        "--wait", action="store_true", help="wait for the training Job and every rollout"
    )
    apply.add_argument(
        "--timeout", type=float, default=600.0, help="seconds per wait with --wait (default 600)"
    )
    add_environment_option(apply)
    _cluster_options(apply)
    apply.set_defaults(handler=run_apply)

    push: argparse.ArgumentParser = subparsers.add_parser(
        "push",
        help="publish a local bundle into a deployment's models claim as a new version",
        description="Copy a bundle into the models claim of a deployment (through the Kubernetes "
        "API, with a short-lived pod of the deployment's image) and publish it atomically as a "
        "new registry version; the API pods follow the registry's current version and switch "
        "to it without a restart.",
    )
    push.add_argument(
        "bundle", type=Path, help="the bundle directory (metadata.json, model.joblib)"
    )
    push.add_argument("--spec", type=Path, required=True, help="the deployment spec")
    push.add_argument("--version", help="registry version (default: the bundle's own version)")
    push.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds for the pod and the copy (default: 300)",
    )
    add_environment_option(push)
    _cluster_options(push)
    push.set_defaults(handler=run_push)


def _cluster(args: argparse.Namespace) -> Any:
    from ..kube.cluster import Cluster

    return Cluster(kubeconfig=args.kubeconfig, kubectl_binary=args.kubectl, context=args.context)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_apply(args: argparse.Namespace) -> int:
    from ..delivery.apply import apply_spec
    from ..manifests.caveats import caveats

    cluster = _cluster(args)
    result = apply_spec(cluster, load(args), dry_run=args.dry_run, say=_say)
    sys.stdout.write(result.output)
    for caveat in caveats(result.spec):
        _say(f"warning: {caveat}")
    if result.kept or result.generated:
        _say(
            f"secrets: {result.kept} generated value(s) kept from the cluster, "
            f"{result.generated} new"
        )
    if args.wait and not args.dry_run:
        try:
            _wait(cluster, result.spec.target_namespace, result.manifests, args.timeout)
        except TimeoutError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


def _wait(cluster: Any, namespace: str, manifests: list[dict[str, Any]], timeout: float) -> None:
    """Wait for the training Job, then every rollout, StatefulSets first (``TimeoutError`` says
    what is late)."""
    for manifest in manifests:
        if manifest["kind"] == "Job":
            _say(f"waiting for Job {manifest['metadata']['name']}")
            cluster.wait_for_job(manifest["metadata"]["name"], namespace, timeout=timeout)
    for kind in ("StatefulSet", "Deployment"):  # PostgreSQL first: MLflow needs it
        for manifest in manifests:
            if manifest["kind"] == kind:
                _say(f"waiting for {kind} {manifest['metadata']['name']}")
                cluster.wait_for_rollout(
                    manifest["metadata"]["name"], namespace, kind=kind, timeout=timeout
                )


def run_push(args: argparse.Namespace) -> int:
    from ..delivery.push import push_bundle

    spec = load(args)
    _say(f"pushing {args.bundle} to {spec.target_namespace} (models claim)")
    pushed = push_bundle(
        _cluster(args), spec, args.bundle, version=args.version, timeout=args.timeout
    )
    print(
        f"published version {pushed.version} in {pushed.registry} on claim {pushed.claim} "
        f"(namespace {pushed.namespace}); the API pods switch to it at their next poll"
    )
    return 0
