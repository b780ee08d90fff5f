"""Findings as a user reads them: one block of text, or JSON in the one report shape (REPORT_SCHEMA).
Reports go to stdout whatever the verdict (as kubectl's and helm's); names only, never values."""

import json
from collections.abc import Mapping, Sequence

from deeptempo_entrypoint.findings import Finding


def format_findings(findings: Sequence[Finding], *, title: str, program: str = "deeptempo-entrypoint",
                    with_rules: bool = False) -> str:
    """One block: the title with the counts, then a line per finding, errors first. `with_rules` (the
    verify reports) puts each finding's rule and place before its message."""
    errors = sum(finding.is_error for finding in findings)
    warnings = len(findings) - errors
    counts = ", ".join(part for part in (_plural(errors, "error"), _plural(warnings, "warning")) if part)
    lines = [f"{program}: {title}" + (f" ({counts})" if counts else "")]
    for finding in sorted(findings, key=lambda f: (not f.is_error, f.secret is not None)):
        subject = f"{finding.secret}: " if finding.secret else ""
        lines.append(f"  {finding.level:<7}  {subject}{finding.text() if with_rules else finding.message}")
    return "\n".join(lines)


# The one JSON shape of every report (`check`, `verify`, `local`, `smoke`, with `-o json`): the command,
# whether it passed, its findings (Finding.as_dict: secret, level, message, rule, where), then the
# command's own fields under fixed keys: `sources` (check, verify: how each secret arrives), `result`
# (local: ready, reason, seconds, log_tail, tests), `image` and `checks` (smoke). Keys a command does not use are
# absent. REPORT_SCHEMA states it (tests validate every command's document against it; the docs print it).
_WHERE = {"type": "object", "additionalProperties": False,
          "properties": {"file": {"type": "string"}, "object": {"type": "string"}, "container": {"type": "string"},
                         "line": {"type": "integer"}, "source": {"type": "string"}}}
_FINDING = {"type": "object", "additionalProperties": False,
            "required": ["secret", "level", "message", "rule", "where"],
            "properties": {"secret": {"type": ["string", "null"]}, "level": {"enum": ["error", "warning"]},
                           "message": {"type": "string"}, "rule": {"type": ["string", "null"]},
                           "where": {"oneOf": [{"type": "null"}, _WHERE]}}}
REPORT_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A report of deeptempo-entrypoint check or deeptempo-deploy verify, local and smoke (-o json)",
    "type": "object", "additionalProperties": False,
    "required": ["command", "ok", "findings"],
    "properties": {
        "command": {"type": "string", "description": "The command as typed, without options: `verify compose`."},
        "ok": {"type": "boolean", "description": "True exactly when the command exits 0."},
        "findings": {"type": "array", "items": _FINDING},
        "sources": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "check, verify: where each secret comes from (never its value)."},
        "result": {"type": "object", "additionalProperties": False,
                   "required": ["ready", "reason", "seconds", "log_tail"],
                   "properties": {"ready": {"type": "boolean"}, "reason": {"type": "string"},
                                  "seconds": {"type": "number"}, "log_tail": {"type": "string"},
                                  "tests": {"type": "array", "items": {
                                      "type": "object", "additionalProperties": False,
                                      "required": ["name", "passed", "exit_code", "seconds", "log_tail"],
                                      "properties": {"name": {"type": "string"}, "passed": {"type": "boolean"},
                                                     "exit_code": {"type": ["integer", "null"]},
                                                     "seconds": {"type": "number"}, "log_tail": {"type": "string"}}}}},
                   "description": "local: whether the container turned ready, why not, how long it took, and "
                                  "each test hook run once it was ready (a chart's helm test pods)."},
        "image": {"type": "string", "description": "smoke: the image checked."},
        "checks": {"type": "array", "description": "smoke: one entry per check.",
                   "items": {"type": "object", "required": ["name", "ok", "detail", "skipped"],
                             "properties": {"name": {"type": "string"}, "ok": {"type": "boolean"},
                                            "detail": {"type": "string"}, "skipped": {"type": "boolean"}}}},
    },
}


def report_document(command: str, ok: bool, findings: Sequence[Finding], **fields: object) -> dict[str, object]:
    """The report in REPORT_SCHEMA's shape; `fields` are the command's own keys (sources, result, ...)."""
    return {"command": command, "ok": ok, "findings": [finding.as_dict() for finding in findings], **fields}


def findings_document(command: str, ok: bool, findings: Sequence[Finding], sources: Mapping[str, str]) -> dict[str, object]:
    return report_document(command, ok, findings, sources=dict(sources))


def findings_json(command: str, ok: bool, findings: Sequence[Finding], sources: Mapping[str, str]) -> str:
    return json.dumps(findings_document(command, ok, findings, sources), indent=2)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}" if count else ""
