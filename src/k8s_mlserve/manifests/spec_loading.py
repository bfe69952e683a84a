"""Reading a deployment spec: YAML in, a validated ``DeploymentSpec`` out.

``load_spec(path)`` reads and validates a file; errors name each field by its dotted path
(``strategy.percent: Input should be less than or equal to 100``). ``load_spec(path, "staging")``
validates the spec with that environment's overrides laid over it (``environments.py``); every
declared environment is validated whichever one is asked for, so a mistake in ``production`` shows
while ``staging`` is rendered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError

from ..errors import ConfigurationError
from . import environments
from .spec import DeploymentSpec


def describe_errors(exc: PydanticValidationError) -> list[str]:
    """One line per problem, naming the field by its dotted path."""
    lines = []
    for error in exc.errors():
        parts: list[str] = []
        for part in error["loc"]:
            if isinstance(part, int):
                parts.append(f"[{part}]")
            elif parts == ["strategy"] and part in ("rolling", "blue-green", "canary"):
                continue  # the union's tag, already given by strategy.type
            else:
                parts.append(("." if parts else "") + str(part))
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{''.join(parts)}: {message}" if parts else message)
    return lines


def _validate(data: dict[str, Any], *, source: str, base_dir: Path | None) -> DeploymentSpec:
    try:
        return DeploymentSpec.model_validate(data, context={"base_dir": base_dir})
    except PydanticValidationError as exc:
        details = "\n  ".join(describe_errors(exc))
        raise ConfigurationError(f"{source}: invalid deployment spec:\n  {details}") from exc


def parse_environments(
    data: Any, *, source: str = "spec", base_dir: Path | None = None
) -> tuple[DeploymentSpec, dict[str, DeploymentSpec]]:
    """The base spec and the spec of every declared environment, each validated."""
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: a deployment spec must be a mapping of fields")
    base = _validate(
        environments.select(data, None, source=source), source=source, base_dir=base_dir
    )
    specs = {
        name: _validate(
            environments.select(data, name, source=source),
            source=f"{source}, environment {name}",
            base_dir=base_dir,
        )
        for name in environments.declared(data, source=source)
    }
    return base, specs


def parse_spec(
    data: Any,
    *,
    source: str = "spec",
    base_dir: Path | None = None,
    environment: str | None = None,
) -> DeploymentSpec:
    """Validate a spec already read into Python data; relative files resolve from ``base_dir``.

    ``environment`` picks one of the spec's ``environments`` (the base when ``None``).
    """
    base, specs = parse_environments(data, source=source, base_dir=base_dir)
    if environment is None:
        return base
    if environment not in specs:
        raise environments.unknown(environment, specs, source=source)
    return specs[environment]


def read_spec_data(path: str | Path) -> Any:
    """The YAML of a spec file, with errors that name the file."""
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read deployment spec {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from exc


def load_spec(path: str | Path, environment: str | None = None) -> DeploymentSpec:
    """Read and validate a deployment spec file, for one of its environments if named."""
    path = Path(path)
    return parse_spec(
        read_spec_data(path), source=str(path), base_dir=path.parent, environment=environment
    )


def load_environments(path: str | Path) -> tuple[DeploymentSpec, dict[str, DeploymentSpec]]:
    """Read a spec file: its base spec and the spec of every environment it declares."""
    path = Path(path)
    return parse_environments(read_spec_data(path), source=str(path), base_dir=path.parent)
