"""A k8s-mlserve deployment on a real cluster, set up and torn down for end-to-end tests.

``StackDeployer.deploy`` takes an example's ``examples/<name>/deploy.yaml`` (or any spec file or
mapping) and:

1. renders it for the cluster's Kubernetes version, with the freshly built image and a fresh,
   uniquely named namespace (fixed node ports are dropped so that stacks never collide);
2. creates the namespace and applies the configuration, Secrets, claims and Services;
3. copies what pods cannot download into the models claim with a short-lived pod: the example's
   dataset (pods have no network access to fetch it; ``training.data`` is pointed at the copy) or a
   model registry given with ``model=`` for a spec without a training Job; a single bundle given
   with ``model=`` is published the way users do it, with ``k8s-mlserve push``;
4. starts the MLflow stack (the PostgreSQL StatefulSet and the MLflow Deployment) and waits for
   each rollout, then the training Job and waits for it to complete, then the API Deployments
   and waits for each rollout;
5. reads the API key and the monitoring token back from the Secret, and port-forwards the API
   Service to a local port.

On leaving the context the port-forward stops and the namespace is deleted unless it is kept.
Every wait that times out says what it waited for and shows the namespace's events and pod logs.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from ..kube.claims import copy_to_claim
from ..kube.cluster import Cluster
from ..kube.portforward import PortForward
from ..kube.waiting import wait_for
from ..manifests import DeploymentSpec, render
from ..manifests.contract import API_KEYS_FILE, MONITORING_TOKEN_FILE
from ..manifests.environments import select
from ..model.bundle import is_bundle
from .loader import ImageLoader
from .specs import (
    DATASETS_DIR,
    StackError,
    api_service,
    component,
    dataset_path,
    deep_merge,
    fresh_namespace,
    models_claim,
    read_spec_data,
    service_port,
    split_image,
    stack_spec,
)

log = logging.getLogger(__name__)

STACK_LABEL = "k8s-mlserve.io/stack"
_WORKLOADS = ("Job", "CronJob", "Deployment", "StatefulSet")


@dataclass
class DeployedStack:
    """A deployed stack: ``url`` (port-forwarded API) and ``client``, ``api_key`` (``headers()``),
    ``monitoring_token`` (``monitoring_headers()``), ``namespace``, the validated ``spec`` and the
    applied ``manifests``."""

    name: str
    namespace: str
    spec: DeploymentSpec
    manifests: list[dict[str, Any]]
    cluster: Cluster
    forward: PortForward
    api_key: str | None
    monitoring_token: str | None
    source: str | Path | Mapping[str, Any] = field(repr=False, default="")
    overrides: Mapping[str, Any] = field(repr=False, default_factory=dict)
    image: str | None = field(repr=False, default=None)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30.0)

    @property
    def url(self) -> str:
        return self.forward.url

    def headers(self) -> dict[str, str]:
        """The API key header, for ``/predict`` and the admin routes."""
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def monitoring_headers(self) -> dict[str, str]:
        """The monitoring token header, for ``/metrics``."""
        return {"Authorization": f"Bearer {self.monitoring_token}"} if self.monitoring_token else {}

    def kubectl(self, *args: str, **kwargs: Any) -> str:
        """kubectl in this stack's namespace."""
        return self.cluster.kubectl(*args, namespace=self.namespace, **kwargs)

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """The applied manifests of one kind."""
        return [m for m in self.manifests if m["kind"] == kind]

    def deployments(self, of: str | None = "api") -> list[str]:
        """Names of the applied Deployments of one component (the API by default), or all."""
        return [
            m["metadata"]["name"]
            for m in self.objects("Deployment")
            if of is None or component(m) == of
        ]

    def wait_for_rollouts(self, timeout: float = 600.0) -> None:
        """Wait for every StatefulSet (PostgreSQL), then every Deployment, to roll out."""
        for m in self.objects("StatefulSet") + self.objects("Deployment"):
            self.cluster.wait_for_rollout(
                m["metadata"]["name"], self.namespace, kind=m["kind"], timeout=timeout
            )

    def diagnostics(self) -> str:
        """Pods, events and logs of the namespace."""
        return self.cluster.diagnostics(self.namespace)

    def reconnect(self, timeout: float = 60.0) -> None:
        """Port-forward again, on the same local port (after the pod behind it went away)."""
        self.forward.restart(timeout=timeout)

    def write_spec(self, path: Path) -> Path:
        """Write the spec as deployed (namespace, image and overrides included) to ``path`` as
        YAML, for the ``k8s-mlserve`` commands a user would run on this stack; returns ``path``."""
        data = self.spec.model_dump(mode="json", exclude_unset=True, by_alias=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    def push(self, bundle: Path, *, version: str | None = None) -> str:
        """Publish ``bundle`` into the models claim as a new version (``k8s-mlserve push``);
        returns the version. The API pods switch to it at their next poll."""
        from ..delivery.push import push_bundle

        return push_bundle(self.cluster, self.spec, bundle, version=version).version

    def reapply(self) -> list[dict[str, Any]]:
        """Render the spec again and apply every object, Secrets included, the way
        ``k8s-mlserve apply`` does (generated secret values are read back and kept)."""
        from ..delivery.apply import apply_spec

        applied = apply_spec(self.cluster, self.spec)
        self.manifests = applied.manifests
        return applied.manifests

    @contextmanager
    def port_forward(self, service: str, port: int) -> Iterator[PortForward]:
        """Forward a local port to ``svc/<service>`` of this stack (e.g. its MLflow server)."""
        with self.cluster.port_forward(f"svc/{service}", port, namespace=self.namespace) as fwd:
            yield fwd

    def close(self) -> None:
        self.client.close()
        self.forward.stop()


class StackDeployer:
    """Deploys stacks into fresh namespaces of ``cluster`` with ``image`` (built and loaded)."""

    def __init__(
        self,
        cluster: Cluster,
        image: str,
        *,
        loader: ImageLoader | None = None,
        examples_dir: Path | None = None,
        data_dir: Path | None = None,
        keep_namespace: bool = False,
        timeout: float = 600.0,
        namespace_prefix: str = "mlserve-test",
        stack_images: Callable[[], tuple[str, str]] | None = None,
    ) -> None:
        self.cluster = cluster
        self.image = image
        self.loader = loader
        self.examples_dir = examples_dir
        self.data_dir = data_dir
        self.keep_namespace = keep_namespace
        self.timeout = timeout
        self.prefix = namespace_prefix
        self.stack_images = stack_images
        self.live: list[DeployedStack] = []
        self.kept: list[str] = []

    # Spec ---------------------------------------------------------------------------------------

    def build_spec(
        self,
        source: str | Path | Mapping[str, Any],
        *,
        overrides: Mapping[str, Any] | None = None,
        namespace: str | None = None,
        image: str | None = None,
        environment: str | None = None,
    ) -> DeploymentSpec:
        """The spec as deployed (see ``specs.stack_spec``): an example name, a spec file or a
        mapping, for one of its ``environments`` if named, adapted to this cluster and image, in
        ``namespace`` or a fresh one."""
        data, base_dir = read_spec_data(source, self.examples_dir)
        data = select(data, environment, source=str(data.get("name", "stack")))
        if data.get("mlflow") is not None and self.stack_images is not None:
            mlflow_image, postgres_image = self.stack_images()
            images = {"mlflow": {"image": mlflow_image, "postgres": {"image": postgres_image}}}
            data = deep_merge(data, images)
        return stack_spec(
            data,
            version=self.cluster.server_version(),
            image=image or self.image,
            namespace=namespace or fresh_namespace(str(data.get("name", "stack")), self.prefix),
            overrides=overrides,
            base_dir=base_dir,
        )

    # Images -------------------------------------------------------------------------------------

    def tag_image(self, tag: str) -> str:
        """Tag the stack image as ``repository:tag`` too and load it: a second "version" for
        rollout tests. Returns the new reference."""
        repository, _ = split_image(self.image)
        reference = f"{repository}:{tag}"
        subprocess.run(
            ["docker", "tag", self.image, reference], capture_output=True, check=True, timeout=60
        )
        if self.loader is not None:
            self.loader.load(reference)
        return reference

    def bake(self, bundle: Path, tag: str | None = None) -> str:
        """The stack image with ``bundle`` baked in at ``/opt/k8s-mlserve/model`` (where
        ``k8s-mlserve build --bundle`` puts it), built on top of it and loaded; returns the
        reference (for ``deploy(..., image=...)``)."""
        from ..delivery.docker import docker_build
        from ..delivery.image import copy_readable
        from ..manifests.contract import BAKED_MODEL_DIR
        from ..model.bundle import read_metadata
        from ..model.registry import resolve_bundle_path

        metadata = read_metadata(resolve_bundle_path(bundle))
        repository, _ = split_image(self.image)
        reference = f"{repository}:{tag or f'baked-{metadata.sha256[:12]}'}"
        with tempfile.TemporaryDirectory(prefix="mlserve-bake-") as tmp:
            context = Path(tmp)
            copy_readable(bundle, context / "model")
            (context / "Dockerfile").write_text(
                f"FROM {self.image}\nCOPY model/ {BAKED_MODEL_DIR}/\n"
                f"ENV MLSERVE_MODEL__PATH={BAKED_MODEL_DIR}\n"
            )
            docker_build(context, reference)
        if self.loader is not None:
            self.loader.load(reference)
        return reference

    # Deploying ----------------------------------------------------------------------------------

    @contextmanager
    def deploy(
        self,
        source: str | Path | Mapping[str, Any],
        *,
        overrides: Mapping[str, Any] | None = None,
        model: Path | None = None,
        data_dir: Path | None = None,
        keep_namespace: bool | None = None,
        timeout: float | None = None,
        image: str | None = None,
        environment: str | None = None,
    ) -> Iterator[DeployedStack]:
        """Deploy, yield the running stack, then clean up (see the module docstring). ``image``
        replaces the stack image (e.g. one from ``bake``); ``environment`` deploys one of the
        spec's environments (the test's ``overrides`` still come last)."""
        spec = self.build_spec(source, overrides=overrides, image=image, environment=environment)
        keep = self.keep_namespace if keep_namespace is None else keep_namespace
        manifests = render(spec)
        namespace = spec.target_namespace
        pushed = model if model is not None and is_bundle(model) else None
        files = self.files_to_copy(spec, None if pushed else model, data_dir or self.data_dir)
        self.cluster.create_namespace(namespace, labels={STACK_LABEL: spec.name})
        stack: DeployedStack | None = None
        try:
            stack = self._bring_up(spec, manifests, files, timeout or self.timeout, pushed)
            stack.source, stack.overrides, stack.image = source, dict(overrides or {}), image
            self.live.append(stack)
            yield stack
        finally:
            if stack is not None:
                stack.close()
                if stack in self.live:
                    self.live.remove(stack)
            if keep:
                log.warning("keeping namespace %s (--keep-namespace)", namespace)
                self.kept.append(namespace)
            else:
                self.cluster.delete_namespace(namespace)

    def update(
        self,
        stack: DeployedStack,
        overrides: Mapping[str, Any],
        *,
        timeout: float | None = None,
    ) -> DeployedStack:
        """Re-render the stack with more ``overrides`` and apply the change in place (a new image
        tag, strategy or replica count), then wait for every rollout and a new training Job.

        The Secret is left as it is, so the API key stays valid; a Job whose name is unchanged is
        not re-applied (its pod template cannot change).
        """
        merged = deep_merge(stack.overrides, overrides)
        spec = self.build_spec(
            stack.source, overrides=merged, namespace=stack.namespace, image=stack.image
        )
        manifests = render(spec)
        old_jobs = {m["metadata"]["name"] for m in stack.objects("Job")}
        changed = [
            m
            for m in manifests
            if m["kind"] != "Secret"
            and not (m["kind"] == "Job" and m["metadata"]["name"] in old_jobs)
        ]
        self.cluster.apply(changed, namespace=stack.namespace)
        limit = timeout or self.timeout
        for m in changed:
            if m["kind"] == "Job":
                self.cluster.wait_for_job(m["metadata"]["name"], stack.namespace, timeout=limit)
        stack.spec, stack.manifests, stack.overrides = spec, manifests, merged
        stack.wait_for_rollouts(limit)
        stack.reconnect()
        return stack

    def files_to_copy(
        self, spec: DeploymentSpec, model: Path | None, data_dir: Path | None
    ) -> dict[str, Path]:
        """Archive name (under /models) -> local path, for what the pods need but cannot fetch."""
        files: dict[str, Path] = {}
        training = spec.training
        prefix = dataset_path("")
        if training is not None and training.data and training.data.startswith(prefix):
            filename = training.data.removeprefix(prefix)
            local = data_dir / filename if data_dir is not None else None
            if local is None or not local.is_file():
                raise StackError(
                    f"the training Job of {spec.name} reads {filename}, which pods cannot "
                    f"download; put it in a directory named by K8S_MLSERVE_DATA_DIR (or "
                    f"--mlserve-data-dir){f' (not found in {data_dir})' if data_dir else ''}"
                )
            files[f"{DATASETS_DIR}/{filename}"] = local
        if model is not None:
            if not model.is_dir():
                raise StackError(f"model directory {model} does not exist")
            files[spec.model_name] = model
        return files

    def _bring_up(
        self,
        spec: DeploymentSpec,
        manifests: list[dict[str, Any]],
        files: dict[str, Path],
        timeout: float,
        pushed: Path | None = None,
    ) -> DeployedStack:
        namespace = spec.target_namespace
        rest = [m for m in manifests if m["kind"] not in _WORKLOADS]
        deployments = [m for m in manifests if m["kind"] == "Deployment"]
        api = [m for m in deployments if component(m) == "api"]
        statefulsets = [m for m in manifests if m["kind"] == "StatefulSet"]
        others = statefulsets + [m for m in deployments if component(m) != "api"]
        jobs = [m for m in manifests if m["kind"] == "Job"]
        cron = [m for m in manifests if m["kind"] == "CronJob"]
        self.cluster.apply(rest, namespace=namespace)
        if files:
            copy_to_claim(
                self.cluster,
                namespace,
                files,
                image=spec.image.reference(),
                pull_policy=spec.image.pull_policy,
                claim=models_claim(manifests),
                timeout=timeout,
            )
        if pushed is not None:
            from ..delivery.push import push_bundle

            push_bundle(self.cluster, spec, pushed, timeout=timeout)
        for group in (others, jobs):
            if not group:
                continue
            self.cluster.apply(group, namespace=namespace)
            for m in group:
                if m["kind"] == "Job":
                    self.cluster.wait_for_job(m["metadata"]["name"], namespace, timeout=timeout)
                else:
                    self.cluster.wait_for_rollout(
                        m["metadata"]["name"], namespace, kind=m["kind"], timeout=timeout
                    )
        if api or cron:
            self.cluster.apply(api + cron, namespace=namespace)
        for m in api:
            self.cluster.wait_for_rollout(m["metadata"]["name"], namespace, timeout=timeout)
        api_key, token = self._read_secret(spec, manifests)
        service = api_service(manifests)
        forward = PortForward(
            self.cluster,
            f"svc/{service['metadata']['name']}",
            service_port(service),
            namespace=namespace,
        ).start(timeout=60)
        try:
            wait_for(
                lambda: httpx.get(f"{forward.url}/ready", timeout=5.0).status_code == 200,
                timeout=120,
                interval=1.0,
                what=f"{forward.url}/ready (the API through port-forward) to answer 200",
                describe=lambda: self.cluster.diagnostics(namespace),
            )
        except BaseException:
            forward.stop()
            raise
        return DeployedStack(
            name=spec.name,
            namespace=namespace,
            spec=spec,
            manifests=manifests,
            cluster=self.cluster,
            forward=forward,
            api_key=api_key,
            monitoring_token=token,
        )

    def _read_secret(
        self, spec: DeploymentSpec, manifests: list[dict[str, Any]]
    ) -> tuple[str | None, str | None]:
        name = spec.secrets.existing or next(
            (
                m["metadata"]["name"]
                for m in manifests
                if m["kind"] == "Secret" and component(m) == "api"
            ),
            None,
        )
        if name is None:
            return None, None
        secret = self.cluster.kubectl_json("get", "secret", name, namespace=spec.target_namespace)
        data = secret.get("data") or {}

        def value(key: str) -> str | None:
            if key not in data:
                return None
            text = base64.b64decode(data[key]).decode().strip()
            first = text.replace(",", "\n").splitlines()
            return first[0].strip() if first else None

        return value(API_KEYS_FILE), value(MONITORING_TOKEN_FILE)

    def close(self) -> None:
        """Stop the port-forwards of stacks still open (the namespaces go with their contexts)."""
        for stack in list(self.live):
            stack.close()
        self.live.clear()
