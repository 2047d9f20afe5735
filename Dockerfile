# The operator image: `ome run` (manager) by default, `ome agent` for the model agent.
#   docker build -t ghcr.io/ome-operator/ome:latest .

FROM python:3.12-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
# The venv is the only thing the final stage takes: no compiler, pip cache or sources.
RUN python -m venv /opt/ome
COPY pyproject.toml README.md ./
# src/ome/api is a symlink to api/, and framework/src/ome/testing/gomodules one to
# tools/controlplane, so those trees go in too.
COPY api ./api
COPY tools/controlplane ./tools/controlplane
COPY framework ./framework
COPY src ./src
# Two distributions: the framework, and the operator with both storage backends.
RUN /opt/ome/bin/pip install ./framework '.[s3,hf]' \
    && /opt/ome/bin/pip uninstall --yes pip

FROM python:3.12-slim
# Same base, so the venv's interpreter link (/usr/local/bin/python3.12) still resolves.
COPY --from=builder /opt/ome /opt/ome
# The root filesystem is mounted read-only in the manifests: bytecode was compiled at
# install time, and nothing may try to write it next to the sources.
ENV PATH=/opt/ome/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Numeric, so runAsNonRoot can verify it without an /etc/passwd entry.
USER 65532:65532
ENTRYPOINT ["ome"]
CMD ["run"]
