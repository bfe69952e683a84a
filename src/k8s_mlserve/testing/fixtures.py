"""The fixtures of the k8s-mlserve pytest plugin (see ``docs/testing.md``).

Local: ``mlserve_bundle`` (a model to serve), ``mlserve_secrets``, ``mlserve_server`` and
``mlserve_server_factory`` (``k8s-mlserve serve`` subprocesses), ``mlserve_mlflow`` (an MLflow
tracking server). Cluster: ``mlserve_cluster``, ``mlserve_image_loader``, ``mlserve_image``,
``mlserve_stack_images``, ``mlserve_deploy`` and ``mlserve_stack``. Expensive ones are
session-scoped; a project overrides any of them by defining a fixture of the same name in its
``conftest.py``.

Only light modules are imported here, since pytest imports the plugin in every session: the
cluster, stack and training code is imported by the fixtures that need it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..__version__ import __version__
from . import session
from .mlflow import MlflowServer
from .options import BUILD, MlserveOptions, find_executable
from .server import SecretsDir, ServerFactory, ServerProcess

if TYPE_CHECKING:
    from ..kube.cluster import Cluster
    from .loader import ImageLoader
    from .stack import DeployedStack, StackDeployer

IMAGE_REPOSITORY = "k8s-mlserve-test"


@pytest.fixture(scope="session")
def mlserve_options(pytestconfig: pytest.Config) -> MlserveOptions:
    """The plugin's settings: command-line options over K8S_MLSERVE_* environment variables."""
    return session.options(pytestconfig)


@pytest.fixture(scope="session")
def mlserve_example() -> str:
    """The example trained by mlserve_bundle and deployed by mlserve_stack (override to change)."""
    return "iris"


