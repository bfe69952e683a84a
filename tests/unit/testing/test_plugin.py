"""The plugin's hooks, run in pytest sessions of their own: options, markers, settings from the
environment, and the one-line skip reasons of cluster tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import DOCKER_DOWN, DOCKER_UP, KUBECTL, FakeTools, fake_kind_body

pytest_plugins = ["pytester"]

E2E_TEST = """
import pytest

@pytest.mark.e2e
def test_on_a_cluster():
    raise AssertionError("must not run without a cluster")

def test_local():
    pass
"""


def skip_reasons(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("SKIPPED")]


def test_options_live_in_the_k8s_mlserve_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == 0
    text = result.stdout.str()
    group = text[text.index("k8s-mlserve (model server, MLflow and cluster tests") :]
    for option in (
        "--kind ",
        "--kind-cluster-name",
        "--kind-node-image",
        "--kubectl",
        "--image-loader",
        "--keep-namespace",
        "--base-image",
        "--mlserve-image",
        "--mlserve-model",
        "--mlserve-data-dir",
        "--mlserve-mlflow-backend",
        "--mlserve-deploy-timeout",
        "[env: K8S_MLSERVE_IMAGE_LOADER]",
    ):
        assert option in group
    # shared with pytest-kind, which defines them once
    options = [line.split()[0] for line in result.outlines if line.startswith("  --")]
    assert options.count("--kubeconfig=KUBECONFIG") == 1
    assert options.count("--keep-cluster") == 1


def test_without_pytest_kind_the_plugin_defines_kubeconfig_itself(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("-p", "no:pytest-kind", "--help")
    assert result.ret == 0
    text = result.stdout.str()
    group = text[text.index("k8s-mlserve (model server, MLflow and cluster tests)") :]
    assert "--kubeconfig=KUBECONFIG" in group
    assert "--keep-cluster" in group
    assert "--kind-bin" not in text  # pytest-kind's own options are gone


def test_with_auto_loading_off_the_plugin_still_shares_the_options(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest("-p", "k8s_mlserve.testing.plugin", "--help")
    assert result.ret == 0
    options = [line.split()[0] for line in result.outlines if line.startswith("  --")]
    assert options.count("--kubeconfig=KUBECONFIG") == 1
    assert "--image-loader=IMAGE_LOADER" in options


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.e2e: needs a Kubernetes cluster*", "@pytest.mark.slow: takes more than*"]
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.slow
        def test_marked():
            pass
        """
    )
    assert pytester.runpytest("--strict-markers").ret == 0


def test_e2e_tests_skip_without_a_cluster_and_say_how_to_configure_one(
    pytester: pytest.Pytester, fake_tools: FakeTools
) -> None:
    pytester.makepyfile(E2E_TEST)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    (line,) = skip_reasons(result)
    assert line.endswith(
        "no cluster configured: pass --kubeconfig PATH (or set K8S_MLSERVE_KUBECONFIG) for an "
        "existing cluster, or --kind to create one with kind (kind not found on PATH)"
    )


