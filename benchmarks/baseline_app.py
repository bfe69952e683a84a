"""The usual way to serve the diabetes model, as the benchmark's baseline.

A FastAPI app with a pydantic model of the eight fields and one ``predict_proba`` call on a
one-row ``DataFrame`` per request, run by uvicorn with a single worker. It answers the same fields
as k8s-mlserve does, so both servers do the same work per request apart from how they batch.

Run it with::

    BASELINE_MODEL=/path/to/model.joblib uvicorn baseline_app:app --app-dir benchmarks
"""

from __future__ import annotations

import os
from typing import Any

import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

MODEL_PATH = os.environ.get("BASELINE_MODEL", "model.joblib")
MODEL_VERSION = os.environ.get("BASELINE_MODEL_VERSION", "v1")

model = joblib.load(MODEL_PATH)
app = FastAPI(title="Diabetes prediction API")


class Patient(BaseModel):
    Pregnancies: int
    Glucose: int
    BloodPressure: int
    SkinThickness: int
    Insulin: int
    BMI: float
    DiabetesPedigreeFunction: float
    Age: int


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
def predict(patient: Patient) -> dict[str, Any]:
    frame = pd.DataFrame([patient.model_dump()])
    probabilities = model.predict_proba(frame)[0]
    probability = float(probabilities[1])
    if probability < 0.3:
        risk = "low"
    elif probability < 0.7:
        risk = "moderate"
    else:
        risk = "high"
    label = int(model.classes_[probabilities.argmax()])
    return {
        "label": label,
        "probabilities": {"0": round(float(probabilities[0]), 6), "1": round(probability, 6)},
        "has_diabetes": label == 1,
        "probability": round(probability, 6),
        "risk_level": risk,
        "model_version": MODEL_VERSION,
    }
