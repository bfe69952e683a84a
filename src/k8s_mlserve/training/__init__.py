"""Training: the example models, their datasets, publishing bundles and MLflow tracking."""
