"""The container tests' containers, started through testcontainers (the kit's own runner stays the
product's: only the tests of `local` and `smoke` drive it). Every container carries this run's label
(tests/helpers.py TEST_LABEL), publishes on 127.0.0.1 only, and is removed, with its anonymous volumes,
when its test ends. testcontainers' Ryuk reaper cannot be pulled here: conftest.py turns it off and the
run's label finds what is left."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from testcontainers.core.container import DockerContainer

from deeptempo_entrypoint.constants import DEFAULT_PORT, HEALTH_PATH
from tests.helpers import RUN

LABELS = {"io.deeptempo.run": RUN, "io.deeptempo.test": RUN}
HARDENING: dict[str, Any] = {"read_only": True, "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"]}


class TestContainer(DockerContainer):
    """A DockerContainer with what the kit's tests ask of a container: its health path, its exit, a
    timed stop, exec with the output as text, and docker's own settings (read_only, cap_drop, ...)."""

    __test__ = False  # not a pytest test class

    def __init__(self, image: str, *, env: dict[str, str] | None = None, command: list[str] | None = None,
                 publish: int | None = DEFAULT_PORT, volumes: dict[str, str] | None = None, **docker: Any) -> None:
        super().__init__(image, env=dict(env or {}), command=command)
        self.published = publish
        if publish:
            self.ports[str(publish)] = ("127.0.0.1",)  # type: ignore[assignment]
        for host, target in (volumes or {}).items():
            path, _, mode = target.partition(":")
            self.with_volume_mapping(host, path, mode or "rw")
        self.tmpfs.update(docker.pop("tmpfs", {}))  # testcontainers passes its own tmpfs mapping to docker
        self.with_kwargs(labels=LABELS, **docker)

    def start(self) -> "TestContainer":
        self.removed = False
        super().start()
        return self

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Remove it (and its anonymous volumes), once: a test may remove it before its fixture does."""
        if not getattr(self, "removed", True):
            self.removed = True
            super().stop(force=force, delete_volume=delete_volume)

    @property
    def container(self) -> Any:
        return self.get_wrapped_container()

    def url(self, path: str = HEALTH_PATH) -> str:
        return f"http://127.0.0.1:{self.get_exposed_port(self.published)}{path}"

    def wait_healthy(self, timeout: float = 60, path: str = HEALTH_PATH) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            self.container.reload()
            assert self.container.status not in ("exited", "dead"), f"exited {self.exit_code()}:\n{self.logs()[-3000:]}"
            try:
                with urllib.request.urlopen(self.url(path), timeout=2) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise AssertionError(f"{path} did not answer 200 within {timeout} s:\n{self.logs()[-3000:]}")

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=10) as answer:
            return json.loads(answer.read())

    def exit_code(self) -> int:
        self.container.reload()
        return int(self.container.attrs["State"]["ExitCode"])

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None when still running after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.container.reload()
            if self.container.status in ("exited", "dead"):
                return self.exit_code()
            time.sleep(0.2)
        return None

    def stop_within(self, timeout: float = 10) -> tuple[float, int]:
        """`docker stop`: (seconds it took, the exit code)."""
        started = time.monotonic()
        self.container.stop(timeout=timeout)
        return time.monotonic() - started, self.exit_code()

    def run(self, command: list[str], environment: dict[str, str] | None = None) -> tuple[int, str]:
        """exec: (exit code, stdout and stderr as text)."""
        code, output = self.container.exec_run(command, environment=environment)
        return code, output.decode(errors="replace")

    def logs(self) -> str:
        out, err = self.get_logs()
        return (out + err).decode(errors="replace")

    def inspect(self) -> dict[str, Any]:
        self.container.reload()
        return dict(self.container.attrs)
