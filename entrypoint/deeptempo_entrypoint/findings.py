"""The one finding type: what `check`, `serve`, `status` and every `verify` report. A finding names a
secret, a file or a field, the rule it breaks and where; it says what is wrong and never holds a value."""

from collections.abc import Iterable
from typing import NamedTuple

ERROR = "error"
WARNING = "warning"


# NamedTuples, not dataclasses: `import dataclasses` costs about 2 ms at every container start (4% of
# `check` on the 2-core machines this was measured on), typing's NamedTuple nothing (click loads typing).
class Where(NamedTuple):
    """Where a finding is, as far as it is known: a file, an object in it (a service, a Deployment, a
    unit), a container, a line, or the source a value came from (`env-file`)."""

    file: str | None = None
    object: str | None = None
    container: str | None = None
    line: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        parts = [self.object or self.file or "", f"container {self.container}" if self.container else "",
                 f"line {self.line}" if self.line else "", f"from {self.source}" if self.source else ""]
        return ", ".join(part for part in parts if part)

    def at(self, line: int | None) -> "Where":
        return self._replace(line=line)

    def as_dict(self) -> dict[str, str | int]:
        return {key: value for key, value in self._asdict().items() if value is not None}


class Finding(NamedTuple):
    """One problem: the secret (or None for a whole file or manifest), its level, a message, the id of
    the rule it breaks, and where it was found (a file, an object, a container; None when it is the
    whole configuration)."""

    secret: str | None
    level: str
    message: str
    rule: str | None = None
    where: Where | None = None

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def as_dict(self) -> dict[str, object]:
        return {"secret": self.secret, "level": self.level, "message": self.message, "rule": self.rule,
                "where": self.where.as_dict() if self.where else None}

    def text(self) -> str:
        """The message as a person reads it in a verify report: `[rule] where: message`."""
        rule = f"[{self.rule}] " if self.rule else ""
        where = f"{self.where}: " if self.where and str(self.where) else ""
        return f"{rule}{where}{self.message}"


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(finding.is_error for finding in findings)