def test_kind_missing_is_named(pytester: pytest.Pytester, fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", KUBECTL)
    fake_tools.add("docker", DOCKER_UP)
    pytester.makepyfile(E2E_TEST)
    result = pytester.runpytest("-rs", "--kind")
    result.assert_outcomes(passed=1, skipped=1)
    (line,) = skip_reasons(result)
    assert line.endswith("cluster tests cannot run: kind not found on PATH (needed by --kind)")


def test_stopped_docker_daemon_is_named(
    pytester: pytest.Pytester, fake_tools: FakeTools, kubeconfig: Path
) -> None:
    fake_tools.add("kubectl", KUBECTL)
    fake_tools.add("docker", DOCKER_DOWN)
    pytester.makepyfile(E2E_TEST)
    result = pytester.runpytest("-rs", "--kubeconfig", str(kubeconfig))
    result.assert_outcomes(passed=1, skipped=1)
    (line,) = skip_reasons(result)
    assert line.endswith(
        "cluster tests cannot run: the Docker daemon is not running (Cannot connect to the "
        "Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)"
    )


def test_every_missing_tool_is_named_on_one_line(
    pytester: pytest.Pytester, fake_tools: FakeTools, kubeconfig: Path
) -> None:
    pytester.makepyfile(E2E_TEST)
    result = pytester.runpytest("-rs", "--kubeconfig", str(kubeconfig))
    result.assert_outcomes(passed=1, skipped=1)
    (line,) = skip_reasons(result)
    assert line.endswith(
        "cluster tests cannot run: kubectl not found on PATH; the docker CLI is not on PATH"
    )


def test_docker_is_not_needed_for_a_given_image_without_loader(
    pytester: pytest.Pytester, fake_tools: FakeTools, kubeconfig: Path
) -> None:
    fake_tools.add("kubectl", KUBECTL)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.e2e
        def test_on_a_cluster(mlserve_cluster):
            assert str(mlserve_cluster.server_version()) == "1.20"
        """
    )
    result = pytester.runpytest(
        "--kubeconfig", str(kubeconfig), "--mlserve-image", "my-api:1.0", "--image-loader", "none"
    )
    result.assert_outcomes(passed=1)
    assert fake_tools.calls("docker") == []


STACK_TEST = """
import pytest

@pytest.mark.e2e
def test_stack(mlserve_stack_images):
    assert mlserve_stack_images() == ("my-mlflow:3", "my-postgres:16")
"""


def test_stack_images_to_build_without_docker_skip_naming_the_options(
    pytester: pytest.Pytester, fake_tools: FakeTools, kubeconfig: Path
) -> None:
    fake_tools.add("kubectl", KUBECTL)
    pytester.makepyfile(STACK_TEST)
    given = ("--kubeconfig", str(kubeconfig), "--mlserve-image", "my-api:1.0")
    result = pytester.runpytest("-rs", *given, "--image-loader", "none")
    result.assert_outcomes(skipped=1)
    (line,) = skip_reasons(result)
    assert line.endswith(
        "building the MLflow stack images needs Docker: the docker CLI is not on PATH; or pass "
        "--mlserve-mlflow-image with images the cluster can pull"
    )
    images = ("--mlserve-mlflow-image", "my-mlflow:3", "--mlserve-postgres-image", "my-postgres:16")
    result = pytester.runpytest(*given, "--image-loader", "none", *images)
    result.assert_outcomes(passed=1)
    assert fake_tools.calls("docker") == []


def test_cluster_fixture_skips_outside_e2e_tests_too(
    pytester: pytest.Pytester, fake_tools: FakeTools
) -> None:
    pytester.makepyfile(
        """
        def test_uses_cluster(mlserve_cluster):
            raise AssertionError("must not run")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    assert "no cluster configured" in skip_reasons(result)[0]


def test_existing_cluster_is_driven_with_argument_lists(
    pytester: pytest.Pytester, fake_tools: FakeTools, kubeconfig: Path
) -> None:
    fake_tools.add("kubectl", KUBECTL)
    fake_tools.add("docker", DOCKER_UP)
    fake_tools.add("kind", fake_kind_body())
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.e2e
        def test_cluster(mlserve_cluster, mlserve_image_loader):
            assert mlserve_cluster.kind_name is None
            assert str(mlserve_cluster.server_version()) == "1.20"
            assert mlserve_image_loader.command("api:1") == ["/opt/load.sh", "--image", "api:1"]
        """
    )
    result = pytester.runpytest(
        "--kubeconfig", str(kubeconfig), "--image-loader", "/opt/load.sh --image {image}"
    )
    result.assert_outcomes(passed=1)
    assert fake_tools.calls("kubectl") == [
        ["--kubeconfig", str(kubeconfig), "version", "-o", "json"]
    ]
    assert fake_tools.calls("kind") == []  # no kind involved


def test_kind_cluster_uses_the_binaries_on_path_and_is_deleted(
    pytester: pytest.Pytester, fake_tools: FakeTools
) -> None:
    kind = fake_tools.add("kind", fake_kind_body())
    fake_tools.add("kubectl", KUBECTL)
    fake_tools.add("docker", DOCKER_UP)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.e2e
        def test_cluster(mlserve_cluster, mlserve_image_loader):
            assert mlserve_cluster.kind_name == "ci"
            assert mlserve_cluster.kubeconfig.is_file()
            assert mlserve_image_loader.command("api:1")[1:] == [
                "load", "docker-image", "--name", "ci", "api:1"
            ]
        """
    )
    result = pytester.runpytest("--kind", "--kind-cluster-name", "ci", "--kind-node-image", "n:1")
    result.assert_outcomes(passed=1)
    calls = fake_tools.calls("kind")
    kubeconfig = str(pytester.path / ".pytest-kind" / "ci" / "kubeconfig")
    assert calls[0] == ["get", "clusters"]
    assert ["create", "cluster", "--name=ci", f"--kubeconfig={kubeconfig}", "--image=n:1"] in calls
    assert calls[-1] == ["delete", "cluster", "--name=ci", f"--kubeconfig={kubeconfig}"]
    assert kind.parent == fake_tools.bin  # the PATH binary, never a download
    assert not list((pytester.path / ".pytest-kind" / "ci").glob("kind-v*"))


