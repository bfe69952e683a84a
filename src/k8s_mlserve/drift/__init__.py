"""Data drift: reference profiles, statistics, online windows, request logs and reports."""

from __future__ import annotations

from .detector import DriftDetector, DriftReport, DriftThresholds, FeatureDrift, PredictionDrift
from .reference import (
    REFERENCE_FILE,
    CategoricalProfile,
    NumericProfile,
    PredictionProfile,
    ReferenceProfile,
    build_reference,
    load_reference,
    prediction_scores,
)
from .report import render_html, render_json, render_text
from .requestlog import RequestLogData, RequestLogger, read_request_log
from .window import DriftWindow, WindowSnapshot

__all__ = [
    "REFERENCE_FILE",
    "CategoricalProfile",
    "DriftDetector",
    "DriftReport",
    "DriftThresholds",
    "DriftWindow",
    "FeatureDrift",
    "NumericProfile",
    "PredictionDrift",
    "PredictionProfile",
    "ReferenceProfile",
    "RequestLogData",
    "RequestLogger",
    "WindowSnapshot",
    "build_reference",
    "load_reference",
    "prediction_scores",
    "read_request_log",
    "render_html",
    "render_json",
    "render_text",
]
