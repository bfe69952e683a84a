"""Data drift: reference profiles, statistics, online windows, request logs and reports.

The names below are imported on first use: the server imports the window and the request log at
start, and pandas and SciPy only come with the first drift computation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
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

_MODULES = {
    "DriftDetector": "detector",
    "DriftReport": "detector",
    "DriftThresholds": "detector",
    "FeatureDrift": "detector",
    "PredictionDrift": "detector",
    "REFERENCE_FILE": "reference",
    "CategoricalProfile": "reference",
    "NumericProfile": "reference",
    "PredictionProfile": "reference",
    "ReferenceProfile": "reference",
    "build_reference": "reference",
    "load_reference": "reference",
    "prediction_scores": "reference",
    "render_html": "report",
    "render_json": "report",
    "render_text": "report",
    "RequestLogData": "requestlog",
    "RequestLogger": "requestlog",
    "read_request_log": "requestlog",
    "DriftWindow": "window",
    "WindowSnapshot": "window",
}

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


__getattr__ = lazy_names(__name__, _MODULES)
