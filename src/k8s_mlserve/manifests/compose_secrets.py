"""The Secrets of a local stack (``k8s-mlserve compose``), as files in a directory next to the
compose file instead of Kubernetes objects.

- ``DIR/NAME-secrets/KEY``: the API Secret, one file per key (``auth__api_keys``,
  ``auth__monitoring_token``), copied into the volume the API and the page mount where the pods
  mount the Secret;
- ``DIR/NAME-postgres.env``: the PostgreSQL Secret as ``KEY=VALUE`` lines, the ``env_file`` of
  PostgreSQL and MLflow (the pods read the same keys as environment variables).

Files are 0600, in directories made 0700. Generated values already there are read back and kept, so
writing the stack again never rotates them; ``from_env`` and ``from_file`` values win, as they do
on Kubernetes. A Secret the spec names as existing is made elsewhere: its files must be there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kubernetes import client

from ..errors import ConfigurationError
from . import contract
from .config import SecretSource, api_secret_name, has_api_secret, postgres_secret_name
from .spec import DeploymentSpec


def api_secret_dir(spec: DeploymentSpec, secrets_dir: Path) -> Path:
    """Where the API Secret's files are, named like the Secret."""
    return secrets_dir / api_secret_name(spec)


def postgres_env_file(spec: DeploymentSpec, secrets_dir: Path) -> Path:
    """Where the PostgreSQL Secret's keys are, as an environment file named like the Secret."""
    return secrets_dir / f"{postgres_secret_name(spec)}.env"


def parse_env_file(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines (blank lines and ``#`` comments skipped)."""
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def kept_values(spec: DeploymentSpec, secrets_dir: Path) -> dict[str, dict[str, str]]:
    """The values already in ``secrets_dir``, by Secret name and key, for ``SecretSource.keep``."""
    kept: dict[str, dict[str, str]] = {}
    api = api_secret_dir(spec, secrets_dir)
    if api.is_dir():
        kept[api.name] = {p.name: p.read_text(encoding="utf-8").strip() for p in _files(api)}
    if spec.mlflow is not None:
        env = postgres_env_file(spec, secrets_dir)
        if env.is_file():
            kept[postgres_secret_name(spec)] = parse_env_file(env.read_text(encoding="utf-8"))
    return kept


def secret_source(
    spec: DeploymentSpec, secrets_dir: Path, environ: Mapping[str, str] | None = None
) -> SecretSource:
    """Render-time secret values: the environment and files as the spec says, generated values
    kept from ``secrets_dir`` when they are there."""
    keep = kept_values(spec, secrets_dir)
    if environ is None:
        return SecretSource(keep=keep)
    return SecretSource(environ=environ, keep=keep)


def write_secrets(
    spec: DeploymentSpec, secrets: list[client.V1Secret], secrets_dir: Path
) -> list[Path]:
    """Write the rendered Secrets into ``secrets_dir``; returns the files written. Checks that
    the files of Secrets made elsewhere (``existing``) are there."""
    if not secrets_dir.is_dir():
        secrets_dir.mkdir(parents=True, mode=0o700)
    by_name = {s.metadata.name if s.metadata else None: dict(s.string_data or {}) for s in secrets}
    written: list[Path] = []
    if has_api_secret(spec):
        directory = api_secret_dir(spec, secrets_dir)
        data = by_name.get(api_secret_name(spec))
        if data is None:
            _require(directory.is_dir() and any(_files(directory)), directory, "secrets.existing")
        else:
            directory.mkdir(exist_ok=True)
            directory.chmod(0o700)
            for stale in _files(directory):
                if stale.name not in data:
                    stale.unlink()
            written += [_write(directory / key, value + "\n") for key, value in data.items()]
    if spec.mlflow is not None:
        env = postgres_env_file(spec, secrets_dir)
        data = by_name.get(postgres_secret_name(spec))
        if data is None:
            _require(env.is_file(), env, "mlflow.postgres.existing_secret")
        else:
            text = "".join(f"{key}={value}\n" for key, value in sorted(data.items()))
            written.append(_write(env, text))
    return written


def _require(present: bool, path: Path, field: str) -> None:
    if not present:
        keys = (
            f"{contract.API_KEYS_FILE} and {contract.MONITORING_TOKEN_FILE}, one file each"
            if field == "secrets.existing"
            else f"{contract.POSTGRES_USER_KEY}=..., {contract.POSTGRES_PASSWORD_KEY}=... and "
            f"{contract.POSTGRES_DB_KEY}=... lines"
        )
        raise ConfigurationError(
            f"{field} names a Secret made elsewhere, which a local stack cannot read: put its "
            f"keys in {path} ({keys})"
        )


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file())


def _write(path: Path, text: str) -> Path:
    """Replace ``path`` with ``text``, readable by its owner only at every moment."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)
    return path
