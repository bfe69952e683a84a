from __future__ import annotations

from .conftest import make_spec, rendered


def test_claims_for_models_and_logs() -> None:
    objects = rendered(
        make_spec(
            storage={
                "storage_class": "standard",
                "models": {"size": "2Gi", "access_mode": "ReadWriteMany", "storage_class": "nfs"},
            }
        )
    )
    models = objects["PersistentVolumeClaim/demo-models"]["spec"]
    logs = objects["PersistentVolumeClaim/demo-logs"]["spec"]
    assert models == {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "2Gi"}},
        "storageClassName": "nfs",
    }
    assert logs == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
        "storageClassName": "standard",
    }


def test_default_storage_class_is_left_to_the_cluster() -> None:
    claim = rendered(make_spec())["PersistentVolumeClaim/demo-models"]
    assert "storageClassName" not in claim["spec"]


def test_existing_claim_is_mounted_instead() -> None:
    objects = rendered(make_spec(storage={"logs": {"existing_claim": "shared-logs"}}))
    assert "PersistentVolumeClaim/demo-logs" not in objects
    volumes = objects["Deployment/demo"]["spec"]["template"]["spec"]["volumes"]
    logs = next(v for v in volumes if v["name"] == "logs")
    assert logs["persistentVolumeClaim"] == {"claimName": "shared-logs"}


def test_no_models_claim_for_a_model_in_the_image() -> None:
    objects = rendered(make_spec(model={"source": "image"}, drift_check={"schedule": "@daily"}))
    assert "PersistentVolumeClaim/demo-models" not in objects
    assert "PersistentVolumeClaim/demo-logs" in objects
    for source in ({}, {"source": "claim"}):
        assert "PersistentVolumeClaim/demo-models" in rendered(make_spec(model=source))
    with_mlflow = rendered(make_spec(model={"registered_name": "m"}, mlflow={}))
    assert "PersistentVolumeClaim/demo-models" in with_mlflow
