"""The model served on this machine by the plugin's ``mlserve_server``."""

from __future__ import annotations

from k8s_mlserve.testing import SecretsDir, ServerProcess


def test_predicts_with_the_key_only(
    mlserve_server: ServerProcess, rows: list[dict[str, float]]
) -> None:
    answer = mlserve_server.client.post("/predict", json=rows[0], headers=mlserve_server.headers())
    assert answer.status_code == 200, answer.text
    assert answer.json()["label"] in {"malignant", "benign"}
    assert mlserve_server.client.post("/predict", json=rows[0]).status_code == 401


def test_drift_is_reported_for_this_model(
    mlserve_server: ServerProcess, mlserve_secrets: SecretsDir, rows: list[dict[str, float]]
) -> None:
    answer = mlserve_server.client.post(
        "/predict", json={"instances": rows}, headers=mlserve_server.headers()
    )
    assert answer.status_code == 200, answer.text
    token = {"Authorization": f"Bearer {mlserve_secrets.monitoring_token}"}
    drift = mlserve_server.client.get("/drift", headers=token)
    assert drift.status_code == 200, drift.text
    report = drift.json()
    assert report["verdict"] in {
        "no drift",
        "prediction drift",
        "feature drift",
        "dataset drift",
        "insufficient data",
    }
    assert report["features"], "the bundle carries a drift reference for its features"
