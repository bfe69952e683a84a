"""Reading a deployment spec: YAML in, a validated ``DeploymentSpec`` out.

``load_spec(path)`` reads and validates a file; errors name each field by its dotted path
(``strategy.percent: Input should be less than or equal to 100``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError

from ..errors import ConfigurationError
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


def parse_spec(data: Any, *, source: str = "spec", base_dir: Path | None = None) -> DeploymentSpec:
    """Validate a spec already read into Python data; relative files resolve from ``base_dir``."""
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: a deployment spec must be a mapping of fields")
    try:
        return DeploymentSpec.model_validate(data, context={"base_dir": base_dir})
    except PydanticValidationError as exc:
        details = "\n  ".join(describe_errors(exc))
        raise ConfigurationError(f"{source}: invalid deployment spec:\n  {details}") from exc


def load_spec(path: str | Path) -> DeploymentSpec:
    """Read and validate a deployment spec file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read deployment spec {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from exc
    return parse_spec(data, source=str(path), base_dir=path.parent)
