"""Train the classifier and publish it: into a registry directory (a new version that servers
following the registry pick up), and, with a tracking URI, into MLflow as a registered model.

    own-model-train --output models/own-model                 # models/own-model/versions/v1
    own-model-train --output models/own-model --C 0.1         # v2
    own-model-train --tracking-uri http://mlflow:5000         # + MLflow, alias champion

In the training Job of a deployment, the output directory and the tracking URI come from the
environment (MLSERVE_TRAINING_OUTPUT, MLFLOW_TRACKING_URI).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from k8s_mlserve.training.trained import TrainedModel, classification_metrics, publish

from . import NAME


def fit(c: float = 1.0, seed: int = 7) -> TrainedModel:
    """Fit the pipeline on the scikit-learn breast cancer data set."""
    data = load_breast_cancer(as_frame=True)
    features = data.frame.drop(columns=["target"])
    features.columns = [c.replace(" ", "_") for c in features.columns]
    target = data.frame["target"].map(dict(enumerate(data.target_names)))
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=0.25, random_state=seed, stratify=target
    )
    model = Pipeline(
        [("scale", StandardScaler()), ("clf", LogisticRegression(C=c, max_iter=2000))]
    )
    model.fit(x_train, y_train)
    trained = TrainedModel(
        name=NAME,
        model=model,
        train_frame=x_train,
        test_frame=x_test,
        test_target=y_test,
        algorithm="logreg",
        params={"C": c},
    )
    trained.metrics = classification_metrics(model, x_test, y_test, positive="malignant")
    return trained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="own-model-train", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=os.environ.get("MLSERVE_TRAINING_OUTPUT"))
    parser.add_argument("--version", help="registry version (default: the next vN)")
    parser.add_argument("--C", dest="c", type=float, default=1.0, help="inverse regularisation")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    args = parser.parse_args(argv)
    if args.output is None and args.tracking_uri is None:
        parser.error("give --output DIR and/or --tracking-uri URL")
    trained = fit(args.c)
    print(f"trained {NAME}: f1={trained.metrics['f1_score']:.3f}", file=sys.stderr)
    if args.output is not None:
        path, version = publish(trained, args.output, version=args.version)
        print(f"published {version} at {path}")
    if args.tracking_uri:
        from k8s_mlserve.training.tracking import log_and_register

        run = log_and_register(trained, tracking_uri=args.tracking_uri, force_champion=True)
        print(f"registered {NAME} version {run.version} in MLflow (@{run.alias})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