def test_kind_cluster_is_kept_when_asked(
    pytester: pytest.Pytester, fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_tools.add("kind", fake_kind_body())
    fake_tools.add("kubectl", KUBECTL)
    fake_tools.add("docker", DOCKER_UP)
    monkeypatch.setenv("K8S_MLSERVE_KIND", "1")
    monkeypatch.setenv("K8S_MLSERVE_KEEP_CLUSTER", "yes")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.e2e
        def test_cluster(mlserve_cluster):
            assert mlserve_cluster.kind_name == "k8s-mlserve"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    assert not any(call[0] == "delete" for call in fake_tools.calls("kind"))
    # a second session reuses the kept cluster and, not having made it, keeps it too
    monkeypatch.delenv("K8S_MLSERVE_KEEP_CLUSTER")
    pytester.runpytest().assert_outcomes(passed=1)
    calls = fake_tools.calls("kind")
    assert sum(call[:2] == ["create", "cluster"] for call in calls) == 1
    assert not any(call[0] == "delete" for call in calls)


def test_settings_come_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kubeconfig: Path
) -> None:
    monkeypatch.setenv("K8S_MLSERVE_KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("K8S_MLSERVE_IMAGE_LOADER", "sudo /opt/load-image.sh {image}")
    monkeypatch.setenv("K8S_MLSERVE_BASE_IMAGE", "local/debian-python:bookworm")
    monkeypatch.setenv("K8S_MLSERVE_KEEP_NAMESPACE", "true")
    monkeypatch.setenv("K8S_MLSERVE_DEPLOY_TIMEOUT", "900")
    pytester.makepyfile(
        f"""
        from pathlib import Path

        def test_options(mlserve_options):
            assert mlserve_options.kubeconfig == Path({str(kubeconfig)!r})
            assert mlserve_options.image_loader == "sudo /opt/load-image.sh {{image}}"
            assert mlserve_options.base_image == "local/debian-python:bookworm"
            assert mlserve_options.keep_namespace is True
            assert mlserve_options.kind is False
            assert mlserve_options.deploy_timeout == 900.0
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"k8s-mlserve: cluster: kubeconfig {kubeconfig}; image loader: sudo /opt/load-image.sh*"]
    )


def test_the_command_line_wins_over_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K8S_MLSERVE_KIND_CLUSTER_NAME", "from-env")
    monkeypatch.setenv("K8S_MLSERVE_BASE_IMAGE", "env-base:1")
    pytester.makepyfile(
        """
        def test_options(mlserve_options):
            assert mlserve_options.kind_cluster_name == "from-cli"
            assert mlserve_options.base_image == "env-base:1"
        """
    )
    pytester.runpytest("--kind-cluster-name", "from-cli").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["--kind", "--kubeconfig", "/tmp/kc"],
            {},
            "--kind creates a cluster and --kubeconfig names an existing one: pass only one*",
        ),
        (
            ["--kubeconfig", "/tmp/kc"],
            {"K8S_MLSERVE_KIND": "1"},
            "--kind creates a cluster and --kubeconfig names an existing one: pass only one*",
        ),
        (["--image-loader", "kind"], {}, "--image-loader kind needs --kind; *"),
        (["--image-loader", "load 'unclosed"], {}, "--image-loader: cannot split *"),
        ([], {"K8S_MLSERVE_KEEP_NAMESPACE": "maybe"}, "K8S_MLSERVE_KEEP_NAMESPACE must be *"),
        (["--mlserve-deploy-timeout", "soon"], {}, "--mlserve-deploy-timeout must be a number*"),
    ],
)
def test_contradictory_settings_are_usage_errors(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
