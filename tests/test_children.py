"""No child of the served app inherits a secret: a stand-in app (tests/children_app.py) starts children
the way the DeepTempo backend does, served through the kit, with one and with two uvicorn workers. The
spec allows one secret to one program; a `multiprocessing` pool still reads the key through the library;
DEEPTEMPO_CHILD_SECRETS=inherit gives every child every secret."""

import json
import os
import subprocess
import urllib.request

import pytest
import yaml

from deeptempo_entrypoint.children import Scope, program_name, scope_for
from deeptempo_entrypoint.spec import load_spec
from tests.helpers import CANARY_CLAUDE, CANARY_PASSWORD, ENTRYPOINT, PROJECT, free_port, wait_for_url, write


@pytest.fixture
def spec_file(tmp_path):
    """The built-in spec, with SPLUNK_PASSWORD allowed to `printenv` only."""
    document = yaml.safe_load(open(os.path.join(PROJECT, "entrypoint", "deeptempo_entrypoint", "spec", "spec.yaml")))
    for entry in document["entries"]:
        if entry["name"] == "SPLUNK_PASSWORD":
            entry["children"] = ["printenv"]
    return write(tmp_path / "spec.yaml", yaml.safe_dump(document))


def serve(tmp_path, spec_file, **variables):
    """The stand-in served through `deeptempo-entrypoint serve`: the key from a secrets directory (a
    file), the Splunk password from the env-file."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700, exist_ok=True)
    write(secrets / "CLAUDE_API_KEY", CANARY_CLAUDE + "\n")
    env_file = write(tmp_path / "app.env", f"SPLUNK_PASSWORD={CANARY_PASSWORD}\n")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": PROJECT, "CHILDREN_OUT": str(out), "DEEPTEMPO_SECRETS_SPEC": str(spec_file),
                   "DEEPTEMPO_SECRETS_DIR": str(secrets), "DEEPTEMPO_ENV_FILE": str(env_file), **variables}
    process = subprocess.Popen([*ENTRYPOINT, "serve", "--app", "tests.children_app:app", "--host", "127.0.0.1", "--port",
                                str(port)], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_url(f"http://127.0.0.1:{port}/health", process)
    return process, port, out


def children_of(port):
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/children", timeout=60).read())


def stop(process):
    process.terminate()
    return process.communicate(timeout=30)[0]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_no_child_of_the_app_inherits_a_secret(tmp_path, spec_file, workers):
    process, port, out = serve(tmp_path, spec_file, WEB_CONCURRENCY=workers)
    try:
        answers = [children_of(port) for _ in range(4 if workers == "2" else 1)]
        for answer in answers:
            assert answer["reads"] == CANARY_CLAUDE and answer["library"] == CANARY_CLAUDE  # the app reads as before
            assert answer["allowed"] == CANARY_PASSWORD  # printenv, allowed SPLUNK_PASSWORD by the spec
            assert answer["pool_value"] == CANARY_CLAUDE  # a spawn pool's process, through the library
            for environ in (answer["pool_environ"], answer["own_environ"]):  # a worker's /proc/PID/environ too
                assert CANARY_CLAUDE not in environ and CANARY_PASSWORD not in environ
        children = sorted(os.listdir(out))
        kinds = {name.rsplit("-", 1)[0] for name in children}
        assert kinds == {"startup", "popen", "subprocess", "os-system", "asyncio"}, children
        for name in children:
            received = (out / name).read_text()
            assert CANARY_CLAUDE not in received and CANARY_PASSWORD not in received, name
            assert "PATH=" in received  # it did get the environment, less the secrets
    finally:
        output = stop(process)
    assert CANARY_CLAUDE not in output and CANARY_PASSWORD not in output


def test_the_handoff_is_a_private_memory_file_of_the_server(tmp_path, spec_file):
    process, port, _ = serve(tmp_path, spec_file)
    try:
        descriptors = os.listdir(f"/proc/{process.pid}/fd")
        handoffs = [fd for fd in descriptors if os.readlink(f"/proc/{process.pid}/fd/{fd}").startswith("/memfd:deeptempo-handoff")]
        assert len(handoffs) == 1
        path = f"/proc/{process.pid}/fd/{handoffs[0]}"
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        with pytest.raises(OSError):  # sealed: nobody changes what the workers read
            with open(path, "r+b") as stream:
                stream.write(b"x")
    finally:
        stop(process)
    assert not os.path.exists(f"/proc/{process.pid}")


def test_inherit_gives_every_child_every_secret(tmp_path, spec_file):
    process, port, out = serve(tmp_path, spec_file, DEEPTEMPO_CHILD_SECRETS="inherit")
    try:
        children_of(port)
        received = (out / f"subprocess-{children_of(port)['pid']}").read_text()
        assert CANARY_CLAUDE in received and CANARY_PASSWORD in received
    finally:
        stop(process)


def test_the_scope_follows_the_spec():
    spec = load_spec(None)
    scope = scope_for(spec, ["CLAUDE_API_KEY", "SPLUNK_PASSWORD", "PORT"])
    assert scope.kept == ("CLAUDE_API_KEY", "SPLUNK_PASSWORD") and scope.programs == {}  # settings are no secrets
    assert Scope.from_dict(scope.as_dict()).kept == scope.kept
    assert "CANARY" not in repr(scope)


@pytest.mark.parametrize("args, executable, shell, expected", [
    (["/usr/bin/git", "pull"], None, False, "git"),
    ("git pull", None, True, "git"),
    ("LANG=C psql -c 'select 1'", None, True, "psql"),
    (["python3", "-c", "pass"], "/usr/bin/python3.11", False, "python3.11"),
    ("sh -c 'unbalanced", None, True, "sh"),
])
def test_program_name(args, executable, shell, expected):
    assert program_name(args, executable, shell) == expected
