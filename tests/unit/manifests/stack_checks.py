"""Semantic checks over a rendered stack, written independently of the builders.

They read plain manifests and the server's documented contract (port 8000, ``/health``,
``/ready``, ``/startup``, secrets read from ``MLSERVE_SECRETS_DIR``) and the web page's
(``k8s-mlserve ui --url ... --secrets-dir ...`` on Streamlit's port 8501 and health route), and
return a list of problems, empty for a sound stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Manifest = dict[str, Any]

SERVER_PORT = 8000
PROBE_PATHS = {"startupProbe": "/startup", "readinessProbe": "/ready", "livenessProbe": "/health"}
SERVE_COMMAND = ["k8s-mlserve", "serve"]
BAKED_MODEL_DIR = "/opt/k8s-mlserve/model"  # a model inside the image: no claim to mount
UI_COMMAND = ["k8s-mlserve", "ui"]
UI_PORT = 8501
UI_HEALTH_PATH = "/_stcore/health"


@dataclass
class External:
    """Objects a stack may reference without rendering them."""

    secrets: set[str] = field(default_factory=set)
    claims: set[str] = field(default_factory=set)
    config_maps: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class PodTemplate:
    owner: str
    namespace: str
    labels: dict[str, str]
    spec: dict[str, Any]
    claim_templates: tuple[str, ...] = ()

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list(self.spec.get("containers", []))

    @property
    def serves_api(self) -> bool:
        return any(c.get("command") == SERVE_COMMAND for c in self.containers)


def pod_templates(manifests: Iterable[Manifest]) -> list[PodTemplate]:
    out = []
    for m in manifests:
        kind, meta = m["kind"], m["metadata"]
        if kind in ("Deployment", "StatefulSet", "Job"):
            template = m["spec"]["template"]
        elif kind == "CronJob":
            template = m["spec"]["jobTemplate"]["spec"]["template"]
        else:
            continue
        out.append(
            PodTemplate(
                owner=f"{kind}/{meta['name']}",
                namespace=meta.get("namespace", "default"),
                labels=template.get("metadata", {}).get("labels", {}),
                spec=template["spec"],
                claim_templates=tuple(
                    c["metadata"]["name"] for c in m["spec"].get("volumeClaimTemplates", [])
                ),
            )
        )
    return out


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _port_number(container: dict[str, Any], port: Any) -> Any:
    if isinstance(port, str):
        for p in container.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
        return None
    return port


def _image_problems(template: PodTemplate) -> list[str]:
    problems = []
    for c in template.containers:
        image = c["image"]
        name, _, tag = image.partition("@")[0].rpartition(":")
        if not name or "/" in tag or not tag:
            problems.append(f"{template.owner}: image {image} has no tag")
        elif tag == "latest":
            problems.append(f"{template.owner}: image {image} uses latest")
        if c.get("imagePullPolicy") not in ("IfNotPresent", "Never"):
            problems.append(f"{template.owner}: imagePullPolicy {c.get('imagePullPolicy')}")
    return problems


def _api_problems(template: PodTemplate, config: dict[str, str]) -> list[str]:
    problems = []
    volumes = {v["name"]: v for v in template.spec.get("volumes", [])}
    for c in template.containers:
        if c.get("command") != SERVE_COMMAND:
            continue
        ports = [p["containerPort"] for p in c.get("ports", [])]
        if SERVER_PORT not in ports:
            problems.append(f"{template.owner}: container port {SERVER_PORT} missing")
        for probe, path in PROBE_PATHS.items():
            get = c.get(probe, {}).get("httpGet", {})
            if get.get("path") != path or _port_number(c, get.get("port")) != SERVER_PORT:
                problems.append(f"{template.owner}: {probe} is {get}, expected {path} on 8000")
        requests = c.get("resources", {}).get("requests", {})
        if "cpu" not in requests or "memory" not in requests:
            problems.append(f"{template.owner}: no cpu/memory requests")
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        secret_mounts = [p for p, m in mounts.items() if "secret" in volumes.get(m["name"], {})]
        if secret_mounts and config.get("MLSERVE_SECRETS_DIR") not in secret_mounts:
            problems.append(
                f"{template.owner}: secrets mounted at {secret_mounts} but "
                f"MLSERVE_SECRETS_DIR is {config.get('MLSERVE_SECRETS_DIR')}"
            )
        for key in ("MLSERVE_MODEL__PATH", "MLSERVE_REQUEST_LOG__DIR"):
            setting = config.get(key)
            if key == "MLSERVE_MODEL__PATH" and setting == BAKED_MODEL_DIR:
                if any(p == setting or setting.startswith(p.rstrip("/") + "/") for p in mounts):
                    problems.append(f"{template.owner}: a volume hides the model in the image")
                continue
            on_claim = any(
                setting
                and (setting == p or setting.startswith(p.rstrip("/") + "/"))
                and "persistentVolumeClaim" in volumes.get(m["name"], {})
                for p, m in mounts.items()
            )
            if not on_claim:
                problems.append(f"{template.owner}: {key}={setting} is not on a mounted claim")
        if config.get("MLSERVE_SERVER__HOST") != "0.0.0.0":
            problems.append(f"{template.owner}: the server does not listen on 0.0.0.0")
    return problems


def _pod_security_problems(template: PodTemplate) -> list[str]:
    problems = []
    pod = template.spec.get("securityContext", {})
    if not pod.get("runAsNonRoot") or not pod.get("runAsUser"):
        problems.append(f"{template.owner}: pod may run as root")
    for c in template.containers:
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False or not sc.get("readOnlyRootFilesystem"):
            problems.append(f"{template.owner}: container {c['name']} is not locked down")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{template.owner}: container {c['name']} keeps capabilities")
    return problems


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args[:-1] else None


def _ui_problems(
    template: PodTemplate, by_kind: dict[str, dict[str, Manifest]], api_pods: list[PodTemplate]
) -> list[str]:
    """The page reaches the API Service, reads the Secret where it is mounted, answers its
    probes, and the API's NetworkPolicies let it in."""
    problems = []
    volumes = {v["name"]: v for v in template.spec.get("volumes", [])}
    for c in template.containers:
        if c.get("command") != UI_COMMAND:
            continue
        args = c.get("args", [])
        url = _option(args, "--url") or ""
        host, _, port = url.removeprefix("http://").partition(":")
        service = by_kind.get("Service", {}).get(host)
        if service is None or int(port or 80) not in [p["port"] for p in service["spec"]["ports"]]:
            problems.append(f"{template.owner}: --url {url} is no port of a rendered Service")
        elif not any(_matches(service["spec"]["selector"], t.labels) for t in api_pods):
            problems.append(f"{template.owner}: --url {url} is not a Service of the API pods")
        secrets_dir = _option(args, "--secrets-dir")
        secret_mounts = [
            m["mountPath"]
            for m in c.get("volumeMounts", [])
            if "secret" in volumes.get(m["name"], {})
        ]
        if secrets_dir not in [*secret_mounts, None] or (secret_mounts and secrets_dir is None):
            problems.append(
                f"{template.owner}: --secrets-dir {secrets_dir}, secrets mounted at {secret_mounts}"
            )
        health = f"{_option(args, '--base-path') or ''}{UI_HEALTH_PATH}"
        for probe in ("readinessProbe", "livenessProbe"):
            get = c.get(probe, {}).get("httpGet", {})
            if get.get("path") != health or _port_number(c, get.get("port")) != UI_PORT:
                problems.append(f"{template.owner}: {probe} is {get}, expected {health} on 8501")
    for name, np in by_kind.get("NetworkPolicy", {}).items():
        if not any(
            _matches(np["spec"]["podSelector"].get("matchLabels", {}), t.labels) for t in api_pods
        ):
            continue
        peers = [p for rule in np["spec"].get("ingress", []) for p in rule.get("from", [])]
        if not any(
            "namespaceSelector" not in p
            and _matches(p.get("podSelector", {}).get("matchLabels") or {}, template.labels)
            for p in peers
        ):
            problems.append(f"NetworkPolicy/{name}: does not admit the pods of {template.owner}")
    return problems


