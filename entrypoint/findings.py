"""The one finding type: what `check`, `serve`, `status` and every `verify` report. A finding names a
secret, a file or a field and says what is wrong; it never holds a value."""

from collections import namedtuple

ERROR = "error"
WARNING = "warning"


# A namedtuple, not a dataclass: `import dataclasses` costs about 2 ms at every container start (4% of
# `check` on the 2-core machines this was measured on), a namedtuple nothing (collections is loaded).
class Finding(namedtuple("Finding", ("secret", "level", "message"))):
    """One problem: the secret (or None for a whole file or manifest), its level, and a message."""

    __slots__ = ()

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def as_dict(self) -> dict:
        return {"secret": self.secret, "level": self.level, "message": self.message}


def has_errors(findings) -> bool:
    return any(finding.is_error for finding in findings)
