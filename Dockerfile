# DeepTempo AI SOC backend image: `deeptempo-entrypoint serve` validates the secrets, then execs uvicorn
# on port 6987. Build: docker build -t deeptempo-ai-soc .   Any Debian-based image with Python >= 3.11
# works as base (--build-arg BASE_IMAGE=...); pin it by digest in production.
ARG BASE_IMAGE=python:3.12-slim
# The classic builder prints each step as it runs, so this line is what a user sees just before a pull
# of the base fails (BuildKit resolves every FROM first and shows only its own error).
ARG IF_THE_BASE_CANNOT_BE_PULLED="docker build --build-arg BASE_IMAGE=<any Debian image with Python >= 3.11> ."

FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
SHELL ["/bin/sh", "-eu", "-c"]
# tini: a static init that reaps zombies and forwards signals; copied alone into the runtime stage.
# Not version-pinned: the base may be any Debian release, each with its own tini build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
# Dependencies before source: a source-only change rebuilds from the next layer on, in seconds.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.lock
COPY entrypoint /src/entrypoint
# pip and setuptools only build the environment: the runtime leaves them out (some 25 MB). An image
# built FROM this one that adds packages brings pip back with `python -m ensurepip` (examples/).
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps /src/entrypoint \
    && /opt/venv/bin/deeptempo-entrypoint --version \
    && /opt/venv/bin/pip uninstall --yes --quiet setuptools pip

FROM ${BASE_IMAGE}
SHELL ["/bin/sh", "-eu", "-c"]
# A numeric user (Kubernetes runAsNonRoot can only verify a number) whose HOME holds the state dir the
# app uses, ~/.deeptempo. Mount a persistent volume at /home/deeptempo/.deeptempo, not /root/.deeptempo.
# /srv/deeptempo/data is the backend's JSON storage (README.md, "Serving the DeepTempo backend"): made
# here, owned by the service user, so that a new volume mounted there starts writable by it.
RUN groupadd --gid 10001 deeptempo \
    && useradd --uid 10001 --gid 10001 --home-dir /home/deeptempo --create-home --shell /usr/sbin/nologin deeptempo \
    && install -d -o 10001 -g 10001 -m 0700 /home/deeptempo/.deeptempo /srv/deeptempo/data
COPY --from=builder /usr/bin/tini-static /usr/bin/tini
COPY --from=builder /opt/venv /opt/venv
COPY entrypoint/deeptempo_entrypoint/deeptempo-probe /usr/local/bin/deeptempo-probe
# No pip in the runtime; `pip` and `pip3` bring it back offline in an image built FROM this one.
COPY image/pip /opt/venv/bin/pip
COPY image/pip /opt/venv/bin/pip3
# What the DeepTempo backend's recipe (examples/deeptempo-backend/Dockerfile) takes from here, since it
# builds from the backend's checkout: every distribution it installs pinned, and an npx without a registry.
COPY examples/deeptempo-backend/constraints.txt examples/deeptempo-backend/npx /opt/deeptempo/backend/
# SECRETS_BACKEND names where secrets are written (env: nowhere), it holds no secret.
# hadolint ignore=DL3064
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/deeptempo \
    SECRETS_BACKEND=env \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The writable paths as volumes, owned by the service user (made above): a fresh volume takes the
# image's owner and mode. ECS Fargate creates a task volume root-owned 0755 unless the image declares
# one at its path, and `docker run --read-only` then needs no tmpfs for them.
VOLUME ["/tmp", "/home/deeptempo/.deeptempo", "/srv/deeptempo/data"]
USER 10001:10001
WORKDIR /home/deeptempo
EXPOSE 6987
# deeptempo-probe: an HTTP GET through bash's /dev/tcp (slim images have no curl; a Python probe costs an
# interpreter start, ~75 ms of CPU, each call; this ~2 ms), of the address serve really listens on (it
# follows `serve -- --port`). Docker 25 adds --start-interval; Docker 20.10's classic builder refuses it.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 CMD ["deeptempo-probe"]
# tini -g signals the whole process group; -e 143 maps uvicorn's re-raised SIGTERM after a graceful
# shutdown to exit code 0, so `docker stop` ends cleanly with 0; -s makes it a subreaper, so it still
# reaps orphans when another init runs as PID 1 (`docker run --init`, Compose `init: true`).
ENTRYPOINT ["/usr/bin/tini", "-s", "-g", "-e", "143", "--", "deeptempo-entrypoint"]
CMD ["serve"]
