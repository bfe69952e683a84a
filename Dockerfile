# Multi-stage image for k8s-mlserve. Build with:
#   docker build -t my-model-api:1.0.0 .
# On a machine that cannot pull images, pass a local base with python3 and venv:
#   docker build --build-arg BASE_IMAGE=local/debian-python:bookworm -t my-model-api:1.0.0 .
# Where pip needs an extra CA bundle to reach the index, put it in the build context as
# build-ca.crt: only the builder stage sees it.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/venv
WORKDIR /build
COPY pyproject.toml README.md build-ca.cr[t] ./
COPY src ./src
RUN if [ -f build-ca.crt ]; then export PIP_CERT=/build/build-ca.crt; fi; \
    /opt/venv/bin/pip install --quiet ".${EXTRAS}"

FROM ${BASE_IMAGE}
RUN groupadd --gid 10001 mlserve \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin mlserve
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MLSERVE_SERVER__HOST=0.0.0.0 \
    MLSERVE_SERVER__PORT=8000
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
ENTRYPOINT ["k8s-mlserve"]
CMD ["serve"]
