"""``k8s-mlserve drift``: compare recent data with a bundle's drift reference, offline.

Exit codes follow the report's verdict, so that the command can run as a Kubernetes CronJob: 1 when
the verdict is one ``--fail-on`` names (by default any of dataset, feature or prediction drift),
0 otherwise (``no drift``, ``insufficient data``), 2 on an error.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, MLServeError
from ..extras import missing_extra

if TYPE_CHECKING:  # frames come with the data read, not with the parser
    import pandas as pd

    from ..settings import DriftSettings

EXIT_NO_DRIFT = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "drift",
        help="compare a CSV file or a request log with a bundle's drift reference",
        description=(
            "Compare recent data with the drift reference stored in a bundle. The report's "
            "verdict is one of: dataset drift, feature drift, prediction drift, no drift, "
            "insufficient data. Exit code 1 when --fail-on counts the verdict, 0 when not, "
            "2 on an error. Thresholds default to the MLSERVE_DRIFT__* settings."
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
        "--html",
        type=Path,
        metavar="PATH",
        help="write a self-contained HTML report (its plots need the 'report' extra)",
    )
    parser.add_argument(
        "--fail-on",
        choices=("any", "dataset"),
        default="any",
        help="exit 1 on the verdicts dataset, feature or prediction drift (any, the default), "
        "or on dataset drift only",
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
    except (MLServeError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ImportError as exc:  # an optional dependency: name the extra that brings it
        print(f"error: {missing_extra(exc) or exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception:
        # Exit code 1 means drift: anything unexpected must still read as an error.
        traceback.print_exc()
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from ..drift import DriftDetector, load_reference, render_json, render_text
    from ..drift.offline import read_current
    from ..model.bundle import read_metadata
    from ..model.registry import resolve_bundle_path

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
    current = read_current(
        args.current,
        metadata.input_schema,
        last=args.last,
        model_version=args.model_version,
    )
    progress(f"current: {current.description}")
    frame, labels, scores = current.frame, current.labels, current.scores
    if not current.from_log and not args.no_predict:
        labels, scores = _predict(bundle_path, frame, progress)
    report = DriftDetector(reference, settings).compare(frame, labels, scores)
    print(render_text(report), end="")
    if args.json is not None:
        args.json.write_text(render_json(report))
        progress(f"wrote {args.json}")
    if args.html is not None:
        from ..drift.report import plots_unavailable, render_html

        page = render_html(
            report,
            reference,
            frame,
            labels=labels,
            scores=scores,
            title=f"Drift report: {metadata.name} version {metadata.version}",
        )
        args.html.write_text(page, encoding="utf-8")
        no_plots = plots_unavailable()
        if no_plots is None:
            progress(f"wrote {args.html}")
        else:  # the verdict and table are there; say what the page lacks, even with --quiet
            print(
                f"warning: wrote {args.html} without distribution plots: {no_plots}",
                file=sys.stderr,
            )
    drifted = report.verdict == "dataset drift" if args.fail_on == "dataset" else report.any_drift
    return EXIT_DRIFT if drifted else EXIT_NO_DRIFT


def _drift_settings(args: argparse.Namespace) -> DriftSettings:
    from ..settings import DriftSettings, load_settings

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


def _predict(
    bundle_path: Path, frame: pd.DataFrame, progress: Callable[[str], None]
) -> tuple[list[Any] | None, list[float] | None]:
    """Predict the rows the model accepts with the bundle's model, for prediction drift."""
    from ..drift.offline import predict_in_chunks
    from ..inference.predictor import Predictor
    from ..model.bundle import load_bundle

    predictor = Predictor(load_bundle(bundle_path))

    def predict(rows: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[float | None]]:
        output = predictor.predict(rows)
        return output.labels, output.scores

    progress(f"predicting with model version {predictor.version}")
    predicted = predict_in_chunks(frame, predictor.schema, predict)
    if predicted.rejected:
        progress(f"{predicted.rejected} rows the server would reject were left out")
    return predicted.labels or None, predicted.scores or None
