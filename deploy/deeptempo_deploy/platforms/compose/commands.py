"""Compose as a platform of deeptempo-deploy (platforms/registry.py): its manifest is the normalised
document pair `docker compose config` gives (interpolated and raw)."""

from dataclasses import dataclass
from typing import Any

import click

from deeptempo_deploy.platforms.model import DATABASE, Workload
from deeptempo_deploy.platforms.platform import (
    Judgement,
    NoOptions,
    Platform,
    Render,
    Rendered,
    Verdict,
    Verify,
    stdin_text_if,
)
from deeptempo_entrypoint.spec.model import Spec


@dataclass
class ComposeDocuments:
    """A Compose project as `docker compose config` merges it: `interpolated` is what `up` would run,
    `raw` the same without interpolation (where `${NAME}` still shows that a value is a reference)."""

    interpolated: dict[str, Any]
    raw: dict[str, Any]


@dataclass(frozen=True)
class VerifyOptions:
    files: tuple[str, ...]
    service: str | None
    project_directory: str | None


def load(manifest: ComposeDocuments, spec: Spec) -> list[Workload]:
    from deeptempo_deploy.platforms.compose.load import database_services, service_name
    from deeptempo_deploy.platforms.compose.load import load as load_service

    name = service_name(manifest.interpolated)
    if name is None:
        return []
    return [load_service(manifest.interpolated, manifest.raw, spec, name)[0],
            *(load_service(manifest.interpolated, manifest.raw, spec, other, DATABASE)[0]
              for other in database_services(manifest.interpolated, manifest.raw, name))]


def judge(manifest: ComposeDocuments, spec: Spec) -> Judgement:
    from deeptempo_deploy.platforms.compose.verify import judge as judge_documents

    return judge_documents(manifest.interpolated, manifest.raw, spec)


def render(spec: Spec, options: NoOptions) -> Rendered:
    from deeptempo_deploy.platforms.compose.render import render as render_files

    return render_files(spec)


def verify(spec: Spec, options: VerifyOptions) -> Verdict:
    from deeptempo_deploy.platforms.compose.verify import verify_compose

    stdin_text = stdin_text_if(list(options.files) == ["-"])
    findings, sources = verify_compose(options.files, spec, options.service, options.project_directory, stdin_text)
    return Verdict(f"verify compose {' '.join(options.files)}", findings, sources)


VERIFY_PARAMS: tuple[click.Parameter, ...] = (
    click.Argument(["files"], nargs=-1, required=True),
    click.Option(["--service"], default=None, help="The service that runs the DeepTempo image (default: deeptempo, else "
                                                   "the first whose image names deeptempo)."),
    click.Option(["--project-directory"], type=click.Path(file_okay=False), default=None,
                 help="Compose's project directory (default: the first file's)."),
)

PLATFORM: Platform[ComposeDocuments] = Platform(
    "compose", "Docker Compose v2", load, judge,
    render=Render("docker-compose.secrets.yml: one Docker secret per secret of the spec.", NoOptions, render),
    verify=Verify("FILES (a compose file and its overrides, in order; - for standard input) as `docker compose` merges them.",
                  VerifyOptions, verify, VERIFY_PARAMS),
)
