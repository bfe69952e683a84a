"""The server's container image: a multi-stage Dockerfile and its ``.dockerignore``.

One text serves every build. The builder stage installs k8s-mlserve from a wheel in the build
context (``wheels/``, built from a source tree or given; no package index needed for it), the
project's ``requirements.txt``, and ``constraints.txt``, which pins the libraries a bundle was
trained with. With ``bake_model`` the final stage carries the model bundle (``model/`` in the
context) at ``BAKED_MODEL_DIR``. The final stage has no compiler and no pip cache, runs as a fixed
non-root uid that the generated manifests also use, and starts ``k8s-mlserve serve``.
"""

from __future__ import annotations

from typing import Final

from ..__version__ import __version__
from .contract import BAKED_MODEL_DIR, UID

DEFAULT_BASE_IMAGE: Final = "python:3.11-slim-bookworm"
WHEELS_DIR: Final = "wheels"
MODEL_DIR: Final = "model"
REQUIREMENTS_FILE: Final = "requirements.txt"
CONSTRAINTS_FILE: Final = "constraints.txt"
CA_FILE: Final = "build-ca.crt"

_HEADER = """\
# Multi-stage image for a model served by k8s-mlserve, written by `k8s-mlserve dockerfile`.
# `k8s-mlserve build` assembles the context and builds it; by hand:
#   wheels/k8s_mlserve-{version}-py3-none-any.whl  (pip wheel --no-deps -w wheels K8S-MLSERVE-SRC)
#   wheels/*.whl        your project as a wheel, when it is a package (optional)
#   requirements.txt    your model's own dependencies (optional)
#   constraints.txt     library pins, e.g. scikit-learn==1.5.2 (optional)
#   docker build -t my-model-api:1.0.0 .
# On a machine that cannot pull images, pass a local base with python3 and venv:
#   docker build --build-arg BASE_IMAGE=local/debian-python:bookworm -t my-model-api:1.0.0 .
# Where pip needs an extra CA bundle to reach the index, put it in the context as build-ca.crt:
# only the builder stage sees it.
ARG BASE_IMAGE={base}

FROM ${{BASE_IMAGE}} AS builder
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/venv
WORKDIR /build
COPY {wheels}/ {requirements}* {constraints}* {ca}* ./
RUN if [ -f {ca} ]; then export PIP_CERT=/build/{ca}; fi; \\
    touch {requirements} {constraints}; \\
    /opt/venv/bin/pip install --quiet --constraint {constraints} \\
      "/build/k8s_mlserve-{version}-py3-none-any.whl${{EXTRAS}}" --requirement {requirements} \\
      $(find /build -maxdepth 1 -name '*.whl' ! -name 'k8s_mlserve-*')
"""

_FINAL = """\

FROM ${{BASE_IMAGE}}
RUN groupadd --gid {uid} mlserve \\
    && useradd --uid {uid} --gid {uid} --no-create-home --home-dir /nonexistent \\
       --shell /usr/sbin/nologin mlserve
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    MLSERVE_SERVER__HOST=0.0.0.0 \\
    MLSERVE_SERVER__PORT=8000
"""

_BAKED = """\
# The model bundle, read-only and owned by root: the server only reads it.
COPY {model}/ {baked}/
ENV MLSERVE_MODEL__PATH={baked}
"""

_ENTRY = """\
USER {uid}:{uid}
WORKDIR /tmp
EXPOSE 8000
ENTRYPOINT ["k8s-mlserve"]
CMD ["serve"]
"""

DOCKERIGNORE = """\
# Keep the build context small and free of secrets and local state.
.git
.venv
**/__pycache__
*.pyc
*.egg-info
.mypy_cache
.ruff_cache
.pytest_cache
.demo
models
artifacts
mlruns
benchmarks/results
tests
*.joblib
.env
secrets
"""


def wheel_name(version: str = __version__) -> str:
    """The file name of the k8s-mlserve wheel the Dockerfile installs."""
    return f"k8s_mlserve-{version}-py3-none-any.whl"


def render_dockerfile(
    *,
    base_image: str = DEFAULT_BASE_IMAGE,
    bake_model: bool = False,
    version: str = __version__,
) -> str:
    """The Dockerfile text (see the module docstring)."""
    text = _HEADER + _FINAL + (_BAKED if bake_model else "") + _ENTRY
    return text.format(
        base=base_image,
        uid=UID,
        version=version,
        wheels=WHEELS_DIR,
        requirements=REQUIREMENTS_FILE,
        constraints=CONSTRAINTS_FILE,
        ca=CA_FILE,
        model=MODEL_DIR,
        baked=BAKED_MODEL_DIR,
    )
