"""A docs page's commands, run one at a time as a user types them into one terminal.

``page_commands`` reads the ``sh`` blocks under a heading of a page into commands (a heredoc stays
with the command that reads it). ``PageShell`` runs them in order with bash, each in the state
the ones before left: exported variables and the working directory carry over, and a job started
with ``&`` (a port-forward) keeps running until ``close``. Between two commands a test sends
traffic, waits, or checks what the last one printed; ``left`` is what it has not run yet.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from k8s_mlserve.testing.stack import DeployedStack

BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
STATE = "K8S_MLSERVE_PAGE_STATE"
BASH_OWN = frozenset({STATE, "SHLVL", "_", "OLDPWD", "PWD"})


def page_commands(page: Path, heading: str) -> list[str]:
    """The commands of the ``sh`` blocks in ``page``'s section ``heading`` (a ``## `` line),
    in order; blank lines and comments left out."""
    text = page.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    commands: list[str] = []
    for block in BLOCK.findall(section):
        lines = iter(block.splitlines())
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command = [line]
            while command[-1].endswith("\\"):
                command.append(next(lines))
            heredoc = HEREDOC.search(line)
            if heredoc is not None:
                for body in lines:
                    command.append(body)
                    if body == heredoc.group(1):
                        break
            commands.append("\n".join(command))
    return commands


class PageShell:
    """Runs a page's ``commands`` in order in ``cwd``, as one terminal session would, each with
    the ``substitutions`` (page text -> this test's) applied."""

    def __init__(
        self,
        commands: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        *,
        substitutions: Mapping[str, str] | None = None,
        timeout: float = 900.0,
    ) -> None:
        self.left = list(commands)
        self.cwd = cwd
        self.env = dict(env)
        self.substitutions = dict(substitutions or {})
        self.timeout = timeout
        self._scratch = Path(tempfile.mkdtemp(prefix="page-shell-"))
        self._state = self._scratch / "state"
        self._groups: list[int] = []

    def next(self, expected: str, *, exit_code: int = 0) -> str:
        """Run the page's next command, which starts with ``expected``; return what it printed
        once it exited with ``exit_code``."""
        assert self.left, f"the page has no command left for {expected!r}"
        command = self.left.pop(0)
        assert command.startswith(expected), (expected, command)
        for page, ours in self.substitutions.items():
            command = command.replace(page, ours)
        return self._run(command, exit_code)

    def _run(self, command: str, exit_code: int) -> str:
        script = (
            f"{command}\n"
            "status=$?\n"
            f'{{ pwd; env -0; }} > "${STATE}" 2>/dev/null\n'
            'exit "$status"\n'
        )
        # a file of its own: the background jobs of earlier commands write on into theirs
        log = self._scratch / f"output-{len(self._groups)}"
        with log.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                ["bash", "-c", script],
                cwd=self.cwd,
                env={**self.env, STATE: str(self._state)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: close() stops its background jobs
            )
        self._groups.append(process.pid)
        try:
            process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        output = log.read_text(encoding="utf-8", errors="replace")
        if process.returncode != exit_code:
            raise AssertionError(
                f"{command!r} exited with {process.returncode}, not {exit_code}:\n{output}"
            )
        self._load_state()
        return output

    def _load_state(self) -> None:
        raw = self._state.read_text(encoding="utf-8")
        cwd, _, environ = raw.partition("\n")
        self.cwd = Path(cwd)
        pairs = (item.partition("=") for item in environ.split("\0") if "=" in item)
        self.env = {name: value for name, _, value in pairs if name not in BASH_OWN}

    def close(self) -> None:
        """Stop what the commands left running in the background."""
        for group in self._groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
        self._groups.clear()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> PageShell:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def page_environment(stack: DeployedStack, scratch: Path) -> dict[str, str]:
    """This process's environment as a user's terminal next to ``stack`` would have it: its
    cluster's kubeconfig (the stack's context current), kubectl and ``k8s-mlserve`` on PATH."""
    cluster = stack.cluster
    kubectl = shutil.which(cluster.kubectl_binary) or cluster.kubectl_binary
    path = os.pathsep.join(
        [str(Path(kubectl).parent), str(Path(sys.executable).parent), os.environ["PATH"]]
    )
    env = {**os.environ, "PATH": path, "MLFLOW_DISABLE_TELEMETRY": "true"}
    for name in ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    if cluster.kubeconfig is not None:
        kubeconfig = Path(cluster.kubeconfig)
        if cluster.context:  # the page's commands use the current context
            copy = scratch / "kubeconfig"
            shutil.copyfile(kubeconfig, copy)
            subprocess.run(
                [kubectl, "--kubeconfig", str(copy), "config", "use-context", cluster.context],
                check=True,
                capture_output=True,
            )
            kubeconfig = copy
        env["KUBECONFIG"] = str(kubeconfig)
    return env
