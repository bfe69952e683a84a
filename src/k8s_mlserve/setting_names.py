"""The names settings are read under, and the ``MLSERVE_*`` variables and secret files that match
none of them (a misspelled ``MLSERVE_SERVER__PROT`` would otherwise be ignored without a word).

A setting ``port`` of the section ``server`` is the variable ``MLSERVE_SERVER__PORT`` and the
secret file ``server__port``; a whole section is also a name (``MLSERVE_SERVER``, as JSON).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

PREFIX = "MLSERVE_"
DELIMITER = "__"
SECRETS_DIR_VARIABLE = "MLSERVE_SECRETS_DIR"

# MLSERVE_* variables k8s-mlserve reads that are not settings; a test finds every name in the
# source tree and fails on one missing here.
OTHER_VARIABLES = frozenset(
    {
        SECRETS_DIR_VARIABLE,  # the secrets directory itself
        "MLSERVE_API_KEY",  # `k8s-mlserve predict` and `k8s-mlserve ui`
        "MLSERVE_UI_URL",  # `k8s-mlserve ui`: the server the page talks to
        "MLSERVE_UI_INPUTS",  # `k8s-mlserve ui` → its page: number boxes or sliders
        "MLSERVE_UI_MONITORING_TOKEN",  # `k8s-mlserve ui` → its page: the Drift tab's token
        # What the generated manifests tell a training container.
        "MLSERVE_TRAINING_OUTPUT",
        "MLSERVE_TRAINING_VERSION",
        "MLSERVE_TRAINING_REGISTERED_MODEL",
        "MLSERVE_TRAINING_MODEL_ALIAS",
    }
)


@dataclass(frozen=True)
class UnknownName:
    """A ``MLSERVE_*`` variable, or a file in the secrets directory, that matches no setting."""

    name: str
    suggestion: str | None = None
    secrets_dir: Path | None = None  # set for a secret file

    def __str__(self) -> str:
        what = (
            f"unknown setting {self.name}"
            if self.secrets_dir is None
            else f"unknown secret file {self.name} in {self.secrets_dir}"
        )
        if self.suggestion is None:
            return f"{what} (see `k8s-mlserve config` for every setting)"
        return f"{what} (did you mean {self.suggestion}?)"


def setting_paths(settings_cls: type[BaseModel]) -> list[str]:
    """Every setting as ``section__field``, in the order of the model."""
    paths = []
    for section_name, section_field in settings_cls.model_fields.items():
        section = section_field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            paths += [f"{section_name}{DELIMITER}{name}" for name in section.model_fields]
    return paths


def unknown_names(
    settings_cls: type[BaseModel],
    environ: Mapping[str, str],
    secrets_dir: Path | None = None,
) -> list[UnknownName]:
    """The ``MLSERVE_*`` variables of ``environ`` and the files of ``secrets_dir`` no setting reads.

    Names are compared without regard to case, as the settings are read. Hidden entries of the
    secrets directory (Kubernetes' ``..data``) are not files of their own.
    """
    paths = setting_paths(settings_cls)
    sections = list(settings_cls.model_fields)
    found = []
    # Variables are compared without the prefix they all share, or any name would look close.
    suggested = [path.upper() for path in paths] + [SECRETS_DIR_VARIABLE.removeprefix(PREFIX)]
    known = {*suggested, *(section.upper() for section in sections)}
    known.update(other.removeprefix(PREFIX) for other in OTHER_VARIABLES)
    for name in sorted(environ):
        rest = name.upper().removeprefix(PREFIX)
        if name.upper().startswith(PREFIX) and rest not in known:
            match = _closest(rest, suggested)
            found.append(UnknownName(name, None if match is None else PREFIX + match))
    if secrets_dir is not None and secrets_dir.is_dir():
        files = {*paths, *sections}
        for entry in sorted(secrets_dir.iterdir()):
            if not entry.name.startswith(".") and entry.name.lower() not in files:
                match = _closest(entry.name.lower(), paths)
                found.append(UnknownName(entry.name, match, secrets_dir))
    return found


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name``, or the one whose field is most like it (``PORT``)."""
    candidates = list(candidates)
    match = difflib.get_close_matches(name, candidates, n=1)
    if match:
        return match[0]
    fields = {c.rsplit(DELIMITER, 1)[-1]: c for c in reversed(candidates)}
    match = difflib.get_close_matches(name.rsplit(DELIMITER, 1)[-1], list(fields), n=1)
    return fields[match[0]] if match else None
