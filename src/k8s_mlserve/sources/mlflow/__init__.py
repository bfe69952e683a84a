"""The MLflow registry as a model source: the source, loading a downloaded model directory, the
library versions it records, its write-through cache, schemas from signatures. Only ``source``
and ``loading`` import ``mlflow``, and only inside the functions that need it."""
