"""One rendered pod's container as a compose service: what ``k8s-mlserve compose`` runs is what
Kubernetes would run, read from the same objects.

The translation: command and args become ``entrypoint`` and ``command`` (through ``sh -c`` when
they use ``$(VAR)``, which Kubernetes expands); env values, ConfigMap references and ``envFrom``
become ``environment``; Secret key references become the Secret's ``env_file``; claims become
named volumes, a Secret volume the volume its files are copied into, an ``emptyDir`` a tmpfs; the
readiness probe (else liveness) becomes the ``healthcheck``, with the startup probe's budget as its
``start_period``; the security context becomes ``user``, ``read_only``, ``cap_drop`` and
``no-new-privileges``; the termination grace period becomes ``stop_grace_period``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from ..errors import ConfigurationError

_VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_PROBE_DEFAULTS = {"period": 10, "timeout": 1, "failures": 3}

Service = dict[str, Any]


@dataclass(frozen=True)
class Sources:
    """Where a container's references point, in the local stack."""

    config: Mapping[str, Mapping[str, str]]  # ConfigMap name -> data
    env_files: Mapping[str, str]  # Secret name -> env_file path, for secretKeyRef
    volumes: Mapping[str, str] = field(default_factory=dict)  # claim or Secret -> volume


@dataclass(frozen=True)
class Translated:
    """A compose service and the named volumes it writes to or reads secrets from, with the
    uid and gid that must own them (what fsGroup does on Kubernetes)."""

    service: Service
    owners: dict[str, tuple[int, int]]


def translate(
    pod: client.V1PodSpec,
    container: client.V1Container,
    sources: Sources,
    *,
    labels: Mapping[str, str] | None = None,
) -> Translated:
    """The compose service running ``container`` of ``pod``."""
    service: Service = {"image": container.image}
    security = pod.security_context or client.V1PodSecurityContext()
    uid, gid = security.run_as_user, security.run_as_group
    if uid is not None:
        service["user"] = f"{uid}:{gid if gid is not None else uid}"
    service.update(_program(container))
    environment, env_files = _environment(container, sources)
    if env_files:
        service["env_file"] = env_files
    if environment:
        service["environment"] = environment
    volumes, tmpfs, written = _volumes(pod, container, sources)
    if volumes:
        service["volumes"] = volumes
    if tmpfs:
        # An emptyDir is writable by the pod's user; a tmpfs over a directory of the image would
        # keep that directory's owner and mode.
        user = f",uid={uid},gid={gid if gid is not None else uid}" if uid is not None else ""
        service["tmpfs"] = [f"{path}:mode=1777{user}" for path in tmpfs]
    service.update(_hardening(container.security_context))
    health = _healthcheck(container)
    if health is not None:
        service["healthcheck"] = health
    if pod.termination_grace_period_seconds is not None:
        service["stop_grace_period"] = f"{pod.termination_grace_period_seconds}s"
    if labels:
        service["labels"] = dict(labels)
    group = security.fs_group if security.fs_group is not None else gid
    owner = (uid, group if group is not None else uid) if uid is not None else None
    return Translated(service, {v: owner for v in written} if owner else {})


def _program(container: client.V1Container) -> Service:
    command, args = list(container.command or []), list(container.args or [])
    if not command:
        return {"command": args} if args else {}
    if any(_VARIABLE.search(word) for word in [*command, *args]):
        script = "exec " + " ".join(_shell_word(word) for word in [*command, *args])
        return {"entrypoint": ["sh", "-c", script]}
    return {"entrypoint": command, "command": args} if args else {"entrypoint": command}


def _shell_word(word: str) -> str:
    """``word`` for ``sh -c``, its ``$(VAR)`` references expanded by the shell as Kubernetes
    would expand them."""
    if not _VARIABLE.search(word):
        return shlex.quote(word)
    parts, last = [], 0
    for match in _VARIABLE.finditer(word):
        parts.append(_double_quoted(word[last : match.start()]))
        parts.append("${" + match.group(1) + "}")
        last = match.end()
    parts.append(_double_quoted(word[last:]))
    return '"' + "".join(parts) + '"'


def _double_quoted(text: str) -> str:
    return re.sub(r'([\\"`$])', r"\\\1", text)


