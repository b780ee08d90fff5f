"""The one finding type: what `check`, `serve`, `status` and every `verify` report. A finding names a
secret, a file or a field, the rule it breaks and where; it says what is wrong and never holds a value."""

from collections import namedtuple
from collections.abc import Iterable

ERROR = "error"
WARNING = "warning"


# A namedtuple, not a dataclass: `import dataclasses` costs about 2 ms at every container start (4% of
# `check` on the 2-core machines this was measured on), a namedtuple nothing (collections is loaded).
class Where(namedtuple("Where", ("file", "object", "container", "line", "source"), defaults=(None,) * 5)):
    """Where a finding is, as far as it is known: a file, an object in it (a service, a Deployment, a
    unit), a container, a line, or the source a value came from (`env-file`)."""

    __slots__ = ()

    file: str | None
    object: str | None
    container: str | None
    line: int | None
    source: str | None

    def __str__(self) -> str:
        parts = [self.object or self.file or "", f"container {self.container}" if self.container else "",
                 f"line {self.line}" if self.line else "", f"from {self.source}" if self.source else ""]
        return ", ".join(part for part in parts if part)

    def at(self, line: int | None) -> "Where":
        return self._replace(line=line)

    def as_dict(self) -> dict[str, str | int]:
        return {key: value for key, value in self._asdict().items() if value is not None}


class Finding(namedtuple("Finding", ("secret", "level", "message", "rule", "where"), defaults=(None, None))):
    """One problem: the secret (or None for a whole file or manifest), its level, a message, the id of
    the rule it breaks, and where it was found (a file, an object, a container; None when it is the
    whole configuration)."""

    __slots__ = ()

    secret: str | None
    level: str
    message: str
    rule: str | None
    where: Where | None

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
