"""The way out of deeptempo-deploy, as kubectl's and helm's: every report (verify, local, smoke, render)
goes to stdout whatever its verdict, in text or in the one JSON shape (deeptempo_entrypoint.report.
REPORT_SCHEMA, `-o json`); diagnostics (warnings, progress, usage errors) go to stderr; the exit code
tells the verdict. Everything written passes the redaction boundary (redaction.mask) first."""

import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, NoReturn

import click

from deeptempo_entrypoint.constants import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK
from deeptempo_entrypoint.findings import ERROR, WARNING, Finding, has_errors
from deeptempo_entrypoint.report import findings_document, format_findings, report_document
from deeptempo_entrypoint.spec.model import Spec

if TYPE_CHECKING:
    from deeptempo_deploy.platforms.platform import Verdict
    from deeptempo_deploy.platforms.runner import HookResult, LocalResult
    from deeptempo_deploy.smoke import CheckResult

PROG = "deeptempo-deploy"
PROGRESS_EVERY = 5.0  # seconds between a long wait's progress lines


def emit(text: str, err: bool = False, spec: Spec | None = None) -> None:
    """The one way out: whatever deeptempo-deploy writes passes the redaction boundary first (with the
    spec the command was given, whose secrets' shapes it masks besides the built-in spec's)."""
    from deeptempo_deploy.redaction import mask

    click.echo(mask(text, spec), err=err)


def emit_json(document: object, spec: Spec | None = None) -> None:
    """A JSON document through the same boundary, masked string by string so it stays valid JSON."""
    from deeptempo_deploy.redaction import mask_document

    click.echo(json.dumps(mask_document(document, spec), indent=2))


# --- reports -----------------------------------------------------------------------------------------

def report_verdict(verdict: "Verdict", output: str, spec: Spec | None = None) -> NoReturn:
    """A verify's report; exit 0 when valid, 78 otherwise."""
    ok = not has_errors(verdict.findings)
    if output == "json":
        emit_json(findings_document(verdict.title, ok, verdict.findings, verdict.sources), spec)
    else:
        title = f"{verdict.title}: {'valid' if ok else 'NOT valid'}"
        emit(format_findings(verdict.findings, title=title, program=PROG, with_rules=True), spec=spec)
    sys.exit(EXIT_OK if ok else EXIT_CONFIG)


def local_findings(result: "LocalResult") -> list[Finding]:
    """A local run's warnings, its failure to turn ready and each failed test hook, as findings of the one
    report shape."""
    findings = [Finding(None, WARNING, warning, "input") for warning in result.warnings]
    failed = [Finding(None, ERROR, f"test {test.name}: {hook_ending(test)}", "test-hook")
              for test in result.tests if not test.passed]
    return (failed if result.ready else [Finding(None, ERROR, result.reason, "ready"), *failed]) + findings


def hook_ending(test: "HookResult") -> str:
    return "did not end in time" if test.exit_code is None else f"exited with code {test.exit_code}"


def report_local(title: str, result: "LocalResult", output: str) -> NoReturn:
    """A local run's report, then each test hook's (a chart's `helm test` pods, run once it was ready);
    exit 0 only when the container turned ready and every hook passed, 1 otherwise."""
    if output == "json":
        emit_json(report_document(title, result.succeeded, local_findings(result), result={
            "ready": result.ready, "reason": result.reason, "seconds": round(result.seconds, 2),
            "log_tail": result.log_tail,
            "tests": [{"name": test.name, "passed": test.passed, "exit_code": test.exit_code,
                       "seconds": round(test.seconds, 2), "log_tail": test.log_tail} for test in result.tests]}))
        sys.exit(EXIT_OK if result.succeeded else EXIT_FAILURE)
    for warning in result.warnings:  # about the input: a diagnostic
        emit(f"{PROG}: {title}: warning: {warning}", err=True)
    if result.ready:
        emit(f"{PROG}: {title}: {result.reason} after {result.seconds:.1f} s")
    else:
        emit(f"{PROG}: {title}: NOT ready: {result.reason}\n  last log lines:\n{indented(result.log_tail)}")
    for test in result.tests:
        if test.passed:
            emit(f"{PROG}: {title}: test {test.name}: passed after {test.seconds:.1f} s")
        else:
            emit(f"{PROG}: {title}: test {test.name}: FAILED: {hook_ending(test)}\n  last log lines:\n"
                 f"{indented(test.log_tail)}")
    sys.exit(EXIT_OK if result.succeeded else EXIT_FAILURE)


