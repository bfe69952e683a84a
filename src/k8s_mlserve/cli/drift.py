"""``k8s-mlserve drift``: compare recent data with a bundle's drift reference, offline.

Exit codes, so that the command can run as a Kubernetes CronJob: 0 no drift (or too little data
to tell), 1 drift, 2 error.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigurationError, DatasetError, MLServeError
from ..schema import CategoricalFeature, InputSchema
from ..settings import DriftSettings, load_settings

EXIT_NO_DRIFT = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2
_PREDICT_CHUNK = 2000


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "drift",
        help="compare a CSV file or a request log with a bundle's drift reference",
        description=(
            "Compare recent data with the drift reference stored in a bundle. Exit code 0: no "
            "drift, 1: drift, 2: error. Thresholds default to the MLSERVE_DRIFT__* settings."
        ),
    )
    parser.add_argument("--bundle", required=True, type=Path, help="a bundle or registry directory")
    parser.add_argument(
        "--current",
        required=True,
        type=Path,
        help="a CSV file of rows, or a request log directory (e.g. /logs)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the report as JSON")
    parser.add_argument(
        "--html", type=Path, metavar="PATH", help="write a self-contained HTML report"
    )
    parser.add_argument(
        "--fail-on",
        choices=("any", "dataset"),
        default="any",
        help="exit 1 when any feature, the predictions or the dataset drift (any, the default), "
        "or only when the dataset drifts",
    )
    parser.add_argument("--last", type=int, metavar="N", help="compare only the N most recent rows")
    parser.add_argument(
        "--model-version", help="from a request log, keep only rows this model version predicted"
    )
    parser.add_argument(
        "--no-predict",
        action="store_true",
        help="for a CSV file, skip prediction drift (the model is not unpickled)",
    )
    parser.add_argument("--p-value", type=float, help="significance level of each test")
    parser.add_argument(
        "--correction",
        choices=("benjamini-hochberg", "bonferroni", "none"),
        help="multiple-testing correction across features",
    )
    parser.add_argument("--min-rows", type=int, help="fewer rows than this: insufficient data")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (MLServeError, OSError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception:
        # Exit code 1 means drift: anything unexpected must still read as an error.
        traceback.print_exc()
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from ..bundle import read_metadata
    from ..drift import DriftDetector, load_reference, render_json, render_text
    from ..registry import resolve_bundle_path

    def progress(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    settings = _drift_settings(args)
    bundle_path = resolve_bundle_path(args.bundle)
    metadata = read_metadata(bundle_path)
    reference = load_reference(bundle_path)
    progress(
        f"reference: {metadata.name} version {metadata.version}, {reference.rows} rows, "
        f"{len(reference.features)} features ({bundle_path})"
    )
    frame, labels, scores = _read_current(args, bundle_path, metadata.input_schema, progress)
    report = DriftDetector(reference, settings).compare(frame, labels, scores)
    print(render_text(report), end="")
    if args.json is not None:
        args.json.write_text(render_json(report))
        progress(f"wrote {args.json}")
    if args.html is not None:
        from ..drift import render_html

        page = render_html(
            report,
            reference,
            frame,
            labels=labels,
            scores=scores,
            title=f"Drift report: {metadata.name} version {metadata.version}",
        )
        args.html.write_text(page, encoding="utf-8")
        progress(f"wrote {args.html}")
    drifted = report.dataset_drift if args.fail_on == "dataset" else report.any_drift
    return EXIT_DRIFT if drifted else EXIT_NO_DRIFT


def _drift_settings(args: argparse.Namespace) -> DriftSettings:
    overrides = {
        key: value
        for key, value in (
            ("p_value", args.p_value),
            ("correction", args.correction),
            ("min_rows", args.min_rows),
        )
        if value is not None
    }
    base = load_settings().drift.model_dump()
    try:
        return DriftSettings.model_validate({**base, **overrides})
    except ValueError as exc:
        raise ConfigurationError(f"invalid drift threshold: {exc}") from exc


def _read_current(
    args: argparse.Namespace, bundle_path: Path, schema: InputSchema, progress: Any
) -> tuple[pd.DataFrame, list[Any] | None, list[float] | None]:
    """The rows to compare, with predicted labels and scores when they can be had."""
    from ..drift import read_request_log

    names = schema.names
    source: Path = args.current
    if source.is_dir():
        log = read_request_log(source, max_rows=args.last, model_version=args.model_version)
        progress(
            f"current: {len(log.frame)} rows from {log.files} request log file(s) in {source}"
            + (f", {log.skipped_lines} unreadable line(s) skipped" if log.skipped_lines else "")
        )
        missing = [n for n in names if n not in log.frame.columns]
        if len(log.frame) and missing:
            raise DatasetError(f"the request log lacks the feature(s) {missing}")
        frame = log.frame if len(log.frame) else pd.DataFrame(columns=names)
        return frame, log.labels or None, log.scores or None
    if not source.is_file():
        raise DatasetError(f"{source} is neither a CSV file nor a request log directory")
    try:
        frame = pd.read_csv(source)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {source} as CSV: {exc}") from exc
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DatasetError(f"{source} lacks the feature column(s) {missing}")
    frame = _coerce(frame[names], schema)
    if args.last is not None:
        frame = frame.tail(max(args.last, 0))
    progress(f"current: {len(frame)} rows from {source}")
    if args.no_predict:
        return frame, None, None
    labels, scores = _predict(bundle_path, frame, progress)
    return frame, labels, scores


def _coerce(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    """Columns as the server would see them: numbers (blank cells missing) and strings."""
    from ..drift.reference import numeric_values

    out = frame.copy()
    for feature in schema.features:
        column = out[feature.name]
        if isinstance(feature, CategoricalFeature):
            out[feature.name] = column.astype(object).where(column.isna(), column.astype(str))
        else:
            out[feature.name] = numeric_values(column)
    return out


def _predict(
    bundle_path: Path, frame: pd.DataFrame, progress: Any
) -> tuple[list[Any] | None, list[float] | None]:
    """Predict the rows the model accepts, for prediction drift."""
    from ..bundle import load_bundle
    from ..inference import Predictor

    bundle = load_bundle(bundle_path)
    predictor = Predictor(bundle)
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    valid, _ = predictor.schema.validate_rows(rows)
    accepted = [rows[i] for i in valid]
    rejected = len(rows) - len(accepted)
    progress(
        f"predicting {len(accepted)} rows with model version {predictor.version}"
        + (f" ({rejected} rows the server would reject are left out)" if rejected else "")
    )
    labels: list[Any] = []
    scores: list[float] = []
    for start in range(0, len(accepted), _PREDICT_CHUNK):
        output = predictor.predict(accepted[start : start + _PREDICT_CHUNK])
        labels += output.labels
        scores += [s for s in output.scores if s is not None]
    return labels or None, scores or None
