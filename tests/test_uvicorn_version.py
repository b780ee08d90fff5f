"""The uvicorn these tests run on is the one meant: the locked version (requirements.lock) in the main
run, the lowest the runtime admits in scripts/test's second run (DEEPTEMPO_EXPECT_UVICORN), and on both
every limit serve sets is one uvicorn can give (none is a warning)."""

import os
import re
from pathlib import Path

import uvicorn

from deeptempo_entrypoint.server_options import config_parameters, limit_warnings

PROJECT = Path(__file__).resolve().parent.parent


def locked_uvicorn() -> str:
    found = re.search(r"^uvicorn==(\S+)$", (PROJECT / "requirements.lock").read_text(), re.M)
    assert found, "requirements.lock pins no uvicorn"
    return found.group(1)


def lowest_admitted_uvicorn() -> str:
    found = re.search(r'"uvicorn>=([0-9.]+),', (PROJECT / "entrypoint" / "pyproject.toml").read_text())
    assert found, "entrypoint/pyproject.toml gives uvicorn no lower bound"
    return found.group(1)


def release(version: str) -> tuple[int, ...]:
    """A release's numbers without trailing zeros: 0.34 and 0.34.0 are one version."""
    numbers = [int(part) for part in version.split(".")]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def test_the_tests_run_on_the_uvicorn_meant():
    expected = os.environ.get("DEEPTEMPO_EXPECT_UVICORN") or locked_uvicorn()
    assert release(uvicorn.__version__) == release(expected)


def test_the_lowest_run_is_on_the_lower_bound_itself():
    if os.environ.get("DEEPTEMPO_EXPECT_UVICORN"):
        assert release(uvicorn.__version__) == release(lowest_admitted_uvicorn())


def test_every_limit_serve_sets_is_given_by_this_uvicorn():
    assert limit_warnings(config_parameters()) == []
