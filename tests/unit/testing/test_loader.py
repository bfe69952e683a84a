from __future__ import annotations

import sys
from pathlib import Path

import pytest

from k8s_mlserve.testing import (
    CommandLoader,
    KindLoader,
    NoLoader,
    loader_from_setting,
)
from k8s_mlserve.testing.loader import ImageLoadError


def test_the_image_replaces_the_placeholder_in_each_argument() -> None:
    loader = CommandLoader.parse("sudo /opt/realcluster/load-image.sh {image}")
    assert loader.command("api:1.0") == ["sudo", "/opt/realcluster/load-image.sh", "api:1.0"]
    inside = CommandLoader.parse("ctr images import --label=src={image} /tmp/{image}.tar")
    assert inside.command("a:1") == ["ctr", "images", "import", "--label=src=a:1", "/tmp/a:1.tar"]


def test_without_a_placeholder_the_image_is_appended() -> None:
    assert CommandLoader.parse("minikube image load").command("a:1") == [
        "minikube",
        "image",
        "load",
        "a:1",
    ]


def test_a_quoted_pipeline_stays_one_argument_of_an_explicit_shell() -> None:
    loader = CommandLoader.parse("sh -c 'docker save {image} | ctr -n k8s.io images import -'")
    assert loader.command("a:1") == ["sh", "-c", "docker save a:1 | ctr -n k8s.io images import -"]


def test_bad_templates_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot split"):
        CommandLoader.parse("load 'unclosed")
    with pytest.raises(ValueError, match="cannot be empty"):
        CommandLoader.parse("   ")


def test_the_setting_picks_the_loader() -> None:
    assert loader_from_setting(None, kind_cluster="ci") == KindLoader("ci")
    assert loader_from_setting("", kind_cluster=None) == NoLoader()
    assert loader_from_setting("none", kind_cluster="ci") == NoLoader()
    assert loader_from_setting("kind:other") == KindLoader("other")
    assert loader_from_setting("load.sh {image}") == CommandLoader(("load.sh", "{image}"))
    with pytest.raises(ValueError, match="kind:NAME"):
        loader_from_setting("kind", kind_cluster=None)
    assert KindLoader("ci", "/usr/local/bin/kind").command("a:1") == [
        "/usr/local/bin/kind",
        "load",
        "docker-image",
        "--name",
        "ci",
        "a:1",
    ]


def test_a_command_loader_runs_its_command(tmp_path: Path) -> None:
    out = tmp_path / "loaded"
    script = "import sys; open(sys.argv[1], 'w').write(sys.argv[2])"
    CommandLoader((sys.executable, "-c", script, str(out), "image={image}")).load("api:2")
    assert out.read_text() == "image=api:2"


def test_a_failing_loader_says_what_failed() -> None:
    script = "import sys; print('no such image', file=sys.stderr); sys.exit(3)"
    with pytest.raises(ImageLoadError, match=r"exited with 3:\nno such image"):
        CommandLoader((sys.executable, "-c", script, "{image}")).load("api:2")
    with pytest.raises(ImageLoadError, match="cannot run /nonexistent/load: not found"):
        CommandLoader(("/nonexistent/load", "{image}")).load("api:2")
