"""What one pytest session of the plugin knows: its options, the cluster problem, kept namespaces.

Both the hooks (``plugin``) and the fixtures (``fixtures``) read these from the session's
``config.stash``; keeping them here lets neither module import the other.
"""

from __future__ import annotations

import pytest

from .options import MlserveOptions, cluster_problem, options_from_config

OPTIONS_KEY = pytest.StashKey[MlserveOptions]()
PROBLEM_KEY = pytest.StashKey[str | None]()
KEPT_KEY = pytest.StashKey[list[str]]()


def configure(config: pytest.Config) -> None:
    """Resolve the options once, at the start of the session."""
    config.stash[OPTIONS_KEY] = options_from_config(config)


def options(config: pytest.Config) -> MlserveOptions:
    """The resolved options of this session."""
    return config.stash[OPTIONS_KEY]


def problem(config: pytest.Config) -> str | None:
    """Why cluster tests cannot run in this session (probed once), or ``None``."""
    if PROBLEM_KEY not in config.stash:
        config.stash[PROBLEM_KEY] = cluster_problem(options(config))
    return config.stash[PROBLEM_KEY]


def kept_namespaces(config: pytest.Config) -> list[str]:
    """Namespaces the session's deployers kept for inspection."""
    return config.stash.get(KEPT_KEY, [])


def record_kept(config: pytest.Config, namespaces: list[str]) -> None:
    config.stash[KEPT_KEY] = namespaces
