"""Compose's own reading of the files: `docker compose config` merges overrides and interpolates, so
the loader sees what `up` would run. The step before loading, kept apart: it needs the docker CLI."""

import json
import os
import subprocess
from collections.abc import Sequence
from typing import Any

from deeptempo_deploy import jsontext
from deeptempo_deploy.redaction import relayed_line
from deeptempo_entrypoint.errors import ConfigError, UnavailableError


class ComposeConfig:
    """The files as Compose itself reads them: `interpolated` (what `up` would run) and `raw` (no
    interpolation, so `${CLAUDE_API_KEY}` still shows that it is a reference, not a value)."""

    def __init__(self, files: Sequence[str | os.PathLike[str]], project_directory: str | None = None,
                 stdin_text: str | None = None) -> None:
        self.files = [os.fspath(path) for path in files]  # "-": the one file is on standard input
        self.project_directory = project_directory
        self.stdin_text = stdin_text
        self.interpolated: dict[str, Any] = self._config()
        self.raw: dict[str, Any] = self._config("--no-interpolate")

    def _config(self, *options: str) -> dict[str, Any]:
        command = ["docker", "compose"]
        if self.project_directory:
            command += ["--project-directory", self.project_directory]
        for path in self.files:
            command += ["-f", path]
        command += ["config", "--format", "json", "--no-env-resolution", *options]
        try:
            result = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", errors="replace",
                                    timeout=60, input=self.stdin_text)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"compose {' '.join(self.files)}: `docker compose config` did not finish within 60 s "
                              "(does a file it reads block, such as a FIFO?)") from None
        except FileNotFoundError:
            raise UnavailableError("the docker CLI is not installed (verify compose runs `docker compose config`)") from None
        if result.returncode != 0:
            # Compose's own message names the file and the line; keep its first line, never the whole output.
            first = next((line for line in result.stderr.splitlines() if line.strip() and "level=warning" not in line), "")
            if "is not a docker command" in result.stderr:
                raise UnavailableError("the Compose v2 plugin is not installed (`docker compose version` fails)")
            # Compose quotes what it refuses (a key of an env-file, a value): never repeat what it quotes.
            raise ConfigError(f"compose {' '.join(self.files)}: `docker compose config` refused it: "
                              f"{relayed_line(first)[:300]}")
        try:
            document: dict[str, Any] = jsontext.loads(result.stdout)
        except (json.JSONDecodeError, jsontext.JsonRefused) as exc:
            raise ConfigError(f"compose {' '.join(self.files)}: `docker compose config` printed what cannot be judged "
                              f"({type(exc).__name__})") from None
        return document