def check_stack(manifests: list[Manifest], external: External | None = None) -> list[str]:
    """Every problem found in a rendered stack."""
    external = external or External()
    problems: list[str] = []
    by_kind: dict[str, dict[str, Manifest]] = {}
    for m in manifests:
        by_kind.setdefault(m["kind"], {})[m["metadata"]["name"]] = m
    secrets = by_kind.get("Secret", {})
    config_maps = by_kind.get("ConfigMap", {})
    claims = by_kind.get("PersistentVolumeClaim", {})
    templates = pod_templates(manifests)
    api_pods = [t for t in templates if t.serves_api]
    if not api_pods:
        problems.append("no pod runs k8s-mlserve serve")

    namespaces = set(by_kind.get("Namespace", {}))
    for m in manifests:
        ns = m["metadata"].get("namespace")
        if m["kind"] != "Namespace" and namespaces and ns not in namespaces:
            problems.append(f"{m['kind']}/{m['metadata']['name']}: namespace {ns} not rendered")

    def secret_keys(name: str) -> set[str] | None:
        s = secrets.get(name)
        return None if s is None else set(s.get("stringData", {})) | set(s.get("data", {}))

    def ref_secret(owner: str, name: str, key: str | None = None) -> None:
        if name in external.secrets:
            return
        keys = secret_keys(name)
        if keys is None:
            problems.append(f"{owner}: Secret {name} neither rendered nor declared external")
        elif key is not None and key not in keys:
            problems.append(f"{owner}: Secret {name} has no key {key}")

    def ref_config_map(owner: str, name: str, key: str | None = None) -> None:
        if name in external.config_maps:
            return
        cm = config_maps.get(name)
        if cm is None:
            problems.append(f"{owner}: ConfigMap {name} not rendered")
        elif key is not None and key not in cm.get("data", {}):
            problems.append(f"{owner}: ConfigMap {name} has no key {key}")

    for t in templates:
        problems += _image_problems(t) + _pod_security_problems(t)
        volume_names = set(t.claim_templates)
        for v in t.spec.get("volumes", []):
            volume_names.add(v["name"])
            if "secret" in v:
                ref_secret(t.owner, v["secret"]["secretName"])
            if "configMap" in v:
                ref_config_map(t.owner, v["configMap"]["name"])
            claim = v.get("persistentVolumeClaim", {}).get("claimName")
            if claim and claim not in claims and claim not in external.claims:
                problems.append(f"{t.owner}: claim {claim} neither rendered nor declared external")
        for ref in t.spec.get("imagePullSecrets", []):
            ref_secret(t.owner, ref["name"])
        config: dict[str, str] = {}
        for c in t.containers:
            for mount in c.get("volumeMounts", []):
                if mount["name"] not in volume_names:
                    problems.append(f"{t.owner}: mount {mount['name']} has no volume")
            for env in c.get("env", []):
                source = env.get("valueFrom", {})
                if "secretKeyRef" in source:
                    ref_secret(
                        t.owner, source["secretKeyRef"]["name"], source["secretKeyRef"]["key"]
                    )
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    ref_config_map(t.owner, ref["name"], ref["key"])
            for env_from in c.get("envFrom", []):
                if "configMapRef" in env_from:
                    name = env_from["configMapRef"]["name"]
                    ref_config_map(t.owner, name)
                    config.update(config_maps.get(name, {}).get("data", {}))
                if "secretRef" in env_from:
                    ref_secret(t.owner, env_from["secretRef"]["name"])
            config.update({e["name"]: e["value"] for e in c.get("env", []) if "value" in e})
        if t.serves_api:
            problems += _api_problems(t, config)

    for t in templates:
        if any(c.get("command") == UI_COMMAND for c in t.containers):
            problems += _ui_problems(t, by_kind, api_pods)

    for kind in ("Deployment", "StatefulSet"):
        for name, d in by_kind.get(kind, {}).items():
            selector = d["spec"]["selector"]["matchLabels"]
            labels = d["spec"]["template"]["metadata"]["labels"]
            if not selector or not _matches(selector, labels):
                problems.append(f"{kind}/{name}: selector {selector} does not match its pods")
    for name, sts in by_kind.get("StatefulSet", {}).items():
        governing = by_kind.get("Service", {}).get(sts["spec"].get("serviceName"))
        if governing is None or governing["spec"].get("clusterIP") != "None":
            problems.append(f"StatefulSet/{name}: serviceName names no headless Service")

    def selects(selector: dict[str, str], pods: list[PodTemplate]) -> bool:
        return any(_matches(selector, t.labels) for t in pods)

    deployments = [t for t in templates if t.owner.startswith(("Deployment/", "StatefulSet/"))]
    api_deployments = [t for t in api_pods if t.owner.startswith("Deployment/")]
    for name, svc in by_kind.get("Service", {}).items():
        selector = svc["spec"].get("selector", {})
        chosen = [t for t in deployments if _matches(selector, t.labels)]
        if not selector or not chosen:
            problems.append(f"Service/{name}: selector {selector} selects no pods")
        for port in svc["spec"]["ports"]:
            for t in chosen:
                if not any(_port_number(c, port["targetPort"]) for c in t.containers):
                    problems.append(
                        f"Service/{name}: targetPort {port['targetPort']} not in {t.owner}"
                    )
    if not any(
        selects(s["spec"].get("selector", {}), api_deployments)
        for s in by_kind.get("Service", {}).values()
    ):
        problems.append("no Service selects the API pods")

    for name, ing in by_kind.get("Ingress", {}).items():
        for rule in ing["spec"]["rules"]:
            for ingress_path in rule["http"]["paths"]:
                backend = ingress_path["backend"]["service"]
                target = by_kind.get("Service", {}).get(backend["name"])
                ports = [p["port"] for p in target["spec"]["ports"]] if target else []
                if backend["port"].get("number") not in ports:
                    problems.append(f"Ingress/{name}: backend {backend} does not exist")
        for tls in ing["spec"].get("tls", []):
            ref_secret(f"Ingress/{name}", tls["secretName"])

    for name, monitor in by_kind.get("ServiceMonitor", {}).items():
        owner = f"ServiceMonitor/{name}"
        selector = monitor["spec"]["selector"]["matchLabels"]
        scraped = [
            s
            for s in by_kind.get("Service", {}).values()
            if _matches(selector, s["metadata"].get("labels", {}))
        ]
        if not any(selects(s["spec"].get("selector", {}), api_deployments) for s in scraped):
            problems.append(f"{owner}: selects no Service of the API pods")
        for endpoint in monitor["spec"]["endpoints"]:
            ports = [p.get("name") for s in scraped for p in s["spec"]["ports"]]
            if endpoint.get("port") not in ports:
                problems.append(f"{owner}: no scraped Service has a port {endpoint.get('port')}")
            credentials = endpoint.get("authorization", {}).get("credentials")
            if credentials is not None:
                ref_secret(owner, credentials["name"], credentials["key"])

    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        ref = hpa["spec"]["scaleTargetRef"]
        target = by_kind.get(ref["kind"], {}).get(ref["name"])
        if target is None:
            problems.append(f"HorizontalPodAutoscaler/{name}: target {ref['name']} does not exist")
            continue
        if "replicas" in target["spec"]:
            problems.append(f"{ref['kind']}/{ref['name']}: sets replicas the autoscaler owns")
        for metric in hpa["spec"].get("metrics", []):
            resource = metric["resource"]["name"]
            for c in target["spec"]["template"]["spec"]["containers"]:
                if resource not in c.get("resources", {}).get("requests", {}):
                    problems.append(
                        f"HorizontalPodAutoscaler/{name}: {c['name']} requests no {resource}"
                    )

    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        if not selects(pdb["spec"]["selector"]["matchLabels"], api_deployments):
            problems.append(f"PodDisruptionBudget/{name}: selects no API pods")

    for name, np in by_kind.get("NetworkPolicy", {}).items():
        if not selects(np["spec"]["podSelector"].get("matchLabels", {}), deployments):
            problems.append(f"NetworkPolicy/{name}: selects no pods")
    api_policies = [
        np
        for np in by_kind.get("NetworkPolicy", {}).values()
        if selects(np["spec"]["podSelector"].get("matchLabels", {}), api_deployments)
    ]
    for np in api_policies:
        ports = [p["port"] for rule in np["spec"].get("ingress", []) for p in rule["ports"]]
        if set(ports) - {SERVER_PORT}:
            problems.append(f"NetworkPolicy/{np['metadata']['name']}: admits ports {ports}")
    return problems


def has_network_policy_for_api(manifests: list[Manifest]) -> bool:
    api = [t for t in pod_templates(manifests) if t.serves_api]
    return any(
        any(_matches(m["spec"]["podSelector"].get("matchLabels", {}), t.labels) for t in api)
        for m in manifests
        if m["kind"] == "NetworkPolicy"
    )
