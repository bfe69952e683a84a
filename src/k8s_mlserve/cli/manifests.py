"""``k8s-mlserve manifests SPEC``: render a deployment spec into Kubernetes manifests."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .spec_options import add_environment_option, load

if TYPE_CHECKING:
    from ..manifests.spec import DeploymentSpec


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "manifests",
        help="render Kubernetes manifests from a deployment spec (deploy.yaml)",
        description="Render every Kubernetes object of a deployment spec, as multi-document YAML "
        "on stdout (for kubectl apply -f -) or as one file per object plus a kustomization.yaml.",
    )
    parser.add_argument("spec", help="the deployment spec, e.g. examples/diabetes/deploy.yaml")
    add_environment_option(parser)
    parser.add_argument(
        "--output-dir", "-o", metavar="DIR", help="write one file per object into DIR instead"
    )
    parser.add_argument(
        "--format",
        choices=("yaml", "kustomize"),
        default="yaml",
        help="yaml: the objects (on stdout, or one file each with --output-dir); kustomize: a "
        "kustomize tree in --output-dir, DIR/base plus DIR/overlays/ENV for every environment "
        "(default: yaml)",
    )
    parser.add_argument(
        "--kubernetes-version",
        metavar="VERSION",
        help="target cluster version (overrides the spec's kubernetes_version), e.g. 1.20",
    )
    parser.add_argument(
        "--include-secrets",
        action="store_true",
        help="print the Secrets too (their values in clear text); by default they are left out "
        "of standard output: deploy with `k8s-mlserve apply`, which keeps generated values, or "
        "write them to files with --output-dir",
    )
    parser.add_argument(
        "--live",
        choices=("blue", "green"),
        help="blue-green only: render with this colour live (overrides strategy.live)",
    )
    parser.add_argument(
        "--rules-file",
        metavar="PATH",
        help="also write the alert rules of monitoring.alerts to PATH, as a Prometheus rules "
        "file (for a Prometheus without the Operator; see docs/monitoring.md)",
    )
    parser.add_argument(
        "--scrape-config-file",
        metavar="PATH",
        help="also write a Prometheus scrape_configs job for the API to PATH (for a Prometheus "
        "without the Operator; see docs/monitoring.md)",
    )
    parser.add_argument(
        "--dashboard-file",
        metavar="PATH",
        help="also write the Grafana dashboard of the API to PATH, as JSON to import",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..manifests import render, to_yaml, write_directory
    from ..manifests.caveats import caveats

    if args.format == "kustomize":
        return _write_tree(args)
    spec = _adjusted(load(args), args)
    manifests = render(spec)
    if args.rules_file is not None:
        _write_rules(spec, args.rules_file)
    if args.scrape_config_file is not None:
        from ..manifests.scrape_config import scrape_config_file

        _write_file(args.scrape_config_file, scrape_config_file(spec), "the scrape configuration")
    if args.dashboard_file is not None:
        from ..manifests.dashboard import dashboard_json

        _write_file(args.dashboard_file, dashboard_json(spec), "the Grafana dashboard")
    for caveat in caveats(spec):
        print(f"warning: {caveat}", file=sys.stderr)
    if args.output_dir is None:
        secrets = [m for m in manifests if m["kind"] == "Secret"]
        if secrets and not args.include_secrets:
            manifests = [m for m in manifests if m["kind"] != "Secret"]
            left_out = ", ".join(m["metadata"]["name"] for m in secrets)
            print(
                f"left out {len(secrets)} Secret(s) holding values ({left_out}): deploy with "
                "`k8s-mlserve apply`, which creates them once and keeps generated values, or "
                "add --include-secrets",
                file=sys.stderr,
            )
        sys.stdout.write(to_yaml(manifests))
        return 0
    paths = write_directory(manifests, args.output_dir)
    print(f"wrote {len(paths)} files to {args.output_dir}", file=sys.stderr)
    return 0


def _adjusted(spec: DeploymentSpec, args: argparse.Namespace) -> DeploymentSpec:
    """The spec with --kubernetes-version and --live applied."""
    from ..errors import ConfigurationError
    from ..manifests import KubeVersion
    from ..manifests.spec_strategy import BlueGreenStrategy

    if args.kubernetes_version is not None:
        try:
            target = KubeVersion.parse(args.kubernetes_version)
        except ValueError as exc:
            raise ConfigurationError(f"--kubernetes-version: {exc}") from exc
        spec = spec.model_copy(update={"kubernetes_version": target})
    if args.live is not None:
        if not isinstance(spec.strategy, BlueGreenStrategy):
            raise ConfigurationError(
                f"--live needs strategy blue-green; {args.spec} uses {spec.strategy.type}"
            )
        strategy = spec.strategy.model_copy(update={"live": args.live})
        spec = spec.model_copy(update={"strategy": strategy})
    return spec


def _write_tree(args: argparse.Namespace) -> int:
    from ..errors import ConfigurationError
    from ..manifests import load_environments
    from ..manifests.caveats import caveats
    from ..manifests.kustomize import write_tree

    if args.output_dir is None:
        raise ConfigurationError("--format kustomize writes a directory tree: add --output-dir DIR")
    if args.env is not None:
        raise ConfigurationError(
            "--format kustomize writes the base and every environment; leave out --env"
        )
    others = [
        f"--{n.replace('_', '-')}"
        for n in ("rules_file", "scrape_config_file", "dashboard_file")
        if getattr(args, n, None) is not None
    ]
    if others:
        raise ConfigurationError(
            f"--format kustomize: {', '.join(others)} go with a single render; run it again "
            "with --env NAME (or none for the base)"
        )
    base, environments = load_environments(args.spec)
    base = _adjusted(base, args)
    environments = {name: _adjusted(spec, args) for name, spec in environments.items()}
    if not environments:
        print(
            f"warning: {args.spec} declares no environments: the tree has only a base",
            file=sys.stderr,
        )
    for name, spec in {"base": base, **environments}.items():
        for caveat in caveats(spec):
            print(f"warning: {name}: {caveat}", file=sys.stderr)
    paths = write_tree(base, environments, args.output_dir)
    listed = ", ".join(f"overlays/{name}" for name in environments) or "no overlays"
    print(
        f"wrote {len(paths)} files to {args.output_dir}: base, {listed} "
        f"(kubectl kustomize {args.output_dir}/overlays/NAME)",
        file=sys.stderr,
    )
    return 0


def _write_rules(spec: DeploymentSpec, path: str) -> None:
    from pathlib import Path

    from ..errors import ConfigurationError
    from ..manifests.alerts import rules_file

    if not spec.monitoring.alerts.enabled:
        raise ConfigurationError(
            "--rules-file: monitoring.alerts.enabled is false; remove it to have alert rules"
        )
    Path(path).write_text(rules_file(spec), encoding="utf-8")
    print(f"wrote the alert rules to {path}", file=sys.stderr)


def _write_file(path: str, text: str, what: str) -> None:
    from pathlib import Path

    Path(path).write_text(text, encoding="utf-8")
    print(f"wrote {what} to {path}", file=sys.stderr)
