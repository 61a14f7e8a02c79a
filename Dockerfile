# The studio on a CUDA GPU host: same entry points as `make run` (supervisord keeping Redis,
# the workers and daphne up; `-e STUDIO_WORKERS=N`), as a non-root user.
# Build:  docker build -t studio .
# Run:    docker run --gpus all -p 8000:8000 -v studio-var:/app/var \
#           -v /models:/models -e STUDIO_MODELS_DIR=/models studio
# PyPI's CUDA build of torch brings its own CUDA libraries; the host needs the NVIDIA driver
# and the container toolkit (`--gpus all`).
FROM python:3.11-slim-bookworm

# STUDIO_ENV=production: DEBUG off and a real secret key, which `make run` makes on first
# start and keeps in the var volume (mode 600). Behind a TLS proxy add -e STUDIO_HTTPS=1.
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 PORT=8000 STUDIO_ENV=production
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server libomp5-14 libvulkan1 make ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 studio
WORKDIR /app
COPY --chown=studio:studio requirements.txt requirements-nodeps.txt ./
# On a GPU host `torch==2.13.0` resolves to the CUDA build from PyPI.
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir -r requirements.txt \
 && .venv/bin/pip install --no-cache-dir --no-deps -r requirements-nodeps.txt \
 && cat requirements.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1 > .venv/.requirements.sha256 \
 && chown -R studio:studio /app
COPY --chown=studio:studio . .

USER studio
# Fetch the pinned model files (RIFE weights) at build time, so the container needs no
# network when it starts; a named volume on /app/var starts with them.
RUN scripts/bootstrap.sh run
VOLUME ["/app/var"]
EXPOSE 8000
CMD ["make", "run"]
