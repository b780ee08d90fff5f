"""Named value formats a spec entry may require. Each check returns None when the value fits, or a
reason that describes the expectation without quoting the value."""


def _postgresql_url(value):
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


def _boolean(value):
    return None if value.strip().lower() in BOOLEAN_WORDS else "must be true/false (also 1/0, yes/no, on/off)"


def _port(value):
    return None if value.isdigit() and 1 <= int(value) <= 65535 else "must be a port number from 1 to 65535"


def _positive_integer(value):
    return None if value.isdigit() and int(value) >= 1 else "must be a whole number of at least 1"


def _asgi_app(value):
    import re

    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", value):
        return None
    return "must be module:attribute, a Python module path and the app's name in it (backend.main:app)"


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})
BOOLEAN_WORDS = TRUE_WORDS | FALSE_WORDS

FORMATS = {
    "postgresql-url": _postgresql_url,
    "boolean": _boolean,
    "port": _port,
    "positive-integer": _positive_integer,
    "asgi-app": _asgi_app,
}


def parse_boolean(value, *, name):
    """ENABLE_KEYRING-style switches; anything else is an error naming the setting."""
    from entrypoint.errors import ConfigError

    word = (value or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    from entrypoint.validation import safe_to_echo

    shown = f"={value!r}" if safe_to_echo(value) else ""
    raise ConfigError(f"{name}{shown} is not a boolean: use true/false (also 1/0, yes/no, on/off)")
