"""The MLflow registry as a model source: the source, its write-through cache, schemas from
signatures. Only ``source`` imports ``mlflow``, and only inside the functions that need it."""
