"""Docker going away in the middle of `smoke`: the engine is reached through a socket relay this test
starts and then kills (the real engine, which other tests share, stays up). The command must end with
exit 69 and a clear message naming what it may have left, never a traceback; what it names is exactly
what is left on the engine, which the test then removes."""

import os
import re
import socket
import subprocess
import threading
import time

import pytest

from tests.helpers import DEPLOY, RUN_FILTER


class SocketRelay:
    """unix socket `path` -> the engine's socket, until stop() closes every connection at once."""

    def __init__(self, path, target="/var/run/docker.sock"):
        self.path, self.target = path, target
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(path)
        self.server.listen(64)
        self.connections = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def stop(self):
        self.stopped = True
        self.server.close()
        os.unlink(self.path)
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            except OSError:
                pass


@pytest.fixture
def relay(tmp_path, docker_engine):
    relay = SocketRelay(str(tmp_path / "engine.sock"))
    yield relay
    if not relay.stopped:
        relay.stop()


def test_the_engine_going_away_mid_smoke_is_a_clear_error_naming_what_is_left(image, relay):
    process = subprocess.Popen([*DEPLOY, "smoke", image], env={**os.environ, "DOCKER_HOST": f"unix://{relay.path}"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until smoke has a container running, then take the engine away.
    deadline = time.monotonic() + 60
    while not subprocess.run(["docker", "ps", "-q", "--filter", "label=io.deeptempo.deploy=smoke", *RUN_FILTER], capture_output=True,
                             text=True).stdout.strip():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    relay.stop()
    out, err = process.communicate(timeout=120)
    left = subprocess.run(["docker", "ps", "-a", "--filter", "label=io.deeptempo.deploy=smoke", *RUN_FILTER, "--format", "{{.Names}}"],
                          capture_output=True, text=True).stdout.split()
    try:
        assert process.returncode == 69, out + err
        assert "the Docker engine stopped answering" in err and "Traceback" not in err
        named = re.findall(r"deeptempo-smoke-[0-9a-f]{10}", err)
        assert sorted(named) == sorted(left)  # exactly what is left, so an operator can remove it
    finally:
        if left:
            subprocess.run(["docker", "rm", "-f", "-v", *left], capture_output=True)
