"""Each example trains on the real data and lands where its algorithm should."""

from __future__ import annotations

from k8s_mlserve import load_bundle
from k8s_mlserve.model.schema import CategoricalFeature
from k8s_mlserve.training.runner import TrainingRun


def test_diabetes_metrics_match_a_random_forest_on_pima(trained: dict[str, TrainingRun]) -> None:
    metrics = trained["diabetes"].metrics
    assert set(metrics) == {"accuracy", "precision", "recall", "f1_score", "auc_roc"}
    assert 0.74 <= metrics["accuracy"] <= 0.81
    assert 0.79 <= metrics["auc_roc"] <= 0.87
    meta = load_bundle(trained["diabetes"].path).metadata
    assert meta.params["n_estimators"] == 100
    assert meta.params["max_depth"] == 10
    assert meta.training_rows == 614  # stratified 80 % of 768
    assert meta.input_schema.names[:2] == ["Pregnancies", "Glucose"]


def test_bundles_carry_a_drift_reference(trained: dict[str, TrainingRun]) -> None:
    from k8s_mlserve.drift.reference import load_reference

    for run in trained.values():
        reference = load_reference(run.path)
        assert reference.names == load_bundle(run.path).metadata.input_schema.names
        assert reference.predictions.labels is not None


def test_churn_pipeline_handles_blank_total_charges(trained: dict[str, TrainingRun]) -> None:
    bundle = load_bundle(trained["churn"].path)
    schema = bundle.metadata.input_schema
    assert "customerID" not in schema.names
    assert "Churn" not in schema.names
    total = next(f for f in schema.features if f.name == "TotalCharges")
    assert total.kind == "numeric"
    contract = next(f for f in schema.features if f.name == "Contract")
    assert isinstance(contract, CategoricalFeature)
    assert contract.levels == ["Month-to-month", "One year", "Two year"]
    assert trained["churn"].metrics["auc_roc"] >= 0.8
    assert bundle.metadata.classes == ["No", "Yes"]
