"""The server's container image: a multi-stage Dockerfile and its ``.dockerignore``.

The same text builds this project (``install="source"``: the build context is the package) and a
user's model project (``install="pypi"``: k8s-mlserve from the index plus the project's
``requirements.txt``). The final stage has no compiler and no pip cache, runs as a fixed non-root
uid that the generated manifests also use, and starts ``k8s-mlserve serve``.
"""

from __future__ import annotations

from typing import Literal

from ..__version__ import __version__

UID = 10001
DEFAULT_BASE_IMAGE = "python:3.11-slim-bookworm"

_HEADER = """\
# Multi-stage image for k8s-mlserve. Build with:
#   docker build -t my-model-api:1.0.0 .
# On a machine that cannot pull images, pass a local base with python3 and venv:
#   docker build --build-arg BASE_IMAGE=local/debian-python:bookworm -t my-model-api:1.0.0 .
# Where pip needs an extra CA bundle to reach the index, put it in the build context as
# build-ca.crt: only the builder stage sees it.
ARG BASE_IMAGE={base}

FROM ${{BASE_IMAGE}} AS builder
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/venv
WORKDIR /build
"""

_SOURCE = """\
COPY pyproject.toml README.md build-ca.cr[t] ./
COPY src ./src
RUN if [ -f build-ca.crt ]; then export PIP_CERT=/build/build-ca.crt; fi; \\
    /opt/venv/bin/pip install --quiet ".${{EXTRAS}}"
"""

_PYPI = """\
COPY requirements.tx[t] build-ca.cr[t] ./
RUN if [ -f build-ca.crt ]; then export PIP_CERT=/build/build-ca.crt; fi; \\
    /opt/venv/bin/pip install --quiet "k8s-mlserve${{EXTRAS}}=={version}" \\
    && if [ -f requirements.txt ]; then /opt/venv/bin/pip install --quiet -r requirements.txt; fi
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
benchmarks/results
tests
*.joblib
.env
secrets
"""


def render_dockerfile(
    install: Literal["source", "pypi"] = "pypi",
    *,
    base_image: str = DEFAULT_BASE_IMAGE,
    version: str = __version__,
) -> str:
    """The Dockerfile text for building from this source tree or from the package index."""
    body = _SOURCE if install == "source" else _PYPI
    text = _HEADER + body + _FINAL
    return text.format(base=base_image, uid=UID, version=version)
