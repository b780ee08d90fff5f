"""What a platform is to deeptempo-deploy: its name and the verbs it supports, each with its own
parameters and the function that runs it. Each platform's commands.py makes one; registry.py lists them."""

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from deeptempo_entrypoint.findings import Finding


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


def stdin_text_if(wanted: bool) -> str | None:
    """Standard input's text when a path argument is `-`, read once."""
    return sys.stdin.read() if wanted else None
