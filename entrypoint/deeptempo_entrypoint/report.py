"""Findings as a user reads them: one block of text on stderr, or JSON. Names only, never values."""

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


def findings_document(ok: bool, findings: Sequence[Finding], sources: Mapping[str, str]) -> dict[str, object]:
    return {"ok": ok, "findings": [finding.as_dict() for finding in findings], "sources": dict(sources)}


def findings_json(ok: bool, findings: Sequence[Finding], sources: Mapping[str, str]) -> str:
    return json.dumps(findings_document(ok, findings, sources), indent=2)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}" if count else ""
