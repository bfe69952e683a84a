"""Named environments of a deployment spec: overrides of the base, merged before validation.

A spec's ``environments`` maps a name (``staging``, ``production``) to a mapping written like the
spec itself. :func:`merge` lays it over the base: mappings merge key by key, anything else (a
scalar, a list, ``null``) replaces the base's value: ``null`` removes an optional section
(``autoscaling: null``) or a secret (``secrets: {api_keys: null}``). A mapping with another
``type`` than the base's (``strategy: {type: canary, ...}`` over a blue-green base) replaces it
whole: the fields of one type mean nothing to another. The result is validated as a whole spec,
so an environment is checked exactly like a spec file.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from ..errors import ConfigurationError

FIELD: Final = "environments"
# What an environment may not change: the deployment's identity, and environments themselves.
FIXED: Final = ("name", FIELD)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base`` (neither is changed): mappings merge key by key unless
    their ``type`` differs, anything else replaces, ``None`` included."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if _same_type(merged.get(key), value):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _same_type(base: Any, override: Any) -> bool:
    """Whether two values are mappings to merge (not of different ``type``)."""
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return False
    return "type" not in override or base.get("type") == override["type"]


def declared(data: Mapping[str, Any], *, source: str) -> dict[str, dict[str, Any]]:
    """The environments a spec declares, checked for shape (not yet validated as specs)."""
    environments = data.get(FIELD)
    if environments is None:
        return {}
    if not isinstance(environments, Mapping):
        raise ConfigurationError(
            f"{source}: {FIELD} must be a mapping of environment names to overrides, e.g. "
            f"{FIELD}: {{staging: {{api: {{replicas: 1}}}}}}"
        )
    checked: dict[str, dict[str, Any]] = {}
    for name, override in environments.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigurationError(
                f"{source}: {FIELD}.{name}: an environment name is 1 to 32 lower-case letters, "
                "digits and '-', starting and ending with a letter or digit"
            )
        if override is None:
            override = {}
        if not isinstance(override, Mapping):
            raise ConfigurationError(
                f"{source}: {FIELD}.{name}: must be a mapping of spec fields to override"
            )
        for key in FIXED:
            if key in override:
                raise ConfigurationError(
                    f"{source}: {FIELD}.{name}.{key}: an environment cannot change {key}; "
                    "every environment deploys the same application"
                )
        checked[name] = dict(override)
    return checked


def select(data: Mapping[str, Any], environment: str | None, *, source: str) -> dict[str, Any]:
    """The spec data of ``environment`` (the base without one), ``environments`` removed."""
    environments = declared(data, source=source)
    base = {k: v for k, v in data.items() if k != FIELD}
    if environment is None:
        return base
    if environment not in environments:
        raise unknown(environment, environments, source=source)
    return merge(base, environments[environment])


def unknown(environment: str, known: Mapping[str, Any], *, source: str) -> ConfigurationError:
    """The error for an environment the spec does not declare, listing those it does."""
    names = ", ".join(known) if known else f"none (add an {FIELD} section)"
    return ConfigurationError(
        f"{source}: no environment {environment!r}; the spec declares: {names}"
    )
