"""The command line explains itself: every command and option has help, and a command's
``--help`` loads none of the heavy libraries it only needs when it runs."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from k8s_mlserve.cli import COMMANDS, build_parser

HEAVY = ("pandas", "sklearn", "scipy", "kubernetes", "mlflow", "matplotlib", "onnxruntime")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in _subparsers(sub).items()})
    return found


PARSERS = _subparsers(build_parser())


def test_the_command_table_names_every_command() -> None:
    top = {name for name in PARSERS if " " not in name}
    assert top == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_command_and_option_says_what_it_does(name: str) -> None:
    parser = PARSERS[name]
    assert parser.description, f"{name}: no description"
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        label = "/".join(action.option_strings) or action.dest
        assert action.help not in (None, "", argparse.SUPPRESS), f"{name} {label}: no help"


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_with_a_default_shows_it(name: str) -> None:
    for action in PARSERS[name]._actions:
        if action.default in (None, False, argparse.SUPPRESS) or action.nargs == 0:
            continue  # no default, or a flag
        label = "/".join(action.option_strings) or action.dest
        shown = action.help or ""
        assert "default" in shown.lower(), f"{name} {label}: default {action.default!r} not shown"


@pytest.mark.parametrize(
    "argv",
    [["serve", "--help"], ["drift", "--help"], ["info", "--help"], ["predict", "--help"]],
)
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    code = (
        "import sys, json, contextlib, io\n"
        "from k8s_mlserve.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_top_level_help_imports_only_the_standard_library() -> None:
    """`k8s-mlserve --help` starts in well under 0.3 s because it imports no third-party package."""
    code = (
        "import sys, json, contextlib, io\n"
        "before = set(sys.modules)\n"
        "from k8s_mlserve.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported = set(json.loads(out.stdout))
    third_party = imported - set(sys.stdlib_module_names) - {"k8s_mlserve"}
    assert third_party == set()
    assert "k8s_mlserve" in imported


def test_a_closed_pipe_ends_the_output_quietly() -> None:
    """`k8s-mlserve config | head -1`: no traceback once the reader has gone."""
    process = subprocess.Popen(
        [sys.executable, "-m", "k8s_mlserve", "config"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()  # before the command has written anything
    with process.stderr:
        errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert errors == ""
