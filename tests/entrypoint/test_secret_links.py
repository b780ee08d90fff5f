"""A secrets-directory entry reached through a symbolic link may lead through a Kubernetes volume's
`..data` generations, never out of its volume: a link into /proc (`/proc/self/fd/N`, a descriptor the
process holds) or /dev, or onto another mount, is refused by name, at the start and when followed. A
followed secret whose file, or whole directory, disappears is logged by name; the last valid value stays."""

import logging
import os
import shutil

import pytest

from deeptempo_deploy.platforms.k8s.local import SecretVolume
from deeptempo_entrypoint.rotation import INTERVAL, Followed, Rotation
from deeptempo_entrypoint.spec import builtin_spec
from deeptempo_entrypoint.textfile import link_escape
from tests.helpers import CANARY_CLAUDE, write

NEW_KEY = "sk-ant-ROTATEDclaude9876543210"


def another_mount():
    """A readable file on a mount other than /tmp's (sysfs)."""
    for candidate in ("/sys/kernel/uevent_seqnum", "/sys/kernel/profiling", "/sys/power/state"):
        if os.path.isfile(candidate) and os.stat(candidate).st_dev != os.stat("/tmp").st_dev:
            return candidate
    pytest.fail("no file on another mount to link to")


@pytest.mark.parametrize("target, words", [("/proc/self/fd/0", "into /proc"), ("/proc/self/environ", "into /proc"),
                                           ("/dev/null", "into /dev"), (None, "out of the volume")])
def test_an_entry_linked_out_of_its_volume_is_refused_by_name(run_entrypoint, tmp_path, target, words):
    directory = tmp_path / "secrets"
    directory.mkdir(mode=0o700)
    (directory / "CLAUDE_API_KEY").symlink_to(target or another_mount())
    result = run_entrypoint("check", env={"DEEPTEMPO_SECRETS_DIR": str(directory)})
    assert result.returncode == 78
    assert f"secret file {directory}/CLAUDE_API_KEY: is a symbolic link {words}" in result.stdout
    assert "refused" in result.stdout and "Traceback" not in result.stderr


def test_a_kubernetes_volumes_links_stay_inside_it():
    volume = SecretVolume({"CLAUDE_API_KEY": CANARY_CLAUDE}, 0o400, None)
    try:
        entry = os.path.join(volume.directory, "CLAUDE_API_KEY")
        assert os.path.islink(entry) and link_escape(entry) is None
    finally:
        volume.remove()


def follow(path):
    os.environ["CLAUDE_API_KEY"] = CANARY_CLAUDE
    return Rotation(builtin_spec(), {"CLAUDE_API_KEY": Followed("CLAUDE_API_KEY", str(path), CANARY_CLAUDE)})


def aged(active):
    for followed in active.followed.values():
        followed.checked_at -= INTERVAL
    return active


def test_a_followed_link_swapped_to_proc_is_refused_and_the_last_value_stays(tmp_path, caplog):
    directory = tmp_path / "secrets"
    directory.mkdir()
    write(directory / "real", CANARY_CLAUDE)
    (directory / "CLAUDE_API_KEY").symlink_to(directory / "real")
    active = follow(directory / "CLAUDE_API_KEY")
    os.unlink(directory / "CLAUDE_API_KEY")
    (directory / "CLAUDE_API_KEY").symlink_to("/proc/self/environ")
    with caplog.at_level(logging.WARNING, logger="deeptempo_entrypoint.rotation"):
        assert aged(active).value("CLAUDE_API_KEY") == CANARY_CLAUDE
    assert "is a symbolic link into /proc" in caplog.text and "the last valid value stays in use" in caplog.text


@pytest.mark.parametrize("gone", ["file", "directory"])
def test_a_secret_or_its_directory_disappearing_is_logged_once_and_the_value_kept(tmp_path, caplog, gone):
    directory = tmp_path / "secrets"
    directory.mkdir()
    path = write(directory / "CLAUDE_API_KEY", CANARY_CLAUDE)
    active = follow(path)
    if gone == "file":
        os.unlink(path)
    else:
        shutil.rmtree(directory)
    with caplog.at_level(logging.WARNING, logger="deeptempo_entrypoint.rotation"):
        assert aged(active).value("CLAUDE_API_KEY") == CANARY_CLAUDE
        assert aged(active).value("CLAUDE_API_KEY") == CANARY_CLAUDE
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and f"CLAUDE_API_KEY: its file {path} is gone" in lines[0]
    assert ("its directory is gone too" in lines[0]) == (gone == "directory")
    directory.mkdir(exist_ok=True)
    write(path, NEW_KEY)  # it comes back: a change
    assert aged(active).value("CLAUDE_API_KEY") == NEW_KEY
