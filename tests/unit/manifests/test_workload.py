from __future__ import annotations

import re
from typing import Any

import pytest

from k8s_mlserve.errors import ConfigurationError
from k8s_mlserve.manifests import DEFAULT_TARGET, KubeVersion, render
from k8s_mlserve.manifests.naming import names

from .conftest import api_container, counting_source, make_spec, rendered
from .schema_validation import validate
from .stack_checks import check_stack


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


def _job(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (job,) = [m for m in objects.values() if m["kind"] == "Job"]
    return job


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


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
    job = _job(rendered(spec))
    assert re.fullmatch(r"demo-train-v2-1-[0-9a-f]{8}", job["metadata"]["name"])
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
    assert _env(c) == {
        "HOME": "/tmp",
        "MLSERVE_TRAINING_OUTPUT": "/models/diabetes",
        "MLSERVE_TRAINING_VERSION": "v2.1",
    }
    assert pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 1
    assert "ttlSecondsAfterFinished" not in job["spec"]  # a deleted Job would train again
    assert {m["mountPath"]: m.get("readOnly") for m in c["volumeMounts"]} == {
        "/tmp": None,
        "/models": None,
    }
    assert pod["securityContext"]["runAsUser"] == 10001
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_training_job_gets_the_tracking_uri_with_mlflow() -> None:
    spec = make_spec(
        training={"example": "iris", "algorithm": "svm", "args": ["--no-current"]},
        mlflow={},
        model={"registered_name": "iris-model", "alias": "prod"},
    )
    c = _job(rendered(spec))["spec"]["template"]["spec"]["containers"][0]
    assert c["args"][-3:] == ["--algorithm", "svm", "--no-current"]  # training.args come last
    env = _env(c)
    assert env["MLFLOW_TRACKING_URI"] == {
        "configMapKeyRef": {"name": "demo-config", "key": "MLFLOW_TRACKING_URI"}
    }
    assert env["MLSERVE_TRAINING_REGISTERED_MODEL"] == "iris-model"
    assert env["MLSERVE_TRAINING_MODEL_ALIAS"] == "prod"


def test_a_training_job_running_its_own_command() -> None:
    spec = make_spec(
        model={"name": "churn"},
        training={
            "command": ["python", "-m", "team.train"],
            "args": ["--epochs", 3],
            "image": "registry.example.com/team/trainer:2.0",
            "env": {"TEAM_BUCKET": "s3://models", "THREADS": 4},
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
        },
    )
    objects = rendered(spec)
    job = _job(objects)
    assert re.fullmatch(r"demo-train-[0-9a-f]{8}", job["metadata"]["name"])
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == "registry.example.com/team/trainer:2.0"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert (c["command"], c["args"]) == (["python", "-m", "team.train"], ["--epochs", "3"])
    assert _env(c) == {
        "HOME": "/tmp",
        "MLSERVE_TRAINING_OUTPUT": "/models/churn",
        "TEAM_BUCKET": "s3://models",
        "THREADS": "4",
    }
    assert c["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}}
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "2.0"
    # the same place to write and the same lock-down as the built-in training
    assert {m["mountPath"]: m.get("readOnly") for m in c["volumeMounts"]} == {
        "/tmp": None,
        "/models": None,
    }
    builtin = rendered(make_spec(training={"example": "churn"}))
    builtin_pod = _job(builtin)["spec"]["template"]["spec"]
    assert pod["securityContext"] == builtin_pod["securityContext"]
    assert c["securityContext"] == builtin_pod["containers"][0]["securityContext"]
    assert pod["volumes"] == builtin_pod["volumes"]
    assert pod["automountServiceAccountToken"] is False
    assert check_stack(list(objects.values())) == []


def _job_name(**training: Any) -> str:
    name: str = _job(rendered(make_spec(training={"example": "iris", **training})))["metadata"][
        "name"
    ]
    return name


def test_the_job_name_follows_what_the_job_runs() -> None:
    # An unchanged spec applies as a no-op; a change (the pod template is immutable) is a new Job.
    first = _job_name()
    assert first == _job_name()
    assert re.fullmatch(r"demo-train-[0-9a-f]{8}", first)
    changes: list[dict[str, Any]] = [
        {"image": "k8s-mlserve:1.0.1"},
        {"args": ["--no-current"]},
        {"env": {"SEED": "1"}},
        {"algorithm": "svm"},
        {"resources": {"requests": {"cpu": "1"}}},
    ]
    renamed = {_job_name(**change) for change in changes}
    assert len(renamed) == len(changes)
    assert first not in renamed
    # what is outside the pod template leaves it alone: a Job may change its limits in place
    objects = rendered(make_spec(training={"example": "iris"}, api={"replicas": 5}))
    assert _job(objects)["metadata"]["name"] == first
    assert _job_name(backoff_limit=5, active_deadline_seconds=600) == first
    other_tag = make_spec(
        training={"example": "iris"}, image={"repository": "k8s-mlserve", "tag": "1.0.1"}
    )
    assert _job(rendered(other_tag))["metadata"]["name"] != first


def test_the_job_name_fits_a_label_value() -> None:
    # Pods get a job-name label with the Job's name: at most 63 characters, alphanumeric ends.
    for length, expected in ((40, 63), (39, 62)):  # the cut may fall on a '-'
        version = "Release_" + "9" * 40
        spec = make_spec(name="n" * length, training={"example": "iris", "version": version})
        name = _job(rendered(spec))["metadata"]["name"]
        assert re.fullmatch(rf"n{{{length}}}-train-release-[0-9a-f]{{8}}", name)
        assert len(name) == expected
    assert names(spec).training_job("v1") == f"{'n' * 39}-train-v1"
    assert names(spec).training_job("v1", "0123abcd") == f"{'n' * 39}-train-v1-0123abcd"


def test_job_ttl_needs_1_21() -> None:
    spec = make_spec(
        training={"example": "iris", "ttl_seconds_after_finished": 600}, kubernetes_version="1.20"
    )
    with pytest.raises(ConfigurationError, match=r"needs Kubernetes 1.21 or newer.*is 1.20"):
        render(spec, counting_source())
    newer = spec.model_copy(update={"kubernetes_version": KubeVersion(1, 21)})
    assert _job(rendered(newer))["spec"]["ttlSecondsAfterFinished"] == 600


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


@pytest.mark.parametrize("target", ["1.20", str(DEFAULT_TARGET)])
def test_a_model_baked_into_the_image(target: str) -> None:
    spec = make_spec(
        model={"source": "image"},
        drift_check={"schedule": "@daily"},
        strategy={"type": "blue-green", "green": {"image_tag": "1.1.0"}},
        kubernetes_version=target,
    )
    objects = rendered(spec)
    for colour in ("blue", "green"):
        pod = objects[f"Deployment/demo-{colour}"]["spec"]["template"]["spec"]
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts == {"/tmp", "/logs", "/etc/k8s-mlserve/secrets"}  # no claim over the model
        assert "models" not in {v["name"] for v in pod["volumes"]}
    cron = objects["CronJob/demo-drift-check"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    c = cron["containers"][0]
    assert c["image"] == "k8s-mlserve:1.0.0"
    assert c["args"] == ["--bundle", "/opt/k8s-mlserve/model", "--current", "/logs"]
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/tmp", "/logs"}
    manifests = list(objects.values())
    assert [e for m in manifests for e in validate(m, target)] == []
    assert check_stack(manifests) == []


def test_api_models_mount_follows_the_source() -> None:
    def models_mount(**overrides: Any) -> dict[str, Any]:
        c = api_container(rendered(make_spec(**overrides))["Deployment/demo"])
        mount: dict[str, Any] = next(m for m in c["volumeMounts"] if m["mountPath"] == "/models")
        return mount

    assert models_mount(model={"source": "claim"})["readOnly"] is True
    # the cache of a model loaded from MLflow lives on the claim
    assert "readOnly" not in models_mount(model={"registered_name": "m"}, mlflow={})
