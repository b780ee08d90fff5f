"""Named value formats a spec entry may require, the one boolean parser, and whether a value may be
quoted in a message. Each format check returns None when the value fits, or a reason that describes the
expectation without quoting the value."""

import re
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from deeptempo_entrypoint.spec.model import Spec

ECHO_LIMIT = 40  # a setting's value longer than this is never quoted: it could be a pasted secret


def _postgresql_url(value: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        url = urlsplit(value)
        url.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a parseable URL"
    if url.scheme not in ("postgresql", "postgres"):
        return "must be a postgresql:// URL"
    if not (url.hostname or "host=" in url.query):
        return "must name a host (postgresql://user:password@host:5432/database)"
    return None


def _boolean(value: str) -> str | None:
    return None if value.strip().lower() in BOOLEAN_WORDS else "must be true/false (also 1/0, yes/no, on/off)"


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()  # str.isdigit alone takes "²" and other digit-like signs


MAX_DIGITS = 20  # a number written with more digits is no setting's (and int() refuses over 4300 of them)


def whole_number(value: str, high: int) -> int | None:
    """`value` as a number from 1 to `high` (ASCII digits, a few leading zeros allowed), else None. The
    digits are counted before anything reads them: Python's int() raises on more than 4300, and serve
    reads a valid PORT or WEB_CONCURRENCY with int() again."""
    if not _digits(value) or len(value) > MAX_DIGITS:
        return None
    number = int(value)
    return number if 1 <= number <= high else None


def _port(value: str) -> str | None:
    return None if whole_number(value, 65535) else "must be a port number from 1 to 65535"


def _positive_integer(value: str) -> str | None:
    return None if whole_number(value, 1024) else "must be a whole number from 1 to 1024"


def _host(value: str) -> str | None:
    """An IPv4 or IPv6 address, or a host name (letters, digits and hyphens between dots)."""
    import ipaddress

    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    label = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")  # compiled when a HOST is checked, not at every start
    if len(value) <= 253 and all(label.fullmatch(part) for part in value.rstrip(".").split(".")):
        return None
    return "must be an IP address (0.0.0.0, ::, 127.0.0.1) or a host name"


def _addresses(value: str) -> str | None:
    """uvicorn's --forwarded-allow-ips: `*`, or comma-separated addresses and networks."""
    import ipaddress

    for item in (part.strip() for part in value.split(",")):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return "must be * or comma-separated IP addresses or networks (10.0.0.1,10.1.0.0/16)"
    return None


def _asgi_app(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", value):
        return None
    return "must be module:attribute, a Python module path and the app's name in it (backend.main:app)"


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})
BOOLEAN_WORDS = TRUE_WORDS | FALSE_WORDS

FORMATS: dict[str, Callable[[str], str | None]] = {
    "postgresql-url": _postgresql_url,
    "boolean": _boolean,
    "port": _port,
    "positive-integer": _positive_integer,
    "asgi-app": _asgi_app,
    "host": _host,
    "addresses": _addresses,
}


def is_true(value: object) -> bool:
    """A switch that is on: true/1/yes/on in any case, or the boolean True (YAML and JSON manifests).
    The one reading of a boolean for the kit, its manifests' fields and systemd's own words alike."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in TRUE_WORDS


def parse_boolean(value: str | None, *, name: str) -> bool:
    """ENABLE_KEYRING-style switches; anything else is an error naming the setting."""
    from deeptempo_entrypoint.errors import ConfigError

    word = (value or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    shown = f"={value!r}" if value is not None and safe_to_echo(value) else ""
    raise ConfigError(f"{name}{shown} is not a boolean: use true/false (also 1/0, yes/no, on/off)")


# The secrets this run resolved and the values env-files gave (resolution.resolve notes them): a value
# that equals or contains one of them is never echoed, whatever its shape.
_RESOLVED: set[str] = set()
MIN_NOTED = 4  # shorter values would forbid echoing most words


def note_resolved(values: "Iterable[str]") -> None:
    _RESOLVED.update(value for value in values if len(value) >= MIN_NOTED)


def safe_to_echo(value: str, spec: "Spec | None" = None, limit: int = ECHO_LIMIT) -> bool:
    """Whether a value may appear in a message (a setting's, a path, a module): short, one printable
    line, holding no value this run resolved as a secret or read from an env-file, and no part of the
    shape of a secret (Spec.secret_spans: a secret's format anywhere in it, a URL with a password), so
    `SECRETS_BACKEND=<a pasted API key>` or `LOG_LEVEL=postgresql://u:pw@db/x` is never echoed."""
    if len(value) > limit or not value.isprintable():
        return False
    if any(resolved in value for resolved in _RESOLVED):
        return False
    from deeptempo_entrypoint.spec import builtin_spec

    builtin = builtin_spec()
    shapes = [builtin] if spec is None or spec.origin == builtin.origin else [spec, builtin]  # a user's spec may
    # leave the built-in secrets out: their shapes still count
    return not any(shape.secret_spans(value) for shape in shapes)
