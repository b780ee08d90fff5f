"""The platforms `deeptempo-deploy` knows, and the verbs each supports. The click group builds
`render|verify|local <platform>` from this list: adding a platform is one folder (with its commands.py)
and one line below."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from entrypoint.findings import Finding


@dataclass(frozen=True)
class Verdict:
    """What a verify found: a title for the report, the findings, and how each secret arrives."""

    title: str
    findings: list[Finding]
    sources: dict[str, str]


@dataclass(frozen=True)
class Verb:
    """One verb of a platform: its help, its own options and arguments, and the function that runs it.
    `run` takes the spec in use (render, verify) and the parameters by name; it returns the rendered
    files (render), a Verdict (verify), or a (title, LocalResult) pair (local)."""

    help: str
    run: Callable[..., Any]
    params: tuple[click.Parameter, ...] = field(default=())


@dataclass(frozen=True)
class Platform:
    name: str
    summary: str
    render: Verb | None = None
    verify: Verb | None = None
    local: Verb | None = None

    @property
    def verbs(self) -> list[str]:
        return [verb for verb in ("render", "verify", "local") if getattr(self, verb) is not None]


def platforms() -> tuple[Platform, ...]:
    from entrypoint.platforms.compose.commands import PLATFORM as COMPOSE
    from entrypoint.platforms.ecs.commands import PLATFORM as ECS
    from entrypoint.platforms.k8s.commands import PLATFORM as K8S
    from entrypoint.platforms.systemd.commands import PLATFORM as SYSTEMD

    return (COMPOSE, K8S, ECS, SYSTEMD)


def stdin_text_if(wanted: bool) -> str | None:
    """Standard input's text when a path argument is `-`, read once."""
    return click.get_text_stream("stdin").read() if wanted else None
