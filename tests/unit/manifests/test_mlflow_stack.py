from __future__ import annotations

from typing import Any

from .conftest import api_container, make_spec, rendered
from .stack_checks import External, check_stack


def _stack(mlflow: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return rendered(make_spec(mlflow=mlflow or {}, model={"registered_name": "demo-model"}))


def test_objects_of_the_stack() -> None:
    names = set(_stack())
    assert {
        "Secret/demo-postgres",
        "PersistentVolumeClaim/demo-mlflow-artifacts",
        "StatefulSet/demo-postgres",
        "Deployment/demo-mlflow",
        "Service/demo-postgres",
        "Service/demo-postgres-headless",
        "Service/demo-mlflow",
        "NetworkPolicy/demo-postgres",
        "NetworkPolicy/demo-mlflow",
    } <= names
    assert "Deployment/demo-postgres" not in names
    assert not any("mlflow" in n or "postgres" in n for n in rendered(make_spec()))


def test_mlflow_server_uses_postgres_and_serves_artifacts() -> None:
    objects = _stack()
    deployment = objects["Deployment/demo-mlflow"]
    c = api_container(deployment)
    assert c["image"] == "k8s-mlserve-mlflow:3.17.2"  # built by k8s-mlserve build-stack
    assert c["command"] == ["mlflow", "server"]
    assert c["args"] == [
        "--host",
        "0.0.0.0",
        "--port",
        "5000",
        "--backend-store-uri",
        "postgresql+psycopg2://$(POSTGRES_USER):$(POSTGRES_PASSWORD)@demo-postgres:5432/$(POSTGRES_DB)",
        "--artifacts-destination",
        "/mlflow/artifacts",
        "--serve-artifacts",
        "--workers",
        "2",
    ]
    plain = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    allowed = plain["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert {"demo-mlflow", "demo-mlflow:*", "demo-mlflow.demo.svc.cluster.local:*"} <= set(allowed)
    # $(VAR) expansion needs the variables defined in the container, from the Secret
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
    assert refs == {
        k: {"name": "demo-postgres", "key": k}
        for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
    }
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/tmp", "/mlflow/artifacts"}
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert objects["Service/demo-mlflow"]["spec"]["type"] == "ClusterIP"


def test_postgres_is_a_statefulset_keeping_data_on_its_claim() -> None:
    objects = _stack({"postgres": {"storage": {"size": "8Gi", "storage_class": "fast"}}})
    statefulset = objects["StatefulSet/demo-postgres"]
    c = api_container(statefulset)
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["PGDATA"] == "/var/lib/postgresql/data/pgdata"
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts["/var/lib/postgresql/data"] == "data"
    assert "/var/run/postgresql" in mounts
    pod = statefulset["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 999
    assert "data" not in {v["name"] for v in pod["volumes"]}  # from the claim template
    assert c["image"] == "postgres:16"
    assert statefulset["spec"]["replicas"] == 1
    assert statefulset["spec"]["serviceName"] == "demo-postgres-headless"
    (template,) = statefulset["spec"]["volumeClaimTemplates"]
    assert template["metadata"] == {
        "name": "data",
        # Claim templates cannot change: only the selector labels, which never do.
        "labels": {
            "app.kubernetes.io/instance": "demo-postgres",
            "app.kubernetes.io/component": "database",
        },
    }
    assert template["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "fast",
        "resources": {"requests": {"storage": "8Gi"}},
    }


def test_mlflow_connects_to_the_clusterip_service_and_the_headless_one_names_the_pod() -> None:
    objects = _stack()
    selector = objects["StatefulSet/demo-postgres"]["spec"]["selector"]["matchLabels"]
    service = objects["Service/demo-postgres"]["spec"]
    headless = objects["Service/demo-postgres-headless"]["spec"]
    assert "clusterIP" not in service
    assert headless["clusterIP"] == "None"
    for spec in (service, headless):
        assert spec["selector"] == selector
        assert spec["ports"] == [
            {"name": "tcp", "port": 5432, "protocol": "TCP", "targetPort": 5432}
        ]
    args = api_container(objects["Deployment/demo-mlflow"])["args"]
    assert any("@demo-postgres:5432/" in a for a in args)


def test_api_uses_the_tracking_server() -> None:
    objects = _stack()
    data = objects["ConfigMap/demo-config"]["data"]
    assert data["MLFLOW_TRACKING_URI"] == "http://demo-mlflow:5000"
    assert data["MLSERVE_MODEL__URI"] == "models:/demo-model@champion"
    c = api_container(objects["Deployment/demo"])
    models = next(m for m in c["volumeMounts"] if m["mountPath"] == "/models")
    assert "readOnly" not in models  # the MLflow model cache lives on the claim


def test_only_mlflow_reaches_postgres_and_only_our_pods_reach_mlflow() -> None:
    objects = _stack(mlflow={"allow_from": [{"pod_labels": {"app": "notebook"}}]})
    pg = objects["NetworkPolicy/demo-postgres"]["spec"]
    assert pg["ingress"] == [
        {
            "from": [
                {
                    "podSelector": {
                        "matchLabels": {
                            "app.kubernetes.io/instance": "demo-mlflow",
                            "app.kubernetes.io/component": "tracking-server",
                        }
                    }
                }
            ],
            "ports": [{"port": 5432, "protocol": "TCP"}],
        }
    ]
    ml = objects["NetworkPolicy/demo-mlflow"]["spec"]
    sources = ml["ingress"][0]["from"]
    assert [
        s["podSelector"]["matchLabels"].get(
            "app.kubernetes.io/component", s["podSelector"]["matchLabels"].get("app")
        )
        for s in sources
    ] == ["api", "training", "notebook"]


def test_existing_secret_and_claims_are_referenced_not_rendered() -> None:
    spec = make_spec(
        mlflow={
            "postgres": {"existing_secret": "pg-creds", "storage": {"existing_claim": "pg-data"}},
            "artifacts": {"existing_claim": "artifacts"},
        },
        storage={"models": {"existing_claim": "shared-models"}},
    )
    objects = rendered(spec)
    assert "Secret/demo-postgres" not in objects
    assert "PersistentVolumeClaim/demo-postgres-data" not in objects
    assert "PersistentVolumeClaim/demo-models" not in objects
    manifests = list(objects.values())
    assert (
        check_stack(
            manifests,
            External(secrets={"pg-creds"}, claims={"pg-data", "artifacts", "shared-models"}),
        )
        == []
    )
    problems = check_stack(manifests)
    assert "StatefulSet/demo-postgres: Secret pg-creds neither rendered nor declared external" in (
        problems
    )
    assert "StatefulSet/demo-postgres: claim pg-data neither rendered nor declared external" in (
        problems
    )
    statefulset = objects["StatefulSet/demo-postgres"]["spec"]
    assert "volumeClaimTemplates" not in statefulset
    data = next(v for v in statefulset["template"]["spec"]["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"] == {"claimName": "pg-data"}
    assert "Deployment/demo: claim shared-models neither rendered nor declared external" in problems