@pytest.fixture(scope="session")
def mlserve_bundle(
    mlserve_options: MlserveOptions,
    mlserve_example: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The model to serve: --mlserve-model PATH, else mlserve_example trained into a registry."""
    if mlserve_options.model is not None:
        if not mlserve_options.model.exists():
            pytest.fail(f"--mlserve-model: {mlserve_options.model} does not exist", pytrace=False)
        return mlserve_options.model
    from ..training.runner import train_example

    output = tmp_path_factory.mktemp("mlserve-models") / mlserve_example
    data_dir = mlserve_options.data_dir
    train_example(
        mlserve_example,
        output=output,
        data=str(data_dir) if data_dir is not None else None,
        quiet=True,
    )
    return output


@pytest.fixture(scope="session")
def mlserve_secrets(tmp_path_factory: pytest.TempPathFactory) -> SecretsDir:
    """A secrets directory like the mounted Secret: a random API key and monitoring token."""
    return SecretsDir.create(tmp_path_factory.mktemp("mlserve-secrets"))


@pytest.fixture(scope="session")
def mlserve_server_factory(mlserve_secrets: SecretsDir) -> Iterator[ServerFactory]:
    """Starts more model servers: factory(model, env={...}); all are stopped at the end."""
    factory = ServerFactory(mlserve_secrets)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def mlserve_server(mlserve_bundle: Path, mlserve_secrets: SecretsDir) -> Iterator[ServerProcess]:
    """The model server on a free port (url, client, headers()); its log is shown on failure."""
    server = ServerProcess(
        {"MLSERVE_MODEL__PATH": str(mlserve_bundle)},
        secrets_dir=mlserve_secrets.path,
        api_key=mlserve_secrets.api_key,
    )
    with server:
        yield server


@pytest.fixture(scope="session")
def mlserve_mlflow(
    mlserve_options: MlserveOptions, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """An MLflow tracking server (SQLite, or --mlserve-mlflow-backend) with served artifacts."""
    server = MlflowServer(
        tmp_path_factory.mktemp("mlserve-mlflow"),
        backend_store_uri=mlserve_options.mlflow_backend,
    )
    with server:
        yield server


@pytest.fixture(scope="session")
def mlserve_cluster(
    mlserve_options: MlserveOptions, pytestconfig: pytest.Config
) -> Iterator[Cluster]:
    """The Kubernetes cluster: --kubeconfig, or one made with kind (--kind); skips without one."""
    from ..kube.cluster import Cluster
    from .kind import kind_cluster

    problem = session.problem(pytestconfig)
    if problem is not None:
        pytest.skip(problem)
    kubectl = find_executable(mlserve_options.kubectl) or mlserve_options.kubectl
    if mlserve_options.kind:
        kind = find_executable("kind") or "kind"
        with kind_cluster(
            mlserve_options.kind_cluster_name,
            node_image=mlserve_options.kind_node_image,
            keep=mlserve_options.keep_cluster,
            kind_binary=kind,
            kubectl_binary=kubectl,
        ) as created:
            created.server_version()
            yield created
        return
    kubeconfig = mlserve_options.kubeconfig
    assert kubeconfig is not None
    if not kubeconfig.is_file():
        pytest.fail(f"--kubeconfig: {kubeconfig} does not exist", pytrace=False)
    cluster = Cluster(kubeconfig=kubeconfig.resolve(), kubectl_binary=kubectl)
    cluster.server_version()  # fails here, with kubectl's message, when it cannot be reached
    yield cluster


@pytest.fixture(scope="session")
def mlserve_image_loader(mlserve_options: MlserveOptions, mlserve_cluster: Cluster) -> ImageLoader:
    """How built images reach the cluster: kind load, the --image-loader command, or nothing."""
    from .loader import loader_from_setting

    return loader_from_setting(
        mlserve_options.image_loader,
        kind_cluster=mlserve_cluster.kind_name,
        kind_binary=find_executable("kind") or "kind",
    )


@pytest.fixture(scope="session")
def mlserve_image(
    mlserve_options: MlserveOptions,
    mlserve_image_loader: ImageLoader,
    pytestconfig: pytest.Config,
) -> str:
    """The server image, built (from this source tree, or a model project's as ``k8s-mlserve
    build`` makes it) or --mlserve-image, and loaded into the cluster."""
    from . import images

    tag = mlserve_options.image
    if tag is None:
        problem = images.docker_problem()
        if problem:
            pytest.skip(f"building the server image needs Docker: {problem}")
        extras = mlserve_options.image_extras
        base = mlserve_options.base_image
        root = images.find_source_root()
        project = pytestconfig.rootpath
        if root is not None and project.resolve() == root.resolve():
            tag = images.server_image_tag(root, base_image=base, extras=extras)
            if not images.image_exists(tag):
                images.build_server_image(root, tag, base_image=base, extras=extras)
        else:
            # A model project: k8s-mlserve from a wheel, the project (when it is a package) and
            # its requirements, as `k8s-mlserve build` makes it.
            wheel = mlserve_options.wheel or root
            digest = images.project_digest(project, wheel, base or "", extras)
            tag = f"{IMAGE_REPOSITORY}:{__version__}-{digest}"
            if not images.image_exists(tag):
                images.build_project_image(
                    project, tag, wheel=wheel, base_image=base, extras=extras
                )
    mlserve_image_loader.load(tag)
    return tag


@pytest.fixture(scope="session")
def mlserve_stack_images(
    mlserve_options: MlserveOptions, mlserve_image_loader: ImageLoader
) -> Callable[[], tuple[str, str]]:
    """The MLflow and PostgreSQL images of MLflow stacks, as a function: called when a stack
    needs them, it builds what is set to ``build`` (once) and loads both into the cluster. A
    test whose stack needs a build skips, saying so, where Docker is not available."""
    chosen: list[tuple[str, str]] = []

    def images() -> tuple[str, str]:
        if not chosen:
            from .images import docker_problem
            from .stack_images import stack_images

            building = [
                option
                for option, value in (
                    ("--mlserve-mlflow-image", mlserve_options.mlflow_image),
                    ("--mlserve-postgres-image", mlserve_options.postgres_image),
                )
                if value == BUILD
            ]
            problem = docker_problem() if building else None
            if problem:
                pytest.skip(
                    f"building the MLflow stack images needs Docker: {problem}; or pass "
                    f"{' and '.join(building)} with images the cluster can pull"
                )

            pair = stack_images(mlserve_options)
            for image in pair:
                mlserve_image_loader.load(image)
            chosen.append(pair)
        return chosen[0]

    return images


@pytest.fixture(scope="session")
def mlserve_deploy(
    mlserve_options: MlserveOptions,
    mlserve_cluster: Cluster,
    mlserve_image: str,
    mlserve_image_loader: ImageLoader,
    mlserve_stack_images: Callable[[], tuple[str, str]],
    pytestconfig: pytest.Config,
) -> Iterator[StackDeployer]:
    """Deploys stacks: `with mlserve_deploy.deploy("iris", overrides={...}) as stack: ...`."""
    from .images import find_source_root
    from .stack import StackDeployer

    root = find_source_root()
    examples = root / "examples" if root is not None else pytestconfig.rootpath / "examples"
    deployer = StackDeployer(
        mlserve_cluster,
        mlserve_image,
        loader=mlserve_image_loader,
        examples_dir=examples if examples.is_dir() else None,
        data_dir=mlserve_options.data_dir,
        keep_namespace=mlserve_options.keep_namespace,
        timeout=mlserve_options.deploy_timeout,
        stack_images=mlserve_stack_images,
    )
    yield deployer
    deployer.close()
    session.record_kept(pytestconfig, deployer.kept)


@pytest.fixture(scope="module")
def mlserve_stack(mlserve_deploy: StackDeployer, mlserve_example: str) -> Iterator[DeployedStack]:
    """mlserve_example deployed in a fresh namespace and port-forwarded; deleted afterwards."""
    with mlserve_deploy.deploy(mlserve_example) as stack:
        yield stack
