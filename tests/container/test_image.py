"""The image on a real Docker engine, its containers started through testcontainers. What every image
must do is `deeptempo-deploy smoke` (tests/container/test_smoke.py); these are the kit's own promises
beyond it."""

import io
import json
import os
import subprocess
import tarfile
import uuid

import pytest

from tests.container.images import BUILD_CANARY, HARDENED, IMAGE, VALID, build_image


def put(directory, name, text, mode=0o644):
    path = os.path.join(directory, name)
    with open(path, "w") as stream:
        stream.write(text)
    os.chmod(path, mode)
    return path


def exec_python(container, code):
    exit_code, output = container.run(["python3", "-c", code])
    assert exit_code == 0, output
    return output


def secrets_status(container):
    return json.loads(exec_python(container, "import urllib.request; print(urllib.request.urlopen("
                                             "'http://127.0.0.1:6987/api/secrets/status').read().decode())"))


def test_env_file_mounted_read_only(start, shared_tmp):
    put(shared_tmp, "app.env", f"CLAUDE_API_KEY={VALID['CLAUDE_API_KEY']}\nSPLUNK_PASSWORD=from-env-file\n", mode=0o600)
    os.chown(os.path.join(shared_tmp, "app.env"), 10001, 10001)  # as an operator would for the service user
    container = start(env={"DEEPTEMPO_ENV_FILE": "/run/deeptempo/app.env"},
                      volumes={shared_tmp: "/run/deeptempo:ro"})
    container.wait_healthy(30)
    secrets = secrets_status(container)["secrets"]
    assert secrets["CLAUDE_API_KEY"]["source"] == "env-file" and secrets["SPLUNK_PASSWORD"]["source"] == "env-file"


def test_docker_secrets_directory_and_file_indirection(start, shared_tmp):
    put(shared_tmp, "claude_api_key", VALID["CLAUDE_API_KEY"] + "\n")  # a Compose secret's usual lower-case name
    put(shared_tmp, "splunk", "from-a-file\n")
    container = start(env={"SPLUNK_PASSWORD_FILE": "/run/secrets/splunk"},
                      volumes={shared_tmp: "/run/secrets:ro"})
    container.wait_healthy(30)
    status = secrets_status(container)
    assert status["secrets"]["CLAUDE_API_KEY"]["source"] == "secrets-dir"
    assert status["secrets"]["SPLUNK_PASSWORD"]["source"] == "SPLUNK_PASSWORD_FILE"
    # A program the kit starts sees the value and not the indirection (serve gives the app the same
    # environment, in its own process: tests/entrypoint/test_serving.py).
    code, output = container.run(["deeptempo-entrypoint", "exec", "sh", "-c",
                                   'echo "result: ${SPLUNK_PASSWORD_FILE:-no-indirection} $SPLUNK_PASSWORD"'])
    # Its own warnings (the stray `splunk` file) share the output: read the one result line.
    result = next(line for line in output.splitlines() if line.startswith("result: "))
    assert code == 0 and result.split()[1:] == ["no-indirection", "from-a-file"]


def test_docker_stop_shuts_uvicorn_down_gracefully(start):
    container = start(env=VALID)
    container.wait_healthy(30)
    _, exit_code = container.stop_within(timeout=10)
    # uvicorn shuts down gracefully, then re-raises SIGTERM (143); tini -e 143 reports that as 0.
    assert exit_code == 0
    assert "Application shutdown complete" in container.logs()


def test_every_process_runs_as_uid_10001(start):
    container = start(env=VALID)
    container.wait_healthy(30)
    uids = exec_python(container, "import glob\nfor s in glob.glob('/proc/[0-9]*/status'):\n"
                                  "    print([l.split()[1] for l in open(s) if l.startswith('Uid:')][0])")
    assert set(uids.split()) == {"10001"}
    assert container.inspect()["Config"]["User"] == "10001:10001"


def test_a_command_given_to_docker_run_runs(start):
    container = start(command=["echo", "hello"], publish=None)
    assert container.wait_exit(15) == 0
    assert container.logs() == "hello\n"


def test_no_build_context_secret_reaches_a_layer_or_the_history(image):
    saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout
    needle = BUILD_CANARY.encode()
    assert needle not in saved
    layers = 0
    with tarfile.open(fileobj=io.BytesIO(saved)) as archive:  # layers are uncompressed tars inside
        for member in archive.getmembers():
            data = archive.extractfile(member).read() if member.isfile() else b""
            assert needle not in data
            if data[257:262] == b"ustar":
                layers += 1
                with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                    names = layer.getnames()
                    assert not [n for n in names if os.path.basename(n) in (".env", ".env.production", ".env.local", "deploy.secret")]
    assert layers >= 3
    history = subprocess.run(["docker", "history", "--no-trunc", image], capture_output=True, text=True, check=True).stdout
    assert BUILD_CANARY not in history and "CLAUDE_API_KEY" not in history


def test_the_deploy_tools_are_not_in_the_image(start):
    container = start(command=["python", "-c", "import importlib.util as u; print(u.find_spec('docker'), u.find_spec('deeptempo_deploy'))"],
                      publish=None)
    assert container.wait_exit(15) == 0
    # The package ships deeptempo_deploy's code, but not the docker SDK it needs (the `deploy` extra).
    assert container.logs().split()[0] == "None"


def cached_steps(build_output):
    """The build steps that came from the layer cache, by their instruction text (both builders)."""
    cached, step = set(), None
    for line in build_output.splitlines():
        if line.startswith("Step "):  # the classic builder: "Step 6/20 : RUN ...", then " ---> Using cache"
            step = line.split(" : ", 1)[1]
        elif "Using cache" in line and step:
            cached.add(step)
        elif " CACHED" in line and "] " in line:  # BuildKit: "#9 [builder 5/8] RUN ..." then "#9 CACHED"
            cached.add(line)
    return cached


def test_a_source_only_change_rebuilds_from_the_source_layer_on(image, build_context):
    # Unique content, or an earlier run on the same engine would have cached it. Only the builder stage
    # (where the dependency layer lives) is built, so `docker rmi` leaves none of its layers behind.
    probe = build_context / "entrypoint" / "deeptempo_entrypoint" / "_source_change_probe.py"
    probe.write_text(f"# a source-only change {uuid.uuid4()}\n")
    try:
        output = build_image(build_context, IMAGE + "-rebuilt", target="builder")
    finally:
        probe.unlink()
        subprocess.run(["docker", "rmi", "-f", IMAGE + "-rebuilt"], capture_output=True)
    cached = " | ".join(cached_steps(output))
    assert "requirements.lock" in cached and "pip install --no-cache-dir -r" in cached, output[-2000:]
    assert "COPY entrypoint" not in cached


EXTRA_BASES = os.environ.get("EXTRA_BASE_IMAGES", "").split()


@pytest.mark.parametrize("base", EXTRA_BASES or [pytest.param(None, marks=pytest.mark.skip(
    reason="EXTRA_BASE_IMAGES is empty (scripts/test provides other Debian releases)"))])
def test_any_debian_base_with_python_3_11_or_newer(start, build_context, base):
    tag = f"{IMAGE}-{base.replace(':', '-').replace('/', '-')}"
    build_image(build_context, tag, base=base)
    try:
        container = start(env=VALID, image_tag=tag, **HARDENED)
        container.wait_healthy(30)
        version = exec_python(container, "import sys; print('%d.%d' % sys.version_info[:2])").strip()
        assert tuple(map(int, version.split("."))) >= (3, 11)
        assert container.stop_within(timeout=10)[1] == 0
        container.stop()
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
