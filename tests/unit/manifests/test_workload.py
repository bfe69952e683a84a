from __future__ import annotations

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import KubeVersion, render

from .conftest import api_container, counting_source, make_spec, rendered


def test_api_container_follows_the_runtime_contract() -> None:
    deployment = rendered(make_spec())["Deployment/demo"]
    pod = deployment["spec"]["template"]["spec"]
    c = api_container(deployment)
    assert c["command"] == ["k8s-mlserve", "serve"]
    assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["envFrom"] == [{"configMapRef": {"name": "demo-config"}}]
    probes = {
        p: (c[p]["httpGet"]["path"], c[p]["httpGet"]["port"])
        for p in ("startupProbe", "readinessProbe", "livenessProbe")
    }
    assert probes == {
        "startupProbe": ("/startup", "http"),
        "readinessProbe": ("/ready", "http"),
        "livenessProbe": ("/health", "http"),
    }
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 300
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/models"].get("readOnly") is True  # written only by the training Job
    assert mounts["/logs"].get("readOnly") is None
    assert mounts["/etc/k8s-mlserve/secrets"]["readOnly"] is True
    assert "/tmp" in mounts
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
    assert volumes["secrets"]["secret"] == {"secretName": "demo-secrets", "defaultMode": 0o440}


def test_pods_are_hardened() -> None:
    pod = rendered(make_spec())["Deployment/demo"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "fsGroup": 10001,
        "runAsGroup": 10001,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["containers"][0]["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False


@pytest.mark.parametrize(("pre_stop", "drain", "grace"), [(5, 20, 30), (10, 45, 60), (0, 20, 25)])
def test_grace_period_covers_the_pause_and_the_drain(pre_stop: int, drain: int, grace: int) -> None:
    spec = make_spec(
        api={"pre_stop_seconds": pre_stop, "shutdown_timeout_seconds": drain},
        kubernetes_version="1.20",
    )
    objects = rendered(spec)
    pod = objects["Deployment/demo"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == grace
    assert objects["ConfigMap/demo-config"]["data"]["MLSERVE_SERVER__SHUTDOWN_TIMEOUT"] == str(
        drain
    )
    lifecycle = pod["containers"][0].get("lifecycle")
    if pre_stop == 0:
        assert lifecycle is None
    else:
        assert lifecycle == {"preStop": {"exec": {"command": ["sleep", str(pre_stop)]}}}


def test_pre_stop_uses_the_sleep_action_where_the_target_has_it() -> None:
    spec = make_spec(kubernetes_version="1.30")
    c = api_container(rendered(spec)["Deployment/demo"])
    assert c["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}


def test_replicas_belong_to_the_autoscaler_when_there_is_one() -> None:
    assert rendered(make_spec(api={"replicas": 3}))["Deployment/demo"]["spec"]["replicas"] == 3
    assert "replicas" not in rendered(make_spec(autoscaling={}))["Deployment/demo"]["spec"]


def test_config_change_rolls_the_pods() -> None:
    def annotation(level: str) -> str:
        deployment = rendered(make_spec(config={"log_level": level}))["Deployment/demo"]
        return str(
            deployment["spec"]["template"]["metadata"]["annotations"]["k8s-mlserve/config-sha256"]
        )

    assert annotation("info") == annotation("info") != annotation("debug")


def test_prometheus_annotations() -> None:
    template = rendered(make_spec())["Deployment/demo"]["spec"]["template"]
    assert template["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    assert template["metadata"]["annotations"]["prometheus.io/port"] == "8000"
    quiet = rendered(make_spec(monitoring={"prometheus_scrape": False}))["Deployment/demo"]
    assert "prometheus.io/scrape" not in quiet["spec"]["template"]["metadata"]["annotations"]


def test_training_job() -> None:
    spec = make_spec(
        model={"name": "diabetes"},
        training={
            "example": "diabetes",
            "data": "https://example.com/d.csv",
            "version": "v2.1",
            "backoff_limit": 1,
        },
    )
    job = rendered(spec)["Job/demo-train-v2-1"]
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["command"] == ["k8s-mlserve", "train"]
    assert c["args"] == [
        "diabetes",
        "--output",
        "/models/diabetes",
        "--data",
        "https://example.com/d.csv",
        "--version",
        "v2.1",
    ]
    assert c["image"] == "k8s-mlserve:1.0.0"
    assert pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 1
    assert {m["mountPath"]: m.get("readOnly") for m in c["volumeMounts"]} == {
        "/tmp": None,
        "/models": None,
    }
    assert pod["securityContext"]["runAsUser"] == 10001
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_training_job_gets_the_tracking_uri_with_mlflow() -> None:
    job = rendered(make_spec(training={"example": "iris", "algorithm": "svm"}, mlflow={}))[
        "Job/demo-train"
    ]
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["args"][-2:] == ["--algorithm", "svm"]
    tracking = next(e for e in c["env"] if e["name"] == "MLFLOW_TRACKING_URI")
    assert tracking["valueFrom"] == {
        "configMapKeyRef": {"name": "demo-config", "key": "MLFLOW_TRACKING_URI"}
    }


def test_job_ttl_needs_1_21() -> None:
    spec = make_spec(
        training={"example": "iris", "ttl_seconds_after_finished": 600}, kubernetes_version="1.20"
    )
    with pytest.raises(ConfigurationError, match=r"needs Kubernetes 1.21 or newer.*is 1.20"):
        render(spec, counting_source())
    newer = spec.model_copy(update={"kubernetes_version": KubeVersion(1, 21)})
    job = rendered(newer)["Job/demo-train"]
    assert job["spec"]["ttlSecondsAfterFinished"] == 600


def test_drift_check_cronjob() -> None:
    spec = make_spec(drift_check={"schedule": "@daily"}, kubernetes_version="1.20")
    cron = rendered(spec)["CronJob/demo-drift-check"]
    assert cron["apiVersion"] == "batch/v1beta1"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["command"] + c["args"] == [
        "k8s-mlserve",
        "drift",
        "--bundle",
        "/models/demo",
        "--current",
        "/logs",
    ]
    assert {m["mountPath"]: m.get("readOnly") for m in c["volumeMounts"]} == {
        "/tmp": None,
        "/models": True,
        "/logs": True,
    }


def test_drift_check_time_zone_needs_1_27() -> None:
    check = {"schedule": "0 3 * * *", "time_zone": "Europe/Paris"}
    with pytest.raises(ConfigurationError, match="CronJob time zones"):
        render(make_spec(drift_check=check, kubernetes_version="1.26"), counting_source())
    cron = rendered(make_spec(drift_check=check, kubernetes_version="1.27"))[
        "CronJob/demo-drift-check"
    ]
    assert cron["apiVersion"] == "batch/v1"
    assert cron["spec"]["timeZone"] == "Europe/Paris"


def test_bad_schedule_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"drift_check.schedule: String should match"):
        make_spec(drift_check={"schedule": "every day"})
