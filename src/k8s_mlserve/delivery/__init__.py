"""Getting a model project onto a cluster: its image (built from a k8s-mlserve wheel, the
project's requirements and the bundle's library pins, optionally with the model baked in), the
MLflow stack's images, ``apply`` that keeps generated secrets, and ``push`` of a bundle into the
models claim as a new registry version."""
