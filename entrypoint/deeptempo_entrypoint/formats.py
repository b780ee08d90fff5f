"""Named value formats a spec entry may require, and the one reading of a boolean. Each format check
returns None when the value fits, or a reason that describes the expectation without quoting the value.
A leaf: it imports nothing of the kit (whether a value may be quoted is deeptempo_entrypoint.echo's)."""

import re
from collections.abc import Callable

# Patterns as strings, compiled by `re` (and cached) when a value of their format is first checked: most
# starts check none, and compiling them at import was a measured 1.7 M instructions of each start.
HOST_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"  # one dot-separated part of a host name
ASGI_APP = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"


def _postgresql_url(value: str) -> str | None:
    # ipaddress and urllib.parse here and below, not at the top: together they measured 5 ms of every
    # `check`, and only a value of these formats needs them.
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
    import ipaddress  # see _postgresql_url

    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    if len(value) <= 253 and all(re.fullmatch(HOST_LABEL, part) for part in value.rstrip(".").split(".")):
        return None
    return "must be an IP address (0.0.0.0, ::, 127.0.0.1) or a host name"


def _addresses(value: str) -> str | None:
    """uvicorn's --forwarded-allow-ips: `*`, or comma-separated addresses and networks."""
    import ipaddress  # see _postgresql_url

    for item in (part.strip() for part in value.split(",")):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return "must be * or comma-separated IP addresses or networks (10.0.0.1,10.1.0.0/16)"
    return None


def _asgi_app(value: str) -> str | None:
    if re.fullmatch(ASGI_APP, value):
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


def boolean(value: str | None) -> bool | None:
    """A switch's word as a boolean (true/1/yes/on, false/0/no/off, unset or empty), else None."""
    word = (value or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    return False if word in FALSE_WORDS else None
