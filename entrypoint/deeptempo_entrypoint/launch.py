"""What `check`, `status` and the pass-through share at the end of the one-way flow (sources ->
resolution -> validation): the configuration with its findings, the environment a program is given,
and `exec`. serve's hand-over is deeptempo_entrypoint.serving."""


import json
import os
import sys
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass

from deeptempo_entrypoint.constants import DEFAULT_LABEL, SOURCES_VARIABLE
from deeptempo_entrypoint.errors import ConfigError, SpecError
from deeptempo_entrypoint.findings import ERROR, Finding
from deeptempo_entrypoint.resolution import Resolution, resolve
from deeptempo_entrypoint.sources.base import SecretSource
from deeptempo_entrypoint.sources.chains import deployment_sources, process_environ
from deeptempo_entrypoint.spec import load_spec
from deeptempo_entrypoint.spec.model import Spec
from deeptempo_entrypoint.storage import storage_findings
from deeptempo_entrypoint.validation import validate


class ValidationFailed(ConfigError):
    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(f"{sum(f.is_error for f in findings)} configuration error(s)")
        self.findings = findings


@dataclass
class Launch:
    """A pass-through command and its environment (secrets included: the repr shows its keys only)."""

    argv: list[str]
    environment: dict[str, str]
    findings: list[Finding]

    def __repr__(self) -> str:
        return f"Launch(argv={self.argv!r}, environment_keys={sorted(self.environment)})"


def load_spec_reporting(spec_path: str | None) -> tuple[Spec | None, list[Finding]]:
    """(the spec, []) or, when it cannot be used, (None, one finding per problem), so that `check
    --json` reports a broken spec in the same document as everything else."""
    try:
        return load_spec(spec_path), []
    except SpecError as exc:
        return None, [Finding(None, ERROR, problem) for problem in exc.problems]


def check_configuration(spec: Spec | None, sources: Sequence[SecretSource]) -> tuple[Resolution, list[Finding]]:
    """What `check` and `status` report over `sources` (sources.chains.deployment_sources): the
    resolution and every finding (a spec of None: nothing), the storage the backend would fall back to
    included."""
    if spec is None:
        return Resolution({}, {}, [], set()), []
    resolution = resolve(spec, sources)
    return resolution, validate(spec, resolution) + storage_findings(spec, resolution)


def prepare_exec(spec: Spec, command: Sequence[str], environ: MutableMapping[str, str] | None = None,
                 env_file: str | None = None) -> Launch:
    """Pass-through (`docker run IMAGE sh`): secrets loaded, nothing validated, problems only reported."""
    environ = process_environ(environ)
    resolution = resolve(spec, deployment_sources(environ, env_file))
    return Launch(list(command), program_environment(environ, resolution), resolution.findings)


def program_environment(environ: MutableMapping[str, str], resolution: Resolution,
                        defaulted: Iterable[str] = ()) -> dict[str, str]:
    environment = {key: value for key, value in environ.items() if key not in resolution.unset}
    environment.update(resolution.environment())
    sources = {**resolution.sources(), **dict.fromkeys(defaulted, DEFAULT_LABEL)}
    environment[SOURCES_VARIABLE] = json.dumps(sources, sort_keys=True)
    return environment


def replace_process(launch: Launch) -> None:
    """exec: the program takes over this PID, so it receives the platform's signals directly."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(launch.argv[0], launch.argv, launch.environment)