def _environment(
    container: client.V1Container, sources: Sources
) -> tuple[dict[str, str], list[str]]:
    environment: dict[str, str] = {}
    env_files: list[str] = []
    for source in container.env_from or []:
        if source.config_map_ref is None:
            raise ConfigurationError("a local stack takes envFrom from ConfigMaps only")
        environment.update(_config(sources, source.config_map_ref.name or ""))
    for var in container.env or []:
        if var.value_from is None:
            environment[var.name] = var.value or ""
        elif var.value_from.config_map_key_ref is not None:
            config_ref = var.value_from.config_map_key_ref
            environment[var.name] = _config(sources, config_ref.name or "")[config_ref.key]
        elif var.value_from.secret_key_ref is not None:
            secret_ref = var.value_from.secret_key_ref
            env_file = sources.env_files.get(secret_ref.name or "")
            if secret_ref.key != var.name or env_file is None:
                raise ConfigurationError(
                    f"{var.name}: a local stack passes Secret keys as variables of the same name"
                )
            if env_file not in env_files:
                env_files.append(env_file)
        else:
            raise ConfigurationError(f"{var.name}: no local equivalent of its valueFrom")
    return dict(sorted(environment.items())), env_files


def _config(sources: Sources, name: str) -> Mapping[str, str]:
    if name not in sources.config:
        raise ConfigurationError(f"no ConfigMap {name} in the rendered objects")
    return sources.config[name]


def _volumes(
    pod: client.V1PodSpec, container: client.V1Container, sources: Sources
) -> tuple[list[str], list[str], list[str]]:
    """Named volume mounts, tmpfs paths, and the named volumes written or holding secrets."""
    kinds = {v.name: v for v in pod.volumes or []}
    mounts: list[str] = []
    tmpfs: list[str] = []
    owned: list[str] = []
    for mount in container.volume_mounts or []:
        volume = kinds.get(mount.name)
        if volume is not None and volume.empty_dir is not None:
            tmpfs.append(mount.mount_path)
            continue
        if volume is None:  # a StatefulSet's volumeClaimTemplate
            reference, read_only = mount.name, bool(mount.read_only)
        elif volume.persistent_volume_claim is not None:
            claim = volume.persistent_volume_claim
            reference, read_only = claim.claim_name, bool(mount.read_only or claim.read_only)
        elif volume.secret is not None:
            reference, read_only = volume.secret.secret_name or "", True
        else:
            raise ConfigurationError(f"volume {mount.name}: no local equivalent")
        name = sources.volumes.get(reference, reference)
        mounts.append(f"{name}:{mount.mount_path}" + (":ro" if read_only else ""))
        if not read_only or (volume is not None and volume.secret is not None):
            owned.append(name)
    return mounts, tmpfs, owned


def _hardening(context: client.V1SecurityContext | None) -> Service:
    if context is None:
        return {}
    out: Service = {}
    if context.read_only_root_filesystem:
        out["read_only"] = True
    if context.capabilities is not None and context.capabilities.drop:
        out["cap_drop"] = list(context.capabilities.drop)
    if context.allow_privilege_escalation is False:
        out["security_opt"] = ["no-new-privileges:true"]
    return out


def _healthcheck(container: client.V1Container) -> Service | None:
    probe = container.readiness_probe or container.liveness_probe
    if probe is None:
        return None
    check: Service = {
        "test": _probe_command(probe, container),
        "interval": f"{probe.period_seconds or _PROBE_DEFAULTS['period']}s",
        "timeout": f"{probe.timeout_seconds or _PROBE_DEFAULTS['timeout']}s",
        "retries": probe.failure_threshold or _PROBE_DEFAULTS["failures"],
    }
    startup = container.startup_probe
    if startup is not None:
        period = startup.period_seconds or _PROBE_DEFAULTS["period"]
        check["start_period"] = f"{period * (startup.failure_threshold or 3)}s"
    return check


def _probe_command(probe: client.V1Probe, container: client.V1Container) -> list[str]:
    # python3 is in every image of the stack but PostgreSQL's, which is probed with pg_isready.
    action = probe._exec  # the attribute every client release has (see workload._lifecycle)
    if action is not None:
        return ["CMD", *(action.command or [])]
    if probe.http_get is not None:
        port = _port(container, probe.http_get.port)
        url = f"http://127.0.0.1:{port}{probe.http_get.path or '/'}"
        code = f"import urllib.request; urllib.request.urlopen({url!r}, timeout=5)"
        return ["CMD", "python3", "-c", code]
    if probe.tcp_socket is not None:
        port = _port(container, probe.tcp_socket.port)
        code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"
        return ["CMD", "python3", "-c", code]
    raise ConfigurationError(f"container {container.name}: no local equivalent of its probe")


def _port(container: client.V1Container, port: int | str) -> int:
    if isinstance(port, int):
        return port
    for declared in container.ports or []:
        if declared.name == port:
            return int(declared.container_port)
    if port.isdigit():
        return int(port)
    raise ConfigurationError(f"container {container.name}: no port named {port}")
