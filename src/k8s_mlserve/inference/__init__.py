"""The inference core: the predictor, micro-batching and the model manager. No HTTP here."""
