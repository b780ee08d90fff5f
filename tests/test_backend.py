"""Serving the DeepTempo backend (a stand-in shaped like it) on the host: `serve` with APP_MODULE=main:app
and APP_DIR, as the README's recipe says; and the kit's secrets module swapped in for the backend's with
every call the backend makes."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from standin_backend import make_backend

from tests.helpers import CANARY_CLAUDE, ENTRYPOINT, free_port, write


@pytest.fixture
def repository(tmp_path):
    return make_backend(str(tmp_path / "deeptempo-ai-soc"))


def request(port, path, method="GET"):
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method), timeout=3) as answer:
        return json.loads(answer.read())


def test_serve_runs_the_backend_with_app_dir_as_the_readme_says(repository, tmp_path):
    port = free_port()
    env_file = write(tmp_path / "app.env", f"CLAUDE_API_KEY={CANARY_CLAUDE}\n")
    environment = {**os.environ, "APP_MODULE": "main:app", "APP_DIR": os.path.join(repository, "backend"),
                   "PYTHONPATH": repository, "HOST": "127.0.0.1", "PORT": str(port)}
    process = subprocess.Popen([*ENTRYPOINT, "serve", "--env-file", str(env_file)], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert request(port, "/api/health")["status"] == "healthy"
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
                time.sleep(0.1)
        assert request(port, "/api/config/claude") == {"configured": True}
        assert request(port, "/api/cases", "POST") == {"saved": 1}
        assert os.path.exists(os.path.join(repository, "data", "cases.json"))
        assert os.path.exists(os.path.join(os.environ["HOME"], ".deeptempo", "api.log"))
        assert request(port, "/api/config/general?enable_keyring=false", "POST") == {"write_backend": "env", "same_key": True}
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=10)[0]
    assert CANARY_CLAUDE not in output


def test_the_readmes_old_recipe_is_refused_before_the_exec_with_the_fix(repository, run_entrypoint):
    """APP_MODULE=backend.main:app imports, but main.py's own sibling imports fail: the kit cannot see
    that without importing; the recipe with APP_DIR is the one that works (above). A wrong APP_DIR is
    named at once."""
    result = run_entrypoint("serve", env={"CLAUDE_API_KEY": CANARY_CLAUDE, "APP_MODULE": "main:app",
                                          "APP_DIR": os.path.join(repository, "nope")})
    assert result.returncode == 78 and "APP_DIR: directory" in result.stderr and "does not exist" in result.stderr


DROP_IN = r'''
import json, os, sys
sys.path[:0] = [os.environ["BACKEND"], os.environ["REPOSITORY"]]
import secrets_manager
from secrets_manager import get_secret, set_secret, delete_secret, get_secrets_manager
from backend.secrets_manager import get_secret as get_secret_again
import deeptempo_entrypoint.secrets_manager as kit
results = {"same_module": secrets_manager is kit and sys.modules["backend.secrets_manager"] is kit}
results["default"] = get_secret("SPLUNK_PASSWORD", default="fallback")
results["set"] = set_secret("SPLUNK_PASSWORD", 'p"w #1')
results["read_back"] = get_secret("SPLUNK_PASSWORD") == 'p"w #1' and get_secret_again("SPLUNK_PASSWORD") == 'p"w #1'
results["legacy_alias"] = get_secret("claude_api_key") == os.environ["CLAUDE_API_KEY"]
manager = get_secrets_manager()
results["methods"] = [manager.get("SPLUNK_PASSWORD") == 'p"w #1', manager.set("CRIBL_PASSWORD", "c") is True,
                      manager.get("CRIBL_PASSWORD") == "c", manager.delete("CRIBL_PASSWORD") is True,
                      manager.get("CRIBL_PASSWORD", "gone") == "gone"]
secrets_manager._secrets_manager = None  # the settings endpoint's reset
rebuilt = get_secrets_manager(enable_keyring=False)
results["reset"] = rebuilt is not manager and rebuilt.enable_keyring is False and get_secrets_manager() is rebuilt
results["keyword"] = get_secrets_manager(write_backend="env", enable_keyring=False).write_backend
results["status_keys"] = sorted(get_secrets_manager().get_backend_status())
get_secrets_manager(write_backend="dotenv")  # back to the file, where the value was written
results["deleted"] = delete_secret("SPLUNK_PASSWORD") and get_secret("SPLUNK_PASSWORD") is None
# A keyring the UI enabled where there is none: reads find nothing there instead of failing.
secrets_manager._secrets_manager = None
results["keyring_read"] = get_secrets_manager(enable_keyring=True).get("GITHUB_TOKEN", "none")
with open(os.path.join(os.environ["HOME"], ".deeptempo", ".env")) as stream:
    results["dotenv_has_no_deleted_key"] = "SPLUNK_PASSWORD" not in stream.read()
print(json.dumps(results))
'''


def test_the_kits_module_is_a_drop_in_for_the_backends(repository):
    result = subprocess.run([sys.executable, "-c", DROP_IN], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BACKEND": os.path.join(repository, "backend"), "REPOSITORY": repository,
                                 "CLAUDE_API_KEY": CANARY_CLAUDE, "SECRETS_BACKEND": "dotenv",
                                 "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert results == {
        "same_module": True, "default": "fallback", "set": True, "read_back": True, "legacy_alias": True,
        "methods": [True] * 5, "reset": True, "keyword": "env",
        "status_keys": ["dotenv", "environment", "keyring", "write_backend"], "deleted": True, "keyring_read": "none",
        "dotenv_has_no_deleted_key": True}
