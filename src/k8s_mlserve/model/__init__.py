"""A model on disk: its input schema, the bundle format and registry directories."""
