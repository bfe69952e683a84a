"""Making a locally built image available to a cluster's nodes.

- ``KindLoader``: ``kind load docker-image --name CLUSTER IMAGE``.
- ``CommandLoader``: any command, given as a template in which ``{image}`` is replaced, e.g.
  ``sudo /opt/cluster/load-image.sh {image}``. The template is split like a shell would split it
  (``shlex``) but never run through a shell: a pipeline belongs in a script.
- ``NoLoader``: nothing to do (the nodes share the Docker daemon, or pull from a registry).

``loader_from_setting`` turns the ``--image-loader`` value (``kind``, ``kind:NAME``, ``none`` or a
template) into one of these.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from typing import Protocol

PLACEHOLDER = "{image}"


class ImageLoadError(RuntimeError):
    """Loading an image into the cluster failed; the message has the command and its output."""


class ImageLoader(Protocol):
    """Makes an image that exists in the local Docker daemon usable by the cluster's pods."""

    def load(self, image: str) -> None: ...

    def describe(self) -> str: ...


def _run(command: list[str], timeout: float) -> None:
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise ImageLoadError(f"cannot run {command[0]}: not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise ImageLoadError(f"{shlex.join(command)} did not finish in {timeout:.0f}s") from exc
    if result.returncode != 0:
        raise ImageLoadError(
            f"{shlex.join(command)} exited with {result.returncode}:\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


@dataclass(frozen=True)
class KindLoader:
    """Loads images into the nodes of a kind cluster."""

    cluster_name: str
    kind_binary: str = "kind"
    timeout: float = 600.0

    def command(self, image: str) -> list[str]:
        return [self.kind_binary, "load", "docker-image", "--name", self.cluster_name, image]

    def load(self, image: str) -> None:
        _run(self.command(image), self.timeout)

    def describe(self) -> str:
        return f"kind load docker-image --name {self.cluster_name}"


@dataclass(frozen=True)
class CommandLoader:
    """Runs a command per image; ``{image}`` in any argument is replaced by the image name, and
    the image is appended as the last argument when no argument holds the placeholder."""

    template: tuple[str, ...]
    timeout: float = 600.0

    def __post_init__(self) -> None:
        if not self.template:
            raise ValueError("an image loader command cannot be empty")

    @classmethod
    def parse(cls, text: str, *, timeout: float = 600.0) -> CommandLoader:
        """Split a template such as ``"sudo load-image.sh {image}"`` into arguments."""
        try:
            parts = shlex.split(text)
        except ValueError as exc:
            raise ValueError(f"cannot split the image loader command {text!r}: {exc}") from None
        return cls(tuple(parts), timeout)

    def command(self, image: str) -> list[str]:
        if not any(PLACEHOLDER in part for part in self.template):
            return [*self.template, image]
        return [part.replace(PLACEHOLDER, image) for part in self.template]

    def load(self, image: str) -> None:
        _run(self.command(image), self.timeout)

    def describe(self) -> str:
        return shlex.join(self.template)


@dataclass(frozen=True)
class NoLoader:
    """Leaves images where they are."""

    def load(self, image: str) -> None:
        return None

    def describe(self) -> str:
        return "none"


def loader_from_setting(
    value: str | None, *, kind_cluster: str | None = None, kind_binary: str = "kind"
) -> ImageLoader:
    """The loader named by ``--image-loader``; by default ``kind`` for a kind cluster, else none."""
    choice = (value or "").strip()
    if not choice:
        choice = "kind" if kind_cluster else "none"
    if choice == "none":
        return NoLoader()
    if choice.startswith("kind:") and choice.removeprefix("kind:"):
        return KindLoader(choice.removeprefix("kind:"), kind_binary)
    if choice == "kind":
        if kind_cluster is None:
            raise ValueError(
                "--image-loader kind needs a cluster created with --kind; for another kind cluster "
                "give kind:NAME, for any other cluster a command such as 'load-image.sh {image}', "
                "or none"
            )
        return KindLoader(kind_cluster, kind_binary)
    return CommandLoader.parse(choice)
