"""Compose's verbs for deeptempo-deploy (platforms/registry.py)."""

from typing import Any

import click

from deeptempo_deploy.platforms.platform import Platform, Verb, Verdict, stdin_text_if
from deeptempo_entrypoint.spec.model import Spec


def render(spec: Spec) -> dict[str, str]:
    from deeptempo_deploy.platforms.compose.render import render as render_files

    return render_files(spec)


def verify(spec: Spec, files: tuple[str, ...], service: str | None, project_directory: str | None) -> Verdict:
    from deeptempo_deploy.platforms.compose.verify import verify_compose

    stdin_text = stdin_text_if(list(files) == ["-"])
    findings, sources = verify_compose(files, spec, service, project_directory, stdin_text)
    return Verdict(f"verify compose {' '.join(files)}", findings, sources)


VERIFY_PARAMS: tuple[Any, ...] = (
    click.Argument(["files"], nargs=-1, required=True),
    click.Option(["--service"], default=None, help="The service that runs the DeepTempo image (default: deeptempo, else "
                                                   "the first whose image names deeptempo)."),
    click.Option(["--project-directory"], type=click.Path(file_okay=False), default=None,
                 help="Compose's project directory (default: the first file's)."),
)

PLATFORM = Platform(
    "compose", "Docker Compose v2",
    render=Verb("docker-compose.secrets.yml: one Docker secret per secret of the spec.", render),
    verify=Verb("FILES (a compose file and its overrides, in order; - for standard input) as `docker compose` merges them.",
                verify, VERIFY_PARAMS),
)
