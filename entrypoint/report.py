"""Findings as a user reads them: one block of text on stderr, or JSON. Names only, never values."""


def format_findings(findings, *, title, program="deeptempo-entrypoint"):
    errors = sum(finding.is_error for finding in findings)
    warnings = len(findings) - errors
    counts = ", ".join(part for part in (_plural(errors, "error"), _plural(warnings, "warning")) if part)
    lines = [f"{program}: {title}" + (f" ({counts})" if counts else "")]
    for finding in sorted(findings, key=lambda f: (not f.is_error, f.secret is not None)):
        subject = f"{finding.secret}: " if finding.secret else ""
        lines.append(f"  {finding.level:<7}  {subject}{finding.message}")
    return "\n".join(lines)


def findings_json(ok, findings, sources):
    import json

    return json.dumps({"ok": ok, "findings": [finding.as_dict() for finding in findings], "sources": sources}, indent=2)


def _plural(count, word):
    return f"{count} {word}{'s' if count != 1 else ''}" if count else ""
