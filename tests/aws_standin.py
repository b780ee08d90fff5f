"""moto's server on 127.0.0.1 as the stand-in of AWS (Secrets Manager, SSM, IAM, logs, ECS), started by a
test session that asks for it and stopped by its PID, and an AWS environment aimed at nothing else."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.helpers import free_port, wait_for_url

BIN = os.path.dirname(sys.executable)
ACCOUNT, REGION = "111122223333", "us-east-1"


@pytest.fixture(scope="session")
def moto() -> Iterator[str]:
    server = os.path.join(BIN, "moto_server")
    if not os.access(server, os.X_OK):
        pytest.fail(f"moto's server is not installed ({server} is missing): pip install -r requirements-test.txt "
                    "(it pins moto[server]); scripts/test does", pytrace=False)
    port = free_port()
    process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], env={**os.environ, "MOTO_ACCOUNT_ID": ACCOUNT},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    wait_for_url(f"{endpoint}/moto-api/", process)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                       "AWS_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
