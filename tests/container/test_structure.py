"""container-structure-test (Docker driver) on the kit's image, with tests/container/structure.yaml:
it passes there, and fails on an image that is not the kit's (the base it is built FROM)."""

import os
import subprocess

import pytest

from tests.helpers import PROJECT

CST = os.path.join(PROJECT, ".tools", "venv", "bin", "container-structure-test")
CONFIG = os.path.join(PROJECT, "tests", "container", "structure.yaml")


def _volumes(*filters):
    listed = subprocess.run(["docker", "volume", "ls", "-q", *filters], capture_output=True, text=True, check=True)
    return set(listed.stdout.split())


def structure_test(image):
    """container-structure-test removes the containers it runs but not their anonymous volumes (the
    image declares three VOLUMEs). An anonymous volume (a 64-hex name) is reachable only through its
    container, so the ones that appeared while it ran and belong to no container once it is done are its own:
    they are removed, nothing else."""
    if not os.access(CST, os.X_OK):
        pytest.skip("container-structure-test is not installed (scripts/test installs it into .tools)")
    before = _volumes()
    try:
        return subprocess.run([CST, "test", "--driver", "docker", "--image", image, "--config", CONFIG, "--output", "text"],
                              capture_output=True, text=True, timeout=300)
    finally:
        left = _volumes("--filter", "dangling=true") - before
        anonymous = [name for name in left if len(name) == 64 and all(c in "0123456789abcdef" for c in name)]
        if anonymous:
            subprocess.run(["docker", "volume", "rm", *anonymous], capture_output=True)


def test_the_kits_image_passes(image):
    result = structure_test(image)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_an_image_that_is_not_the_kits_fails():
    base = os.environ.get("BASE_IMAGE", "python:3.12-slim")
    result = structure_test(base)
    assert result.returncode != 0 and "FAIL" in result.stdout, result.stdout[-2000:]