def indented(log_tail: str) -> str:
    return "\n".join("    " + line for line in log_tail.splitlines()) or "    (no output)"


def report_smoke(image: str, results: Sequence["CheckResult"], output: str, spec: Spec | None = None) -> NoReturn:
    """smoke's report; exit 0 when every check passed or was skipped, 1 otherwise."""
    from deeptempo_deploy.smoke import format_results, passed

    ok = passed(list(results))
    if output == "json":
        failed = [Finding(None, ERROR, result.detail, result.name) for result in results
                  if not (result.ok or result.skipped)]
        emit_json(report_document(f"smoke {image}", ok, failed, image=image,
                                  checks=[asdict(result) for result in results]), spec)
    else:
        emit(format_results(image, list(results)), spec=spec)
    sys.exit(EXIT_OK if ok else EXIT_FAILURE)


# --- render ------------------------------------------------------------------------------------------

def rendered_stream(files: Mapping[str, str]) -> str:
    """The rendered files as one stream, each named as `helm template` names its templates."""
    return "".join(f"---\n# Source: {relative}\n{content}" + ("" if content.endswith("\n") else "\n")
                   for relative, content in files.items())


def write_rendered(files: Mapping[str, str], output_dir: str | None, check_only: bool) -> int:
    """Print the rendered files (no --output-dir), write them under output_dir, or (--check) compare
    them with those under output_dir (default: the current directory); returns the exit code."""
    if check_only:
        stale = [relative for relative, content in files.items()
                 if _read_or_none(os.path.join(output_dir or ".", relative)) != content]
        for relative in stale:
            emit(f"{relative}: differs from what the spec renders (run with --output-dir to update it)", err=True)
        return EXIT_FAILURE if stale else EXIT_OK
    if output_dir is None:
        emit(rendered_stream(files).rstrip("\n"))
        return EXIT_OK
    for relative, content in files.items():
        path = os.path.join(output_dir, relative)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(content)
        emit(f"wrote {path}", err=True)
    return EXIT_OK


def _read_or_none(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as stream:
        return stream.read()


# --- progress ----------------------------------------------------------------------------------------

class Progress:
    """Progress lines on stderr while a long step runs, for a person at a terminal: silent when stderr is
    no terminal (a pipe, CI's log) or with -q, so what a script reads is the report alone."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self.started = time.monotonic()

    def line(self, text: str) -> None:
        if self.enabled:
            emit(f"{PROG}: [{time.monotonic() - self.started:5.1f} s] {text}", err=True)

    @contextmanager
    def waiting(self, text: str) -> Iterator[None]:
        """Says `text` at once, then every PROGRESS_EVERY seconds until the block ends. The text is masked
        here, on the caller's thread, and the ticker only repeats it (it reads no shared state)."""
        if not self.enabled:
            yield
            return
        from deeptempo_deploy.redaction import mask

        shown = mask(text)
        done = threading.Event()

        def tick() -> None:
            while not done.wait(PROGRESS_EVERY):
                click.echo(f"{PROG}: [{time.monotonic() - self.started:5.1f} s] {shown} (still waiting)", err=True)

        click.echo(f"{PROG}: [{time.monotonic() - self.started:5.1f} s] {shown}", err=True)
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()


quiet_option = click.option("-q", "--quiet", is_flag=True,
                            help="No progress lines on stderr (they appear only when stderr is a terminal).")
