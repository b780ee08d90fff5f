"""File-delivered secrets rotate without a restart: a Kubernetes-style `..data` swap (the kit's own
kubelet-faithful SecretVolume), a file rewritten in place, an invalid new value kept out, one `stat` per
second at most, and a start during swaps that sees one consistent directory."""

import json
import logging
import os
import subprocess
import threading
import time
import urllib.request

import pytest

from deeptempo_deploy.platforms.k8s.local import SecretVolume
from deeptempo_entrypoint import rotation
from deeptempo_entrypoint.resolution import resolve
from deeptempo_entrypoint.rotation import INTERVAL, Followed, Rotation
from deeptempo_entrypoint.sources.directory import SecretsDirectorySource
from deeptempo_entrypoint.spec import builtin_spec
from tests.helpers import CANARY_CLAUDE, ENTRYPOINT, PROJECT, free_port, wait_for_url, write

NEW_KEY = "sk-ant-ROTATEDclaude9876543210"


def volume_with(key):
    return SecretVolume({"CLAUDE_API_KEY": key}, 0o400, None)


def following(path, value=CANARY_CLAUDE):
    return Rotation(builtin_spec(), {"CLAUDE_API_KEY": Followed("CLAUDE_API_KEY", path, value)})


def age(active):
    for followed in active.followed.values():
        followed.checked_at -= INTERVAL  # as if a second had passed
    return active


def test_a_data_swap_is_served_after_the_interval(monkeypatch):
    monkeypatch.setenv("CLAUDE_API_KEY", CANARY_CLAUDE)
    volume = volume_with(CANARY_CLAUDE)
    try:
        active = following(os.path.join(volume.directory, "CLAUDE_API_KEY"))
        volume.update({"CLAUDE_API_KEY": NEW_KEY})
        assert active.value("CLAUDE_API_KEY") == CANARY_CLAUDE  # checked less than a second ago
        assert age(active).value("CLAUDE_API_KEY") == NEW_KEY
        assert os.environ["CLAUDE_API_KEY"] == NEW_KEY  # os.environ follows
        status = active.status("CLAUDE_API_KEY")
        assert status["rotates"] is True and status["revision"] == 2 and set(status) == {"rotates", "revision", "changed"}
    finally:
        volume.remove()


def test_an_invalid_new_value_is_logged_by_name_and_the_last_valid_one_stays(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("CLAUDE_API_KEY", CANARY_CLAUDE)
    path = write(tmp_path / "CLAUDE_API_KEY", CANARY_CLAUDE)
    active = following(str(path))
    for invalid in ("sk-ant-...", "not-a-claude-key-0123456789", ""):
        os.utime(write(path, invalid), ns=(time.time_ns(), time.time_ns() + 1))
        with caplog.at_level(logging.WARNING, logger="deeptempo_entrypoint.rotation"):
            assert age(active).value("CLAUDE_API_KEY") == CANARY_CLAUDE
        assert "CLAUDE_API_KEY: the new value in" in caplog.text and "the last valid value stays in use" in caplog.text
        assert "not-a-claude-key-0123456789" not in caplog.text  # named, never quoted
        caplog.clear()
    write(path, NEW_KEY)  # in place, as an editor without a rename writes it
    assert age(active).value("CLAUDE_API_KEY") == NEW_KEY


def test_a_file_that_changes_while_read_is_not_taken(tmp_path):
    path = write(tmp_path / "key", NEW_KEY)
    assert Rotation._read(str(path), (0, 0, 0, 0)) is None  # its stat after the read differs from before
    status = os.stat(path)
    assert Rotation._read(str(path), (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)) == NEW_KEY


def test_at_most_one_stat_per_second_and_no_read_when_nothing_changed(monkeypatch, tmp_path):
    monkeypatch.setenv("CLAUDE_API_KEY", CANARY_CLAUDE)
    path = write(tmp_path / "CLAUDE_API_KEY", CANARY_CLAUDE)
    active = following(str(path))
    stats, reads = [], []
    real_signature, real_read = rotation.file_signature, Rotation._read
    monkeypatch.setattr(rotation, "file_signature", lambda p: stats.append(p) or real_signature(p))
    monkeypatch.setattr(Rotation, "_read", staticmethod(lambda p, s: reads.append(p) or real_read(p, s)))
    for _ in range(1000):
        active.value("CLAUDE_API_KEY")
    assert stats == [] and reads == []
    age(active).value("CLAUDE_API_KEY")
    assert len(stats) == 1 and reads == []


def test_a_start_during_swaps_sees_one_generation():
    volume = SecretVolume({"CLAUDE_API_KEY": CANARY_CLAUDE, "claude_api_key": CANARY_CLAUDE}, 0o400, None)
    keys = [CANARY_CLAUDE, NEW_KEY]
    stop = threading.Event()

    def swap():
        turn = 0
        while not stop.is_set():
            turn += 1
            key = keys[turn % 2]
            volume.update({"CLAUDE_API_KEY": key, "claude_api_key": key})

    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        for _ in range(200):
            resolution = resolve(builtin_spec(), [SecretsDirectorySource(volume.directory)])
            assert [f.message for f in resolution.findings if "both set" in f.message] == []
            assert resolution.value("CLAUDE_API_KEY") in keys
    finally:
        stop.set()
        swapper.join()
        volume.remove()


@pytest.fixture
def served_key(tmp_path):
    """The stand-in app served with CLAUDE_API_KEY from a Kubernetes-style secrets volume."""
    volume = volume_with(CANARY_CLAUDE)
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": PROJECT, "DEEPTEMPO_SECRETS_DIR": volume.directory, "CHILDREN_OUT": str(tmp_path)}
    process = subprocess.Popen([*ENTRYPOINT, "serve", "--app", "tests.children_app:app", "--host", "127.0.0.1", "--port",
                                str(port)], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def key():
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/key", timeout=5).read())

    wait_for_url(f"http://127.0.0.1:{port}/key", process)
    yield volume, key
    process.terminate()
    output = process.communicate(timeout=30)[0]
    volume.remove()
    assert CANARY_CLAUDE not in output and NEW_KEY not in output


def test_the_served_app_reads_the_new_key_without_a_restart(served_key):
    volume, key = served_key
    assert key() == {"key": CANARY_CLAUDE, "environ": CANARY_CLAUDE}
    for value in (NEW_KEY, CANARY_CLAUDE, NEW_KEY):
        volume.update({"CLAUDE_API_KEY": value})
        swapped = time.monotonic()
        while key()["key"] != value:
            assert time.monotonic() - swapped < INTERVAL + 1.5
            time.sleep(0.02)
        assert key() == {"key": value, "environ": value}  # get_secret and os.environ alike
