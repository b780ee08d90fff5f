"""The images the container tests build, and what their builds leave behind, in one module that the
fixtures (conftest.py) and the tests import under one name."""

import json
import os
import re
import subprocess
import time

from tests.helpers import RUN, TEST_LABEL

IMAGE = os.environ.get("DEEPTEMPO_TEST_IMAGE") or f"deeptempo-ai-soc:{RUN}"
# The real DeepTempo backend, built with the README's recipe (examples/deeptempo-backend/Dockerfile) from a
# copy of ../shared/backend/deeptempo-ai-soc, and the PostgreSQL 15 stand-in (tests/images/postgres).
BACKEND_IMAGE = os.environ.get("DEEPTEMPO_TEST_BACKEND_IMAGE") or f"deeptempo-test-backend:{RUN}"
NODE_BACKEND_IMAGE = f"deeptempo-test-backend:{RUN}-node"
POSTGRES_IMAGE = os.environ.get("DEEPTEMPO_TEST_POSTGRES_IMAGE") or f"deeptempo-test-postgres:{RUN}"
BUILD_CANARY = "sk-ant-BUILDCONTEXTCANARY0123456789"
# Where a careless build context would carry secrets.
PLANTED_SECRETS = [".env", ".env.production", "entrypoint/deeptempo_entrypoint/.env", "entrypoint/deeptempo_entrypoint/spec/.env.local", "secrets/claude_api_key",
                   "deploy.secret", "entrypoint/deeptempo_entrypoint/credentials.yaml", "entrypoint/deeptempo_entrypoint/local.env", "deploy/deeptempo_deploy/platforms/app.py~",
                   "entrypoint/deeptempo_entrypoint/spec/.spec.yaml.swp", "entrypoint/deeptempo_entrypoint/spec/secrets.json"]
VALID = {"CLAUDE_API_KEY": "sk-ant-smoketest0123456789"}
HARDENED = {"read_only": True, "tmpfs": {"/tmp": "rw,noexec,nosuid,size=16m"}, "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"]}


def docker_build(context, tag, *arguments, dockerfile=None, timeout=1800):
    """The classic builder (Docker 20.10's; BuildKit hides a failing step's context) with this run's label,
    the host's network (the package registries through the host's proxy); (seconds, output)."""
    command = ["docker", "build", "--force-rm", "--label", TEST_LABEL, "--network", "host", *arguments, "-t", tag]
    if dockerfile:
        command += ["-f", str(dockerfile)]
    started = time.monotonic()
    result = subprocess.run([*command, str(context)], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "DOCKER_BUILDKIT": "0"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    BUILDER_STAGES.update(builder_stages(result.stdout))
    return time.monotonic() - started, result.stdout + result.stderr


def record_build(name, seconds, tag):
    """Where .ci/run asks (DEEPTEMPO_BUILD_RECORD), the build's time and size, for the benchmarks' table."""
    path = os.environ.get("DEEPTEMPO_BUILD_RECORD")
    if not path:
        return
    size = int(subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", tag], capture_output=True, text=True).stdout or 0)
    recorded = json.loads(open(path).read() or "{}") if os.path.exists(path) else {}  # .ci/run's mktemp: empty
    recorded[name] = {"seconds": seconds, "bytes": size}
    with open(path, "w") as stream:
        json.dump(recorded, stream)


def build_image(context, tag, base=None, target=None):
    """`docker build`; returns its output. The base defaults to $BASE_IMAGE (set by scripts/test)."""
    environment = dict(os.environ)
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode != 0:
        environment["DOCKER_BUILDKIT"] = "0"  # no buildx plugin (Debian's docker.io): the classic builder
    base = base or os.environ.get("BASE_IMAGE", "python:3.12-slim")
    # --network host: the build reaches the package registries the way the host does (a proxy, here).
    command = ["docker", "build", "--force-rm", "--label", TEST_LABEL, "--progress=plain", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", tag,
               str(context)]
    if target:
        command[-1:-1] = ["--target", target]
    if environment.get("DOCKER_BUILDKIT") == "0":
        command.remove("--progress=plain")
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    BUILDER_STAGES.update(builder_stages(result.stdout))
    return result.stdout + result.stderr


BUILDER_STAGES: set[str] = set()  # the untagged stage images this run's builds left (removed at its end)


def builder_stages(output):
    """The image each earlier stage of a multi-stage build ended in: the classic builder prints each
    step's image (` ---> ID`); the last one before a later `FROM` is a stage's. They carry no label."""
    stages, last = [], None
    for line in output.splitlines():
        step = re.match(r"Step \d+/\d+ : FROM ", line)
        if step and last:
            stages.append(last)
        found = re.match(r" ---> ([0-9a-f]{12})$", line)
        if found:
            last = found.group(1)
    return stages


def build_from_kit(directory, tag, dockerfile, files=None):
    """An image built FROM the kit's, as a user builds theirs: a Dockerfile and files in `directory`."""
    for name, text in {"Dockerfile": dockerfile, **(files or {})}.items():
        if isinstance(text, bytes):
            (directory / name).write_bytes(text)
        else:
            (directory / name).write_text(text)
    result = subprocess.run(["docker", "build", "--force-rm", "--label", TEST_LABEL, "-q", "-t", tag, str(directory)], capture_output=True, text=True,
                            env={**os.environ, "DOCKER_BUILDKIT": "0"}, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tag
