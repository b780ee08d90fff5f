"""The health probe (entrypoint/deeptempo_entrypoint/deeptempo-probe): bash's /dev/tcp, no interpreter. 0 on a 200 from the
URL, 1 on anything else (a 404, a closed port), 2 on a URL it does not take; without a URL it asks the
address serve wrote, so `serve -- --port` is followed."""

import os
import subprocess
import time

import pytest

from tests.helpers import CANARY_CLAUDE, ENTRYPOINT, PROJECT, free_port, wait_for_url

PROBE = os.path.join(PROJECT, "entrypoint", "deeptempo_entrypoint", "deeptempo-probe")


@pytest.fixture
def served(tmp_path):
    port = free_port()
    environment = {**os.environ, "CLAUDE_API_KEY": CANARY_CLAUDE, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen([*ENTRYPOINT, "serve", "--host", "127.0.0.1", "--", "--port", str(port)], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_url(f"http://127.0.0.1:{port}/api/health", process)
    yield port, tmp_path
    process.terminate()
    process.wait(timeout=30)


def probe(*args, env=None):
    return subprocess.run([PROBE, *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=10)


def test_the_probe_answers_as_the_health_path_does(served):
    port, _ = served
    assert probe(f"http://127.0.0.1:{port}/api/health").returncode == 0
    assert probe(f"http://localhost:{port}/api/health").returncode == 0
    assert probe(f"http://127.0.0.1:{port}/no-such-route").returncode == 1
    assert probe(f"http://127.0.0.1:{free_port()}/api/health").returncode == 1
    bad = probe("https://127.0.0.1/api/health")
    assert bad.returncode == 2 and "only http://" in bad.stderr


def test_without_a_url_it_follows_the_port_serve_was_given_after_the_double_dash(served):
    port, tmp_path = served
    assert (tmp_path / "deeptempo-serve" / "address").read_text() == f"127.0.0.1 {port}\n"
    assert oct((tmp_path / "deeptempo-serve").stat().st_mode & 0o777) == "0o700"
    assert probe(env={"TMPDIR": str(tmp_path), "PORT": "1"}).returncode == 0  # serve's address, not $PORT
    assert probe(env={"TMPDIR": str(tmp_path / "elsewhere"), "PORT": str(port)}).returncode == 0  # $PORT without one
    assert probe(env={"TMPDIR": str(tmp_path / "elsewhere"), "PORT": "1"}).returncode == 1


def test_a_unix_socket_given_after_the_double_dash_is_followed(tmp_path):
    """`serve -- --uds PATH`: serve writes the socket as its address, and the probe asks over it."""
    socket_path = tmp_path / "deeptempo.sock"
    environment = {**os.environ, "CLAUDE_API_KEY": CANARY_CLAUDE, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen([*ENTRYPOINT, "serve", "--", "--uds", str(socket_path)], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while probe(env={"TMPDIR": str(tmp_path)}).returncode != 0:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert (tmp_path / "deeptempo-serve" / "address").read_text() == f"unix {socket_path}\n"
        assert probe(env={"TMPDIR": str(tmp_path), "DEEPTEMPO_HEALTH_PATH": "/no-such-route"}).returncode == 1
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def answering():
    """A server on 127.0.0.1 that answers every GET with 200 and the JSON body set on it."""
    import http.server
    import json
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        body = b"{}"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(self.body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answer(document):
        Handler.body = json.dumps(document).encode()
        return f"http://127.0.0.1:{server.server_address[1]}/api/health"

    yield answer
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("document, code", [
    ({"status": "healthy", "storage": {"backend": "postgresql", "database_available": True}}, 0),
    ({"status": "healthy", "storage": {"backend": "json", "database_available": False}}, 1),  # the silent fall back
    ({"status": "healthy", "storage": {"backend": "unknown", "error": "x"}}, 1),  # the backend's own error answer
    ({"status": "healthy", "app": "built-in"}, 0),  # reports no storage: not judged on it
])
def test_a_required_storage_is_judged_on_what_the_health_reports(answering, document, code):
    url = answering(document)
    assert probe(url, env={"DEEPTEMPO_REQUIRE_STORAGE": "postgresql"}).returncode == code
    assert probe(url).returncode == 0  # without the requirement, any 200


def test_a_required_storage_must_be_a_name(answering):
    refused = probe(answering({}), env={"DEEPTEMPO_REQUIRE_STORAGE": "postgres ql"})
    assert refused.returncode == 2 and "not a storage name" in refused.stderr
