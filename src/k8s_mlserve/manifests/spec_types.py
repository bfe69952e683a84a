"""Validated value types shared by the deployment spec sections: names, quantities, image tags,
labels, resources and secret values."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PERCENT = re.compile(r"^[0-9]{1,3}%$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SUFFIXES = {
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


class Section(BaseModel):
    """Base of every spec section: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"'{value}' is not a valid name: use at most 63 lower-case letters, digits and '-', "
            "starting with a letter"
        )
    return value


# Object names are the spec's name plus a suffix, and Kubernetes allows 63 characters in most of
# them (Service names, label values): the longest suffix, "-postgres-headless", needs 18.
NAME_MAX_LENGTH = 40


def _deployment_name(value: str) -> str:
    limit = (
        f"at most {NAME_MAX_LENGTH} characters, not Kubernetes' 63, because object names add up "
        "to 18 to it (as in NAME-postgres-headless) and must stay within 63"
    )
    if len(value) > NAME_MAX_LENGTH:
        raise ValueError(f"'{value}' has {len(value)} characters; a deployment name has {limit}")
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"'{value}' is not a valid name: use lower-case letters, digits and '-', starting "
            f"with a letter, {limit}"
        )
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError(
            f"'{value}' is not a valid Kubernetes object name: use lower-case letters, digits, "
            "'-' and '.'"
        )
    return value


def _as_text(value: Any) -> Any:
    # YAML reads `cpu: 1` or `cpu: 0.5` as numbers; they are meant as text.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _quoted_text(value: Any) -> Any:
    # `tag: 1.10` would silently become "1.1", so only whole numbers are taken as text.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (float, bool)):
        raise ValueError(f"write {value!r} in quotes: YAML reads it as a number or a boolean")
    return value


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(
            f"'{value}' is not a Kubernetes quantity; expected e.g. '250m', '1', '512Mi'"
        )
    return value


def _tag(value: str) -> str:
    if not _TAG.match(value):
        raise ValueError(f"'{value}' is not a valid image tag")
    return value


def _int_or_percent(value: int | str) -> int | str:
    if isinstance(value, str) and not _PERCENT.match(value):
        raise ValueError(f"'{value}' must be a whole number or a percentage such as '25%'")
    if isinstance(value, int) and value < 0:
        raise ValueError("must not be negative")
    return value


def _label_key(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    if (prefix and not _DNS_SUBDOMAIN.match(prefix)) or not _LABEL_NAME.match(name):
        raise ValueError(f"'{value}' is not a valid label key")
    return value


def _label_value(value: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise ValueError(
            f"'{value}' is not a valid label value (at most 63 letters, digits, '-_.')"
        )
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"'{value}' is not a valid environment variable name")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DeploymentName = Annotated[str, AfterValidator(_deployment_name)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
Quantity = Annotated[str, BeforeValidator(_as_text), AfterValidator(_quantity)]
ImageTag = Annotated[str, BeforeValidator(_quoted_text), AfterValidator(_tag)]
IntOrPercent = Annotated[int | str, AfterValidator(_int_or_percent)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, BeforeValidator(_quoted_text), AfterValidator(_label_value)]
Labels = dict[LabelKey, LabelValue]
EnvName = Annotated[str, AfterValidator(_env_name)]
EnvValue = Annotated[str, BeforeValidator(_quoted_text)]
Argument = Annotated[str, BeforeValidator(_quoted_text)]


def quantity_value(text: str) -> Decimal:
    """The number a quantity such as ``250m`` or ``1Gi`` stands for."""
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not a Kubernetes quantity")
    suffix = match.group(2)
    number = Decimal(text[: len(text) - len(suffix)] if suffix else text)
    return number * _SUFFIXES[suffix] if suffix else number


def split_image(reference: str) -> tuple[str, str | None, str | None]:
    """Split ``repo[:tag][@digest]`` into its parts (the registry port is not a tag)."""
    rest, _, digest = reference.partition("@")
    name, sep, tag = rest.rpartition(":")
    if not sep or "/" in tag:
        return rest, None, digest or None
    return name, tag, digest or None


def check_tag(tag: str | None, *, allow_latest: bool) -> None:
    """Refuse a missing or ``latest`` tag unless explicitly allowed."""
    if tag is None:
        raise ValueError("the image has no tag; use a versioned tag such as '1.2.0'")
    if tag == "latest" and not allow_latest:
        raise ValueError(
            "the tag 'latest' makes deployments unrepeatable; use a versioned tag, or set "
            "image.allow_latest: true"
        )


class ResourceAmounts(Section):
    """CPU and memory amounts, e.g. ``cpu: 250m`` and ``memory: 256Mi``."""

    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(Section):
    """Container requests and limits; each limit must be at least its request."""

    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Resources:
        for name in ("cpu", "memory"):
            request = getattr(self.requests, name)
            limit = getattr(self.limits, name)
            if request and limit and quantity_value(limit) < quantity_value(request):
                raise ValueError(f"limits.{name} ({limit}) is below requests.{name} ({request})")
        return self

    def as_dict(self) -> dict[str, dict[str, str]]:
        """The ``resources`` of a container, leaving out what is unset."""
        out: dict[str, dict[str, str]] = {}
        for part in ("requests", "limits"):
            amounts = getattr(self, part).model_dump(exclude_none=True)
            if amounts:
                out[part] = amounts
        return out


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Resources:
    """Shorthand for a default ``Resources``."""
    return Resources(
        requests=ResourceAmounts(cpu=cpu, memory=memory),
        limits=ResourceAmounts(cpu=cpu_limit, memory=memory_limit),
    )


class SecretValue(Section):
    """Where a secret value comes from: exactly one of ``from_env``, ``from_file`` or
    ``generate`` (a random value made at render time). There is never a fixed default."""

    from_env: EnvName | None = None
    from_file: Path | None = None
    generate: bool = False
    length: int = Field(32, ge=16, le=256, description="characters of a generated value")

    @field_validator("from_file")
    @classmethod
    def _relative_to_spec(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is not None and base is not None and not value.is_absolute():
            return Path(base) / value
        return value

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SecretValue:
        chosen = [
            name
            for name, on in (
                ("from_env", self.from_env is not None),
                ("from_file", self.from_file is not None),
                ("generate", self.generate),
            )
            if on
        ]
        if len(chosen) != 1:
            raise ValueError(
                "set exactly one of from_env, from_file or generate: true"
                + (f" (got {', '.join(chosen)})" if chosen else "")
            )
        return self


def generated() -> SecretValue:
    """A value generated at render time."""
    return SecretValue(generate=True)


PullPolicy = Literal["IfNotPresent", "Always", "Never"]
AccessMode = Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"]
