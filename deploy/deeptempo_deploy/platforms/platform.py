"""What a platform is to deeptempo-deploy, as types. A platform is generic in its manifest as loaded in
memory (Manifest: Compose's normalised documents, Kubernetes objects, an ECS task definition, a unit's text) and
declares, with typed signatures:

- `load(manifest, spec) -> list[Workload]`: the manifest as platform-neutral workloads (platforms/model.py);
- `judge(manifest, spec) -> Judgement`: the verdict on a loaded manifest (what `verify` gives after reading);
- its verbs `render`, `verify` and `local`, each with a typed options object built from its click
  parameters (a dataclass whose fields are the parameters' names) and a function taking it.

Each platform's commands.py makes one Platform; registry.py lists them, and that list drives the CLI,
the conformance suite and the docs."""

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import click

from deeptempo_deploy.platforms.model import Workload
from deeptempo_deploy.platforms.runner import LocalResult
from deeptempo_entrypoint.findings import Finding
from deeptempo_entrypoint.spec.model import Spec

Manifest = TypeVar("Manifest")  # a platform's manifest, loaded
Options = TypeVar("Options")  # a verb's options

# A verdict's findings, and how each secret that reaches the service arrives (secret name -> route).
Judgement = tuple[list[Finding], dict[str, str]]
# Rendered files: path relative to the repository -> content.
Rendered = dict[str, str]


@dataclass(frozen=True)
class Verdict:
    """What a verify found: a title for the report, the findings, and how each secret arrives."""

    title: str
    findings: list[Finding]
    sources: dict[str, str]


@dataclass(frozen=True)
class LocalRun:
    """What a local run reports: its title and how the run ended."""

    title: str
    result: LocalResult


@dataclass(frozen=True)
class NoOptions:
    """The options of a verb that has none of its own."""


@dataclass(frozen=True)
class Render(Generic[Options]):
    """`render <platform>`: the files the spec decides."""

    help: str
    options: type[Options]
    run: Callable[[Spec, Options], Rendered]
    params: tuple[click.Parameter, ...] = field(default=())


@dataclass(frozen=True)
class Verify(Generic[Options]):
    """`verify <platform>`: read a manifest, judge it."""

    help: str
    options: type[Options]
    run: Callable[[Spec, Options], Verdict]
    params: tuple[click.Parameter, ...] = field(default=())


@dataclass(frozen=True)
class Local(Generic[Options]):
    """`local <platform>`: run a manifest's container as the platform would."""

    help: str
    options: type[Options]
    run: Callable[[Options], LocalRun]
    params: tuple[click.Parameter, ...] = field(default=())


@dataclass(frozen=True)
class Platform(Generic[Manifest]):
    name: str
    summary: str
    load: Callable[[Manifest, Spec], list[Workload]]
    judge: Callable[[Manifest, Spec], Judgement]
    render: Render[Any] | None = None
    verify: Verify[Any] | None = None
    local: Local[Any] | None = None

    @property
    def verbs(self) -> list[str]:
        return [verb for verb in ("render", "verify", "local") if getattr(self, verb) is not None]


def stdin_text_if(wanted: bool) -> str | None:
    """Standard input's text when a path argument is `-`, read once."""
    return sys.stdin.read() if wanted else None
